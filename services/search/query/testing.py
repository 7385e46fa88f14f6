"""Test support for the query language: an index mapping, a corpus generator, query strategies.

Imported by tests only (it imports ``hypothesis``, a dev dependency). The corpus uses a small
Indonesian vocabulary with shared prefixes, numbers, hyphens and apostrophes, so that random
queries hit often and exercise the tokenizer.

:func:`evaluate_es_query` interprets the subset of the query DSL that the compiler emits, over
:class:`~services.search.query.brute.AnalyzedDocument`, so unit tests can check the compiler's
boolean structure without a server. It is written from Elasticsearch's documented behaviour, not
from the brute-force evaluator.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from typing import Any, Final

from hypothesis import strategies as st

from services.search.query.brute import AnalyzedDocument
from services.search.query.tokenizer import lowercase, tokenize


def query_index_mapping() -> dict[str, Any]:
    """``indices.create`` body (settings and mappings) with the fields the compiler queries.

    Text fields use the built-in ``standard`` analyzer; filter fields are plain ``keyword``s
    (filters compare case-insensitively at query time, so no normalizer is needed), except
    ``entity_tone_keys``, which has the built-in ``lowercase`` normalizer as in the real index.
    """
    keyword = {"type": "keyword"}
    return {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "title": {"type": "text", "analyzer": "standard"},
                "body": {"type": "text", "analyzer": "standard"},
                "source": keyword,
                "outlet": keyword,
                "language": keyword,
                "entity_names": keyword,
                "region_codes": keyword,
                "region_names": keyword,
                "tone": {
                    "type": "object",
                    "properties": {"label": keyword, "score": {"type": "float"}, "headline": keyword, "body": keyword},
                },
                "tone_mismatch": {"type": "boolean"},
                "entity_tone_keys": {"type": "keyword", "normalizer": "lowercase"},
            },
        },
    }


# Surface forms as they appear in text; several share prefixes (pelayan*, pe*), some are split
# or kept whole by the standard tokenizer (e-ktp, jum'at, 4,42, Rp10.000).
VOCABULARY: Final = (
    "blora",
    "Blora",
    "bupati",
    "wakil",
    "pelayan",
    "pelayanan",
    "pelayanannya",
    "pelajar",
    "penghargaan",
    "prestasi",
    "hoaks",
    "banjir",
    "jalan",
    "rusak",
    "desa",
    "kabupaten",
    "pemerintah",
    "kudus",
    "dan",
    "or",
    "not",
    "4,42",
    "3316",
    "e-ktp",
    "jum'at",
    "Rp10.000",
)
PLANTED_PHRASES: Final = (
    "wakil bupati",
    "pemerintah kabupaten blora",
    "jalan rusak",
    "pelayanan e-ktp",
    "banjir di desa",
)
SOURCES: Final = ("klikjateng.com", "suaramerdeka.com", "Radar Kudus", "murianews.com")
# Outlet names; None: the article has none (``source:`` then matches the domain only).
OUTLETS: Final = ("Suara Merdeka", "Murianews", "klikjateng.com", None)
LANGUAGES: Final = ("id", "jv", "en")
ENTITIES: Final = (
    "Pemerintah Kabupaten Blora",
    "Bupati Blora",
    "Polres Pati",
    "Dinas Pendidikan",
)
# entity: values a query may use besides ENTITIES: aliases of a canonical name (the corpus's
# entity_tone_keys use either form) and a name no article has.
ENTITY_QUERY_NAMES: Final = ("Pemkab Blora", "Kepolisian Resor Pati", "Arief Rohman")
# The canonical names entity_tone_keys may use for an ENTITIES name (the index keys by canonical
# name; the generated corpus mixes forms and letter cases to exercise resolution).
_TONE_KEY_NAMES: Final = {"Polres Pati": ("Polres Pati", "Kepolisian Resor Pati", "POLRES PATI")}
TONE_LABELS: Final = ("positive", "negative", "neutral")
REGIONS: Final = (("3316", "Blora"), ("3318", "Pati"), ("3319", "Kudus"), ("33", "Jawa Tengah"))
_SEPARATORS: Final = (" ", " ", " ", ", ", ". ", " - ", "! ")


def _text(rng: random.Random, low: int, high: int) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(low, high)):
        piece = rng.choice(PLANTED_PHRASES) if rng.random() < 0.15 else rng.choice(VOCABULARY)
        parts.append(piece)
        parts.append(rng.choice(_SEPARATORS))
    return "".join(parts[:-1]) if parts else ""


def _add_tone(rng: random.Random, document: dict[str, Any]) -> None:
    """Tone fields as the index stores them: ``tone`` (no headline tone without a title),
    ``tone_mismatch`` and one ``entity_tone_keys`` value for most of the article's entities."""
    headline = rng.choice(TONE_LABELS) if document["title"] and rng.random() < 0.9 else None
    body = rng.choice(TONE_LABELS)
    label = body if rng.random() < 0.7 else rng.choice(TONE_LABELS)
    document["tone"] = {"label": label, "score": round(rng.uniform(-1, 1), 3), "headline": headline, "body": body}
    document["tone_mismatch"] = headline is not None and headline != body
    document["entity_tone_keys"] = [
        f"{rng.choice(_TONE_KEY_NAMES.get(name, (name, name.lower())))}|{rng.choice(TONE_LABELS)}"
        for name in document["entity_names"]
        if rng.random() < 0.85
    ]


