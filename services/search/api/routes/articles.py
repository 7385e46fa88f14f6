"""``GET /v1/articles/{article_id}`` (one enriched article, as indexed),
``DELETE /v1/articles/{article_id}`` (remove it for good, admin: :mod:`services.search.tombstones`)
and ``GET /v1/stories/{story_id}`` (a story and its members, oldest first)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.search.api.deps import AdminKey, IndexDep, ReaderKey, RemovalsDep
from services.search.api.models import NOT_FOUND, REASON_MAX, RemovalIn, StoryResult, Tombstone
from services.search.api.results import HIT_SOURCE, hit_dict, json_response, story_infos
from services.search.criteria import BadRequest
from services.search.index import fetch_article_async

router = APIRouter(tags=["articles"], responses=NOT_FOUND)

# Article ids are hex digests (shared.ids); anything else cannot be one.
ARTICLE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@router.get(
    "/articles/{article_id}",
    summary="Read an article",
    description="One enriched article as indexed: text, summary, entities, regions, keywords, story and tone "
    "(`tone`, `tone_mismatch`, `entity_tones` with evidence; none for articles enriched before tone). "
    "Errors: 400 for a string that cannot be an article id; 404 if there is none.",
)
async def get_article(article_id: str, index: IndexDep, _: ReaderKey) -> Any:
    check_article_id(article_id)
    found = await fetch_article_async(index.es, index.alias, article_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"article {article_id} not found")
    return found


def removal_reason(body: RemovalIn | None, reason: str | None) -> str:
    """The reason from the body, else from the query; a 422 naming ``reason`` if neither has one."""
    if body is not None:
        return body.reason
    if reason is None:
        raise RequestValidationError([{"loc": ("query", "reason"), "type": "missing",
                                       "msg": 'Field required: give the reason as ?reason=... or {"reason": "..."}'}])  # fmt: skip
    try:
        return RemovalIn(reason=reason).reason
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("query", "reason")} for e in exc.errors()]) from exc


def check_article_id(article_id: str) -> None:
    # The id goes into Elasticsearch's URL: '..' or '.' would address the index itself.
    if not ARTICLE_ID.fullmatch(article_id):
        raise BadRequest("article_id: not an article id (letters, digits, '-' and '_', at most 128)")


ReasonQuery = Annotated[str | None, Query(max_length=REASON_MAX, description="Why (or give it in the body)")]


@router.delete(
    "/articles/{article_id}",
    response_model=Tombstone,
    summary="Remove an article (admin)",
    description="Removes the article from search, export, stories and monitors' matches, and records a "
    "tombstone so that a re-crawl or re-push of it (any URL with the same canonical URL) is not indexed again "
    "until an admin lifts it (`DELETE /v1/tombstones/{article_id}`). A `reason` is required, in the body "
    '(`{"reason": "takedown request"}`) or the query (`?reason=court order`); it is kept in the tombstone and '
    "in the audit log (`GET /v1/audit`) with the key that did it. Answers the tombstone. Errors: 403 for a "
    "reader key; 404 if the index has no such article (also when it was removed already); 422 without a "
    "reason.",
)
async def remove_article(article_id: str, removals: RemovalsDep, key: AdminKey, reason: ReasonQuery = None,
                         body: Annotated[RemovalIn | None, Body()] = None) -> Any:  # fmt: skip
    check_article_id(article_id)
    why = removal_reason(body, reason)
    tombstone = await run_in_threadpool(removals.remove, article_id, why, key)
    if tombstone is None:
        removed = await run_in_threadpool(removals.get, article_id)
        raise HTTPException(status_code=404, detail=f"article {article_id} " + (
            f"was already removed ({removed['removed_at']})" if removed else "not found"))  # fmt: skip
    return tombstone


@router.get(
    "/stories/{story_id}",
    response_model=StoryResult,
    summary="Read a story",
    description="A story (an article and its syndicated copies) and its members, oldest first (`size`, up to "
    "500). 404 if there is none.",
)
async def get_story(story_id: str, index: IndexDep, _: ReaderKey,
                    size: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:  # fmt: skip
    resp = await index.es.search(index=index.alias, query={"term": {"story_id": story_id}}, size=size, source_includes=HIT_SOURCE,
                           sort=[{"published_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}])  # fmt: skip
    if not resp["hits"]["hits"]:
        raise HTTPException(status_code=404, detail=f"story {story_id} not found")
    info = (await story_infos(index, [story_id]))[story_id]
    return json_response({"story": info, "members": [hit_dict(h) for h in resp["hits"]["hits"]]})
