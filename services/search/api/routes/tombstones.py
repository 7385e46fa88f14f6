"""``/v1/tombstones``: the removed articles (admin only): list them, read one, and lift one so the
article can be indexed again. Removing is ``DELETE /v1/articles/{article_id}``
(:mod:`.articles`); both are recorded in the audit log (:mod:`.audit`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from services.search.api.deps import AdminKey, RemovalsDep
from services.search.api.models import NOT_FOUND, RemovalIn, Tombstone
from services.search.api.routes.articles import ReasonQuery, check_article_id, removal_reason
from services.search.tombstones import MAX_LIST

router = APIRouter(prefix="/tombstones", tags=["articles"])


@router.get(
    "",
    response_model=list[Tombstone],
    summary="List removed articles (admin)",
    description=f"The tombstones of removed articles, newest first (`size`, up to {MAX_LIST}): the article id, "
    "its URL and canonical URL, outlet, reason, the key that removed it and when. 403 for a reader key.",
)
async def list_tombstones(removals: RemovalsDep, _: AdminKey,
                          size: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100) -> Any:  # fmt: skip
    return await run_in_threadpool(removals.list, size)


@router.get(
    "/{article_id}",
    response_model=Tombstone,
    responses=NOT_FOUND,
    summary="Read a tombstone (admin)",
    description="Whether, why, by whom and when the article was removed. 404 if it was not (or it was lifted).",
)
async def get_tombstone(article_id: str, removals: RemovalsDep, _: AdminKey) -> Any:
    check_article_id(article_id)
    tombstone = await run_in_threadpool(removals.get, article_id)
    if tombstone is None:
        raise HTTPException(status_code=404, detail=f"no tombstone for article {article_id}")
    return tombstone


@router.delete(
    "/{article_id}",
    response_model=Tombstone,
    responses=NOT_FOUND,
    summary="Lift a tombstone (admin)",
    description="Allows the removed article to be indexed again: it comes back when it is next pushed "
    "(`POST /v1/articles` on the ingest API) or crawled; lifting does not restore it by itself. A `reason` "
    'is required, in the body (`{"reason": "..."}`) or the query, and is recorded in the audit log with the '
    "key that did it. Answers the lifted tombstone. Errors: 403 for a reader key; 404 if there is no "
    "tombstone; 422 without a reason.",
)
async def lift_tombstone(article_id: str, removals: RemovalsDep, key: AdminKey, reason: ReasonQuery = None,
                         body: Annotated[RemovalIn | None, Body()] = None) -> Any:  # fmt: skip
    check_article_id(article_id)
    why = removal_reason(body, reason)
    tombstone = await run_in_threadpool(removals.lift, article_id, why, key)
    if tombstone is None:
        raise HTTPException(status_code=404, detail=f"no tombstone for article {article_id}")
    return tombstone
