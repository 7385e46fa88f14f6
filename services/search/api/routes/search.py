"""``GET /v1/search``: one page of matching articles, or of stories (``collapse``), with a cursor
to the next page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.search.api.deps import IndexDep, ReaderKey
from services.search.api.models import SearchParams, SearchResult
from services.search.api.results import HIT_SOURCE, hit_dict, json_response, story_infos
from services.search.criteria import (
    HIGHLIGHT,
    STORY_COUNT,
    BadRequest,
    decode_cursor,
    encode_cursor,
    sort_clause,
)
from services.search.query import query_notices

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchResult)
async def search(p: Annotated[SearchParams, Query()], index: IndexDep, _: ReaderKey) -> Any:
    """One page of hits; ``size=0`` counts only (``total``, ``total_stories`` with ``collapse``, no
    hits and no cursor). ``notices`` hints at a query that parsed but may not mean what was meant."""
    size, sort, cursor, collapse = p.size, p.sort, p.cursor, p.collapse
    criteria = p.criteria()
    query = criteria.es_query()
    notices = [{"code": n.code, "message": n.message, "position": n.position, "params": n.params}
               for n in query_notices(p.q)]  # fmt: skip
    notices += criteria.name_notices()  # how region and entity names were read
    notices += criteria.tone_notices()  # the tone filter scoped to the entity filters
    if size == 0:  # count only: no sorting, highlighting, paging or collapsing
        aggs = {"stories": STORY_COUNT} if collapse else None
        resp = await index.es.search(index=index.alias, size=0, query=query, track_total_hits=True, aggs=aggs,
                                     timeout=index.search_timeout)  # fmt: skip
        total_stories = resp["aggregations"]["stories"]["value"] if collapse else None
        return json_response({"total": resp["hits"]["total"]["value"], "total_stories": total_stories, "hits": [],
                              "next_cursor": None, "notices": notices})  # fmt: skip
    body: dict[str, Any] = {
        "query": query, "size": size, "sort": sort_clause(sort), "track_total_hits": True,
        "timeout": index.search_timeout, "_source": HIT_SOURCE, "highlight": HIGHLIGHT,
    }  # fmt: skip
    kind = f"{'story' if collapse else 'article'}:{sort}"
    if collapse:
        offset = decode_cursor(cursor, kind)[0] if cursor else 0  # a non-negative int
        if offset + size > 10_000:
            raise BadRequest("cursor: collapsed results can be paged through the first 10,000 stories",
                             code="paging_limit")  # fmt: skip
        body.update(collapse={"field": "story_id"}, **{"from": offset})
        body["aggs"] = {"stories": STORY_COUNT}
    elif cursor:
        body["search_after"] = decode_cursor(cursor, kind)
    resp = await index.es.search(index=index.alias, **body)
    raw = resp["hits"]["hits"]
    stories = (
        await story_infos(index, [h["_source"].get("story_id") for h in raw if h["_source"].get("story_id")])
        if collapse
        else {}
    )
    hits = [hit_dict(h, stories.get(h["_source"].get("story_id", ""))) for h in raw]
    next_cursor = None
    if len(raw) == size:
        next_cursor = encode_cursor(kind, [offset + size] if collapse else raw[-1]["sort"])
    total_stories = resp["aggregations"]["stories"]["value"] if collapse else None
    return json_response({"total": resp["hits"]["total"]["value"], "total_stories": total_stories, "hits": hits,
                          "next_cursor": next_cursor, "notices": notices})  # fmt: skip
