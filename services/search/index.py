"""The article index: explicit mapping, versioned indices behind one alias.

Layouts (``WARTA_ES_INDEX_PERIOD``):

- ``none``: one index ``<alias>-v<N>``, the alias's write index.
- ``month``: one index per month ``<alias>-v<N>-YYYY.MM``, all behind the read alias, each written
  through its own write alias ``<alias>-YYYY.MM`` (so ``warta search reindex`` swaps every alias
  in one request). An article's month is that of its ``published_at``, or of its ``ingested_at``
  when it has none (:func:`month_of`); publication dates are plausible (1995 to an hour ahead,
  shared/limits.py), so the months are bounded. Retention drops whole months as indices
  (services/search/lifecycle.py).

Both layouts have ``WARTA_ES_SHARDS`` primaries and ``WARTA_ES_REPLICAS`` replicas per index.
Reads always go through the read alias; a read by id uses :func:`fetch_articles`, which works with
any number of indices behind it.

Only server-core analysis is used (the ``standard`` analyzer and the built-in ``lowercase``
normalizer), so the same mapping works on the Elasticsearch test distribution (no analysis-common)
and on the full distribution. Text is matched without stemming: what a monitor types is what
matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from elasticsearch import AsyncElasticsearch, Elasticsearch
from elasticsearch.exceptions import BadRequestError

from shared.schemas import EnrichedArticle, ToneLabel
from shared.settings import CommonSettings, articles_alias

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


Period = Literal["none", "month"]
# A versioned index, with its month in the monthly layout: <alias>-v<N>[-YYYY.MM].
_INDEX_NAME = re.compile(r"-v(\d+)(?:-(\d{4}\.\d{2}))?$")
# Documents per real-time multi-get (ids x indices behind the alias).
MGET_DOCS = 5000


@dataclass(frozen=True, slots=True)
class Layout:
    """How the article indices are cut and sized. See the module docstring."""

    shards: int = 1
    replicas: int = 0
    period: Period = "none"

    @classmethod
    def of(cls, settings: CommonSettings) -> Layout:
        return cls(settings.es_shards, settings.es_replicas, settings.es_index_period)

    def index_settings(self, **overrides: Any) -> dict[str, Any]:
        return {**SETTINGS, "number_of_shards": self.shards, "number_of_replicas": self.replicas, **overrides}


def index_name(prefix: str, version: int = MAPPING_VERSION, month: str | None = None) -> str:
    base = f"{articles_alias(prefix)}-v{version}"
    return f"{base}-{month}" if month else base


def month_alias(prefix: str, month: str) -> str:
    """The write alias of one month's index in the monthly layout."""
    return f"{articles_alias(prefix)}-{month}"


def is_month_alias(prefix: str, name: str) -> bool:
    """Whether ``name`` is a month's write alias (:func:`month_alias`) of this prefix."""
    alias = articles_alias(prefix)
    return name.startswith(f"{alias}-") and re.fullmatch(r"\d{4}\.\d{2}", name[len(alias) + 1 :]) is not None


def parse_index_name(name: str) -> tuple[int, str | None] | None:
    """``(version, month or None)`` of a versioned article index's name; None for another name."""
    m = _INDEX_NAME.search(name)
    return (int(m.group(1)), m.group(2)) if m else None


def month_of(published_at: datetime | None, ingested_at: datetime) -> str:
    """The month (``YYYY.MM``, UTC) an article is filed under in the monthly layout."""
    when = (published_at or ingested_at).astimezone(UTC)
    return f"{when.year:04d}.{when.month:02d}"


def month_of_document(doc: dict[str, Any]) -> str:
    """:func:`month_of` an indexed document (its ISO date strings)."""
    published = doc.get("published_at")
    return month_of(datetime.fromisoformat(published) if published else None,
                    datetime.fromisoformat(doc["ingested_at"]))  # fmt: skip


def next_month_start(month: str) -> datetime:
    """The first instant (UTC) after ``month`` (``YYYY.MM``)."""
    year, mon = (int(x) for x in month.split("."))
    return datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)


def _index_names(resp: Any) -> list[str]:
    """The indices of a ``get_alias`` answer (a 404's body has none)."""
    return sorted(k for k in (getattr(resp, "body", resp) or {}) if k not in ("error", "status"))


def indices_behind(es: Elasticsearch, alias: str) -> list[str]:
    """The concrete indices an alias points at, sorted; none if it does not exist."""
    return _index_names(es.options(ignore_status=404).indices.get_alias(name=alias))


