"""The ingest HTTP API: articles pushed by clients go to ``articles.raw``.

A 202 means Kafka has acknowledged the write (acks=all); anything else means it has not.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

from elasticsearch import Elasticsearch
from fastapi import Body, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.ingest.articles import ArticleIn, EmptyArticle, to_raw
from services.ingest.publisher import ArticlePublisher, PublishError
from services.ingest.settings import IngestSettings
from services.ingest.sources_api import sources_router
from shared.auth import KeyStore, RateLimiter, require
from shared.http import describe_validation, install_error_handlers
from shared.metrics import MESSAGES, metrics_asgi_app

log = logging.getLogger(__name__)
ADMIN = Depends(require("admin"))


class ErrorBody(BaseModel):
    error: str
    detail: list[dict[str, Any]] | None = None


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Unparsable request body"},
    401: {"model": ErrorBody, "description": "Missing or invalid API key"},
    403: {"model": ErrorBody, "description": "The key's role is not allowed here"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded"},
    503: {"model": ErrorBody, "description": "A backend is unavailable"},
}
SOURCE_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: {"model": ErrorBody, "description": "No such source"},
    409: {"model": ErrorBody, "description": "Conflict (id taken, or the source is disabled)"},
}


class Accepted(BaseModel):
    id: str


class ItemResult(BaseModel):
    index: int
    status: int
    id: str | None = None
    error: str | None = None


class BatchResult(BaseModel):
    accepted: int
    rejected: int
    results: list[ItemResult]


def create_app(settings: IngestSettings | None = None, publisher: ArticlePublisher | None = None) -> FastAPI:
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.publisher = publisher or ArticlePublisher(settings)
        es = Elasticsearch(settings.es_url, request_timeout=10)
        app.state.keys = KeyStore(es, settings.index_prefix)
        app.state.limiter = RateLimiter(settings.redis_url, settings.redis_prefix, settings.rate_limit_per_minute)
        try:
            await run_in_threadpool(app.state.keys.ensure_index)
            await run_in_threadpool(app.state.keys.bootstrap_admin, settings.admin_key)
        except Exception as exc:  # ES down: authenticated calls answer 503 until it is back
            log.warning("key store not ready", extra={"error": repr(exc)})
        yield
        es.close()
        await app.state.limiter.close()
        if publisher is None:
            app.state.publisher.close()

    app = FastAPI(
        title="Warta ingest API",
        version="1",
        description="Push articles into the Warta pipeline.",
        lifespan=lifespan,
        responses={
            **AUTH_ERRORS,
            422: {"model": ErrorBody, "description": "Invalid article; the message names the field"},
        },
    )
    app.mount("/metrics", metrics_asgi_app())

    install_error_handlers(app)
    app.include_router(sources_router, dependencies=[ADMIN], responses=SOURCE_ERRORS)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": ErrorBody}})
    async def readyz(request: Request) -> Any:
        ok = await run_in_threadpool(request.app.state.publisher.ready)
        if not ok:
            return JSONResponse(status_code=503, content={"error": "Kafka is not reachable"})
        return {"status": "ready"}

    @app.post(
        "/v1/articles",
        status_code=202,
        response_model=Accepted,
        tags=["articles"],
        responses={503: {"model": ErrorBody, "description": "Kafka did not acknowledge the write"}},
    )
    async def post_article(request: Request, article: ArticleIn, _: Any = ADMIN) -> Any:
        try:
            raw = await run_in_threadpool(to_raw, article)
        except EmptyArticle as exc:
            MESSAGES.labels("ingest", "rejected").inc()
            return JSONResponse(status_code=422, content={"error": str(exc)})
        try:
            await run_in_threadpool(request.app.state.publisher.publish, raw)
        except PublishError as exc:
            return JSONResponse(status_code=503, content={"error": str(exc)})
        return Accepted(id=raw.id)

    max_batch = settings.max_batch

    @app.post(
        "/v1/articles/batch",
        response_model=BatchResult,
        tags=["articles"],
        description=f"Up to {max_batch} articles; one result per item. A bad item never sinks the good ones.",
    )
    async def post_batch(
        request: Request,
        _: Any = ADMIN,
        articles: list[dict[str, Any]] = Body(..., embed=True, max_length=max_batch),
    ) -> Any:
        results: list[ItemResult | None] = [None] * len(articles)
        raws = []
        for i, item in enumerate(articles):
            try:
                raw = await run_in_threadpool(to_raw, ArticleIn.model_validate(item))
            except ValidationError as exc:
                results[i] = ItemResult(index=i, status=422, error=describe_validation(exc.errors()))
                continue
            except EmptyArticle as exc:
                results[i] = ItemResult(index=i, status=422, error=str(exc))
                continue
            raws.append((i, raw))
        if raws:
            outcomes = await run_in_threadpool(request.app.state.publisher.publish_many, [r for _, r in raws])
            for (i, raw), err in zip(raws, outcomes, strict=True):
                results[i] = (
                    ItemResult(index=i, status=202, id=raw.id)
                    if err is None
                    else ItemResult(index=i, status=503, id=raw.id, error=str(err))
                )
        done = [r for r in results if r is not None]
        accepted = sum(1 for r in done if r.status == 202)
        MESSAGES.labels("ingest", "rejected").inc(len(done) - accepted)
        return BatchResult(accepted=accepted, rejected=len(done) - accepted, results=done)

    return app