def generate_corpus(seed: int, size: int) -> list[dict[str, Any]]:
    """``size`` deterministic pseudo-random documents with ids ``"0"``, ``"1"``, …"""
    rng = random.Random(seed)
    documents: list[dict[str, Any]] = []
    for number in range(size):
        regions = rng.sample(REGIONS, rng.randint(0, 2))
        document: dict[str, Any] = {
            "id": str(number),
            "title": _text(rng, 0, 6),
            "body": _text(rng, 0, 30),
            "source": rng.choice(SOURCES),
            "language": rng.choice(LANGUAGES),
            "entity_names": rng.sample(ENTITIES, rng.randint(0, 2)),
            "region_codes": [code for code, _ in regions],
            "region_names": [name for _, name in regions],
        }
        outlet = rng.choice(OUTLETS)
        if outlet is not None:
            document["outlet"] = outlet
        if rng.random() < 0.85:  # the others were enriched before tone existed
            _add_tone(rng, document)
        documents.append(document)
    return documents


def es_source(document: Mapping[str, Any]) -> dict[str, Any]:
    """The indexable part of a generated document (everything except ``id``)."""
    return {key: value for key, value in document.items() if key != "id"}


# -- hypothesis strategies --------------------------------------------------------------------------


def _case_variant(word: str) -> st.SearchStrategy[str]:
    variants = {word, word.lower(), word.upper(), word.capitalize()}
    # Uppercase AND/OR/NOT are operators, not words.
    return st.sampled_from(sorted(v for v in variants if v not in {"AND", "OR", "NOT"}))


def words() -> st.SearchStrategy[str]:
    """A bare word from the vocabulary, in some letter case."""
    return st.sampled_from(VOCABULARY).flatmap(_case_variant)


def phrases() -> st.SearchStrategy[str]:
    """A quoted phrase: a planted phrase, a part of one, or two random words."""
    planted = st.sampled_from(PLANTED_PHRASES)
    part = st.sampled_from(PLANTED_PHRASES).map(lambda p: " ".join(p.split()[1:]) or p)
    pair = st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(VOCABULARY)).map(" ".join)
    return st.one_of(planted, part, pair).map(lambda text: f'"{text}"')


def _wildcard_stems() -> list[str]:
    stems: set[str] = set()
    for word in VOCABULARY:
        tokens = tokenize(word)
        if len(tokens) != 1 or len(word) != len(tokens[0]):
            continue
        for end in range(3, len(word) + 1):
            if len(tokenize(word[:end])) == 1 and tokenize(word[:end])[0] == lowercase(word[:end]):
                stems.add(word[:end])
    return sorted(stems)


