"""Response bodies built from Elasticsearch answers without model validation: this is the hot path
of every search, and every value comes from our own index. The shapes are the models'
(:mod:`services.search.api.models`): the OpenAPI schema publishes them, these functions fill them.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from services.search.api.deps import ArticleIndex
from services.search.api.models import EntityOut, Hit

# The Hit fields computed here; every other one is the indexed field of the same name.
COMPUTED = frozenset({"snippet", "highlights", "entities", "story"})
_STORED = tuple(name for name in Hit.model_fields if name not in COMPUTED)
_LISTS = tuple(name for name in _STORED if Hit.model_fields[name].default_factory is list)
# Every field None, in the model's order: merging a source into it gives each field its place.
_HIT = dict.fromkeys(Hit.model_fields)
_ENTITY = dict.fromkeys(EntityOut.model_fields)

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
    for name in _LISTS:
        if hit[name] is None:
            hit[name] = []
    hit["snippet"] = (hl.get("body") or [None])[0] or (" ".join(src.get("summary") or [])[:240] or None)
    hit["highlights"] = hl
    hit["entities"] = _entities(src.get("entities") or [])
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
            "outlets": {"terms": {"field": "source", "size": 100}},
            "earliest": {"min": {"field": "published_at"}},
        }},
    })  # fmt: skip
    out = {}
    for b in resp["aggregations"]["stories"]["buckets"]:
        earliest = b["earliest"].get("value_as_string")
        out[b["key"]] = {"story_id": b["key"], "story_size": b["doc_count"], "earliest_published_at": earliest,
                         "outlets": [o["key"] for o in b["outlets"]["buckets"]]}  # fmt: skip
    return out


def json_response(content: Any, status_code: int = 200) -> Response:
    """``content`` as JSON, serialized by orjson and not validated against the route's model."""
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")
