"""Response bodies built from Elasticsearch answers without model validation: this is the hot path
of every search, and every value comes from our own index. The shapes are the models'
(:mod:`services.search.api.models`): the OpenAPI schema publishes them, these functions fill them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi.responses import Response

from services.search.api.deps import ArticleIndex
from services.search.api.models import EntityOut, EntityToneOut, Hit, ToneOut
from services.search.criteria import outlet_name, tone_counts
from services.search.index import TONE_LABELS

# The Hit fields computed here; every other one is the indexed field of the same name.
COMPUTED = frozenset({"snippet", "highlights", "entities", "story"})
_STORED = tuple(name for name in Hit.model_fields if name not in COMPUTED)
_LISTS = tuple(name for name in _STORED if Hit.model_fields[name].default_factory is list)
# Every field None, in the model's order: merging a source into it gives each field its place.
_HIT = dict.fromkeys(Hit.model_fields)
_ENTITY = dict.fromkeys(EntityOut.model_fields)
# The index leaves out what is None (a headline tone without a title, a neutral tone's evidence).
_TONE = dict.fromkeys(ToneOut.model_fields)
_ENTITY_TONE = dict.fromkeys(EntityToneOut.model_fields)

# What a hit reads from the index (the ``_source`` filter of search and stories): the stored
# fields, and the entity mentions without offsets or surface text. No body and no keywords: a
# third of the bytes of the full source on real articles.
HIT_SOURCE = [*_STORED, *(f"entities.{name}" for name in _ENTITY)]


def hit_dict(h: dict[str, Any], story: dict[str, Any] | None = None) -> dict[str, Any]:
    """The :class:`~services.search.api.models.Hit` of an Elasticsearch hit read with
    :data:`HIT_SOURCE`, as a dict; ``story`` is its :class:`~services.search.api.models.StoryInfo`
    when results are collapsed by story."""
    src = h["_source"]
    hl = h.get("highlight", {})
    hit = {**_HIT, **src}  # the source holds only Hit fields (HIT_SOURCE); a missing one stays None
    hit["outlet"] = outlet_name(src)
    for name in _LISTS:
        if hit[name] is None:
            hit[name] = []
    hit["snippet"] = (hl.get("body") or [None])[0] or (" ".join(src.get("summary") or [])[:240] or None)
    hit["highlights"] = hl
    hit["entities"] = _entities(src.get("entities") or [])
    if hit["tone"] is not None:
        hit["tone"] = {**_TONE, **hit["tone"]}
    hit["entity_tones"] = [{**_ENTITY_TONE, **t} for t in hit["entity_tones"]]
    hit["story"] = story
    return hit


def _entities(mentions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each entity once (by type and canonical name), in the order of first mention."""
    entities, seen = [], set()
    for e in mentions:
        key = (e["type"], e["canonical"])
        if key not in seen:
            seen.add(key)
            entities.append({**_ENTITY, **e})  # read with HIT_SOURCE: only EntityOut fields
    return entities


async def story_infos(index: ArticleIndex, story_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The :class:`~services.search.api.models.StoryInfo` of each story that has members, by id:
    one aggregation request (none for no ids)."""
    if not story_ids:
        return {}
    resp = await index.es.search(index=index.alias, size=0, query={"terms": {"story_id": story_ids}}, aggs={
        "stories": {"terms": {"field": "story_id", "size": len(story_ids)}, "aggs": {
            **outlet_aggs(100),
            "earliest": {"min": {"field": "published_at"}},
        }},
    })  # fmt: skip
    out = {}
    for b in resp["aggregations"]["stories"]["buckets"]:
        earliest = b["earliest"].get("value_as_string")
        out[b["key"]] = {"story_id": b["key"], "story_size": b["doc_count"], "earliest_published_at": earliest,
                         "outlets": [key for key, _ in outlet_buckets(b)]}  # fmt: skip
    return out


# An article's outlet as people read it is its name (``outlet``), else its domain (``source``):
# services.search.criteria.outlet_name. The index keeps the two apart, so grouping by outlet is two
# terms aggregations, by name and, for the articles without one, by domain, merged here. A bucket
# key is the name as stored; a domain is lower-cased by the index (ingest writes it so).
def outlet_aggs(size: int, sub: dict[str, Any] | None = None, order: dict[str, str] | None = None) -> dict[str, Any]:
    """The aggregations (``outlets``, ``unnamed``) that :func:`outlet_buckets` reads, each
    bucket with the sub-aggregations ``sub`` and ordered by ``order`` (default: by count)."""
    named: dict[str, Any] = {"terms": {"field": "outlet", "size": size}}
    by_domain: dict[str, Any] = {"terms": {"field": "source", "size": size}}
    for terms in (named, by_domain):
        if order:
            terms["terms"]["order"] = order
        if sub:
            terms["aggs"] = sub
    return {"outlets": named,
            "unnamed": {"filter": {"bool": {"must_not": {"exists": {"field": "outlet"}}}}, "aggs": {"outlets": by_domain}}}  # fmt: skip


def outlet_buckets(aggs: dict[str, Any], count: Callable[[dict[str, Any]], int] | None = None) -> list[tuple[str, int]]:
    """The outlets of an :func:`outlet_aggs` answer, most frequent first (ties by name), with
    ``count(bucket)`` (default: the article count). A name that is also the domain of unnamed
    articles is one outlet: its counts are added (for a distinct count, an upper bound)."""
    merged: dict[str, int] = {}
    for b in [*aggs["outlets"]["buckets"], *aggs["unnamed"]["outlets"]["buckets"]]:
        key = str(b["key"])
        merged[key] = merged.get(key, 0) + int(count(b) if count else b["doc_count"])
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


def outlet_tones(aggs: dict[str, Any], count: str = "articles") -> dict[str, dict[str, int]]:
    """The tone mix (:func:`~services.search.criteria.tone_counts`) of each outlet of an
    :func:`outlet_aggs` answer whose buckets have a ``tone`` sub-aggregation, merged as
    :func:`outlet_buckets` merges the counts."""
    merged: dict[str, dict[str, int]] = {}
    for b in [*aggs["outlets"]["buckets"], *aggs["unnamed"]["outlets"]["buckets"]]:
        into = merged.setdefault(str(b["key"]), dict.fromkeys(TONE_LABELS, 0))
        for label, n in tone_counts(b.get("tone"), count).items():
            into[label] += n
    return merged


def display_form(key: str, bucket: dict[str, Any], path: str) -> str:
    """The display form of a lower-cased ``key`` (a terms bucket with a ``shown`` top hit reading
    ``path``): the value at ``path`` in that article that lower-cases to ``key``; else ``key``."""
    hits = bucket.get("shown", {}).get("hits", {}).get("hits") or []
    for value in _values_at(hits[0]["_source"], path) if hits else []:
        if value.lower() == key.lower():
            return value
    return key


def _values_at(src: Any, path: str) -> list[str]:
    head, _, rest = path.partition(".")
    found = src.get(head) if isinstance(src, dict) else None
    items = found if isinstance(found, list) else [found]
    if rest:
        return [v for item in items for v in _values_at(item, rest)]
    return [v for v in items if isinstance(v, str)]


def json_response(content: Any, status_code: int = 200) -> Response:
    """``content`` as JSON, serialized by orjson and not validated against the route's model."""
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")
