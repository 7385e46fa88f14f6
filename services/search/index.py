"""The article index: explicit mapping, versioned indices behind one alias.

Only server-core analysis is used (the ``standard`` analyzer and the built-in ``lowercase``
normalizer), so the same mapping works on the Elasticsearch test distribution (no analysis-common)
and on the full distribution. Text is matched without stemming: what a monitor types is what
matches.
"""

from __future__ import annotations

from typing import Any, get_args

from elasticsearch import Elasticsearch
from elasticsearch.exceptions import BadRequestError

from shared.schemas import EnrichedArticle, ToneLabel
from shared.settings import articles_alias

MAPPING_VERSION = 1
# The values of tone.label, tone.headline, tone.body and an entity tone's label.
TONE_LABELS: tuple[str, ...] = get_args(ToneLabel)

_KW = {"type": "keyword"}
_KW_LC = {"type": "keyword", "normalizer": "lowercase"}
_DATE = {"type": "date"}
_TEXT = {"type": "text", "analyzer": "standard"}

MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": _KW,
        "url": {"type": "keyword", "index": False},
        "canonical_url": _KW,
        "title": {**_TEXT, "fields": {"raw": {"type": "keyword", "ignore_above": 512}}},
        "body": _TEXT,
        "source": _KW_LC,
        "outlet": _KW,
        "published_at": _DATE,
        "date_source": _KW,
        "modified_at": _DATE,
        "authors": _KW,
        "image": {"type": "keyword", "index": False},
        "description": _TEXT,
        "tags": _KW_LC,
        "language": _KW_LC,
        "language_confidence": {"type": "float"},
        "region_hint": _KW,
        "source_id": _KW,
        "origin": _KW,
        "ingested_at": _DATE,
        "enriched_at": _DATE,
        "indexed_at": _DATE,
        "word_count": {"type": "integer"},
        "summary": {"type": "text", "analyzer": "standard"},
        "keywords": _KW_LC,
        "entities": {
            "type": "object",
            "properties": {
                "start": {"type": "integer", "index": False},
                "end": {"type": "integer", "index": False},
                "type": _KW,
                "text": {"type": "keyword", "index": False},
                "canonical": {"type": "keyword", "index": False},
                "role": {"type": "keyword", "index": False},
            },
        },
        # Flat keyword projections of entities and regions, for filters and facets.
        "entity_names": _KW_LC,
        "persons": _KW,
        "organizations": _KW,
        "locations": _KW,
        "regions": {
            "type": "object",
            "properties": {"code": _KW, "name": _KW, "level": _KW},
        },
        "region_codes": _KW,
        "region_names": _KW_LC,
        # Regions named only in passing ("pembeli dari Bali dan Jakarta"): searched with
        # region_scope=any, never by the default region filters and facets.
        "regions_mentioned": {
            "type": "object",
            "properties": {"code": _KW, "name": _KW, "level": _KW},
        },
        "region_mentioned_codes": _KW,
        "region_mentioned_names": _KW_LC,
        # Where the story was filed from ("KUDUS, Lintas Muria –"); not an entity or a region.
        "dateline": {
            "type": "object",
            "properties": {
                "text": {"type": "keyword", "index": False},
                "place": {"type": "keyword", "index": False},
                "name": _KW,
                "start": {"type": "integer", "index": False},
                "end": {"type": "integer", "index": False},
                "region_code": _KW,
            },
        },
        "story_id": _KW,
        "story_size": {"type": "integer"},
        # Tone (EnrichedArticle v2; absent on articles enriched before it). ``tone.label`` is the
        # article's overall tone, ``tone.headline``/``tone.body`` the title's and the body's.
        "tone": {
            "type": "object",
            "properties": {"label": _KW, "score": {"type": "float"}, "headline": _KW, "body": _KW},
        },
        "tone_mismatch": {"type": "boolean"},  # the headline has a tone and it differs from the body's
        # The tone toward each entity, kept for display only (nothing in it is searched: a search
        # for the tone toward an entity uses entity_tone_keys).
        "entity_tones": {
            "type": "object",
            "properties": {
                "type": {"type": "keyword", "index": False},
                "canonical": {"type": "keyword", "index": False},
                "label": {"type": "keyword", "index": False},
                "score": {"type": "float", "index": False},
                "mentions": {"type": "integer", "index": False},
                "evidence": {"type": "text", "index": False},
                "evidence_start": {"type": "integer", "index": False},
                "evidence_end": {"type": "integer", "index": False},
            },
        },
        # One "<canonical>|<label>" per entity tone ("pemerintah kabupaten blora|negative"): the
        # tone toward an entity as one exact, case-insensitive term (query, filters, top tone mix).
        "entity_tone_keys": _KW_LC,
    },
}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "refresh_interval": "1s",
    "max_result_window": 10_000,
}


