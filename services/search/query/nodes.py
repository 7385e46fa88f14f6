"""The syntax tree of the Warta query language.

Every node is an immutable dataclass. ``position`` (0-based character offset of the node in the
query text) is kept for error messages and explanations but ignored by ``==`` and ``hash``, so two
queries that mean the same thing in the same shape compare equal.

Text leaves (:class:`Term`, :class:`Phrase`, :class:`Prefix`) hold tokens already analyzed the way
the index analyzes ``title`` and ``body`` (see :mod:`services.search.query.tokenizer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Literal, TypeAlias

FilterField: TypeAlias = Literal["source", "lang", "entity", "region"]
FILTER_FIELDS: tuple[FilterField, ...] = ("source", "lang", "entity", "region")
# What a ``tone`` term is about: the article overall, its headline, its body, or whether the
# headline's tone differs from the body's.
ToneAspect: TypeAlias = Literal["article", "headline", "body", "mismatch"]
ToneLabel: TypeAlias = Literal["positive", "negative", "neutral"]


@dataclass(frozen=True, slots=True)
class Term:
    """One whole word (a single lowercased token)."""

    token: str
    position: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more tokens at consecutive positions, in order."""

    tokens: tuple[str, ...]
    position: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Prefix:
    """Any token starting with ``prefix`` (a trailing wildcard ``prefix*``)."""

    prefix: str
    position: int = _field(default=0, compare=False)


SpanOperand: TypeAlias = Term | Phrase | Prefix


@dataclass(frozen=True, slots=True)
class Near:
    """``left`` and ``right`` in the same field with at most ``distance`` tokens between them.

    ``ordered`` (``ONEAR``) requires ``left`` to end before ``right`` starts; unordered ``NEAR``
    accepts either order.
    """

    left: SpanOperand
    right: SpanOperand
    distance: int
    ordered: bool
    position: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class InTitle:
    """``title:…``: every text leaf below matches in the title only."""

    child: Node
    position: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Filter:
    """``source:``, ``lang:``, ``entity:`` or ``region:``: an exact, case-insensitive value match."""

    field: FilterField
    value: str
    position: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Tone:
    """``tone:…``, ``tone.judul:…``/``tone.headline:…``, ``tone.isi:…``/``tone.body:…`` and
    ``tone:beda``/``tone:mismatch``.

    ``label`` is None for ``mismatch`` only. ``text`` is the term as written (``tone:negatif``), for
    notices; like ``position`` it is ignored by ``==``. An ``article`` tone term next to ``entity:``
    terms in an AND group means the tone toward those entities: see :func:`tone_scope`.
    """

    aspect: ToneAspect
    label: ToneLabel | None = None
    position: int = _field(default=0, compare=False)
    text: str = _field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class And:
    """All children match. Always at least two children."""

    children: tuple[Node, ...]
    position: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child matches. Always at least two children."""

    children: tuple[Node, ...]
    position: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    """Documents that ``child`` does not match (on its own: everything except ``child``)."""

    child: Node
    position: int = _field(default=0, compare=False)


Node: TypeAlias = Term | Phrase | Prefix | Near | InTitle | Filter | Tone | And | Or | Not


def scopable_tone(node: Node) -> Tone | None:
    """The article-tone term of ``node`` when ``node`` is ``tone:x`` or ``NOT tone:x`` (the only
    tone terms an entity can scope), else None."""
    inner = node.child if isinstance(node, Not) else node
    return inner if isinstance(inner, Tone) and inner.aspect == "article" else None


def _entity_filters(node: Node) -> tuple[Filter, ...] | None:
    """The ``entity:`` filters of ``node`` if it is one, or an OR made only of them, else None."""
    if isinstance(node, Filter):
        return (node,) if node.field == "entity" else None
    if isinstance(node, Or):
        found: list[Filter] = []
        for child in node.children:
            filters = _entity_filters(child)
            if filters is None:
                return None
            found.extend(filters)
        return tuple(found)
    return None


def tone_scope(group: And) -> tuple[tuple[Filter, ...], ...]:
    """The entities that scope the article-tone terms of the AND ``group``: one tuple per sibling
    that is an ``entity:`` filter or an OR made only of ``entity:`` filters (its filters, any of
    which the tone may be toward). Empty: the group's ``tone:`` terms are the article's tone.

    The one rule shared by the compiler, the brute-force evaluator and the notices: an article-tone
    term ``tone:x`` in ``group`` matches when, for every scope tuple, the tone toward one of its
    entities is ``x``; ``NOT tone:x`` when, for every scope tuple, the tone toward none of its
    entities is ``x``. ``tone.judul``, ``tone.isi`` and ``tone:beda`` are never scoped.
    """
    scopes = [_entity_filters(child) for child in group.children]
    return tuple(scope for scope in scopes if scope)
