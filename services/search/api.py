"""The search HTTP API: search, articles, stories, analytics, export, saved searches with alerts,
and API keys. Every endpoint that selects articles goes through :class:`Criteria` (one query path).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
import orjson
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch, NotFoundError
from elasticsearch.serializer import OrjsonSerializer
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from services.search.alerts import AlertIndices, SavedSearchStore, WebhookRefused
from services.search.index import ensure_index
from services.search.query import QuerySyntaxError
from services.search.requests import (
    EXPORT_COLUMNS,
    EXPORT_SOURCE,
    HIGHLIGHT,
    HIT_SOURCE,
    JAKARTA,
    MAX_QUERY_LENGTH,
    MAX_TIMELINE_BUCKETS,
    STORY_COUNT,
    TOP_FIELDS,
    BadRequest,
    Criteria,
    Interval,
    Sort,
    bucket_count,
    decode_cursor,
    encode_cursor,
    export_row,
    fill_buckets,
    pick_interval,
    rejection_message,
    sort_clause,
    timeline_aggs,
    timeline_span,
    timeline_window,
)
from services.search.settings import SearchSettings
from services.search.web import mount_web
from shared.auth import ApiKey, Authenticator, KeyStore, Role, authenticate_scope, require
from shared.http import install_error_handlers, install_perimeter
from shared.limits import MAX_REQUEST_BYTES
from shared.metrics import metrics_asgi_app
from shared.process import freeze_startup_heap
from shared.schemas import Region
from shared.ssrf import SsrfGuard

log = logging.getLogger(__name__)

READER = Depends(require("reader"))
ADMIN = Depends(require("admin"))
# Article ids are hex digests (shared.ids); anything else cannot be one.
ARTICLE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


# --- response models ------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    error: str
    position: int | None = None


class EntityOut(BaseModel):
    type: str
    canonical: str
    role: str | None = None


class StoryInfo(BaseModel):
    story_id: str
    story_size: int
    outlets: list[str]
    earliest_published_at: datetime | None = None


class Hit(BaseModel):
    id: str
    url: str
    title: str
    source: str
    outlet: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    snippet: str | None = None
    highlights: dict[str, list[str]] = Field(default_factory=dict)
    summary: list[str] = Field(default_factory=list)
    entities: list[EntityOut] = Field(default_factory=list)
    regions: list[Region] = Field(default_factory=list)
    story_id: str | None = None
    story_size: int | None = None
    story: StoryInfo | None = None


class SearchResult(BaseModel):
    total: int
    total_stories: int | None = None
    hits: list[Hit]
    next_cursor: str | None = None


class Bucket(BaseModel):
    key: str
    count: int


class Timeline(BaseModel):
    interval: Interval = Field(description="The interval of the buckets: the requested one, or a coarser one")
    count: Literal["articles", "stories"]
    time_zone: str
    buckets: list[Bucket]
    requested_interval: Interval
    interval_adjusted: bool = Field(
        description=f"True when the requested interval would need more than {MAX_TIMELINE_BUCKETS:,} buckets "
        "and a coarser one was used"
    )
    outside_window: int = Field(description="Matches dated before 1900 or over a year ahead: not in any bucket")
    note: str | None = Field(None, description="Why the interval was adjusted or matches were left out")


class TopResult(BaseModel):
    field: str
    count: Literal["articles", "stories"]
    values: list[Bucket]
    significant_terms: list[Bucket]


class StoryResult(BaseModel):
    story: StoryInfo
    members: list[Hit]


WEBHOOK_URL_HELP = (
    "http(s) URL called with each batch of new matches (docs/alerts.md). It must resolve to public addresses "
    "only, unless its host:port is in WARTA_WEBHOOK_ALLOW_HOSTS; no credentials in the URL. A refused URL is a 422 "
    "naming the reason."
)


class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1, max_length=2000)
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://", description=WEBHOOK_URL_HELP)


class SavedSearchPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    query: str | None = Field(default=None, min_length=1, max_length=2000)
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://", description=WEBHOOK_URL_HELP)
    enabled: bool | None = None


class SavedSearch(BaseModel):
    id: str
    name: str
    query: str
    webhook_url: str | None = None
    enabled: bool = True
    created_at: datetime
    updated_at: datetime
    delivery_status: Literal["ok", "failing"] | None = Field(
        None, description="Outcome of the last webhook attempt: ok, failing (no success since), null (none yet)"
    )
    consecutive_failures: int = Field(0, description="Failed webhook attempts since the last success")
    last_delivery_at: datetime | None = Field(None, description="Time of the last webhook attempt")
    last_delivery_error: str | None = Field(None, description="Why the last attempt failed (null after a success)")


class Match(BaseModel):
    saved_search_id: str
    article_id: str
    matched_at: datetime
    published_at: datetime | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None


class Delivery(BaseModel):
    id: str
    saved_search_id: str
    article_ids: list[str]
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None
    log: list[dict[str, Any]] = Field(default_factory=list)


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role


class KeyCreated(BaseModel):
    id: str
    name: str
    role: Role
    key: str = Field(description="The plaintext key. It is shown once and stored only as a hash.")


class KeyInfo(BaseModel):
    id: str
    name: str
    role: Role
    created_at: datetime
    disabled: bool
    prefix: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed query or parameter"},
    401: {"model": ErrorBody, "description": "Missing or invalid API key"},
    403: {"model": ErrorBody, "description": "The key's role is not allowed here"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded"},
    503: {"model": ErrorBody, "description": "Search backend unavailable"},
}


# --- helpers --------------------------------------------------------------------------------------


class CriteriaParams(BaseModel):
    """The query parameters that select articles, shared by search, analytics and export. Each
    endpoint declares all its query parameters as one subclass: one model validated per request
    costs less than separately declared parameters and dependencies."""

    # The length is checked with the query's other guards (a 400 with the position), not here.
    q: str = Field(
        "", description="Query in the Warta query language", json_schema_extra={"maxLength": MAX_QUERY_LENGTH}
    )
    date_from: str | None = Field(None, alias="from", description="ISO date or date-time; default zone Asia/Jakarta")
    date_to: str | None = Field(None, alias="to", description="ISO date or date-time; default zone Asia/Jakarta")
    source: list[str] = Field([], description="Outlet filter (repeatable)")
    language: list[str] = Field([], description="Language filter (repeatable)")
    region: list[str] = Field([], description="Region code or name (repeatable)")
    entity: list[str] = Field([], description="Canonical entity name (repeatable)")

    def criteria(self) -> Criteria:
        return Criteria(q=self.q, date_from=self.date_from, date_to=self.date_to, sources=self.source,
                        languages=self.language, regions=self.region, entities=self.entity)  # fmt: skip


class SearchParams(CriteriaParams):
    size: int = Field(10, ge=1, le=100)
    sort: Sort = "relevance"
    cursor: str | None = Field(None, max_length=2000)
    collapse: bool = Field(False, description="One hit per story")


class TimelineParams(CriteriaParams):
    interval: Interval = "day"
    count: Literal["articles", "stories"] = "articles"


class TopParams(CriteriaParams):
    field: Literal["source", "entity", "person", "org", "location", "region", "language", "source_id"] = "source"
    size: int = Field(10, ge=1, le=100)
    count: Literal["articles", "stories"] = "articles"


class ExportParams(CriteriaParams):
    format: Literal["csv", "ndjson"] = "csv"


def hit_dict(h: dict[str, Any], story: dict[str, Any] | None = None) -> dict[str, Any]:
    """One search hit in the shape of :class:`Hit`, built without model validation: this is the
    hot path of every search, and every value comes from our own index."""
    src = h["_source"]
    hl = h.get("highlight", {})
    snippet = (hl.get("body") or [None])[0] or (" ".join(src.get("summary") or [])[:240] or None)
    entities, seen = [], set()
    for e in src.get("entities") or []:
        key = (e["type"], e["canonical"])
        if key not in seen:
            seen.add(key)
            entities.append({"type": e["type"], "canonical": e["canonical"], "role": e.get("role")})
    return {
        "id": src["id"], "url": src["url"], "title": src["title"], "source": src["source"], "outlet": src.get("outlet"),
        "published_at": src.get("published_at"), "language": src.get("language"), "snippet": snippet, "highlights": hl,
        "summary": src.get("summary") or [], "entities": entities, "regions": src.get("regions") or [],
        "story_id": src.get("story_id"), "story_size": src.get("story_size"), "story": story,
    }  # fmt: skip


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


EXPORT_PAGE = 1000
EXPORT_KEEP_ALIVE = "2m"


class ExportInterrupted(RuntimeError):
    """An export failed after its response started; raised to make the server cut the body short."""


async def _close_pit(es: AsyncElasticsearch, pit_id: str) -> None:
    """Close a point in time, best effort: it expires after EXPORT_KEEP_ALIVE anyway."""
    try:
        await es.close_point_in_time(id=pit_id)
    except Exception as exc:
        log.info("could not close an export's point in time", extra={"error": repr(exc)[:500]})


async def story_infos(es: AsyncElasticsearch, alias: str, story_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not story_ids:
        return {}
    resp = await es.search(index=alias, size=0, query={"terms": {"story_id": story_ids}}, aggs={
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


def _ensure_indices(settings: SearchSettings) -> KeyStore:
    es = Elasticsearch(settings.es_url, request_timeout=10)
    ensure_index(es, settings.index_prefix)
    AlertIndices(settings.index_prefix).ensure(es)
    keys = KeyStore(es, settings.index_prefix)
    keys.ensure_index()
    keys.bootstrap_admin(settings.admin_key)
    return keys


def create_app(settings: SearchSettings | None = None) -> FastAPI:
    settings = settings or SearchSettings()
    alias = settings.alias

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        # orjson parses ES answers several times faster than the standard json module.
        app.state.es = AsyncElasticsearch(settings.es_url, request_timeout=settings.request_timeout_s,
                                          serializer=OrjsonSerializer())  # fmt: skip
        app.state.sync_es = Elasticsearch(settings.es_url, request_timeout=settings.request_timeout_s)
        auth = Authenticator(app.state.sync_es, settings, api="search")
        auth.attach(app)
        await auth.start()
        app.state.saved = SavedSearchStore(app.state.sync_es, settings.index_prefix,
                                           SsrfGuard(allow_hosts=settings.webhook_allow_list))  # fmt: skip
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
        "Authenticate with `Authorization: Bearer <key>`.",
        lifespan=lifespan,
        # Metrics are exported for Prometheus (/metrics); FastAPI's own OpenTelemetry hooks would
        # only add per-request work.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.mount("/metrics", metrics_asgi_app())

    install_error_handlers(app)
    # Bodies (saved searches, keys, the web app's proxy) are capped at 64 KiB, and their sender
    # authenticated, before a byte is read.
    install_perimeter(app, caps={}, default_cap=MAX_REQUEST_BYTES, gate=authenticate_scope)

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse(status_code=400, content={"error": exc.message, "position": exc.position})

    @app.exception_handler(QuerySyntaxError)
    async def _bad_query(request: Request, exc: QuerySyntaxError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"error": exc.message, "position": exc.position})

    @app.exception_handler(ApiError)
    async def _es_error(request: Request, exc: ApiError) -> JSONResponse:
        # The details (index names, shard failures, Java exception types) go to the log only.
        log.warning("Elasticsearch error", extra={"path": request.url.path, "status": exc.meta.status,
                                                  "error": str(exc)[:4000]})  # fmt: skip
        if exc.meta.status == 400:  # a request Elasticsearch refuses: the client can change it
            return JSONResponse(status_code=400, content={"error": rejection_message(exc.body)})
        # 429, 5xx, and a missing index or any other status: the backend's state, not the client's.
        return JSONResponse(status_code=503, content={"error": "search backend busy, try again shortly"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the traceback after this answers; the client gets the usual error shape.
        return JSONResponse(status_code=500, content={"error": "internal error"})

    # --- health -----------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": ErrorBody}})
    async def readyz(request: Request) -> Any:
        try:
            await request.app.state.es.cluster.health(timeout="1s")
        except Exception as exc:  # unauthenticated: the reason goes to the log, not the answer
            log.warning("readyz: Elasticsearch is not reachable", extra={"error": repr(exc)[:2000]})
            return JSONResponse(status_code=503, content={"error": "Elasticsearch is not reachable"})
        return {"status": "ready"}

    # --- search -----------------------------------------------------------------------------

    @app.get("/v1/search", response_model=SearchResult, tags=["search"], responses=ERRORS)
    async def search(request: Request, p: Annotated[SearchParams, Query()], _: Annotated[ApiKey, READER]) -> Any:
        es: AsyncElasticsearch = request.app.state.es
        size, sort, cursor, collapse = p.size, p.sort, p.cursor, p.collapse
        query = p.criteria().es_query()
        body: dict[str, Any] = {
            "query": query, "size": size, "sort": sort_clause(sort), "track_total_hits": True,
            "timeout": settings.search_timeout, "_source": HIT_SOURCE, "highlight": HIGHLIGHT,
        }  # fmt: skip
        kind = f"{'story' if collapse else 'article'}:{sort}"
        if collapse:
            offset = decode_cursor(cursor, kind)[0] if cursor else 0  # a non-negative int
            if offset + size > 10_000:
                raise BadRequest("cursor: collapsed results can be paged through the first 10,000 stories")
            body.update(collapse={"field": "story_id"}, **{"from": offset})
            body["aggs"] = {"stories": STORY_COUNT}
        elif cursor:
            body["search_after"] = decode_cursor(cursor, kind)
        resp = await es.search(index=alias, **body)
        raw = resp["hits"]["hits"]
        stories = (
            await story_infos(es, alias, [h["_source"].get("story_id") for h in raw if h["_source"].get("story_id")])
            if collapse
            else {}
        )
        hits = [hit_dict(h, stories.get(h["_source"].get("story_id", ""))) for h in raw]
        next_cursor = None
        if len(raw) == size:
            next_cursor = encode_cursor(kind, [offset + size] if collapse else raw[-1]["sort"])
        total_stories = resp["aggregations"]["stories"]["value"] if collapse else None
        return json_response({"total": resp["hits"]["total"]["value"], "total_stories": total_stories, "hits": hits,
                              "next_cursor": next_cursor})  # fmt: skip

    @app.get("/v1/articles/{article_id}", tags=["articles"], responses={404: {"model": ErrorBody}, **ERRORS})
    async def get_article(request: Request, article_id: str, _: Annotated[ApiKey, READER]) -> Any:
        # The id goes into Elasticsearch's URL: '..' or '.' would address the index itself.
        if not ARTICLE_ID.fullmatch(article_id):
            raise BadRequest("article_id: not an article id (letters, digits, '-' and '_', at most 128)")
        try:
            resp = await request.app.state.es.get(index=alias, id=article_id)
        except NotFoundError as exc:
            raise HTTPException(status_code=404, detail=f"article {article_id} not found") from exc
        return resp["_source"]

    @app.get("/v1/stories/{story_id}", response_model=StoryResult, tags=["articles"],
             responses={404: {"model": ErrorBody}, **ERRORS})  # fmt: skip
    async def get_story(request: Request, story_id: str, _: Annotated[ApiKey, READER],
                        size: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:  # fmt: skip
        es: AsyncElasticsearch = request.app.state.es
        resp = await es.search(index=alias, query={"term": {"story_id": story_id}}, size=size, source_includes=HIT_SOURCE,
                               sort=[{"published_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}])  # fmt: skip
        if not resp["hits"]["hits"]:
            raise HTTPException(status_code=404, detail=f"story {story_id} not found")
        info = (await story_infos(es, alias, [story_id]))[story_id]
        return json_response({"story": info, "members": [hit_dict(h) for h in resp["hits"]["hits"]]})

    # --- analytics --------------------------------------------------------------------------

    @app.get("/v1/analytics/timeline", response_model=Timeline, tags=["analytics"], responses=ERRORS)
    async def timeline(request: Request, p: Annotated[TimelineParams, Query()], _: Annotated[ApiKey, READER]) -> Any:
        """Matches per calendar interval, empty intervals included, from ``from`` (else the first
        match) to ``to`` (else the last). Never more than MAX_TIMELINE_BUCKETS buckets: a span that
        needs more at the requested interval is counted per the next coarser one that fits
        (``interval``, ``interval_adjusted``, ``note``). One Elasticsearch request unless adjusted."""
        requested, count = p.interval, p.count
        criteria = p.criteria()
        query = criteria.es_query()
        start, stop = criteria.time_range()
        window = timeline_window()
        interval = requested
        if start is not None and stop is not None and max(start, window[0]) <= min(stop, window[1]):
            interval = pick_interval(max(start, window[0]), min(stop, window[1]), requested)  # known: no retry
        while True:  # at most once per coarser interval; a retry only for a span found in the data
            resp = await request.app.state.es.search(index=alias, size=0, query=query, timeout=settings.search_timeout,
                                                     aggs=timeline_aggs(interval, count, window))  # fmt: skip
            found = resp["aggregations"]["t"]["buckets"]
            span = timeline_span(found, start, stop, window)
            if span is None or (wider := pick_interval(*span, interval)) == interval:
                break
            interval = wider
        buckets = fill_buckets(found, *span, interval, count) if span else []
        outside = resp["aggregations"]["outside"]["doc_count"]
        notes = []
        if interval != requested:
            lo, hi = span or (max(start or window[0], window[0]), min(stop or window[1], window[1]))
            notes.append(f"{bucket_count(lo, hi, requested):,} {requested} buckets would exceed the limit of "
                         f"{MAX_TIMELINE_BUCKETS:,}: counted per {interval}")  # fmt: skip
        if outside:
            notes.append(f"{outside:,} matching article{'s' if outside > 1 else ''} dated before {window[0].date()} "
                         f"or after {window[1].date()} not in any bucket")  # fmt: skip
        return json_response({"interval": interval, "count": count, "time_zone": str(JAKARTA), "buckets": buckets,
                              "requested_interval": requested, "interval_adjusted": interval != requested,
                              "outside_window": outside, "note": "; ".join(notes) or None})  # fmt: skip

    @app.get("/v1/analytics/top", response_model=TopResult, tags=["analytics"], responses=ERRORS)
    async def top(request: Request, p: Annotated[TopParams, Query()], _: Annotated[ApiKey, READER]) -> Any:
        field, size, count = p.field, p.size, p.count
        query = p.criteria().es_query()
        terms: dict[str, Any] = {"terms": {"field": TOP_FIELDS[field], "size": size}}
        if count == "stories":
            terms["aggs"] = {"stories": STORY_COUNT}
            terms["terms"]["order"] = {"stories": "desc"}
        aggs = {"top": terms, "sig": {"significant_terms": {"field": "keywords", "size": 10, "min_doc_count": 2}}}
        resp = await request.app.state.es.search(
            index=alias, size=0, query=query, aggs=aggs, timeout=settings.search_timeout
        )
        values = [Bucket(key=str(b["key"]), count=b["stories"]["value"] if count == "stories" else b["doc_count"])
                  for b in resp["aggregations"]["top"]["buckets"]]  # fmt: skip
        sig = [Bucket(key=str(b["key"]), count=b["doc_count"]) for b in resp["aggregations"]["sig"]["buckets"]]
        return TopResult(field=field, count=count, values=values, significant_terms=sig)

    # --- export -----------------------------------------------------------------------------

    @app.get(
        "/v1/export",
        tags=["search"],
        responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}, **ERRORS},
    )
    async def export(
        request: Request, p: Annotated[ExportParams, Query()], _: Annotated[ApiKey, READER]
    ) -> StreamingResponse:
        """Every match, streamed: a point in time and ``search_after``, one page in memory.

        The point in time is opened and the first page read before the response starts, so a bad
        query or a backend failure there is an ordinary 4xx/5xx. Later the status is sent: a
        failure ends the body without the chunked encoding's last chunk (after an ``{"error": ...}``
        line in ndjson), which HTTP clients report as an incomplete read, never as a complete file.
        """
        es: AsyncElasticsearch = request.app.state.es
        fmt = p.format
        query = p.criteria().es_query()

        async def page(pit_id: str, after: list[Any] | None) -> dict[str, Any]:
            body: dict[str, Any] = {"query": query, "size": EXPORT_PAGE, "_source": EXPORT_SOURCE,
                                    "pit": {"id": pit_id, "keep_alive": EXPORT_KEEP_ALIVE},
                                    "sort": [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]}  # fmt: skip
            if after:
                body["search_after"] = after
            return dict(await es.search(**body))

        pit_id: str = (await es.open_point_in_time(index=alias, keep_alive=EXPORT_KEEP_ALIVE))["id"]
        try:
            first = await page(pit_id, None)
        except BaseException:
            await _close_pit(es, pit_id)
            raise

        def encode(hits: list[dict[str, Any]]) -> bytes:
            buf = io.StringIO()
            if fmt == "csv":
                writer = csv.writer(buf)
                for h in hits:
                    writer.writerow(export_row(h["_source"]))
            else:
                for h in hits:
                    buf.write(json.dumps(h["_source"], ensure_ascii=False) + "\n")
            return buf.getvalue().encode()

        async def stream() -> AsyncIterator[bytes]:
            nonlocal pit_id
            resp, sent = first, 0
            try:
                if fmt == "csv":
                    yield (",".join(EXPORT_COLUMNS) + "\r\n").encode()
                while hits := resp["hits"]["hits"]:
                    pit_id = resp.get("pit_id", pit_id)
                    yield encode(hits)
                    sent += len(hits)
                    if len(hits) < EXPORT_PAGE:  # a short page is the last one: no empty request
                        break
                    try:
                        resp = await page(pit_id, hits[-1]["sort"])
                    except Exception as exc:
                        log.warning("export interrupted", extra={"records": sent, "error": repr(exc)[:2000]})
                        if fmt == "ndjson":
                            yield orjson.dumps({"error": f"export interrupted after {sent} records: the search "
                                                         "backend failed; this file is incomplete"}) + b"\n"  # fmt: skip
                        # Raising after the response started makes the server drop the connection
                        # without the final chunk: the client sees the truncation.
                        raise ExportInterrupted(f"export interrupted after {sent} records") from exc
            finally:
                with anyio.CancelScope(shield=True):  # also when the client went away mid-stream
                    await _close_pit(es, pit_id)

        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        headers = {"Content-Disposition": f'attachment; filename="warta-export.{fmt}"'}
        return StreamingResponse(stream(), media_type=media, headers=headers)

    # --- saved searches ---------------------------------------------------------------------

    def _store(request: Request) -> SavedSearchStore:
        return request.app.state.saved  # type: ignore[no-any-return]

    def _check_query(q: str | None) -> None:
        if q is not None:
            Criteria(q=q).es_query()

    def _refused_webhook(exc: WebhookRefused) -> RequestValidationError:
        # The same 422 shape as any other invalid field (shared.http).
        return RequestValidationError([{"loc": ("body", "webhook_url"), "msg": exc.message,
                                        "type": f"webhook_refused.{exc.reason}"}])  # fmt: skip

    @app.post("/v1/saved-searches", status_code=201, response_model=SavedSearch, tags=["alerts"], responses=ERRORS)
    async def create_saved(request: Request, body: SavedSearchIn, _: Annotated[ApiKey, ADMIN]) -> Any:
        _check_query(body.query)
        try:  # the webhook check resolves the name: off the event loop
            return await run_in_threadpool(_store(request).create, body.name, body.query, body.webhook_url)
        except WebhookRefused as exc:
            raise _refused_webhook(exc) from exc

    @app.get("/v1/saved-searches", response_model=list[SavedSearch], tags=["alerts"], responses=ERRORS)
    async def list_saved(request: Request, _: Annotated[ApiKey, ADMIN]) -> Any:
        return await run_in_threadpool(_store(request).list)

    @app.get("/v1/saved-searches/{saved_id}", response_model=SavedSearch, tags=["alerts"],
             responses={404: {"model": ErrorBody}, **ERRORS})  # fmt: skip
    async def get_saved(request: Request, saved_id: str, _: Annotated[ApiKey, ADMIN]) -> Any:
        found = await run_in_threadpool(_store(request).get, saved_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"saved search {saved_id} not found")
        return found

    @app.patch("/v1/saved-searches/{saved_id}", response_model=SavedSearch, tags=["alerts"],
               responses={404: {"model": ErrorBody}, **ERRORS})  # fmt: skip
    async def update_saved(request: Request, saved_id: str, body: SavedSearchPatch, _: Annotated[ApiKey, ADMIN]) -> Any:
        _check_query(body.query)
        # null clears the webhook; for the other fields it means "unchanged".
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k == "webhook_url"}
        try:
            found = await run_in_threadpool(_store(request).update, saved_id, changes)
        except WebhookRefused as exc:
            raise _refused_webhook(exc) from exc
        if found is None:
            raise HTTPException(status_code=404, detail=f"saved search {saved_id} not found")
        return found

    @app.delete("/v1/saved-searches/{saved_id}", status_code=204, tags=["alerts"],
                responses={404: {"model": ErrorBody}, **ERRORS})  # fmt: skip
    async def delete_saved(request: Request, saved_id: str, _: Annotated[ApiKey, ADMIN]) -> None:
        if not await run_in_threadpool(_store(request).delete, saved_id):
            raise HTTPException(status_code=404, detail=f"saved search {saved_id} not found")

    @app.get("/v1/saved-searches/{saved_id}/matches", response_model=list[Match], tags=["alerts"],
             responses={404: {"model": ErrorBody}, **ERRORS})  # fmt: skip
    async def saved_matches(request: Request, saved_id: str, _: Annotated[ApiKey, ADMIN],
                            size: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:  # fmt: skip
        if await run_in_threadpool(_store(request).get, saved_id) is None:
            raise HTTPException(status_code=404, detail=f"saved search {saved_id} not found")
        return await run_in_threadpool(_store(request).matches, saved_id, size)

    @app.get("/v1/saved-searches/{saved_id}/deliveries", response_model=list[Delivery], tags=["alerts"],
             responses={404: {"model": ErrorBody}, **ERRORS})  # fmt: skip
    async def saved_deliveries(request: Request, saved_id: str, _: Annotated[ApiKey, ADMIN],
                               size: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:  # fmt: skip
        if await run_in_threadpool(_store(request).get, saved_id) is None:
            raise HTTPException(status_code=404, detail=f"saved search {saved_id} not found")
        return await run_in_threadpool(_store(request).deliveries, saved_id, size)

    # --- API keys ---------------------------------------------------------------------------

    @app.post("/v1/keys", status_code=201, response_model=KeyCreated, tags=["keys"], responses=ERRORS)
    async def create_key(request: Request, body: KeyIn, _: Annotated[ApiKey, ADMIN]) -> Any:
        key, info = await run_in_threadpool(request.app.state.keys.create, body.name, body.role)
        return KeyCreated(id=info.id, name=info.name, role=info.role, key=key)

    @app.get("/v1/keys", response_model=list[KeyInfo], tags=["keys"], responses=ERRORS)
    async def list_keys(request: Request, _: Annotated[ApiKey, ADMIN]) -> Any:
        return await run_in_threadpool(request.app.state.keys.list)

    @app.delete("/v1/keys/{key_id}", status_code=204, tags=["keys"], responses={404: {"model": ErrorBody}, **ERRORS})
    async def disable_key(request: Request, key_id: str, _: Annotated[ApiKey, ADMIN]) -> None:
        if not await run_in_threadpool(request.app.state.keys.disable, key_id):
            raise HTTPException(status_code=404, detail=f"key {key_id} not found")

    mount_web(app)  # the web app: page shell, /static and the sources proxy (services/search/web)
    return app
