"""Region and entity names as people write them, resolved to what the index stores.

``region:`` accepts a BPS code (``3316``, ``33.16``), the official name (``Kabupaten Blora``), the
name without ``Kabupaten``/``Kab.``/``Kota``/``Provinsi`` (``Blora``), a province's short form or
ISO 3166-2 code (``Jateng``, ``DIY``, ``ID-JT``), and every other alias of the gazetteer
(``shared/gazetteer``). It resolves to region codes, which is what the compiler and the
brute-force evaluator compare (``region_codes``). A bare name shared by several regions
(``Semarang``: Kota Semarang and Kabupaten Semarang) resolves to all of them, and
:func:`notices` says so. A name the gazetteer does not know is compared as typed against codes and
names, and :func:`notices` says that no region has that name, with close names if there are any.

``entity:`` matches the value as typed and, when it is an alias in the alias dictionary, the
canonical name it stands for (``Pemprov Jateng`` → ``Pemerintah Provinsi Jawa Tengah``): the
index stores canonical names only.

A ``tone:`` term next to ``entity:`` terms is the tone toward those entities
(:func:`services.search.query.nodes.tone_scope`), and :func:`notices` says toward which, by their
canonical names (``tone_entity_scope``).

The gazetteer is read once per process, on first use (about a quarter of a second). Lookups are
pure and cached; nothing here raises for any input text.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from services.search.query.nodes import And, Filter, InTitle, Node, Not, Or, Tone, scopable_tone, tone_scope
from shared.gazetteer import ALIASES_JSON, normalize_alias, read_provinces

NoticeCode = Literal["region_ambiguous", "region_unknown", "entity_alias", "tone_entity_scope"]

# Words naming a region's kind, as written before its name, and the kind they select.
_KIND_PREFIXES: dict[str, str] = {
    "kabupaten": "Kabupaten",
    "kab": "Kabupaten",
    "kota": "Kota",
    "provinsi": "Provinsi",
    "prov": "Provinsi",
    "propinsi": "Provinsi",
}
MAX_SUGGESTIONS = 3


@dataclass(frozen=True, slots=True)
class RegionName:
    code: str
    name: str
    kind: str  # "Provinsi" | "Kabupaten" | "Kota"


@dataclass(frozen=True, slots=True)
class RegionResolution:
    """``codes``: the regions a value names (empty when it names none); ``suggestions``: official
    names close to an unknown value."""

    codes: tuple[str, ...]
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the client should know about how a filter was read. ``message`` is English;
    ``code`` is stable, for translation; ``matches`` and ``suggestions`` are display names.
    ``position`` is the filter's offset in the query, None for a filter parameter.

    A ``tone_entity_scope`` notice also has ``term`` (the tone term as written), ``label`` and
    ``toward``: one tuple of canonical names per entity sibling, the tone holding toward each tuple
    (toward one of its names); ``matches`` lists all those names."""

    code: NoticeCode
    field: Literal["region", "entity", "tone"]
    value: str
    message: str
    matches: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    position: int | None = None
    term: str = ""
    label: str = ""
    toward: tuple[tuple[str, ...], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The search API's notice shape: ``code``, ``message``, ``position``, ``params``."""
        params: dict[str, Any] = {"field": self.field, "value": self.value, "matches": list(self.matches),
                                  "suggestions": list(self.suggestions)}  # fmt: skip
        if self.code == "tone_entity_scope":
            params.update(term=self.term, label=self.label, toward=[list(names) for names in self.toward])
        return {"code": self.code, "message": self.message, "position": self.position, "params": params}


@dataclass(frozen=True)
class Gazetteer:
    """Regions by code and by normalised alias, and entity aliases to canonical names."""

    regions: dict[str, RegionName]
    region_aliases: dict[str, tuple[str, ...]]
    entity_aliases: dict[str, str]
    _alias_keys: list[str] = field(default_factory=list)
    _entity_keys: list[str] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Gazetteer:
        """Build from the alias dictionary (``aliases.json``) plus ``provinces.csv``."""
        regions: dict[str, RegionName] = {}
        aliases: dict[str, list[str]] = {}

        def add(alias: str, code: str) -> None:
            codes = aliases.setdefault(normalize_alias(alias), [])
            if code not in codes:
                codes.append(code)

        for region in data["regions"]:
            regions[region["code"]] = RegionName(region["code"], region["name"], region["kind"])
            for alias in (region["name"], region["short"], *region["aliases"]):
                add(alias, region["code"])
        for province in read_provinces():
            code = province.code.replace(".", "")
            for alias in (province.name, province.iso_3166_2, *province.short_forms):
                add(alias, code)
        entity_aliases = {key: entry["canonical"] for key, entry in data["aliases"].items()}
        gazetteer = cls(regions, {k: tuple(v) for k, v in aliases.items() if k}, entity_aliases)
        gazetteer._alias_keys.extend(sorted(gazetteer.region_aliases))
        gazetteer._entity_keys.extend(sorted(entity_aliases))
        return gazetteer

    def region(self, value: str) -> RegionResolution:
        key = normalize_alias(value)
        if key in self.regions:
            return RegionResolution((key,))
        codes = self.region_aliases.get(key)
        if codes:
            return RegionResolution(codes)
        head, _, rest = key.partition(" ")
        kind = _KIND_PREFIXES.get(head)
        if kind and rest:
            named = self.region_aliases.get(rest, ())
            codes = tuple(c for c in named if self.regions[c].kind == kind)
            if codes:
                return RegionResolution(codes)
            if named:  # "Kota Blora": the name exists, as another kind of region
                return RegionResolution((), self.names(named)[:MAX_SUGGESTIONS])
        return RegionResolution((), self._close(key))

    def _close(self, key: str) -> tuple[str, ...]:
        if not key:
            return ()
        names: list[str] = []
        for alias in difflib.get_close_matches(key, self._alias_keys, n=MAX_SUGGESTIONS * 2, cutoff=0.75):
            for code in self.region_aliases[alias]:
                name = self.regions[code].name
                if name not in names:
                    names.append(name)
        return tuple(names[:MAX_SUGGESTIONS])

    def regions_with_prefix(self, prefix: str, limit: int = 20) -> tuple[str, ...]:
        """Official names of the regions that have a code or an alias starting with ``prefix``
        (``jaten`` → Jawa Tengah, ``331`` → the kabupaten of codes 331x), at most ``limit``."""
        key = normalize_alias(prefix)
        if not key:
            return ()
        if key.isdigit():
            codes = [code for code in self.regions if code.startswith(key)]
        else:
            codes = [
                code for alias in _starting_with(self._alias_keys, key, limit) for code in self.region_aliases[alias]
            ]
        return tuple(dict.fromkeys(self.regions[code].name for code in codes))[:limit]

    def entities_with_prefix(self, prefix: str, limit: int = 20) -> tuple[str, ...]:
        """Canonical names of the entities with an alias starting with ``prefix``, at most ``limit``."""
        key = normalize_alias(prefix)
        if len(key) < 2:
            return ()
        found = (self.entity_aliases[alias] for alias in _starting_with(self._entity_keys, key, limit * 4))
        return tuple(dict.fromkeys(found))[:limit]

    def names(self, codes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.regions[code].name for code in codes)

    def entity(self, value: str) -> str | None:
        """The canonical name ``value`` is an alias of, if it is one and differs from ``value``."""
        canonical = self.entity_aliases.get(normalize_alias(value))
        return canonical if canonical and canonical.lower() != value.strip().lower() else None


def _starting_with(sorted_keys: list[str], prefix: str, limit: int) -> list[str]:
    start = bisect.bisect_left(sorted_keys, prefix)
    return list(
        itertools.takewhile(lambda k: k.startswith(prefix), itertools.islice(sorted_keys, start, start + limit))
    )


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The process's gazetteer, read on first use. Raises ``OSError`` if the data is missing."""
    with ALIASES_JSON.open(encoding="utf-8") as fh:
        return Gazetteer.from_data(json.load(fh))


@lru_cache(maxsize=4096)
def region_codes(value: str) -> tuple[str, ...]:
    """The region codes ``value`` names; empty when it names no known region."""
    return gazetteer().region(value).codes


@lru_cache(maxsize=4096)
def entity_names(value: str) -> tuple[str, ...]:
    """The names an ``entity:`` value matches (compared case-insensitively): itself and, for an
    alias, its canonical name."""
    canonical = gazetteer().entity(value)
    return (value, canonical) if canonical else (value,)


def _and_list(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _shown(value: str) -> str:
    return f'"{value}"' if " " in value else value


@lru_cache(maxsize=4096)
def filter_notice(field_name: str, value: str) -> Notice | None:
    """The notice for one ``region:`` or ``entity:`` value, if any."""
    g = gazetteer()
    if field_name == "region":
        resolution = g.region(value)
        if len(resolution.codes) > 1:
            names = g.names(resolution.codes)
            return Notice("region_ambiguous", "region", value,
                          f"region:{_shown(value)} matched {_and_list(names)}", matches=names)  # fmt: skip
        if not resolution.codes:
            message = f"no region named {value!r} exists"
            if resolution.suggestions:
                message += f"; did you mean {' or '.join(resolution.suggestions)}?"
            return Notice("region_unknown", "region", value, message, suggestions=resolution.suggestions)
        return None
    if field_name == "entity":
        canonical = g.entity(value)
        if canonical:
            return Notice("entity_alias", "entity", value, f"entity:{_shown(value)} matched {canonical}",
                          matches=(canonical,))  # fmt: skip
    return None


def tone_notice(tone: Tone, scope: tuple[tuple[Filter, ...], ...]) -> Notice:
    """The notice for an article-tone term scoped by ``scope`` (:func:`tone_scope`): the tone
    toward which entities, by canonical name ("tone:negatif is the tone toward Pemerintah Kabupaten
    Blora")."""
    toward = tuple(tuple(dict.fromkeys(entity_names(f.value)[-1] for f in entities)) for entities in scope)
    term = tone.text or f"tone:{tone.label}"
    message = f"{term} is the tone toward " + " and toward ".join(" or ".join(names) for names in toward)
    value = term.split(":", 1)[1].strip('"').strip()
    matches = tuple(dict.fromkeys(name for names in toward for name in names))
    return Notice("tone_entity_scope", "tone", value, message, matches=matches, position=tone.position,
                  term=term, label=tone.label or "", toward=toward)  # fmt: skip


def _tone_notices(node: Node) -> Iterator[Notice]:
    if isinstance(node, And):
        scope = tone_scope(node)
        for child in node.children:
            tone = scopable_tone(child) if scope else None
            if tone is not None:
                yield tone_notice(tone, scope)
    if isinstance(node, And | Or):
        for child in node.children:
            yield from _tone_notices(child)
    elif isinstance(node, InTitle | Not):
        yield from _tone_notices(node.child)


def _filters(node: Node) -> Iterator[Filter]:
    if isinstance(node, Filter):
        yield node
    elif isinstance(node, InTitle | Not):
        yield from _filters(node.child)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _filters(child)


def notices(tree: Node | None, extra: Iterable[tuple[str, str]] = ()) -> list[Notice]:
    """Notices for the ``region:`` and ``entity:`` filters of ``tree`` and for the ``(field, value)``
    pairs of ``extra`` (the filter parameters), each once, and for each ``tone:`` term of ``tree``
    that is the tone toward entities, in query order (the filter parameters last)."""
    found: list[tuple[str, str, int | None]] = [(f.field, f.value, f.position) for f in _filters(tree)] if tree else []
    found += [(field_name, value, None) for field_name, value in extra]
    out: list[Notice] = []
    seen: set[tuple[str, str]] = set()
    for field_name, value, position in found:
        key = (field_name, value.lower())
        if field_name in ("region", "entity") and key not in seen:
            seen.add(key)
            notice = filter_notice(field_name, value)
            if notice:
                out.append(replace(notice, position=position))
    if tree is not None:
        tones = list(_tone_notices(tree))
        if tones:  # in query order; the filter parameters' notices (no position) stay last
            in_query = sorted([n for n in out if n.position is not None] + tones, key=lambda n: n.position or 0)
            out = in_query + [n for n in out if n.position is None]
    return out
