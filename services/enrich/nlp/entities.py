"""Combine CRF mentions with dictionary matches, then canonicalise names and attach roles."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from .canonical import Dictionary, normalize_alias
from .institutions import find_institutions
from .ner import Mention, NerTagger
from .text import Token, tokenize, tokenize_span

# Lower-case words allowed inside a role phrase ("Menteri Pendayagunaan Aparatur Negara dan
# Reformasi Birokrasi", "Kepala Dinas Kesehatan dan ...").
_ROLE_CONNECTORS = frozenset({"dan", "&", "/", "-"})
_MAX_ROLE_TOKENS = 14
# A role sits within a few tokens of the name, so only this much text either side is tokenised:
# scanning the whole sentence made a long sentence full of names quadratic (a 384 KiB text with no
# full stop took minutes). 512 characters hold the 14 role tokens plus honorifics of any real text.
_ROLE_WINDOW_CHARS = 512


def merge_mentions(
    crf: Sequence[Mention],
    dictionary: Dictionary,
    text: str,
    sentences: Sequence[tuple[int, int]],
    sentence_tokens: Sequence[Sequence[Token]] | None = None,
) -> list[Mention]:
    """CRF mentions, with spans and types corrected by dictionary institution/place matches.

    A dictionary match that overlaps CRF mentions replaces them (fixing truncated or split
    spans such as "Kementerian PAN" + "RB", and types), unless a longer CRF name contains it.
    Dictionary matches the CRF did not see at all are not added (measured: they hurt F1),
    except a region's place name directly after a role word ("Wakil Gubernur Jateng") and
    government bodies (``institutions.find_institutions``: "Pemerintah Provinsi Jawa Tengah",
    "Pemprov Jateng", "Dinas ... Kabupaten X"), which are added with their canonical name.
    ``sentence_tokens`` may pass ``tokenize_span(text, s, e)`` of every sentence.
    """
    dict_mentions: list[Mention] = []
    after_role: set[int] = set()  # starts of region place matches directly after a role word
    institutions: set[int] = set()  # starts of government-body mentions, kept without the CRF
    if sentence_tokens is None:
        sentence_tokens = [tokenize_span(text, s, e) for s, e in sentences]
    person_starts = frozenset(c.start for c in crf if c.type == "PER")
    for toks in sentence_tokens:
        found: list[Mention] = []
        for m in dictionary.alias_matcher.find(toks):
            entry = dictionary.aliases[m.key]
            # Bare acronyms like "BI", "MA" or "RI" are too ambiguous without the CRF agreeing.
            if m.last - m.first == 1 and len(toks[m.first].text) <= 3:
                continue
            if dictionary.continues_into_other_name(m, toks):
                continue
            if (
                entry["type"] == "LOC"
                and entry.get("region")
                and m.first > 0
                and normalize_alias(toks[m.first - 1].text) in dictionary.roles
            ):
                after_role.add(m.start)
            found.append(Mention(m.start, m.end, entry["type"], text[m.start : m.end]))
        for inst in find_institutions(toks, dictionary, person_starts):
            found = [d for d in found if not (d.start < inst.end and inst.start < d.end)]
            found.append(Mention(inst.start, inst.end, "ORG", text[inst.start : inst.end], canonical=inst.canonical))
            institutions.add(inst.start)
        dict_mentions.extend(found)
    if not dict_mentions:
        return sorted(crf, key=lambda x: x.start)
    kept: list[Mention] = []
    for d in dict_mentions:
        # Only where the CRF saw an entity: on the dev sets, dictionary-only additions
        # ("Indonesia", "DKI Jakarta" used adjectivally) were all false positives.
        # Exception: a region's place name right after a role word ("Gubernur Jateng",
        # "Kapolda Jatim") is a place even where the CRF reads it as part of the role.
        if (
            d.start not in after_role
            and d.start not in institutions
            and not any(c.start < d.end and d.start < c.end for c in crf)
        ):
            continue
        # A longer CRF name containing the alias wins: "Universitas Indonesia" is not the
        # place "Indonesia". Over a government body only a longer place name does ("Gedung DPR
        # RI", "Kantor Kementerian Sosial"; not "kantor Bappeda Kudus"): the CRF's longer names
        # around one are a unit plus the
        # body ("Direktorat Lantas Polda Metro Jaya") or the body plus a person ("DPRD Kota
        # Bekasi Junaedi"), and the body is what is kept.
        if any(
            c.start <= d.start
            and d.end <= c.end
            and (c.end - c.start) > (d.end - d.start)
            and (d.start not in institutions or (c.type == "LOC" and text[c.start].isupper()))
            for c in crf
        ):
            continue
        kept.append(d)
    out = list(kept)
    for c in crf:
        if any(d.start < c.end and c.start < d.end for d in kept):
            continue
        out.append(c)
    return sorted(out, key=lambda x: x.start)


def _strip_person(surface: str, dictionary: Dictionary) -> tuple[str, str | None]:
    """Split a PER surface into (name without honorifics, role words found at its start)."""
    words = re.findall(r"[\w'’-]+\.?|,", surface)
    # Leading role words the tagger sometimes includes ("Wabup Sri Setyorini").
    role = None
    for n in range(min(len(words), 3), 0, -1):
        key = normalize_alias(" ".join(words[:n]))
        if key in dictionary.roles and len(words) > n:
            role = dictionary.roles[key]
            words = words[n:]
            break
    while words and (dictionary.is_honorific(words[0]) or words[0] == ","):
        words = words[1:]
    # Trailing academic degrees: "Arief Rohman, S.T., M.Si." (tokenised as "M. Si" too).
    changed = True
    while words and changed:
        changed = False
        for n in (3, 2, 1):
            if len(words) >= n and (
                words[-1] == "," or normalize_alias("".join(words[-n:])).replace(" ", "") in dictionary.honorifics
            ):
                words = words[:-1] if words[-1] == "," else words[:-n]
                changed = True
                break
    name = " ".join(w.rstrip(".") if w.endswith(".") and len(w) > 2 else w for w in words)
    return name.strip(" ,"), role


def _role_before(text: str, sent_start: int, mention_start: int, dictionary: Dictionary) -> str | None:
    """Role phrase written just before a person ("Bupati Blora, H. Arief Rohman")."""
    start = max(sent_start, mention_start - _ROLE_WINDOW_CHARS)
    toks = tokenize(text[start:mention_start])
    if start > sent_start and toks:
        toks = toks[1:]  # the window may have cut a word in two
    i = len(toks) - 1
    # Skip honorifics and the comma of an apposition.
    while i >= 0 and (toks[i].text in {",", "."} or dictionary.is_honorific(toks[i].text)):
        i -= 1
    run_end = i + 1
    while i >= 0 and run_end - i <= _MAX_ROLE_TOKENS:
        w = toks[i].text
        if w[:1].isupper() or w[:1].isdigit() or w.lower() in _ROLE_CONNECTORS:
            i -= 1
            continue
        break
    run = toks[i + 1 : run_end]
    # The leftmost role word in the run starts the role ("Wakil Bupati Blora", not "Bupati Blora").
    for k in range(len(run)):
        for n in range(min(dictionary.max_role_len, len(run) - k), 0, -1):
            key = normalize_alias(" ".join(t.text for t in run[k : k + n]))
            if key in dictionary.roles and run[k].text[:1].isupper():
                head = dictionary.roles[key]
                rest = " ".join(t.text for t in run[k + n :])
                rest = re.sub(r"\s+([,.)/-])", r"\1", rest).strip(" ,")
                return f"{head} {rest}".strip() if rest else head
    return None


def _role_after(text: str, mention_end: int, sent_end: int, dictionary: Dictionary) -> str | None:
    """Role in an apposition after a person ("Arief Rohman, Bupati Blora, mengatakan")."""
    end = min(sent_end, mention_end + _ROLE_WINDOW_CHARS)
    toks = tokenize(text[mention_end:end])
    if end < sent_end and toks:
        toks = toks[:-1]  # the window may have cut a word in two
    # Degrees may sit between the name and the apposition ("Arief Rohman, S.T., Bupati ...").
    i = 0
    while i < len(toks) and (toks[i].text in {",", "."} or dictionary.is_honorific(toks[i].text)):
        i += 1
    if i == 0 or toks[0].text != ",":
        return None
    run: list[Token] = []
    for t in toks[i : i + _MAX_ROLE_TOKENS]:
        if t.text[:1].isupper() or t.text[:1].isdigit() or (run and t.text.lower() in _ROLE_CONNECTORS):
            run.append(t)
            continue
        break
    for n in range(min(dictionary.max_role_len, len(run)), 0, -1):
        key = normalize_alias(" ".join(t.text for t in run[:n]))
        if key in dictionary.roles:
            rest = " ".join(t.text for t in run[n:])
            rest = re.sub(r"\s+([,.)/-])", r"\1", rest).strip(" ,")
            head = dictionary.roles[key]
            return f"{head} {rest}".strip() if rest else head
    return None


def canonicalise(
    mentions: Sequence[Mention], text: str, sentences: Sequence[tuple[int, int]], dictionary: Dictionary
) -> list[dict[str, Any]]:
    """Entity dicts ``{start, end, type, text, canonical, role?}`` for the mentions.

    People: honorifics stripped, short forms ("Arief") resolved to a full name seen in the same
    article, and every mention of a person carries the most specific role found for them.
    Institutions and places: dictionary canonical names when known, else the surface form.
    """
    sent_of = _sentence_index(sentences)
    entities: list[dict[str, Any]] = []
    person_roles: dict[str, str] = {}
    for m in mentions:
        ent: dict[str, Any] = {"start": m.start, "end": m.end, "type": m.type, "text": m.text}
        if m.canonical is not None:
            ent["canonical"] = m.canonical
            entities.append(ent)
            continue
        entry = dictionary.lookup(m.text)
        if m.type == "PER":
            name, lead_role = _strip_person(m.text, dictionary)
            if not name or entry is not None:
                if entry is None:
                    continue
                ent["type"] = entry["type"]
                ent["canonical"] = entry["canonical"]
            else:
                ent["canonical"] = name
                sidx = sent_of(m.start)
                role = _role_before(text, sentences[sidx][0], m.start, dictionary) if sidx >= 0 else None
                if role is None and lead_role is not None:
                    role = lead_role
                if role is None and sidx >= 0:
                    role = _role_after(text, m.end, sentences[sidx][1], dictionary)
                if role:
                    ent["role"] = role
        elif entry is not None:
            ent["type"] = entry["type"]
            ent["canonical"] = entry["canonical"]
        else:
            region_codes = dictionary.region_aliases.get(normalize_alias(m.text))
            if m.type == "LOC" and region_codes:
                region = dictionary.regions[region_codes[0]]
                ent["canonical"] = region.loc_name if region.level == "provinsi" else m.text
            else:
                ent["canonical"] = " ".join(m.text.split())
        entities.append(ent)

    # Resolve short person names to the longest full name containing all their words.
    people = sorted(
        {e["canonical"] for e in entities if e["type"] == "PER"}, key=lambda n: (-len(n), n)
    )  # ties: deterministic
    resolve: dict[str, str] = {}
    for short in people:
        words = set(short.split())
        for full in people:
            if full != short and words <= set(full.split()):
                resolve[short] = full
                break
    for e in entities:
        if e["type"] == "PER":
            e["canonical"] = resolve.get(e["canonical"], e["canonical"])
            if "role" in e:
                prev = person_roles.get(e["canonical"])
                if prev is None or len(e["role"]) > len(prev):
                    person_roles[e["canonical"]] = e["role"]
    for e in entities:
        if e["type"] == "PER" and e["canonical"] in person_roles:
            e["role"] = person_roles[e["canonical"]]
    _vote_types(entities, dictionary)
    return entities


def _vote_types(entities: list[dict[str, Any]], dictionary: Dictionary) -> None:
    """One type per name per article: the CRF tags "Arsenal" ORG in one sentence and LOC in
    the next; the majority (first mention on ties) wins. Dictionary entries keep their type.
    """
    votes: dict[str, Counter[str]] = {}
    for e in entities:
        votes.setdefault(e["canonical"], Counter())[e["type"]] += 1
    for e in entities:
        counts = votes[e["canonical"]]
        if len(counts) < 2 or dictionary.lookup(e["text"]) is not None:
            continue
        best = max(counts, key=lambda t: counts[t])  # Counter keeps first-seen order on ties
        if best != e["type"]:
            e["type"] = best
            if best != "PER":
                e.pop("role", None)


def _sentence_index(sentences: Sequence[tuple[int, int]]) -> Callable[[int], int]:
    """Function mapping a character position to the index of its sentence (-1 if before all)."""
    starts = [s for s, _ in sentences]

    def find(pos: int) -> int:
        return bisect.bisect_right(starts, pos) - 1

    return find


def extract_entities(
    text: str,
    sentences: Sequence[tuple[int, int]],
    tagger: NerTagger,
    dictionary: Dictionary,
    sentence_tokens: Sequence[Sequence[Token]] | None = None,
) -> list[dict[str, Any]]:
    """Full entity path: CRF + dictionary merge + canonicalisation.

    ``sentence_tokens`` may pass ``tokenize_span(text, s, e)`` of every sentence.
    """
    if sentence_tokens is None:
        sentence_tokens = [tokenize_span(text, s, e) for s, e in sentences]
    crf = tagger.extract(text, sentences, sentence_tokens)
    merged = merge_mentions(crf, dictionary, text, sentences, sentence_tokens)
    return canonicalise(merged, text, sentences, dictionary)
