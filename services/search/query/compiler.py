"""Compile a query syntax tree into Elasticsearch query DSL.

The output only uses server-core queries (``term``, ``match_phrase``, ``prefix``, ``span_near``,
``span_term``, ``span_multi``, ``bool``, ``match_all``): never ``query_string`` or
``simple_query_string``, so user text is never interpreted by Elasticsearch's own parser.

Semantics, mirrored by :mod:`services.search.query.brute`:

- a word, phrase or wildcard matches if it matches in any of ``text_fields`` (title or body);
  under ``title:`` only in ``title_field``. Text fields must be analyzed with the ``standard``
  analyzer (see :func:`services.search.query.testing.query_index_mapping`);
- ``NEAR``/``ONEAR`` match within one field: ``span_near`` with ``slop=n`` per field, ORed;
- filters are exact keyword matches, case-insensitive (``term`` with ``case_insensitive``), and
  do not contribute to the score. ``region:`` and ``entity:`` values are first resolved by
  :mod:`services.search.query.names` (a region name to its codes, an entity alias to its canonical
  name), the one resolution the brute-force evaluator uses too;
- ``NOT x`` alone means "everything except x";
- ``tone:x`` is the article's tone (``tone.label``), ``tone.judul:x``/``tone.isi:x`` the headline's
  and the body's, ``tone:beda`` the ``tone_mismatch`` flag. In an AND group with ``entity:``
  siblings (:func:`services.search.query.nodes.tone_scope`), ``tone:x`` and ``NOT tone:x`` are the
  tone toward those entities instead: ``entity_tone_keys`` terms ``"<name>|<label>"`` for every
  name the entity value resolves to.
"""

from __future__ import annotations

from collections.abc import Sequence
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

EsQuery = dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeywordFields:
    """Index fields that the filter prefixes query. All are ``keyword`` fields.

    ``region:`` matches a code in ``region_codes`` or a name in ``region_names`` (the article's
    regions), and also in ``region_mentioned_*`` (passing mentions) when those are set; ``source:`` a
    domain in ``source`` (with or without ``www.``) or an outlet name in ``outlet``. The ``tone_*``
    fields hold tone labels, ``tone_mismatch`` is a boolean and ``entity_tone_keys`` holds one
    ``"<canonical>|<label>"`` per entity tone.
    """

    source: str = "source"
    outlet: str = "outlet"
    lang: str = "language"
    entity: str = "entity_names"
    region_codes: str = "region_codes"
    region_names: str = "region_names"
    region_mentioned_codes: str | None = None
    region_mentioned_names: str | None = None
    tone_label: str = "tone.label"
    tone_headline: str = "tone.headline"
    tone_body: str = "tone.body"
    tone_mismatch: str = "tone_mismatch"
    entity_tone_keys: str = "entity_tone_keys"


DEFAULT_KEYWORD_FIELDS = KeywordFields()
# ``region:`` also matching regions an article only mentions in passing (``region_scope=any``).
ANY_REGION_KEYWORD_FIELDS = KeywordFields(
    region_mentioned_codes="region_mentioned_codes", region_mentioned_names="region_mentioned_names"
)
DEFAULT_MAX_WILDCARD_EXPANSIONS = 1000
MATCH_ALL: EsQuery = {"match_all": {}}


def _any_of(queries: list[EsQuery]) -> EsQuery:
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _keyword_term(field: str, value: str) -> EsQuery:
    return {"term": {field: {"value": value, "case_insensitive": True}}}


def entity_tone_keys(scope: Sequence[Filter], label: str) -> list[str]:
    """The ``entity_tone_keys`` values meaning "the tone toward one of the entities of ``scope``
    is ``label``" (every name each ``entity:`` value resolves to, compared case-insensitively)."""
    return list(dict.fromkeys(f"{name}|{label}" for f in scope for name in entity_names(f.value)))


def _source_query(value: str, fields: KeywordFields) -> EsQuery:
    """``source:value``: the outlet's name or its domain, case-insensitively; a domain also
    without a leading ``www.`` (ingest stores domains without it)."""
    domains = [value]
    if value[:4].lower() == "www." and len(value) > 4:
        domains.append(value[4:])
    return _any_of([*(_keyword_term(fields.source, d) for d in domains), _keyword_term(fields.outlet, value)])


