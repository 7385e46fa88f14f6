"""Which provinces and kabupaten/kota an article is about, and which it only mentions.

Every region named in the article is a candidate; its prominence decides whether it is one of the
article's regions (``regions``, what filters and facets use) or a passing mention
(``regions_mentioned``: "pembeli dari Bali dan Jakarta"). The evidence for a candidate:
- the dateline (where the story was filed from, ``dateline.py``): a weak signal on its own, since
  a regional outlet files every story from its home town and national outlets file from Jakarta;
- the title, and the lead (the first paragraph after the dateline, at most ``LEAD_CHARS``);
- the number of mentions in the story, capped, and how many of them are bound to the region's
  institutions or office holders ("Pemkab Blora", "DPRD Jepara", "Bupati Blora", a person whose
  role is "Wakil Bupati Blora").

``score = w_dateline·dateline + w_title·title + w_lead·lead + w_mention·min(mentions, cap)
+ w_institution·min(institutional, 2)``. A candidate is one of the article's regions when its
score reaches ``threshold`` and ``relative`` × the best score; the provinces of those
kabupaten/kota are too. The weights and cut-offs are in ``models/regions.json``, chosen by
cross-validation on a labelled tuning set (``train_regions.py``), not on the evaluation set.

Bare names shared by a Kabupaten and a Kota ("Semarang") go to the Kota unless a
"Kabupaten"/"Bupati"-style cue precedes them; names that are also common words ("Metro", "Batu",
"Kudus") need such a cue, except in a dateline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .canonical import Dictionary, normalize_alias
from .dateline import Dateline, find_dateline
from .text import Token, tokenize

__all__ = [
    "Evidence",
    "ProminenceParams",
    "choose_regions",
    "detect_regions",
    "load_params",
    "region_evidence",
    "tag_regions",
]

PARAMS_PATH = Path(__file__).parent / "models" / "regions.json"

_KAB_CUES = frozenset({"kabupaten", "kab", "pemkab", "bupati", "wabup", "dprd", "polres", "kejari"})
_KOTA_CUES = frozenset({"kota", "pemkot", "walikota", "wali", "wawali", "polresta", "polrestabes"})
# Only these make an ambiguous name ("Metro", "Batu") a region; "Polda Metro Jaya" must not.
_STRONG_CUES = frozenset(
    {"kabupaten", "kab", "kota", "pemkab", "pemkot", "bupati", "wabup", "walikota", "wali", "wawali"}
)
# A place name right after one of these is the region's institution or office holder.
_INSTITUTION_CUES = _KAB_CUES | _KOTA_CUES | frozenset(
    {"pemprov", "gubernur", "wagub", "polda", "kapolda", "kapolres", "kapolresta", "kejati", "kajati", "kajari",
     "pemda", "sekda", "bappeda", "rsud", "kodim", "korem", "kpu", "kpud", "bawaslu", "panwaslu"}
)  # fmt: skip

# A place name right after these names a street, not the region.
_STREET_WORDS = frozenset({"jalan", "jl", "jln", "gang", "gg"})

LEAD_CHARS = 300
MAX_REGIONS_PER_LEVEL = 4
MAX_MENTIONED_PER_LEVEL = 8
# A person's role names a region ("Wakil Bupati Blora"); a mention of that person counts for the
# region unless the region's name was just written before it (then the name itself was counted).
_ROLE_LOOKBACK = 60


@dataclass(frozen=True, slots=True)
class ProminenceParams:
    """Weights and cut-offs of the prominence score (``models/regions.json``)."""

    w_dateline: float
    w_title: float
    w_lead: float
    w_mention: float
    mention_cap: int
    w_institution: float
    threshold: float
    relative: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProminenceParams:
        return cls(
            w_dateline=float(d["w_dateline"]),
            w_title=float(d["w_title"]),
            w_lead=float(d["w_lead"]),
            w_mention=float(d["w_mention"]),
            mention_cap=int(d["mention_cap"]),
            w_institution=float(d["w_institution"]),
            threshold=float(d["threshold"]),
            relative=float(d["relative"]),
        )


@lru_cache(maxsize=1)
def load_params(path: Path = PARAMS_PATH) -> ProminenceParams:
    """The committed prominence weights (``make train-regions`` writes them)."""
    return ProminenceParams.from_dict(json.loads(path.read_text(encoding="utf-8"))["params"])


@dataclass(slots=True)
class Evidence:
    """What the article says about one candidate region."""

    dateline: bool = False
    title: bool = False
    lead: bool = False
    mentions: int = 0  # in the story (not the dateline, not the title), institutional ones included
    institutional: int = 0

    def score(self, p: ProminenceParams) -> float:
        return (
            p.w_dateline * self.dateline
            + p.w_title * self.title
            + p.w_lead * self.lead
            + p.w_mention * min(self.mentions, p.mention_cap)
            + p.w_institution * min(self.institutional, 2)
        )


def _pick(codes: list[str], prev: str | None, dictionary: Dictionary) -> list[str]:
    if len(codes) == 1:
        return codes
    kinds = {dictionary.regions[c].kind: c for c in codes}
    if prev in _KAB_CUES and "Kabupaten" in kinds:
        return [kinds["Kabupaten"]]
    if prev in _KOTA_CUES and "Kota" in kinds:
        return [kinds["Kota"]]
    if "Provinsi" in kinds:
        return [kinds["Provinsi"]]
    if "Kota" in kinds:
        return [kinds["Kota"]]
    return codes[:1]


def _word_before(toks: Sequence[Token], i: int) -> str | None:
    """The normalised word before token ``i``, over an abbreviation's dot ("Kab. Blora")."""
    j = i - 1
    if j >= 0 and toks[j].text == ".":
        j -= 1
    return normalize_alias(toks[j].text) if j >= 0 else None


