"""The search HTTP API (foundation): full-text search with cursors, and article lookup."""

from __future__ import annotations

import base64
import json
import logging
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch, NotFoundError
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.metrics import metrics_asgi_app

from services.search.index import ensure_index
from services.search.settings import SearchSettings

log = logging.getLogger(__name__)


class Hit(BaseModel):
    id: str
    url: str
    title: str
    source: str
    published_at: datetime | None = None
    snippet: str | None = None


class SearchResult(BaseModel):
    total: int
    hits: list[Hit]
    next_cursor: str | None = None


class ErrorBody(BaseModel):
    error: str
    position: int | None = None


def encode_cursor(sort: str, values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"s": sort, "v": values}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["s"] != sort or not isinstance(data["v"], list):
            raise ValueError("cursor belongs to another sort order")
        return list(data["v"])
    except (ValueError, KeyError, TypeError) as exc:
        raise HTTPException(status_code=400, detail=f"cursor: invalid cursor ({exc})") from exc


def sort_clause(sort: str) -> list[dict[str, Any]]:
    newest = [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    return newest if sort == "newest" else [{"_score": "desc"}, *newest]


def build_query(q: str) -> dict[str, Any]:
    if not q.strip():
        return {"match_all": {}}
    return {
        "bool": {
            "must": [
                {"bool": {"should": [{"match": {"title": {"query": w}}}, {"match": {"body": {"query": w}}}], "minimum_should_match": 1}}
                for w in q.split()
            ]
        }
    }


def _ensure_index(settings: SearchSettings) -> None:
    es = Elasticsearch(settings.es_url, request_timeout=10)
    try:
        ensure_index(es, settings.index_prefix)
    finally:
        es.close()


def create_app(settings: SearchSettings | None = None) -> FastAPI:
    settings = settings or SearchSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.es = AsyncElasticsearch(settings.es_url, request_timeout=settings.request_timeout_s)
        try:
            await run_in_threadpool(_ensure_index, settings)
        except Exception as exc:  # ES down at start-up: /readyz reports it; requests answer 503
            log.warning("could not ensure the index", extra={"error": repr(exc)})
        yield
        await app.state.es.close()

    app = FastAPI(title="Warta search API", version="1", lifespan=lifespan)
    app.mount("/metrics", metrics_asgi_app())

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        body = exc.detail if isinstance(exc.detail, dict) else {"error": str(exc.detail)}
        return JSONResponse(status_code=exc.status_code, content=body)

    @app.exception_handler(ApiError)
    async def _es_error(request: Request, exc: ApiError) -> JSONResponse:
        status = 503 if exc.meta.status >= 500 or exc.meta.status == 429 else 400
        log.warning("Elasticsearch error", extra={"error": f"{exc.meta.status} {exc.message}"})
        return JSONResponse(status_code=status, content={"error": f"search backend error: {exc.message}"})

    @app.exception_handler(ESConnectionError)
    @app.exception_handler(ConnectionTimeout)
    async def _es_down(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, content={"error": "search backend unavailable, try again shortly"})

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": ErrorBody}})
    async def readyz(request: Request) -> Any:
        try:
            await request.app.state.es.cluster.health(timeout="1s")
        except Exception as exc:
            return JSONResponse(status_code=503, content={"error": f"Elasticsearch is not reachable: {exc}"})
        return {"status": "ready"}

    @app.get("/v1/search", response_model=SearchResult, tags=["search"], responses={400: {"model": ErrorBody}})
    async def search(
        request: Request,
        q: str = Query("", max_length=4000),
        size: int = Query(10, ge=1, le=100),
        sort: Literal["relevance", "newest"] = "relevance",
        cursor: str | None = None,
    ) -> Any:
        body: dict[str, Any] = {
            "query": build_query(q),
            "size": size,
            "sort": sort_clause(sort),
            "track_total_hits": True,
            "timeout": settings.search_timeout,
            "_source": ["id", "url", "title", "source", "published_at", "summary"],
            "highlight": {"fields": {"body": {"fragment_size": 160, "number_of_fragments": 1}}},
        }
        if cursor:
            body["search_after"] = decode_cursor(cursor, sort)
        resp = await request.app.state.es.search(index=settings.alias, **body)
        hits = []
        for h in resp["hits"]["hits"]:
            src = h["_source"]
            snippet = (h.get("highlight", {}).get("body") or [None])[0] or " ".join(src.get("summary") or [])[:200] or None
            hits.append(Hit(id=src["id"], url=src["url"], title=src["title"], source=src["source"],
                            published_at=src.get("published_at"), snippet=snippet))  # fmt: skip
        raw_hits = resp["hits"]["hits"]
        next_cursor = encode_cursor(sort, raw_hits[-1]["sort"]) if len(raw_hits) == size else None
        return SearchResult(total=resp["hits"]["total"]["value"], hits=hits, next_cursor=next_cursor)

    @app.get("/v1/articles/{article_id}", tags=["articles"], responses={404: {"model": ErrorBody}})
    async def get_article(request: Request, article_id: str) -> Any:
        try:
            resp = await request.app.state.es.get(index=settings.alias, id=article_id)
        except NotFoundError as exc:
            raise HTTPException(status_code=404, detail=f"article {article_id} not found") from exc
        return resp["_source"]

    return app
