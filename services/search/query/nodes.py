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


Node: TypeAlias = Term | Phrase | Prefix | Near | InTitle | Filter | And | Or | Not
