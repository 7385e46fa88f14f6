"""Government bodies by pattern, with one canonical name each.

Two sources, both over the tokens of one sentence:

- the alias dictionary (``shared/gazetteer/aliases.json``, generated from ``institutions.yaml``
  over every region): "Pemerintah Provinsi Jawa Tengah", "Pemprov Jateng", "Pemkab Blora",
  "DPRD Blora", "Polres Kudus", "Polda Jateng", "Kodim Blora", "RSUD Kudus", "Bappeda Blora",
  "Dinkes Blora", "Kemenkes", ... -> the entry's canonical name;
- a pattern for agencies the dictionary does not list: a head ("Dinas", "Badan",
  "Kementerian") followed by capitalised field words (with "dan"/"&") and, for "Dinas"/"Badan",
  a region ("Dinas Pemuda dan Olahraga Kabupaten Blora", "Badan Kesbangpol Jateng") ->
  "<head and field> <official region name>" ("... Kabupaten Blora", "... Provinsi Jawa Tengah");
  a "Kementerian"/"Badan" without a region is a national body and keeps its written name.
  "Kodim 0721/Blora" is read as "Kodim Blora".

These matches are institutions whether or not the CRF saw them (``entities.merge_mentions``).
Pure; the dictionary is read-only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .canonical import Dictionary, normalize_alias
from .ner import train_gazetteer
from .text import Token

__all__ = ["Institution", "find_institutions"]

_PATTERN_HEADS = frozenset({"dinas", "badan", "kementerian", "kementrian", "rsud"})
# Heads whose bodies exist without a region: national ("Kementerian Pertanian", "Badan Gizi
# Nasional"), foreign ("Kementerian Luar Negeri China") or named ("RSUD Raden Mattaher").
_NATIONAL_HEADS = frozenset({"kementerian", "kementrian", "badan", "rsud"})
# Capitalised words that end a name rather than continue it ("Kementerian Perhubungan Tahun 2017").
_STOP_WORDS = frozenset(
    """tahun nomor no senin selasa rabu kamis jumat sabtu minggu januari februari maret april mei
    juni juli agustus september oktober november desember""".split()
)
_CONNECTORS = frozenset({"dan", "&"})
_KIND_WORDS = {"kabupaten": "Kabupaten", "kab": "Kabupaten", "kota": "Kota", "provinsi": "Provinsi", "prov": "Provinsi"}
_MAX_FIELD_TOKENS = 12
_NUMBER = re.compile(r"^\d+$")
# Bare acronyms of three letters or fewer ("BI", "MA", "KPU") are too ambiguous alone; longer
# single-word names ("Kemenkes", "Bawaslu", "Polri") are institutions wherever they are written.
_MIN_SINGLE_TOKEN_CHARS = 5


@dataclass(frozen=True, slots=True)
class Institution:
    """An institution mention: token range ``[first, last)``, character span, canonical name."""

    first: int
    last: int
    start: int
    end: int
    canonical: str
    region: str | None


def _capitalised(token: Token) -> bool:
    return token.text[:1].isupper()


def _region_at(tokens: Sequence[Token], k: int, end: int, dictionary: Dictionary) -> tuple[int, str, str | None] | None:
    """A region name starting at token ``k`` (optionally after "Kabupaten"/"Kota"/"Provinsi"):
    ``(last token exclusive, region code, kind word)`` of the longest match within ``end``."""
    kind = _KIND_WORDS.get(tokens[k].text.lower().rstrip("."))
    if kind:
        # The official name as a whole first ("Kota Administrasi Jakarta Selatan").
        words_end = k
        while words_end < min(end, k + 5) and tokens[words_end].text.isalnum():
            words_end += 1
        for last in range(words_end, k + 1, -1):
            codes = dictionary.region_aliases.get(normalize_alias(" ".join(t.text for t in tokens[k:last])))
            if codes and len(codes) == 1:
                return last, codes[0], kind
    start = k + 1 if kind else k
    if start >= end or not _capitalised(tokens[start]):
        return None
    words_end = start
    while words_end < min(end, start + 4) and tokens[words_end].text.isalnum():
        words_end += 1
    for last in range(words_end, start, -1):
        codes = dictionary.region_aliases.get(normalize_alias(" ".join(t.text for t in tokens[start:last])))
        if not codes:
            continue
        by_kind = {dictionary.regions[c].kind: c for c in codes}
        if kind and kind in by_kind:
            return last, by_kind[kind], kind
        if kind:
            continue
        code = by_kind.get("Provinsi") or by_kind.get("Kota") or codes[0]
        return last, code, None
    return None


def _official(code: str, dictionary: Dictionary) -> str:
    region = dictionary.regions[code]
    return f"Provinsi {region.name}" if region.level == "provinsi" else region.name


def _join(tokens: Sequence[Token]) -> str:
    return re.sub(r"\s+([,.)])", r"\1", " ".join(t.text for t in tokens)).replace("( ", "(")


def _pattern_at(tokens: Sequence[Token], i: int, dictionary: Dictionary, stops: frozenset[int]) -> Institution | None:
    head = tokens[i].text.lower()
    n = len(tokens)
    # Field words: capitalised, joined by "dan"/"&"; a parenthesised acronym is skipped
    # ("Dinas Kesehatan (Dinkes) Blora").
    j = i + 1
    field_end = i + 1
    while j < n and j - i <= _MAX_FIELD_TOKENS:
        t = tokens[j]
        if t.start in stops or t.text.lower() in _STOP_WORDS:
            break
        if _capitalised(t):
            region = _region_at(tokens, j, n, dictionary) if j > i + 1 else None
            if region is not None:
                last, code, _kind = region
                field = _join(tokens[i:field_end])
                entry = dictionary.lookup(f"{field} {' '.join(x.text for x in tokens[j:last])}")
                canonical = entry["canonical"] if entry else f"{field} {_official(code, dictionary)}"
                return Institution(i, last, tokens[i].start, tokens[last - 1].end, canonical, code)
            j += 1
            field_end = j
            continue
        if (
            t.text.lower() in _CONNECTORS
            and j + 1 < n
            and _capitalised(tokens[j + 1])
            and tokens[j + 1].text.lower() not in _PATTERN_HEADS  # "Kemenkes dan Badan Gizi ..."
        ):
            j += 1
            continue
        if t.text == "(" and j + 2 < n and tokens[j + 2].text == ")" and j > i + 1:
            j += 3
            continue
        break
    if head in _NATIONAL_HEADS and field_end > i + 1:
        if tokens[field_end - 1].text == "RI" and field_end > i + 2:
            field_end -= 1  # "Kementerian Luar Negeri RI" is "Kementerian Luar Negeri"
        field = _join(tokens[i:field_end])
        entry = dictionary.lookup(field)
        canonical = entry["canonical"] if entry else field
        return Institution(i, field_end, tokens[i].start, tokens[field_end - 1].end, canonical, None)
    return None


def _kodim_at(tokens: Sequence[Token], i: int, dictionary: Dictionary) -> Institution | None:
    """ "Kodim 0721/Blora", "Kodim 0721 Blora" -> the dictionary's "Kodim Blora"."""
    j = i + 1
    if j < len(tokens) and _NUMBER.match(tokens[j].text):
        j += 1
        if j < len(tokens) and tokens[j].text == "/":
            j += 1
    if j == i + 1 or j >= len(tokens):
        return None
    region = _region_at(tokens, j, len(tokens), dictionary)
    if region is None:
        return None
    last = region[0]
    entry = dictionary.lookup("Kodim " + " ".join(t.text for t in tokens[j:last]))
    if entry is None:
        return None
    return Institution(i, last, tokens[i].start, tokens[last - 1].end, entry["canonical"], entry["region"])