def _mentions(toks: Sequence[Token], dictionary: Dictionary, skip_before: int = 0) -> list[tuple[str, int, bool, bool]]:
    """``(code, start, institutional, sure)`` for every region mention in ``toks``: institutions
    bound to a region ("Pemkab Blora", "Pemprov Jateng") and place names (the name inside an
    institution's name is that one mention). A name that is also a common word ("Kudus",
    "Batu") without a cue before it is not ``sure``: it counts only if the article confirms that
    region elsewhere. Tokens before ``skip_before`` are ignored."""
    out: list[tuple[str, int, bool, bool]] = []
    covered: list[tuple[int, int]] = []
    for m in dictionary.alias_matcher.find(toks):
        entry = dictionary.aliases[m.key]
        # Place aliases ("Jakarta", also inside "Jakarta Timur") are left to the region names.
        if entry["type"] != "ORG" or not entry["region"] or m.start < skip_before:
            continue
        if dictionary.continues_into_other_name(m, toks):
            continue
        out.append((entry["region"], m.start, True, True))
        covered.append((m.start, m.end))
    for m in dictionary.region_matcher.find(toks):
        if m.start < skip_before or any(a <= m.start < b for a, b in covered):
            continue
        prev = _word_before(toks, m.first)
        if prev in _STREET_WORDS:  # "Jalan Medan Merdeka Barat", "Jl. Sumatera": a street
            continue
        sure = m.key not in dictionary.ambiguous_region_names or prev in _STRONG_CUES
        for code in _pick(dictionary.region_aliases[m.key], prev, dictionary):
            out.append((code, m.start, prev in _INSTITUTION_CUES, sure))
    return out


def _lead_end(text: str, start: int) -> int:
    """End of the lead: the first paragraph from ``start``, at most ``LEAD_CHARS`` characters."""
    begin = len(text) - len(text[start:].lstrip())
    newline = text.find("\n", begin)
    end = begin + LEAD_CHARS
    return end if newline < 0 else min(newline, end)