def index_name(prefix: str, version: int = MAPPING_VERSION) -> str:
    return f"{articles_alias(prefix)}-v{version}"


def tombstones_index(prefix: str) -> str:
    """The index of removed articles (:mod:`services.search.tombstones`), namespaced like the rest."""
    return f"{prefix}warta-article-tombstones"


def ensure_index(es: Elasticsearch, prefix: str, replicas: int = 0) -> str:
    """Create the current versioned index and point the alias at it, unless the alias exists.
    Idempotent and safe to call from several processes at once. Returns the alias."""
    alias = articles_alias(prefix)
    if es.indices.exists_alias(name=alias):
        # Fields added to the mapping since the index was created (optional schema fields such
        # as ``dateline``) are added in place; a changed field type would raise here, loudly.
        es.indices.put_mapping(index=alias, properties=MAPPING["properties"])
        return alias
    name = index_name(prefix)
    try:
        es.indices.create(
            index=name,
            settings={**SETTINGS, "number_of_replicas": replicas},
            mappings=MAPPING,
            aliases={alias: {"is_write_index": True}},
        )
    except BadRequestError as exc:
        if "resource_already_exists_exception" not in str(exc):
            raise
    return alias


def entity_tone_key(canonical: str, label: str) -> str:
    """The ``entity_tone_keys`` value of the tone ``label`` toward the entity named ``canonical``
    (the field's normalizer lower-cases it; queries may pass any letter case)."""
    return f"{canonical}|{label}"


def to_document(article: EnrichedArticle, indexed_at: str) -> dict[str, Any]:
    """Project an EnrichedArticle onto the mapping. The raw ``text`` is not stored twice: ``body``
    is its normalised form."""
    doc = article.model_dump(mode="json", exclude={"schema_version", "text"}, exclude_none=True)
    by_type: dict[str, list[str]] = {"PER": [], "ORG": [], "LOC": []}
    for e in article.entities:
        if e.canonical not in by_type[e.type]:
            by_type[e.type].append(e.canonical)
    doc["entity_names"] = sorted({e.canonical for e in article.entities})
    doc["persons"], doc["organizations"], doc["locations"] = by_type["PER"], by_type["ORG"], by_type["LOC"]
    doc["region_codes"] = sorted({r.code for r in article.regions})
    doc["region_names"] = sorted({r.name for r in article.regions})
    doc["region_mentioned_codes"] = sorted({r.code for r in article.regions_mentioned})
    doc["region_mentioned_names"] = sorted({r.name for r in article.regions_mentioned})
    if article.tone is None:  # enriched before tone (schema version 1): no tone fields at all
        doc.pop("entity_tones", None)
    else:
        tone = article.tone
        doc["tone_mismatch"] = tone.headline is not None and tone.headline != tone.body
        doc["entity_tone_keys"] = sorted({entity_tone_key(t.canonical, t.label) for t in article.entity_tones})
    doc["indexed_at"] = indexed_at
    # Every article belongs to a story, if only its own: collapsing never merges unclustered ones.
    doc.setdefault("story_id", article.id)
    doc.setdefault("story_size", 1)
    return doc
