"""A brute-force reference evaluator for the query language, over in-memory documents.

It defines what a query *means*, independently of Elasticsearch (filter values are resolved by the
same :mod:`services.search.query.names` as in the compiler), and the property tests check
that :func:`services.search.query.compiler.to_es_query` gives the same hit set. Documents are
mappings with ``title`` and ``body`` (strings) and ``source``, ``outlet``, ``language``, ``entity_names``,
``region_codes``, ``region_names`` (a string or a list of strings; missing means no value), and
as the index stores tone: ``tone`` (a mapping with ``label``, ``headline`` and ``body``, each a
label or None), ``tone_mismatch`` (a boolean) and ``entity_tone_keys`` (``"<canonical>|<label>"``
strings). A document without them (enriched before tone existed) has no tone.

An article-tone term next to ``entity:`` terms in an AND group is the tone toward those entities
(the rule is :func:`services.search.query.nodes.tone_scope`).

Span semantics follow Lucene's ``SpanNearQuery`` for clauses of fixed width (words and wildcards
are one position wide, a phrase of k tokens is k wide):

- ordered: ``right`` starts at or after ``left`` ends, with at most n positions in between;
- unordered: ``max(ends) - min(starts) - (width_left + width_right) <= n``; the two matches may
  overlap, so ``a NEAR/n a`` matches a single ``a``, as it does in Lucene.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.search.query.names import entity_names, region_codes
from services.search.query.nodes import (
    And,
    Filter,
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
    scopable_tone,
    tone_scope,
)
from services.search.query.tokenizer import lowercase, tokenize


@dataclass(frozen=True, slots=True)
class AnalyzedDocument:
    """A document with its text fields tokenized once, ready for repeated evaluation."""

    doc_id: str
    fields: Mapping[str, tuple[str, ...]]
    keywords: Mapping[str, frozenset[str]]


_KEYWORD_FIELDS = ("source", "outlet", "language", "entity_names", "region_codes", "region_names", "entity_tone_keys")
_TONE_PARTS = ("label", "headline", "body")


def _keyword_values(raw: Any) -> frozenset[str]:
    if raw is None:
        return frozenset()
    values = [raw] if isinstance(raw, str) else list(raw)
    return frozenset(lowercase(value) for value in values)


def analyze_document(
    document: Mapping[str, Any], *, text_fields: Sequence[str] = ("title", "body")
) -> AnalyzedDocument:
    """Tokenize ``document`` (which needs an ``id``) for :func:`matches`."""
    tone = document.get("tone") or {}
    keywords = {field: _keyword_values(document.get(field)) for field in _KEYWORD_FIELDS}
    # Under the index's field names: tone.label, tone.headline, tone.body; tone_mismatch as "true".
    keywords.update({f"tone.{part}": _keyword_values(tone.get(part)) for part in _TONE_PARTS})
    keywords["tone_mismatch"] = frozenset({"true"}) if document.get("tone_mismatch") is True else frozenset()
    return AnalyzedDocument(
        doc_id=str(document["id"]),
        fields={field: tuple(tokenize(document.get(field) or "")) for field in text_fields},
        keywords=keywords,
    )


def _spans(operand: SpanOperand, tokens: tuple[str, ...]) -> list[int]:
    """Start positions where ``operand`` matches in ``tokens``."""
    if isinstance(operand, Term):
        return [index for index, token in enumerate(tokens) if token == operand.token]
    if isinstance(operand, Prefix):
        return [index for index, token in enumerate(tokens) if token.startswith(operand.prefix)]
    width = len(operand.tokens)
    return [index for index in range(len(tokens) - width + 1) if tokens[index : index + width] == operand.tokens]


def _width(operand: SpanOperand) -> int:
    return len(operand.tokens) if isinstance(operand, Phrase) else 1


def _near_in(node: Near, tokens: tuple[str, ...]) -> bool:
    left_width, right_width = _width(node.left), _width(node.right)
    rights = _spans(node.right, tokens)
    for left in _spans(node.left, tokens):
        left_end = left + left_width
        for right in rights:
            if node.ordered:
                if right >= left_end and right - left_end <= node.distance:
                    return True
            else:
                span = max(left_end, right + right_width) - min(left, right)
                if span - left_width - right_width <= node.distance:
                    return True
    return False


def _filter(node: Filter, document: AnalyzedDocument) -> bool:
    value = lowercase(node.value)
    keywords = document.keywords
    if node.field == "source":
        # The outlet's name, or its domain with or without "www." (stored without it).
        bare = value[4:] if value.startswith("www.") and len(value) > 4 else value
        return value in keywords["outlet"] or value in keywords["source"] or bare in keywords["source"]
    if node.field == "lang":
        return value in keywords["language"]
    if node.field == "entity":
        return any(lowercase(name) in keywords["entity_names"] for name in entity_names(node.value))
    # A region name resolves to codes (services.search.query.names), as in the compiler.
    codes = region_codes(node.value)
    if codes:
        return any(lowercase(code) in keywords["region_codes"] for code in codes)
    return value in keywords["region_codes"] or value in keywords["region_names"]


def _tone(node: Tone, document: AnalyzedDocument) -> bool:
    """The article's own tone (never scoped)."""
    if node.aspect == "mismatch":
        return "true" in document.keywords["tone_mismatch"]
    part = {"article": "label", "headline": "headline", "body": "body"}[node.aspect]
    return node.label in document.keywords[f"tone.{part}"]


def _tone_toward(scope: tuple[Filter, ...], label: str, document: AnalyzedDocument) -> bool:
    """Whether the tone toward one of the entities of ``scope`` (any name it resolves to) is ``label``."""
    keys = document.keywords["entity_tone_keys"]
    return any(lowercase(f"{name}|{label}") in keys for f in scope for name in entity_names(f.value))


def _and(node: And, document: AnalyzedDocument, fields: tuple[str, ...]) -> bool:
    scope = tone_scope(node)
    for child in node.children:
        tone = scopable_tone(child) if scope else None
        if tone is None:
            matched = _matches(child, document, fields)
        else:  # tone:x toward every entity sibling; NOT tone:x toward none of them
            assert tone.label is not None
            toward = [_tone_toward(entities, tone.label, document) for entities in scope]
            matched = not any(toward) if isinstance(child, Not) else all(toward)
        if not matched:
            return False
    return True


def _matches(node: Node, document: AnalyzedDocument, fields: tuple[str, ...]) -> bool:
    if isinstance(node, Term | Phrase | Prefix):
        return any(_spans(node, document.fields[field]) for field in fields)
    if isinstance(node, Near):
        return any(_near_in(node, document.fields[field]) for field in fields)
    if isinstance(node, InTitle):
        return _matches(node.child, document, ("title",))
    if isinstance(node, Filter):
        return _filter(node, document)
    if isinstance(node, Tone):
        return _tone(node, document)
    if isinstance(node, Not):
        return not _matches(node.child, document, fields)
    if isinstance(node, And):
        return _and(node, document, fields)
    if isinstance(node, Or):
        return any(_matches(child, document, fields) for child in node.children)
    raise TypeError(f"not a query node: {node!r}")


def matches(node: Node, document: AnalyzedDocument) -> bool:
    """Whether ``document`` matches the query ``node`` (title and body are the text fields)."""
    return _matches(node, document, ("title", "body"))


def search(node: Node, documents: Iterable[AnalyzedDocument]) -> set[str]:
    """Ids of the ``documents`` that match ``node``."""
    return {document.doc_id for document in documents if matches(node, document)}