def wildcards() -> st.SearchStrategy[str]:
    """A trailing wildcard with at least three characters before ``*``."""
    return st.sampled_from(_wildcard_stems()).map(lambda stem: f"{stem}*")


def span_operands() -> st.SearchStrategy[str]:
    """What may stand on either side of NEAR."""
    return st.one_of(words(), phrases(), wildcards())


def nears() -> st.SearchStrategy[str]:
    """``a NEAR/n b`` or ``a ONEAR/n b``."""
    return st.builds(
        lambda left, operator, distance, right: f"{left} {operator}/{distance} {right}",
        span_operands(),
        st.sampled_from(["NEAR", "ONEAR"]),
        st.integers(min_value=0, max_value=4),
        span_operands(),
    )


def filters() -> st.SearchStrategy[str]:
    """``source:``, ``lang:``, ``entity:`` and ``region:`` filters, in varying letter case."""

    def quoted(value: str) -> str:
        return f'"{value}"' if " " in value else value

    names = (*SOURCES, *(o for o in OUTLETS if o), "unknown.example", "www.klikjateng.com", "www.")
    source = st.sampled_from(names).flatmap(_case_variant)
    entity = st.sampled_from((*ENTITIES, *ENTITY_QUERY_NAMES)).flatmap(_case_variant)
    region = st.sampled_from([value for pair in REGIONS for value in pair]).flatmap(_case_variant)
    return st.one_of(
        source.map(lambda value: f"source:{quoted(value)}"),
        st.sampled_from(LANGUAGES).map(lambda value: f"lang:{value}"),
        entity.map(lambda value: f'entity:"{value}"'),
        region.map(lambda value: f"region:{quoted(value)}"),
    )


_TONE_VALUES: Final = ("negatif", "positif", "netral", "negative", "positive", "neutral")


def tones() -> st.SearchStrategy[str]:
    """A tone term: ``tone:``, ``tone.judul:``/``tone.headline:``, ``tone.isi:``/``tone.body:``
    with a label, or ``tone:beda``/``tone:mismatch``, in varying letter case."""
    field = st.sampled_from(["tone", "tone", "tone", "tone.judul", "tone.headline", "tone.isi", "tone.body"])
    labelled = st.tuples(field.flatmap(_case_variant), st.sampled_from(_TONE_VALUES).flatmap(_case_variant))
    mismatch = st.sampled_from(["beda", "mismatch"]).flatmap(_case_variant).map(lambda value: f"tone:{value}")
    return st.one_of(labelled.map(lambda pair: f"{pair[0]}:{pair[1]}"), mismatch)


def entity_tones() -> st.SearchStrategy[str]:
    """A tone term next to ``entity:`` terms (the tone toward them): one or two entity siblings,
    one of them possibly an OR of entities, the tone term possibly negated."""
    entity = st.sampled_from((*ENTITIES, *ENTITY_QUERY_NAMES)).flatmap(_case_variant).map(lambda v: f'entity:"{v}"')
    sibling = st.one_of(entity, entity, st.tuples(entity, entity).map(lambda pair: f"({pair[0]} OR {pair[1]})"))
    article = st.sampled_from(_TONE_VALUES).flatmap(_case_variant).map(lambda value: f"tone:{value}")
    tone = st.tuples(st.sampled_from(["", "", "NOT ", "-"]), st.one_of(article, tones())).map("".join)
    return st.builds(
        lambda siblings, term, at: " ".join([*siblings[:at], term, *siblings[at:]]),
        st.lists(sibling, min_size=1, max_size=2),
        tone,
        st.integers(min_value=0, max_value=2),
    )