def region_evidence(
    text: str,
    title: str | None,
    entities: Sequence[dict[str, Any]],
    dictionary: Dictionary,
    text_tokens: Sequence[Token] | None = None,
    dateline: Dateline | bool | None = True,
) -> dict[str, Evidence]:
    """Evidence per candidate region code (provinces and kabupaten/kota alike).

    ``dateline``: the text's dateline when the caller already has it (and has kept it out of
    ``text``), None when there is none; by default it is looked for at the start of ``text`` and
    its span is then skipped when counting mentions.
    """
    evidence: dict[str, Evidence] = {}

    def ev(code: str) -> Evidence:
        e = evidence.get(code)
        if e is None:
            e = evidence[code] = Evidence()
        return e

    skip = 0
    if dateline is True:
        dateline = find_dateline(text, dictionary)
        skip = dateline.end if dateline is not None else 0
    if isinstance(dateline, Dateline):
        if dateline.region_code is not None:
            ev(dateline.region_code).dateline = True
        skip = max(skip, dateline.end)
    toks = tokenize(text) if text_tokens is None else text_tokens
    lead_end = _lead_end(text, skip)
    found = _mentions(toks, dictionary, skip)
    in_title = _mentions(tokenize(title), dictionary) if title else []
    # A common-word name counts when the dateline or a sure mention names the same region
    # ("KUDUS, Lintas Muria – … di Kudus"; "Pemkab Kudus … warga Kudus").
    confirmed = {code for code, _, _, sure in found + in_title if sure}
    if isinstance(dateline, Dateline) and dateline.region_code is not None:
        confirmed.add(dateline.region_code)
    for code, start, institutional, sure in found:
        if not sure and code not in confirmed:
            continue
        e = ev(code)
        e.mentions += 1
        e.institutional += institutional
        if start < lead_end:
            e.lead = True
    for code, _, _, sure in in_title:
        if sure or code in confirmed:
            ev(code).title = True
    # Office holders: every mention of a person whose role names a region ("Wabup Sri Setyorini"
    # after "Wakil Bupati Blora Hj. Sri Setyorini") is institutional evidence for that region.
    for ent in entities:
        role = ent.get("role")
        if not role or ent.get("type") != "PER":
            continue
        role_toks = tokenize(role)
        start = int(ent.get("start", 0))
        window = normalize_alias(text[max(skip, start - _ROLE_LOOKBACK) : start])
        for code, _, _, _ in _mentions(role_toks, dictionary):
            place = normalize_alias(dictionary.regions[code].short or dictionary.regions[code].name)
            if place and place in window:
                continue  # "Bupati Blora Arief Rohman": the name before it was counted already
            r = ev(code)
            r.mentions += 1
            r.institutional += 1
            if start < lead_end:
                r.lead = True
    return evidence


def choose_regions(
    evidence: dict[str, Evidence], dictionary: Dictionary, params: ProminenceParams
) -> tuple[list[str], list[str]]:
    """``(primary, mentioned)`` region codes, kabupaten/kota first then provinces, strongest
    first. A dateline alone makes no region a mention."""
    scores = {c: e.score(params) for c, e in evidence.items()}
    top = max(scores.values(), default=0.0)
    cut = max(params.threshold, params.relative * top, 1e-9)  # a zero score is never a region

    def level(c: str) -> str:
        return dictionary.regions[c].level

    ranked = sorted(scores, key=lambda c: (-scores[c], c))
    kab = [c for c in ranked if level(c) != "provinsi" and scores[c] >= cut][:MAX_REGIONS_PER_LEVEL]
    prov = [c for c in ranked if level(c) == "provinsi" and scores[c] >= cut][:MAX_REGIONS_PER_LEVEL]
    for c in kab:
        parent = dictionary.regions[c].parent
        if parent and parent not in prov:
            prov.append(parent)
    primary = set(kab) | set(prov)
    named = [c for c in ranked if c not in primary and (evidence[c].mentions or evidence[c].title)]
    m_kab = [c for c in named if level(c) != "provinsi"][:MAX_MENTIONED_PER_LEVEL]
    m_prov = [c for c in named if level(c) == "provinsi"][:MAX_MENTIONED_PER_LEVEL]
    for c in m_kab:
        parent = dictionary.regions[c].parent
        if parent and parent not in primary and parent not in m_prov:
            m_prov.append(parent)
    return kab + prov, m_kab + m_prov


def _as_dicts(codes: Sequence[str], dictionary: Dictionary) -> list[dict[str, str]]:
    return [
        {"code": dictionary.regions[c].code, "name": dictionary.regions[c].name, "level": dictionary.regions[c].level}
        for c in codes
    ]


def tag_regions(
    text: str,
    title: str | None,
    entities: Sequence[dict[str, Any]],
    dictionary: Dictionary,
    text_tokens: Sequence[Token] | None = None,
    dateline: Dateline | bool | None = True,
    params: ProminenceParams | None = None,
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """``(regions, regions_mentioned)``, each ``[{code, name, level}]`` with kabupaten/kota
    first, then provinces. Arguments as :func:`region_evidence`; ``params`` defaults to the
    committed weights."""
    evidence = region_evidence(text, title, entities, dictionary, text_tokens, dateline)
    primary, mentioned = choose_regions(evidence, dictionary, params or load_params())
    return _as_dicts(primary, dictionary), _as_dicts(mentioned, dictionary)


def detect_regions(
    text: str,
    title: str | None,
    entities: Sequence[dict[str, Any]],
    dictionary: Dictionary,
    text_tokens: Sequence[Token] | None = None,
    dateline: Dateline | bool | None = True,
) -> list[dict[str, str]]:
    """The article's regions only (see :func:`tag_regions` for the passing mentions too)."""
    return tag_regions(text, title, entities, dictionary, text_tokens, dateline)[0]
