"""The search API application: clients and stores for the process (lifespan), the perimeter
(body caps, authentication before a body is read, security headers), the error answers, the
routers, ``/metrics`` and the web app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch
from elasticsearch.serializer import OrjsonSerializer
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services.search.alerts import AlertIndices, SavedSearchStore
from services.search.api.deps import ArticleIndex
from services.search.api.models import ERRORS
from services.search.api.routes import ROUTERS, health_router
from services.search.api.webhooks import webhooks_router
from services.search.criteria import BadRequest, rejection_message
from services.search.index import Layout, ensure_index
from services.search.pickups import Pickups, ensure_pickup_index
from services.search.pickups.models import MAX_RELEASE_REQUEST_BYTES
from services.search.query import QuerySyntaxError
from services.search.settings import SearchSettings
from services.search.tombstones import Removals
from services.search.web import mount_web
from shared.apidocs import install_docs
from shared.audit import AuditLog
from shared.auth import Authenticator, KeyStore, authenticate_scope
from shared.http import install_error_handlers, install_perimeter
from shared.limits import MAX_REQUEST_BYTES
from shared.metrics import metrics_asgi_app
from shared.process import freeze_startup_heap
from shared.ssrf import SsrfGuard

log = logging.getLogger(__name__)


def _ensure_indices(settings: SearchSettings) -> KeyStore:
    es = Elasticsearch(settings.es_hosts, request_timeout=10)
    ensure_index(es, settings.index_prefix, Layout.of(settings))
    AlertIndices(settings.index_prefix).ensure(es)
    keys = KeyStore(es, settings.index_prefix)
    keys.ensure_index()
    audit = AuditLog(es, settings.index_prefix)
    audit.ensure_index()
    Removals(es, settings.index_prefix, audit).ensure_index()
    ensure_pickup_index(es, settings.index_prefix)
    keys.bootstrap_admin(settings.admin_key)
    return keys


def create_app(settings: SearchSettings | None = None) -> FastAPI:
    settings = settings or SearchSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # orjson parses ES answers several times faster than the standard json module.
        app.state.es = AsyncElasticsearch(settings.es_hosts, request_timeout=settings.request_timeout_s,
                                          serializer=OrjsonSerializer())  # fmt: skip
        app.state.index = ArticleIndex(app.state.es, settings.alias, settings.search_timeout)
        app.state.index_prefix = settings.index_prefix  # the digest routes' indices
        app.state.sync_es = Elasticsearch(settings.es_hosts, request_timeout=settings.request_timeout_s)
        auth = Authenticator(app.state.sync_es, settings, api="search")
        auth.attach(app)
        await auth.start()
        app.state.saved = SavedSearchStore(app.state.sync_es, settings.index_prefix,
                                           SsrfGuard(allow_hosts=settings.webhook_allow_list))  # fmt: skip
        app.state.audit = AuditLog(app.state.sync_es, settings.index_prefix)
        app.state.removals = Removals(app.state.sync_es, settings.index_prefix, app.state.audit)
        app.state.pickups = Pickups(app.state.es, settings.alias, settings.index_prefix,
                                    search_timeout=settings.search_timeout)  # fmt: skip
        try:
            await run_in_threadpool(_ensure_indices, settings)
        except Exception as exc:  # ES down at start-up: /readyz reports it; requests answer 503
            log.warning("could not ensure the indices", extra={"error": repr(exc)})
        freeze_startup_heap()
        yield
        await app.state.es.close()
        await auth.close()
        app.state.sync_es.close()

    app = FastAPI(
        title="Warta search API",
        version="1",
        description="Search, analytics, export and alerts over Indonesian regional news. "
        "Authenticate with `Authorization: Bearer <key>` (the **Authorize** button): a `reader` key may search, "
        "read, analyse, export and make reports, and read its team's monitors and tracked releases; an `analyst` "
        "key also manages its team's monitors, digests and tracked releases; an `admin` key manages everything, "
        "for every team, keys and sources included. An error answers "
        '`{"error": "..."}` with a sentence; a malformed query adds `code` (stable, to translate by), `params` '
        "and `position`. The query language is "
        "described in docs/query-language.md. A monitor with a webhook is called as the `alert` webhook below.",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from this process rather than a CDN
        redoc_url=None,
        # Metrics are exported for Prometheus (/metrics); FastAPI's own OpenTelemetry hooks would
        # only add per-request work.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.mount("/metrics", metrics_asgi_app())
    install_docs(app)

    install_error_handlers(app)
    # Bodies (saved searches, keys, the web app's proxy) are capped at 64 KiB, and their sender
    # authenticated, before a byte is read.
    # A press release of MAX_RELEASE_CHARS characters is up to 4 bytes each in UTF-8, in JSON.
    install_perimeter(app, caps={("POST", "/v1/pickups"): MAX_RELEASE_REQUEST_BYTES}, default_cap=MAX_REQUEST_BYTES,
                      gate=authenticate_scope)  # fmt: skip
    _install_search_errors(app)

    app.include_router(health_router)
    # Each resource router is included directly, not through one /v1 router as in the FastAPI
    # template: FastAPI matches included routers level by level, about 9 µs per level per request.
    for router in ROUTERS:
        app.include_router(router, prefix="/v1", responses=ERRORS)
    app.webhooks.include_router(webhooks_router)  # documentation only: the alerts consumer sends them
    mount_web(app)  # the web app: page shell, /static and the sources proxy (services/search/web)
    return app


def _install_search_errors(app: FastAPI) -> None:
    """The answers to a bad query (400 with its position), to a request Elasticsearch refuses
    (400 with a stable sentence), to a backend in trouble (503) and to a bug (500): none names
    an index, a host, a shard or an exception type; the details go to the log."""

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse(status_code=400, content={"error": exc.message, "code": exc.code, "params": exc.params,
                                                      "position": exc.position})  # fmt: skip

    @app.exception_handler(QuerySyntaxError)
    async def _bad_query(request: Request, exc: QuerySyntaxError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"error": exc.message, "code": exc.code, "params": exc.params,
                                                      "position": exc.position})  # fmt: skip

    @app.exception_handler(ApiError)
    async def _es_error(request: Request, exc: ApiError) -> JSONResponse:
        log.warning("Elasticsearch error", extra={"path": request.url.path, "status": exc.meta.status,
                                                  "error": str(exc)[:4000]})  # fmt: skip
        if exc.meta.status == 400:  # a request Elasticsearch refuses: the client can change it
            return JSONResponse(
                status_code=400, content={"error": rejection_message(exc.body), "code": "query_rejected"}
            )
        # 429, 5xx, and a missing index or any other status: the backend's state, not the client's.
        return JSONResponse(status_code=503, content={"error": "search backend busy, try again shortly",
                                                      "code": "backend_busy"})  # fmt: skip

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the traceback after this answers; the client gets the usual error shape.
        return JSONResponse(status_code=500, content={"error": "internal error", "code": "internal_error"})