def _with_acronym(tokens: Sequence[Token], found: Institution) -> Institution:
    """The mention with the acronym written right after it: "Kementerian Sosial (Kemensos)" is one
    mention (as the NER corpora annotate it); the canonical name is unchanged."""
    j = found.last
    if j + 2 < len(tokens) and tokens[j].text == "(" and tokens[j + 2].text == ")" and _capitalised(tokens[j + 1]):
        return Institution(found.first, j + 3, found.start, tokens[j + 2].end, found.canonical, found.region)
    return found


def _is_place(tokens: Sequence[Token]) -> bool:
    return train_gazetteer().get(tuple(t.text.lower() for t in tokens)) == "LOC"


def find_institutions(
    tokens: Sequence[Token], dictionary: Dictionary, stops: frozenset[int] = frozenset()
) -> list[Institution]:
    """Non-overlapping institution mentions in one sentence's tokens, left to right.

    At each position the longest of (dictionary alias, pattern) wins. ``stops``: character
    offsets where a pattern's name cannot continue (the starts of the CRF's person names:
    "Kementerian Perhubungan | Antonius Tonny Budiono").
    """
    aliases = {}
    for m in dictionary.alias_matcher.find(tokens):
        entry = dictionary.aliases[m.key]
        if entry["type"] != "ORG" or dictionary.continues_into_other_name(m, tokens):
            continue
        single = m.last - m.first == 1
        if single and (len(m.key) < _MIN_SINGLE_TOKEN_CHARS or tokens[m.first].text.isupper()):
            continue
        aliases[m.first] = Institution(m.first, m.last, m.start, m.end, entry["canonical"], entry["region"])
    out: list[Institution] = []
    i, n = 0, len(tokens)
    while i < n:
        found = aliases.get(i)
        low = tokens[i].text.lower()
        if _capitalised(tokens[i]) and low in _PATTERN_HEADS:
            pattern = _pattern_at(tokens, i, dictionary, stops)
            # A longer guess beats a known name only when it ends in a region or a place the
            # train-name gazetteer knows ("Kementerian Luar Negeri China"): after "Kementerian
            # Perhubungan" the capitalised words are usually a person.
            if pattern is not None and (
                found is None
                or (
                    pattern.last > found.last
                    and (pattern.region is not None or _is_place(tokens[found.last : pattern.last]))
                )
            ):
                found = pattern
        elif low == "kodim" and _capitalised(tokens[i]):
            kodim = _kodim_at(tokens, i, dictionary)
            if kodim is not None and (found is None or kodim.last > found.last):
                found = kodim
        if found is None:
            i += 1
            continue
        found = _with_acronym(tokens, found)
        out.append(found)
        i = found.last
    return out