def current_version(es: Elasticsearch, prefix: str) -> int:
    """The mapping version of the indices behind the alias (the highest), else :data:`MAPPING_VERSION`."""
    parsed = [parse_index_name(i) for i in indices_behind(es, articles_alias(prefix))]
    return max((p[0] for p in parsed if p), default=MAPPING_VERSION)


def tombstones_index(prefix: str) -> str:
    """The index of removed articles (:mod:`services.search.tombstones`), namespaced like the rest."""
    return f"{prefix}warta-article-tombstones"


def create_index(es: Elasticsearch, name: str, settings: dict[str, Any], aliases: dict[str, Any]) -> None:
    """Create an articles index unless it exists (several processes may race to create it)."""
    try:
        es.indices.create(index=name, settings=settings, mappings=MAPPING, aliases=aliases)
    except BadRequestError as exc:
        if "resource_already_exists_exception" not in str(exc):
            raise


def ensure_index(es: Elasticsearch, prefix: str, layout: Layout | None = None) -> str:
    """Make the alias usable: unless it exists, create the current versioned index (``none``) or
    this month's index (``month``) behind it. Idempotent and safe to call from several processes
    at once. Returns the alias."""
    layout = layout or Layout()
    alias = articles_alias(prefix)
    if es.indices.exists_alias(name=alias):
        # Fields added to the mapping since the index was created (optional schema fields such
        # as ``dateline``) are added in place; a changed field type would raise here, loudly.
        es.indices.put_mapping(index=alias, properties=MAPPING["properties"])
        return alias
    if layout.period == "month":
        now = datetime.now(UTC)
        ensure_month(es, prefix, month_of(None, now), layout)
    else:
        create_index(es, index_name(prefix), layout.index_settings(), {alias: {"is_write_index": True}})
    return alias


def ensure_month(es: Elasticsearch, prefix: str, month: str, layout: Layout) -> str:
    """Make the month's write alias exist (monthly layout): create ``<alias>-v<N>-<month>`` behind
    the read alias and the write alias unless the write alias exists. Returns the write alias."""
    write_alias = month_alias(prefix, month)
    if not es.indices.exists_alias(name=write_alias):
        name = index_name(prefix, current_version(es, prefix), month)
        create_index(es, name, layout.index_settings(),
                {articles_alias(prefix): {}, write_alias: {"is_write_index": True}})  # fmt: skip
    return write_alias


def _fetched(docs: list[dict[str, Any]], ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The ``_source`` of each found document by id, in the order of ``ids``; of two copies of one
    article (a move between months in progress) the newer."""
    best: dict[str, dict[str, Any]] = {}
    for d in docs:
        if d.get("found", True) and "_source" in d:
            if d["_id"] not in best or d.get("_version", 0) > best[d["_id"]].get("_version", 0):
                best[d["_id"]] = d
    return {i: best[i]["_source"] for i in dict.fromkeys(ids) if i in best}


def _mget_body(indices: list[str], ids: Sequence[str]) -> list[dict[str, str]]:
    return [{"_index": index, "_id": i} for i in dict.fromkeys(ids) for index in indices]


def fetch_articles(es: Elasticsearch, alias: str, ids: Sequence[str], source: Any = True) -> dict[str, dict[str, Any]]:
    """The articles with ``ids`` (their ``_source`` by id, in the order of ``ids``, missing ones left out),
    read in real time (a document indexed a moment ago, not yet refreshed, is found). Behind an
    alias with several indices (the monthly layout) every index is asked for every id, since a
    real-time get needs the concrete index; :data:`MGET_DOCS` bounds each request."""
    if not ids:
        return {}
    indices = indices_behind(es, alias)
    if not indices:
        return {}
    unique = list(dict.fromkeys(ids))
    step = max(1, MGET_DOCS // len(indices))
    docs: list[dict[str, Any]] = []
    for i in range(0, len(unique), step):
        docs += es.mget(docs=_mget_body(indices, unique[i : i + step]), source=source)["docs"]
    return _fetched(docs, ids)


async def fetch_article_async(es: AsyncElasticsearch, alias: str, article_id: str) -> dict[str, Any] | None:
    """:func:`fetch_articles` for one id, on the async client (the search API)."""
    indices = _index_names(await es.options(ignore_status=404).indices.get_alias(name=alias))
    if not indices:
        return None
    return _fetched((await es.mget(docs=_mget_body(indices, [article_id])))["docs"], [article_id]).get(article_id)


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
