"""The ingest HTTP API: articles pushed by clients go to ``articles.raw``.

A 202 means Kafka has acknowledged the write (acks=all); anything else means it has not.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

from elasticsearch import Elasticsearch
from fastapi import Body, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.ingest.articles import ArticleIn, EmptyArticle, InvalidArticle, to_raw
from services.ingest.extract.model import ExtractedArticle
from services.ingest.extract.pool import (
    CpuBudget,
    ExtractionBudgetSpent,
    ExtractionFailed,
    ExtractionPool,
    ExtractionTooSlow,
)
from services.ingest.publisher import ArticlePublisher, PublishError
from services.ingest.settings import IngestSettings
from services.ingest.sources_api import sources_router
from shared.apidocs import install_docs
from shared.auth import Authenticator, authenticate_scope, require
from shared.http import describe_validation, install_error_handlers, install_perimeter
from shared.limits import (
    MAX_BATCH_HTML_BYTES,
    MAX_BATCH_REQUEST_BYTES,
    MAX_HTML_BYTES,
    MAX_PUSH_REQUEST_BYTES,
    MAX_REQUEST_BYTES,
    TooLarge,
    encoded_size,
)
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


class _Rejection(NamedTuple):
    status: int
    field: str
    message: str
    extra: dict[str, Any]


def _rejection(exc: Exception, url: str) -> _Rejection | None:
    """The client error that building an article raised, or None for an unexpected exception."""
    if isinstance(exc, TooLarge):
        # "text extracted from html" is the HTML's fault: that is the field the client can change.
        field = "text" if exc.field == "text" else "html"
        return _Rejection(413, field, str(exc), {"size": exc.size, "limit": exc.limit})
    if isinstance(exc, ExtractionBudgetSpent):
        return _Rejection(413, "html", f"html: {exc}", {"limit_s": exc.limit_s})
    if isinstance(exc, ExtractionTooSlow):
        message = f"html: {exc}, the limit per page; push the article's text instead"
        return _Rejection(413, "html", message, {"limit_s": exc.limit_s})
    if isinstance(exc, ExtractionFailed):
        log.warning("extraction failed", extra={"url": url, "error": str(exc)})
        return _Rejection(422, "html", "html: the page could not be extracted", {})
    if isinstance(exc, EmptyArticle):
        return _Rejection(422, "html", str(exc), {})
    if isinstance(exc, InvalidArticle):
        return _Rejection(422, exc.field, str(exc), {})
    return None


def _rejected(rejection: _Rejection) -> JSONResponse:
    """The error body of every API error (shared/http.py), plus the size and limit for a 413."""
    kind = "too_large" if rejection.status == 413 else "value_error"
    detail = {"loc": ["body", rejection.field], "msg": rejection.message, "type": kind, **rejection.extra}
    return JSONResponse(status_code=rejection.status, content={"error": rejection.message, "detail": [detail]})


def _extractor(request: Request, budget: CpuBudget | None = None) -> Callable[[str, str], ExtractedArticle] | None:
    """The app's extraction worker pool, sharing ``budget`` (None without the lifespan, e.g. in
    in-process tests: then extraction runs in the calling thread)."""
    pool: ExtractionPool | None = getattr(request.app.state, "extraction", None)
    return None if pool is None else functools.partial(pool.extract, budget=budget)


def create_app(settings: IngestSettings | None = None, publisher: ArticlePublisher | None = None) -> FastAPI:
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.publisher = publisher or ArticlePublisher(settings)
        app.state.extraction = ExtractionPool(settings.extract_workers, settings.extract_cpu_limit_s)
        es = Elasticsearch(settings.es_hosts, request_timeout=10)
        auth = Authenticator(es, settings, api="ingest")
        auth.attach(app)
        await auth.start()
        try:
            await run_in_threadpool(app.state.keys.ensure_index)
            await run_in_threadpool(app.state.keys.bootstrap_admin, settings.admin_key)
        except Exception as exc:  # ES down: authenticated calls answer 503 until it is back
            log.warning("key store not ready", extra={"error": repr(exc)})
        yield
        app.state.extraction.close()
        es.close()
        await auth.close()
        if publisher is None:
            app.state.publisher.close()

    app = FastAPI(
        title="Warta ingest API",
        version="1",
        description="Push articles into the Warta pipeline and manage the crawl sources. "
        "Authenticate with `Authorization: Bearer <key>` (the **Authorize** button); every endpoint under "
        '`/v1` needs an `admin` key. Every error answers `{"error": "..."}` with a sentence naming the '
        "field or the reason, plus `detail` for an invalid field.",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from this process rather than a CDN
        redoc_url=None,
        responses={
            **AUTH_ERRORS,
            413: {"model": ErrorBody, "description": "A field over its byte limit; names it, its size and the limit"},
            422: {"model": ErrorBody, "description": "Invalid article; the message names the field"},
        },
    )
    app.mount("/metrics", metrics_asgi_app())
    install_docs(app)

    install_error_handlers(app)
    # Bodies are capped, and their sender authenticated, before a byte is read (shared/limits.py).
    install_perimeter(app, default_cap=MAX_REQUEST_BYTES, gate=authenticate_scope, caps={
        ("POST", "/v1/articles"): MAX_PUSH_REQUEST_BYTES, ("POST", "/v1/articles/batch"): MAX_BATCH_REQUEST_BYTES,
    })  # fmt: skip
    app.include_router(sources_router, dependencies=[ADMIN], responses=SOURCE_ERRORS)

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Liveness",
        description='`{"status": "ok"}` while the process serves requests. Checks nothing else.',
    )
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness",
        responses={503: {"model": ErrorBody}},
        description='`{"status": "ready"}` when Kafka is reachable; otherwise 503 (the reason goes '
        "to the log, not to the answer).",
    )
    async def readyz(request: Request) -> Any:
        try:
            ok = await run_in_threadpool(request.app.state.publisher.ready)
        except Exception as exc:  # unauthenticated: the reason goes to the log, not the answer
            log.warning("readyz: Kafka check failed", extra={"error": repr(exc)[:2000]})
            ok = False
        if not ok:
            return JSONResponse(status_code=503, content={"error": "Kafka is not reachable"})
        return {"status": "ready"}

    @app.post(
        "/v1/articles",
        status_code=202,
        response_model=Accepted,
        tags=["articles"],
        summary="Push one article",
        description="Validate one article (`text`, or `html` reduced to its main text), derive its id from the "
        "canonical URL and publish it to `articles.raw`. **202** with the id only after Kafka acknowledged the "
        "write (acks=all); pushing the same URL again updates the article (same id). Errors: 422 names the invalid "
        "field; 413 a field over its byte limit, with its size and the limit; 503 when Kafka did not acknowledge "
        "(retry after `Retry-After`).",
        responses={503: {"model": ErrorBody, "description": "Kafka did not acknowledge the write"}},
    )
    async def post_article(request: Request, article: ArticleIn, _: Any = ADMIN) -> Any:
        try:
            raw = await run_in_threadpool(to_raw, article, _extractor(request))
        except Exception as exc:
            rejection = _rejection(exc, article.url)
            if rejection is None:
                raise
            MESSAGES.labels("ingest", "rejected").inc()
            return _rejected(rejection)
        try:
            await run_in_threadpool(request.app.state.publisher.publish, raw)
        except PublishError as exc:  # 413/422 when Kafka refuses the article for good, else 503 (publisher.py)
            headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
            return JSONResponse(status_code=exc.status_code, content={"error": str(exc)}, headers=headers)
        return Accepted(id=raw.id)

    max_batch = settings.max_batch

    @app.post(
        "/v1/articles/batch",
        response_model=BatchResult,
        tags=["articles"],
        summary="Push a batch of articles",
        description=(
            f"Up to {max_batch} articles; one result per item (`status` 202 with the `id`, or the item's error "
            "status and `error`), as for `POST /v1/articles`. A bad item never sinks the good ones. "
            f"HTML items share a budget of {MAX_BATCH_HTML_BYTES:,} bytes and of "
            f"{settings.extract_batch_cpu_s:g} s of extraction CPU time: items past it get a 413 of their own."
        ),
    )
    async def post_batch(
        request: Request,
        _: Any = ADMIN,
        articles: list[dict[str, Any]] = Body(..., embed=True, max_length=max_batch),
    ) -> Any:
        results: list[ItemResult | None] = [None] * len(articles)
        valid: list[tuple[int, ArticleIn]] = []
        html_budget = MAX_BATCH_HTML_BYTES
        for i, item in enumerate(articles):
            try:
                article = ArticleIn.model_validate(item)
            except ValidationError as exc:
                results[i] = ItemResult(index=i, status=422, error=describe_validation(exc.errors()))
                continue
            html_size = encoded_size(article.html) if article.html is not None else 0
            if html_size <= MAX_HTML_BYTES:  # a larger page gets its own 413 from to_raw
                if html_size > html_budget:
                    results[i] = ItemResult(
                        index=i,
                        status=413,
                        error=f"html: {html_size:,} bytes, over what is left of this batch's HTML budget "
                        f"of {MAX_BATCH_HTML_BYTES:,} bytes; push this article in another request",
                    )
                    continue
                html_budget -= html_size
            valid.append((i, article))
        # Extraction runs in the worker pool, at most extract_workers pages at once (more threads
        # would only wait for a worker), within one CPU budget for the whole batch.
        slots = asyncio.Semaphore(settings.extract_workers)
        extract_html = _extractor(request, CpuBudget(settings.extract_batch_cpu_s))

        async def build(i: int, article: ArticleIn) -> tuple[int, Any]:
            async with slots:
                try:
                    return i, await run_in_threadpool(to_raw, article, extract_html)
                except Exception as exc:
                    rejection = _rejection(exc, article.url)
                    if rejection is None:  # a bug must not sink the other items
                        log.exception("batch item failed", extra={"url": article.url})
                        results[i] = ItemResult(index=i, status=500, error="internal error; not accepted")
                    else:
                        results[i] = ItemResult(index=i, status=rejection.status, error=rejection.message)
                    return i, None

        built = await asyncio.gather(*(build(i, article) for i, article in valid))
        raws = [(i, raw) for i, raw in built if raw is not None]
        if raws:
            outcomes = await run_in_threadpool(request.app.state.publisher.publish_many, [r for _, r in raws])
            for (i, raw), err in zip(raws, outcomes, strict=True):
                results[i] = (
                    ItemResult(index=i, status=202, id=raw.id)
                    if err is None
                    else ItemResult(index=i, status=err.status_code, id=raw.id, error=str(err))
                )
        done = [r for r in results if r is not None]
        accepted = sum(1 for r in done if r.status == 202)
        MESSAGES.labels("ingest", "rejected").inc(len(done) - accepted)
        return BatchResult(accepted=accepted, rejected=len(done) - accepted, results=done)

    return app
