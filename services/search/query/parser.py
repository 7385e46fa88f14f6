"""Parse the Warta query language into a syntax tree (:mod:`services.search.query.nodes`).

A hand-written lexer and recursive-descent parser. Grammar (precedence NOT > AND > OR; words side
by side mean AND; ``NEAR`` binds tightest)::

    query    := or EOF
    or       := and ( "OR" and )*
    and      := unary ( ["AND"] unary )*
    unary    := ( "NOT" | "-" ) unary | primary          # "-" written right against its operand
    primary  := "(" or ")"
              | "title:" ( operand | "(" or ")" )        # written right against its value
              | ( "source:" | "lang:" | "entity:" | "region:" ) ( bare-value | '"' text '"' )
              | tone-field ( tone-value | '"' tone-value '"' )
              | operand [ ( "NEAR/" n | "ONEAR/" n ) operand ]
    operand  := word | '"' phrase '"' | word "*"
    tone-field := "tone:" | "tone.judul:" | "tone.headline:" | "tone.isi:" | "tone.body:"
    tone-value := "negatif" | "positif" | "netral" | "negative" | "positive" | "neutral"
                | "beda" | "mismatch"                   # tone: only

Operators are uppercase; ``and``, ``or``, ``not`` and ``near`` in lowercase are ordinary words.
Field names and tone values are case-insensitive. Words and phrases are cut into tokens exactly like the index's
``standard`` analyzer, so a bare word that the analyzer splits (``e-ktp``) becomes a phrase.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

from services.search.query.nodes import (
    FILTER_FIELDS,
    And,
    Filter,
    FilterField,
    InTitle,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    SpanOperand,
    Term,
    Tone,
    ToneAspect,
    ToneLabel,
)
from services.search.query.tokenizer import analyze

# The tone fields, Indonesian and English, and the part of the article each is about.
TONE_FIELDS: Final[dict[str, ToneAspect]] = {
    "tone": "article",
    "tone.judul": "headline",
    "tone.headline": "headline",
    "tone.isi": "body",
    "tone.body": "body",
}
TONE_LABELS: Final[dict[str, ToneLabel]] = {
    "negatif": "negative",
    "positif": "positive",
    "netral": "neutral",
    "negative": "negative",
    "positive": "positive",
    "neutral": "neutral",
}
TONE_MISMATCH: Final = ("beda", "mismatch")  # tone: only: the headline's tone differs from the body's
KNOWN_FIELDS: Final = ("title", *FILTER_FIELDS, *TONE_FIELDS)


# The stable ``code`` of every QuerySyntaxError, with the ``params`` it carries: the API sends both
# next to the English message, and clients translate by code (the web app: ``qe_<code>`` in i18n.js).
ERROR_CODES: Final[dict[str, tuple[str, ...]]] = {
    "empty_query": (),
    "query_too_long": ("max",),
    "unterminated_phrase": (),
    "empty_phrase": (),
    "no_searchable_word": ("text",),
    "wildcard_not_trailing": (),
    "wildcard_too_short": ("min",),
    "wildcard_not_single_word": (),
    "unknown_field": ("field", "known"),
    "missing_field_value": ("field",),
    "unknown_tone_value": ("field", "value", "accepted"),
    "title_needs_operand": (),
    "near_missing_distance": ("operator",),
    "near_distance_too_large": ("max",),
    "near_needs_operands": ("operator",),
    "near_after_title": (),
    "near_chained": (),
    "missing_left_operand": ("operator",),
    "missing_right_operand": ("operator",),
    "missing_operand": ("operator",),
    "unbalanced_parenthesis": ("paren",),
    "empty_parentheses": (),
    "unexpected_token": ("token",),
    "too_deep": ("max",),
    "too_many_clauses": ("max",),
    "too_many_wildcards": ("max",),
}


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed, or that exceeds a guard limit.

    ``position`` is the 0-based character offset in the query text where the problem is; ``code``
    is one of :data:`ERROR_CODES` and ``params`` holds the values its message names (a field, a
    limit, an operator). The API answers 400 with ``error`` (the English message), ``code``,
    ``params`` and ``position``.
    """

    def __init__(self, message: str, position: int, code: str, **params: str | int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """Guards against queries that would be expensive for Elasticsearch (or for the parser).

    ``max_clauses`` counts words, phrases, wildcards and filters; ``max_depth`` counts nested
    parentheses, negations and ``title:`` scopes.
    """

    max_length: int = 2000
    max_clauses: int = 256
    max_depth: int = 32
    max_wildcards: int = 16
    max_near_distance: int = 100
    min_wildcard_prefix: int = 3


DEFAULT_LIMITS: Final = QueryLimits()


class _Kind(Enum):
    LPAREN = auto()
    RPAREN = auto()
    AND = auto()
    OR = auto()
    NOT = auto()
    MINUS = auto()
    NEAR = auto()
    TITLE = auto()
    FILTER = auto()
    OPERAND = auto()


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: _Kind
    pos: int
    end: int
    text: str
    node: Node | None = None
    distance: int = 0
    ordered: bool = False


_FIELD_RE: Final = re.compile(r"((?i:tone)\.[A-Za-z]+|[A-Za-z]+):")
_NEAR_RE: Final = re.compile(r"(O?NEAR)/(\d{1,6})")
_NEAR_LIKE_RE: Final = re.compile(r"O?NEAR(/.*)?")
_OPERATORS: Final = {"AND": _Kind.AND, "OR": _Kind.OR, "NOT": _Kind.NOT}
_CHUNK_STOP: Final = frozenset('()"')


def _operand_from_text(text: str, pos: int) -> Term | Phrase:
    tokens = tuple(token.text for token in analyze(text))
    if not tokens:
        raise QuerySyntaxError(f"{text!r} contains no searchable word", pos, "no_searchable_word", text=text)
    if len(tokens) == 1:
        return Term(tokens[0], pos)
    return Phrase(tokens, pos)


def _wildcard(word: str, pos: int, limits: QueryLimits) -> Prefix:
    star = word.index("*")
    if star != len(word) - 1:
        raise QuerySyntaxError("only a trailing * wildcard is supported", pos + star, "wildcard_not_trailing")
    stem = word[:-1]
    tokens = analyze(stem)
    too_short = f"a wildcard needs at least {limits.min_wildcard_prefix} characters before *"
    if not tokens:
        raise QuerySyntaxError(too_short, pos, "wildcard_too_short", min=limits.min_wildcard_prefix)
    if len(tokens) > 1 or tokens[0].start != 0 or tokens[0].end != len(stem):
        raise QuerySyntaxError("a wildcard must follow a single word", pos, "wildcard_not_single_word")
    if len(tokens[0].text) < limits.min_wildcard_prefix:
        raise QuerySyntaxError(too_short, pos, "wildcard_too_short", min=limits.min_wildcard_prefix)
    return Prefix(tokens[0].text, pos)


def _tone(name: str, value: str, pos: int, value_pos: int, written: str) -> Tone:
    """The tone term ``name:value`` (``name`` lowercased), or an error at ``value_pos`` listing the
    values ``name`` accepts."""
    aspect = TONE_FIELDS[name]
    key = value.lower()
    if key in TONE_LABELS:
        return Tone(aspect, TONE_LABELS[key], pos, written)
    if aspect == "article" and key in TONE_MISMATCH:
        return Tone("mismatch", None, pos, written)
    indonesian, english = list(TONE_LABELS)[:3], list(TONE_LABELS)[3:]
    if aspect == "article":
        indonesian, english = [*indonesian, TONE_MISMATCH[0]], [*english, TONE_MISMATCH[1]]
    accepted = ", ".join(indonesian + english)
    raise QuerySyntaxError(
        f"{name}: does not accept {value!r}; accepted values: {accepted}",
        value_pos,
        "unknown_tone_value",
        field=name,
        value=value,
        accepted=accepted,
    )


def _chunk_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in _CHUNK_STOP:
        end += 1
    return end


def _closing_quote(text: str, opening: int) -> int:
    closing = text.find('"', opening + 1)
    if closing < 0:
        raise QuerySyntaxError("unbalanced quote", opening, "unterminated_phrase")
    return closing


def _lex(text: str, limits: QueryLimits) -> Iterator[_Lexeme]:
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
        elif char == "(":
            yield _Lexeme(_Kind.LPAREN, index, index + 1, char)
            index += 1
        elif char == ")":
            yield _Lexeme(_Kind.RPAREN, index, index + 1, char)
            index += 1
        elif char == "-":
            yield _Lexeme(_Kind.MINUS, index, index + 1, char)
            index += 1
        elif char == '"':
            closing = _closing_quote(text, index)
            inner = text[index + 1 : closing]
            if not analyze(inner):
                raise QuerySyntaxError("phrase contains no searchable word", index, "empty_phrase")
            phrase = _operand_from_text(inner, index)
            yield _Lexeme(_Kind.OPERAND, index, closing + 1, text[index : closing + 1], phrase)
            index = closing + 1
        else:
            end = _chunk_end(text, index)
            word = text[index:end]
            field_match = _FIELD_RE.match(word)
            if word in _OPERATORS:
                yield _Lexeme(_OPERATORS[word], index, end, word)
            elif near := _NEAR_RE.fullmatch(word):
                distance = int(near.group(2))
                if distance > limits.max_near_distance:
                    raise QuerySyntaxError(
                        f"NEAR distance must be at most {limits.max_near_distance}",
                        index,
                        "near_distance_too_large",
                        max=limits.max_near_distance,
                    )
                ordered = near.group(1) == "ONEAR"
                yield _Lexeme(_Kind.NEAR, index, end, word, distance=distance, ordered=ordered)
            elif _NEAR_LIKE_RE.fullmatch(word):
                operator = word.split("/", 1)[0]
                raise QuerySyntaxError(
                    f"{operator} needs a distance, for example {operator}/5",
                    index,
                    "near_missing_distance",
                    operator=operator,
                )
            elif field_match:
                name = field_match.group(1).lower()
                value_start = index + len(field_match.group(0))
                if name not in KNOWN_FIELDS:
                    raise QuerySyntaxError(
                        f"unknown field {field_match.group(1)!r}; known fields: " + ", ".join(KNOWN_FIELDS),
                        index,
                        "unknown_field",
                        field=field_match.group(1),
                        known=", ".join(KNOWN_FIELDS),
                    )
                if name == "title":
                    yield _Lexeme(_Kind.TITLE, index, value_start, word[: value_start - index])
                    index = value_start
                    continue
                if value_start < length and text[value_start] == '"':
                    closing = _closing_quote(text, value_start)
                    value = text[value_start + 1 : closing].strip()
                    end = closing + 1
                else:
                    value = text[value_start:end]
                if not value:
                    raise QuerySyntaxError(f"{name}: needs a value", index, "missing_field_value", field=name)
                if name in TONE_FIELDS:
                    tone = _tone(name, value, index, value_start, text[index:end])
                    yield _Lexeme(_Kind.FILTER, index, end, text[index:end], tone)
                    index = end
                    continue
                field_name: FilterField = name  # type: ignore[assignment]
                yield _Lexeme(_Kind.FILTER, index, end, text[index:end], Filter(field_name, value, index))
            elif "*" in word:
                yield _Lexeme(_Kind.OPERAND, index, end, word, _wildcard(word, index, limits))
            else:
                yield _Lexeme(_Kind.OPERAND, index, end, word, _operand_from_text(word, index))
            index = end


_UNARY_START: Final = frozenset({_Kind.LPAREN, _Kind.NOT, _Kind.MINUS, _Kind.TITLE, _Kind.FILTER, _Kind.OPERAND})
_NAMES: Final = {
    _Kind.AND: "AND",
    _Kind.OR: "OR",
    _Kind.NOT: "NOT",
    _Kind.MINUS: "-",
    _Kind.NEAR: "NEAR",
}


class _Parser:
    def __init__(self, lexemes: list[_Lexeme], limits: QueryLimits) -> None:
        self._lexemes = lexemes
        self._index = 0
        self._limits = limits
        self._depth = 0
        self._clauses = 0
        self._wildcards = 0

    # -- helpers -------------------------------------------------------------------------------
    def _peek(self) -> _Lexeme | None:
        return self._lexemes[self._index] if self._index < len(self._lexemes) else None

    def _next(self) -> _Lexeme:
        lexeme = self._lexemes[self._index]
        self._index += 1
        return lexeme

    def _starts_unary(self) -> bool:
        lexeme = self._peek()
        return lexeme is not None and lexeme.kind in _UNARY_START

    def _enter(self, pos: int) -> None:
        self._depth += 1
        if self._depth > self._limits.max_depth:
            raise QuerySyntaxError(
                f"query nests deeper than {self._limits.max_depth} levels", pos, "too_deep", max=self._limits.max_depth
            )

    def _count(self, node: Node, pos: int) -> None:
        leaves = 2 if isinstance(node, Near) else 1
        self._clauses += leaves
        if self._clauses > self._limits.max_clauses:
            raise QuerySyntaxError(
                f"query has more than {self._limits.max_clauses} terms and filters",
                pos,
                "too_many_clauses",
                max=self._limits.max_clauses,
            )
        wildcards = (
            sum(isinstance(side, Prefix) for side in (node.left, node.right))
            if isinstance(node, Near)
            else int(isinstance(node, Prefix))
        )
        self._wildcards += wildcards
        if self._wildcards > self._limits.max_wildcards:
            raise QuerySyntaxError(
                f"query has more than {self._limits.max_wildcards} wildcards",
                pos,
                "too_many_wildcards",
                max=self._limits.max_wildcards,
            )

    def _unexpected(self, lexeme: _Lexeme) -> QuerySyntaxError:
        if lexeme.kind == _Kind.RPAREN:
            return QuerySyntaxError("unbalanced ')'", lexeme.pos, "unbalanced_parenthesis", paren=")")
        if lexeme.kind == _Kind.NEAR:
            return QuerySyntaxError(
                f"{lexeme.text} works between two words, phrases or wildcards",
                lexeme.pos,
                "near_needs_operands",
                operator=lexeme.text,
            )
        if lexeme.kind in (_Kind.AND, _Kind.OR):
            return QuerySyntaxError(
                f"{lexeme.text} is missing its left operand", lexeme.pos, "missing_left_operand", operator=lexeme.text
            )
        return QuerySyntaxError(f"unexpected {lexeme.text!r}", lexeme.pos, "unexpected_token", token=lexeme.text)

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self._or()
        leftover = self._peek()
        if leftover is not None:
            raise self._unexpected(leftover)
        return node

    def _or(self) -> Node:
        children = [self._and()]
        while (lexeme := self._peek()) is not None and lexeme.kind == _Kind.OR:
            self._next()
            if not self._starts_unary():
                raise QuerySyntaxError(
                    "OR is missing its right operand", lexeme.pos, "missing_right_operand", operator="OR"
                )
            children.append(self._and())
        return _flatten(Or, children)

    def _and(self) -> Node:
        children = [self._unary()]
        while (lexeme := self._peek()) is not None:
            if lexeme.kind == _Kind.AND:
                self._next()
                if not self._starts_unary():
                    raise QuerySyntaxError(
                        "AND is missing its right operand", lexeme.pos, "missing_right_operand", operator="AND"
                    )
            elif lexeme.kind not in _UNARY_START:
                break
            children.append(self._unary())
        return _flatten(And, children)

    def _unary(self) -> Node:
        lexeme = self._peek()
        if lexeme is not None and lexeme.kind in (_Kind.NOT, _Kind.MINUS):
            self._next()
            following = self._peek()
            if not self._starts_unary() or (
                lexeme.kind == _Kind.MINUS and following is not None and following.pos != lexeme.end
            ):
                operator = _NAMES[lexeme.kind]
                raise QuerySyntaxError(
                    f"{operator} is missing its operand", lexeme.pos, "missing_operand", operator=operator
                )
            self._enter(lexeme.pos)
            child = self._unary()
            self._depth -= 1
            return Not(child, lexeme.pos)
        return self._primary()

    def _primary(self) -> Node:
        lexeme = self._peek()
        if lexeme is None:  # callers check _starts_unary first; kept for safety
            raise QuerySyntaxError("unexpected end of query", 0, "unexpected_token", token="")
        if lexeme.kind not in _UNARY_START:
            raise self._unexpected(lexeme)
        self._next()
        if lexeme.kind == _Kind.LPAREN:
            return self._group(lexeme)
        if lexeme.kind == _Kind.TITLE:
            return self._title(lexeme)
        if lexeme.kind == _Kind.FILTER:
            assert lexeme.node is not None
            self._count(lexeme.node, lexeme.pos)
            return lexeme.node
        return self._near_or_operand(lexeme)

    def _group(self, opening: _Lexeme) -> Node:
        following = self._peek()
        if following is not None and following.kind == _Kind.RPAREN:
            raise QuerySyntaxError("empty parentheses", opening.pos, "empty_parentheses")
        if following is None:
            raise QuerySyntaxError("unbalanced '('", opening.pos, "unbalanced_parenthesis", paren="(")
        self._enter(opening.pos)
        node = self._or()
        self._depth -= 1
        closing = self._peek()
        if closing is None:
            raise QuerySyntaxError("unbalanced '('", opening.pos, "unbalanced_parenthesis", paren="(")
        if closing.kind != _Kind.RPAREN:
            raise self._unexpected(closing)
        self._next()
        return node

    def _title(self, scope: _Lexeme) -> Node:
        value = self._peek()
        if (
            value is None
            or value.pos != scope.end
            or value.kind
            not in (
                _Kind.OPERAND,
                _Kind.LPAREN,
            )
        ):
            raise QuerySyntaxError(
                "title: must be followed directly by a word, phrase, wildcard or (group)",
                scope.pos,
                "title_needs_operand",
            )
        self._enter(scope.pos)
        self._next()
        if value.kind == _Kind.LPAREN:
            child = self._group(value)
        else:
            assert value.node is not None
            self._count(value.node, value.pos)
            child = value.node
            following = self._peek()
            if following is not None and following.kind == _Kind.NEAR:
                raise QuerySyntaxError(
                    "NEAR cannot follow a title: term; write title:(a NEAR/5 b)", following.pos, "near_after_title"
                )
        self._depth -= 1
        return InTitle(child, scope.pos)

    def _near_or_operand(self, left: _Lexeme) -> Node:
        assert left.node is not None
        operator = self._peek()
        if operator is None or operator.kind != _Kind.NEAR:
            self._count(left.node, left.pos)
            return left.node
        self._next()
        right = self._peek()
        if right is None or right.kind != _Kind.OPERAND:
            raise QuerySyntaxError(
                f"{operator.text} needs a word, phrase or wildcard on its right",
                operator.pos,
                "near_needs_operands",
                operator=operator.text,
            )
        self._next()
        assert isinstance(left.node, Term | Phrase | Prefix)
        assert isinstance(right.node, Term | Phrase | Prefix)
        near = Near(left.node, right.node, operator.distance, operator.ordered, left.pos)
        self._count(near, left.pos)
        chained = self._peek()
        if chained is not None and chained.kind == _Kind.NEAR:
            raise QuerySyntaxError(
                "NEAR cannot be chained; combine two NEAR groups with AND", chained.pos, "near_chained"
            )
        return near


def _flatten(kind: type[And] | type[Or], children: list[Node]) -> Node:
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        if isinstance(child, kind):
            flat.extend(child.children)
        else:
            flat.append(child)
    return kind(tuple(flat), _position(children[0]))


def _position(node: Node) -> int:
    return node.position


def parse(text: str, *, limits: QueryLimits = DEFAULT_LIMITS) -> Node:
    """Parse query ``text`` into a syntax tree.

    Pure and fast (linear in the length of ``text``). Raises :class:`QuerySyntaxError` with the
    0-based character position for: an empty query, unbalanced quotes or parentheses, a dangling
    operator, a wildcard that is too short or not trailing, an unknown field, and any
    :class:`QueryLimits` guard being exceeded.
    """
    if len(text) > limits.max_length:
        raise QuerySyntaxError(
            f"query is longer than {limits.max_length} characters",
            limits.max_length,
            "query_too_long",
            max=limits.max_length,
        )
    lexemes = list(_lex(text, limits))
    if not lexemes:
        raise QuerySyntaxError("empty query", 0, "empty_query")
    return _Parser(lexemes, limits).parse()


# -- notices ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryNotice:
    """A hint about a query that parsed but may not mean what its writer meant: ``code`` is stable
    (clients translate by it), ``message`` English, ``position`` a 0-based offset in the query."""

    code: str
    message: str
    position: int
    params: dict[str, str]


_AFTER_WORD: Final = frozenset({_Kind.OPERAND, _Kind.RPAREN, _Kind.FILTER})
_BEFORE_WORD: Final = frozenset({_Kind.OPERAND, _Kind.LPAREN, _Kind.FILTER, _Kind.TITLE})


def query_notices(text: str, *, limits: QueryLimits = DEFAULT_LIMITS) -> list[QueryNotice]:
    """Hints for ``text``: an ``and``, ``or`` or ``not`` not written in capitals between two words
    is searched as a word (code ``lowercase_operator``). Pure; a query that does not parse has no
    notices (its error says what is wrong)."""
    try:
        lexemes = list(_lex(text, limits))
    except QuerySyntaxError:
        return []
    notices = []
    for before, lexeme, after in zip(lexemes, lexemes[1:], lexemes[2:], strict=False):
        operator = lexeme.text.upper()
        if (
            lexeme.kind == _Kind.OPERAND
            and operator in _OPERATORS
            and before.kind in _AFTER_WORD
            and after.kind in _BEFORE_WORD
        ):
            notices.append(
                QueryNotice(
                    "lowercase_operator",
                    f"{lexeme.text!r} is searched as a word; did you mean {operator}?",
                    lexeme.pos,
                    {"word": lexeme.text, "operator": operator},
                )
            )
    return notices


# -- rendering -------------------------------------------------------------------------------------


def _render_operand(node: SpanOperand) -> str:
    if isinstance(node, Term):
        return f'"{node.token}"' if ":" in node.token else node.token
    if isinstance(node, Phrase):
        return '"' + " ".join(node.tokens) + '"'
    return f"{node.prefix}*"


def _render_filter_value(value: str) -> str:
    if not value or any(char.isspace() or char in '()"' for char in value):
        return f'"{value}"'
    return value


_TONE_RENDERED_FIELDS: Final[dict[ToneAspect, str]] = {
    "article": "tone",
    "headline": "tone.headline",
    "body": "tone.body",
}


def _render_tone(node: Tone) -> str:
    if node.aspect == "mismatch":
        return "tone:mismatch"
    return f"{_TONE_RENDERED_FIELDS[node.aspect]}:{node.label}"


def render(node: Node) -> str:
    """A canonical query string for ``node``: ``parse(render(node)) == node`` for parsed trees.

    Useful to show users how their query was understood (explicit AND, tokens lowercased).
    """
    if isinstance(node, Term | Phrase | Prefix):
        return _render_operand(node)
    if isinstance(node, Near):
        operator = "ONEAR" if node.ordered else "NEAR"
        return f"{_render_operand(node.left)} {operator}/{node.distance} {_render_operand(node.right)}"
    if isinstance(node, Filter):
        return f"{node.field}:{_render_filter_value(node.value)}"
    if isinstance(node, Tone):
        return _render_tone(node)
    if isinstance(node, InTitle):
        if isinstance(node.child, Term | Phrase | Prefix):
            return f"title:{_render_operand(node.child)}"
        return f"title:({render(node.child)})"
    if isinstance(node, Not):
        inner = render(node.child)
        return f"NOT ({inner})" if isinstance(node.child, And | Or) else f"NOT {inner}"
    if isinstance(node, And):
        return " AND ".join(f"({render(child)})" if isinstance(child, Or) else render(child) for child in node.children)
    return " OR ".join(render(child) for child in node.children)