@dataclass(frozen=True, slots=True)
class _Compiler:
    text_fields: tuple[str, ...]
    title_field: str
    keyword_fields: KeywordFields
    max_wildcard_expansions: int

    def node(self, node: Node, fields: tuple[str, ...]) -> EsQuery:
        if isinstance(node, Term | Phrase | Prefix):
            return _any_of([self._text_leaf(node, field) for field in fields])
        if isinstance(node, Near):
            return _any_of([self._near(node, field) for field in fields])
        if isinstance(node, InTitle):
            return self.node(node.child, (self.title_field,))
        if isinstance(node, Filter):
            return {"bool": {"filter": [self._filter(node)]}}
        if isinstance(node, Tone):
            return {"bool": {"filter": [self._tone(node)]}}
        if isinstance(node, Not):
            return {"bool": {"must": [MATCH_ALL], "must_not": [self.node(node.child, fields)]}}
        if isinstance(node, Or):
            return {
                "bool": {
                    "should": [self.node(child, fields) for child in node.children],
                    "minimum_should_match": 1,
                }
            }
        return self._and(node, fields)

    def _and(self, node: And, fields: tuple[str, ...]) -> EsQuery:
        must: list[EsQuery] = []
        must_not: list[EsQuery] = []
        scope = tone_scope(node)
        for child in node.children:
            tone = scopable_tone(child) if scope else None
            if tone is not None:
                # The tone toward the entity siblings: toward each of them (one of each OR group).
                toward = [self._toward(entities, tone) for entities in scope]
                (must_not if isinstance(child, Not) else must).extend({"bool": {"filter": [q]}} for q in toward)
            elif isinstance(child, Not):
                must_not.append(self.node(child.child, fields))
            else:
                must.append(self.node(child, fields))
        clauses: dict[str, Any] = {"must": must or [MATCH_ALL]}
        if must_not:
            clauses["must_not"] = must_not
        return {"bool": clauses}

    def _text_leaf(self, node: SpanOperand, field: str) -> EsQuery:
        if isinstance(node, Term):
            return {"term": {field: {"value": node.token}}}
        if isinstance(node, Phrase):
            # The tokens are already standard-analyzed; re-analysis of "a b c" yields them again.
            return {"match_phrase": {field: {"query": " ".join(node.tokens), "slop": 0}}}
        return {"prefix": {field: {"value": node.prefix}}}

    def _span(self, node: SpanOperand, field: str) -> EsQuery:
        if isinstance(node, Term):
            return {"span_term": {field: {"value": node.token}}}
        if isinstance(node, Phrase):
            return {
                "span_near": {
                    "clauses": [{"span_term": {field: {"value": token}}} for token in node.tokens],
                    "slop": 0,
                    "in_order": True,
                }
            }
        # span_multi would otherwise expand to one clause per matching term and fail past the
        # cluster's clause limit; top_terms_N bounds the expansion.
        return {
            "span_multi": {
                "match": {
                    "prefix": {
                        field: {
                            "value": node.prefix,
                            "rewrite": f"top_terms_{self.max_wildcard_expansions}",
                        }
                    }
                }
            }
        }

    def _near(self, node: Near, field: str) -> EsQuery:
        return {
            "span_near": {
                "clauses": [self._span(node.left, field), self._span(node.right, field)],
                "slop": node.distance,
                "in_order": node.ordered,
            }
        }

    def _tone(self, node: Tone) -> EsQuery:
        fields = self.keyword_fields
        if node.aspect == "mismatch":
            return {"term": {fields.tone_mismatch: {"value": True}}}
        field = {"article": fields.tone_label, "headline": fields.tone_headline, "body": fields.tone_body}[node.aspect]
        assert node.label is not None
        return _keyword_term(field, node.label)

    def _toward(self, scope: Sequence[Filter], tone: Tone) -> EsQuery:
        assert tone.label is not None
        keys = entity_tone_keys(scope, tone.label)
        return _any_of([_keyword_term(self.keyword_fields.entity_tone_keys, key) for key in keys])

    def _filter(self, node: Filter) -> EsQuery:
        fields = self.keyword_fields
        if node.field == "source":
            return _source_query(node.value, fields)
        if node.field == "lang":
            return _keyword_term(fields.lang, node.value)
        if node.field == "entity":
            return _any_of([_keyword_term(fields.entity, name) for name in entity_names(node.value)])
        # The article's regions; with region_mentioned_* set, passing mentions match too.
        code_fields = [f for f in (fields.region_codes, fields.region_mentioned_codes) if f]
        name_fields = [f for f in (fields.region_names, fields.region_mentioned_names) if f]
        codes = region_codes(node.value)
        if codes:
            return _any_of([_keyword_term(f, code) for f in code_fields for code in codes])
        return _any_of(
            [_keyword_term(f, node.value) for f in code_fields] + [_keyword_term(f, node.value) for f in name_fields]
        )


def to_es_query(
    ast: Node,
    *,
    text_fields: Sequence[str] = ("title", "body"),
    title_field: str = "title",
    keyword_fields: KeywordFields = DEFAULT_KEYWORD_FIELDS,
    max_wildcard_expansions: int = DEFAULT_MAX_WILDCARD_EXPANSIONS,
) -> EsQuery:
    """Build the Elasticsearch ``query`` object for ``ast``. Pure; never raises for parsed trees.

    ``max_wildcard_expansions`` caps how many index terms a wildcard inside ``NEAR`` expands to
    (``top_terms_N`` rewrite). Outside ``NEAR`` a wildcard is a constant-score ``prefix`` query,
    which Elasticsearch evaluates without per-term clauses and without a cap, so it is exact.
    """
    compiler = _Compiler(tuple(text_fields), title_field, keyword_fields, max_wildcard_expansions)
    return compiler.node(ast, tuple(text_fields))
