"""``GET /v1/articles/{article_id}`` (one enriched article, as indexed) and
``GET /v1/stories/{story_id}`` (a story and its members, oldest first)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from elasticsearch import NotFoundError
from fastapi import APIRouter, HTTPException, Query

from services.search.api.deps import IndexDep, ReaderKey
from services.search.api.models import NOT_FOUND, StoryResult
from services.search.api.results import HIT_SOURCE, hit_dict, json_response, story_infos
from services.search.criteria import BadRequest

router = APIRouter(tags=["articles"], responses=NOT_FOUND)

# Article ids are hex digests (shared.ids); anything else cannot be one.
ARTICLE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@router.get("/articles/{article_id}")
async def get_article(article_id: str, index: IndexDep, _: ReaderKey) -> Any:
    # The id goes into Elasticsearch's URL: '..' or '.' would address the index itself.
    if not ARTICLE_ID.fullmatch(article_id):
        raise BadRequest("article_id: not an article id (letters, digits, '-' and '_', at most 128)")
    try:
        resp = await index.es.get(index=index.alias, id=article_id)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=f"article {article_id} not found") from exc
    return resp["_source"]


@router.get("/stories/{story_id}", response_model=StoryResult)
async def get_story(story_id: str, index: IndexDep, _: ReaderKey,
                    size: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:  # fmt: skip
    resp = await index.es.search(index=index.alias, query={"term": {"story_id": story_id}}, size=size, source_includes=HIT_SOURCE,
                           sort=[{"published_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}])  # fmt: skip
    if not resp["hits"]["hits"]:
        raise HTTPException(status_code=404, detail=f"story {story_id} not found")
    info = (await story_infos(index, [story_id]))[story_id]
    return json_response({"story": info, "members": [hit_dict(h) for h in resp["hits"]["hits"]]})