def query_texts(max_leaves: int = 8) -> st.SearchStrategy[str]:
    """Random query strings from the grammar (always parseable with default limits)."""
    atoms = st.one_of(
        words(),
        words(),
        phrases(),
        wildcards(),
        nears(),
        filters(),
        tones(),
        entity_tones(),
        span_operands().map(lambda operand: f"title:{operand}"),
        nears().map(lambda near: f"title:({near})"),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        # Each strategy is referenced once: hypothesis builds reprs eagerly, and reprs of
        # recursive strategies that reference `inner` several times grow exponentially.
        unary = st.builds(
            lambda prefix, wrapper, operand: prefix + wrapper.replace("@", operand),
            st.sampled_from(["", "", "", "NOT ", "-"]),
            st.sampled_from(["@", "@", "(@)", "title:(@)"]),
            inner,
        )
        separated = st.tuples(st.sampled_from([" ", " AND ", " OR "]), unary)
        return st.lists(separated, min_size=1, max_size=3).map(
            lambda items: "".join(sep + text for sep, text in items).removeprefix(items[0][0])
        )

    return st.recursive(atoms, extend, max_leaves=max_leaves)


# -- a small interpreter of the emitted DSL ---------------------------------------------------------


def _field_value(query: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    ((field, spec),) = query.items()
    return field, spec


def _span_starts(query: Mapping[str, Any], tokens: tuple[str, ...]) -> list[tuple[int, int]]:
    ((kind, body),) = query.items()
    if kind == "span_term":
        _, spec = _field_value(body)
        return [(i, i + 1) for i, token in enumerate(tokens) if token == spec["value"]]
    if kind == "span_multi":
        _field, spec = _field_value(body["match"]["prefix"])
        return [(i, i + 1) for i, token in enumerate(tokens) if token.startswith(spec["value"])]
    if kind == "span_near":
        clauses = [_span_starts(clause, tokens) for clause in body["clauses"]]
        slop, ordered = body["slop"], body["in_order"]
        found: list[tuple[int, int]] = []
        for first in clauses[0]:
            chains: list[list[tuple[int, int]]] = [[first]]
            for spans in clauses[1:]:
                chains = [[*chain, span] for chain in chains for span in spans]
            for chain in chains:
                start = min(span[0] for span in chain)
                end = max(span[1] for span in chain)
                width = sum(span[1] - span[0] for span in chain)
                in_order = all(a[1] <= b[0] for a, b in itertools.pairwise(chain))
                if end - start - width <= slop and (in_order or not ordered):
                    found.append((start, end))
        return found
    raise ValueError(f"unsupported span query {kind}")


def _span_field(query: Mapping[str, Any]) -> str:
    ((kind, body),) = query.items()
    if kind == "span_term":
        return str(next(iter(body)))
    if kind == "span_multi":
        return str(next(iter(body["match"]["prefix"])))
    return _span_field(body["clauses"][0])


def evaluate_es_query(query: Mapping[str, Any], document: AnalyzedDocument) -> bool:
    """Whether ``document`` matches ``query`` (the DSL subset emitted by the compiler)."""
    ((kind, body),) = query.items()
    if kind == "match_all":
        return True
    if kind == "bool":
        must = all(evaluate_es_query(q, document) for q in body.get("must", []))
        filters_ok = all(evaluate_es_query(q, document) for q in body.get("filter", []))
        must_not = any(evaluate_es_query(q, document) for q in body.get("must_not", []))
        should = body.get("should", [])
        minimum = body.get("minimum_should_match", 0 if ("must" in body or "filter" in body) else 1)
        should_ok = sum(evaluate_es_query(q, document) for q in should) >= minimum
        return must and filters_ok and not must_not and should_ok
    if kind == "term":
        field, spec = _field_value(body)
        if field in document.fields:
            return spec["value"] in document.fields[field]
        values = document.keywords.get(field, frozenset())
        if isinstance(spec["value"], bool):  # a boolean field, kept as "true"/"false"
            return ("true" if spec["value"] else "false") in values
        return lowercase(spec["value"]) in values if spec.get("case_insensitive") else (spec["value"] in values)
    if kind == "prefix":
        field, spec = _field_value(body)
        return any(token.startswith(spec["value"]) for token in document.fields[field])
    if kind == "match_phrase":
        field, spec = _field_value(body)
        wanted = tuple(tokenize(spec["query"]))
        tokens = document.fields[field]
        return any(tokens[i : i + len(wanted)] == wanted for i in range(len(tokens) - len(wanted) + 1))
    if kind == "span_near":
        return bool(_span_starts(query, document.fields[_span_field(query)]))
    raise ValueError(f"unsupported query {kind}")
