"""Which province and kabupaten/kota an article is about.

Evidence, each weighted: the dateline (the place before the dash of the first paragraph),
institution and role mentions bound to a region ("Pemkab Blora", "Bupati Blora"), and plain
place-name mentions. Bare names shared by a Kabupaten and a Kota ("Semarang") go to the Kota
unless a "Kabupaten"/"Bupati"-style cue precedes them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .canonical import Dictionary, normalize_alias
from .text import Token, tokenize

_KAB_CUES = frozenset({"kabupaten", "kab", "pemkab", "bupati", "wabup", "dprd", "polres", "kejari"})
_KOTA_CUES = frozenset({"kota", "pemkot", "walikota", "wali", "wawali", "polresta", "polrestabes"})
# Only these make an ambiguous name ("Metro", "Batu") a region; "Polda Metro Jaya" must not.
_STRONG_CUES = frozenset(
    {"kabupaten", "kab", "kota", "pemkab", "pemkot", "bupati", "wabup", "walikota", "wali", "wawali"}
)
_DATELINE_RE = re.compile(r"^[^\n–—-]{1,80}?[–—-]")

W_INSTITUTION = 2.0
W_MENTION = 1.0
W_DATELINE = 1.0
W_TITLE = 1.5
RELATIVE_CUTOFF = 0.5
MAX_REGIONS_PER_LEVEL = 4


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


def _score_text(
    text: str,
    weight: float,
    dictionary: Dictionary,
    scores: defaultdict[str, float],
    toks: Sequence[Token] | None = None,
) -> None:
    if toks is None:
        toks = tokenize(text)
    for m in dictionary.alias_matcher.find(toks):
        entry = dictionary.aliases[m.key]
        if entry["region"] and not dictionary.continues_into_other_name(m, toks):
            scores[entry["region"]] += W_INSTITUTION * weight
    for m in dictionary.region_matcher.find(toks):
        prev = normalize_alias(toks[m.first - 1].text) if m.first > 0 else None
        if m.key in dictionary.ambiguous_region_names and prev not in _STRONG_CUES:
            continue
        for code in _pick(dictionary.region_aliases[m.key], prev, dictionary):
            scores[code] += W_MENTION * weight


def detect_regions(
    text: str,
    title: str | None,
    entities: Sequence[dict[str, Any]],
    dictionary: Dictionary,
    text_tokens: Sequence[Token] | None = None,
) -> list[dict[str, str]]:
    """Regions as ``[{code, name, level}]``: kabupaten/kota first, then provinces.

    Returns the strongest kabupaten/kota plus any scoring at least half as much, and their
    provinces plus directly mentioned provinces passing the same cut-off. ``text_tokens`` may
    pass ``tokenize(text)`` when the caller already has it.
    """
    scores: defaultdict[str, float] = defaultdict(float)
    _score_text(text, 1.0, dictionary, scores, text_tokens)
    if title:
        _score_text(title, W_TITLE, dictionary, scores)
    m = _DATELINE_RE.match(text)
    if m:
        for r in dictionary.region_matcher.find(tokenize(m.group())):
            for code in _pick(dictionary.region_aliases[r.key], None, dictionary):
                scores[code] += W_DATELINE
    # Roles bound to a region ("Bupati Blora") count as institutional evidence.
    for e in entities:
        role = e.get("role")
        if role:
            for r in dictionary.region_matcher.find(tokenize(role)):
                prev_cues = {normalize_alias(w) for w in role.split()}
                for code in _pick(
                    dictionary.region_aliases[r.key], next(iter(prev_cues & (_KAB_CUES | _KOTA_CUES)), None), dictionary
                ):
                    scores[code] += W_MENTION

    kab = {c: s for c, s in scores.items() if dictionary.regions[c].level != "provinsi"}
    chosen_kab: list[str] = []
    if kab:
        top = max(kab.values())
        chosen_kab = sorted((c for c, s in kab.items() if s >= RELATIVE_CUTOFF * top), key=lambda c: -kab[c])
        chosen_kab = chosen_kab[:MAX_REGIONS_PER_LEVEL]
    prov_scores: defaultdict[str, float] = defaultdict(
        float, {c: s for c, s in scores.items() if dictionary.regions[c].level == "provinsi"}
    )
    for c in chosen_kab:
        parent = dictionary.regions[c].parent
        if parent:
            prov_scores[parent] += kab[c]
    chosen_prov: list[str] = []
    if prov_scores:
        top = max(prov_scores.values())
        chosen_prov = [
            c
            for c, s in sorted(prov_scores.items(), key=lambda kv: -kv[1])[:MAX_REGIONS_PER_LEVEL]
            if s >= RELATIVE_CUTOFF * top
        ]
        for c in chosen_kab:
            parent = dictionary.regions[c].parent
            if parent and parent not in chosen_prov:
                chosen_prov.append(parent)
    out = []
    for c in [*chosen_kab, *chosen_prov]:
        region = dictionary.regions[c]
        out.append({"code": region.code, "name": region.name, "level": region.level})
    return out
