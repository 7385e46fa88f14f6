"""``/v1/sources``: manage crawl sources and read their health.

Mount with ``app.include_router(sources_router)``. The registry comes from the :func:`get_registry`
dependency and the settings from :func:`get_settings`; override either with
``app.dependency_overrides`` (tests, or an app that builds them itself). ``POST .../crawl`` does
not crawl in the API process: it makes the source due now, and the crawler process (polling the
registry in Elasticsearch every ``crawl_tick_s``) picks it up within about a second.

``POST`` refuses a URL another source already has (409, same :func:`source_url_key`), then checks
the URL once (:mod:`services.ingest.crawler.probe`, bounded by ``source_check_timeout_s``): 422
with what was found unless it works as the source's type; ``?check=false`` skips the check (a
source that is down for now). ``PATCH`` refuses a duplicate URL too, without a check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from services.ingest.crawler.backfill import BackfillConflict, BackfillJob, BackfillStore, backfill_store, check_since
from services.ingest.crawler.health import SourceHealth, source_health
from services.ingest.crawler.models import Source, SourceCreate, SourceType, SourceUpdate
from services.ingest.crawler.probe import UrlCheck, check_source_url
from services.ingest.crawler.registry import DuplicateSourceUrl, SourceExists, SourceNotFound, SourceRegistry
from services.ingest.settings import IngestSettings
from shared.ssrf import is_public_address

T = TypeVar("T")


@lru_cache(maxsize=1)
def get_settings() -> IngestSettings:
    return IngestSettings()


_registries: dict[tuple[str, str], SourceRegistry] = {}
_registries_lock = threading.Lock()


def get_registry(settings: Annotated[IngestSettings, Depends(get_settings)]) -> SourceRegistry:
    """The registry in ``settings.es_url`` under ``settings.index_prefix`` (one instance per
    cluster and prefix, thread-safe). Built at first use, so an API started while Elasticsearch
    is down answers once it is back."""
    key = (settings.es_url, settings.index_prefix)
    with _registries_lock:
        if key not in _registries:
            _registries[key] = SourceRegistry.from_settings(settings)
        return _registries[key]


@lru_cache(maxsize=4)
def _default_backfills(es_hosts: tuple[str, ...], index_prefix: str) -> BackfillStore:
    return backfill_store(list(es_hosts), index_prefix)


def get_backfills(settings: Annotated[IngestSettings, Depends(get_settings)]) -> BackfillStore:
    """The backfill jobs in ``<index_prefix>warta-crawl-backfills`` (one store per cluster and prefix)."""
    return _default_backfills(tuple(settings.es_hosts), settings.index_prefix)


RegistryDep = Annotated[SourceRegistry, Depends(get_registry)]
SettingsDep = Annotated[IngestSettings, Depends(get_settings)]
BackfillsDep = Annotated[BackfillStore, Depends(get_backfills)]


class SourceList(BaseModel):
    sources: list[Source]


class SourceCheck(BaseModel):
    """What the check of a new source's URL found."""

    kind: SourceType = Field(description="The source type the URL was found to work as")
    articles: int = Field(description="Feed entries, sitemap URLs, WordPress posts or article links found")
    message: str = Field(description="What was found, in English")


class SourceCreated(Source):
    check: SourceCheck | None = Field(description="The URL check; null when skipped with check=false")


class CrawlRequested(BaseModel):
    id: str
    status: str = "scheduled"


def _invalid(field: str, message: str) -> RequestValidationError:
    # A request validation error like FastAPI's own, so the app's handler gives it the one error
    # shape (``{"error": "field: message", "detail": [{"loc", "msg", "type"}]}``).
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


def _check_address(url: str | None, settings: IngestSettings) -> None:
    """Refuse literal private/loopback/link-local addresses early (hostnames are checked after
    DNS resolution at every fetch, where the allowlist also applies)."""
    if url is None:
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not is_public_address(address) and f"{host}:{port}" not in {h.lower() for h in settings.crawl_allow_hosts}:
        raise _invalid("url", "URL points at a private, loopback or link-local address")


def _duplicate_url(exc: DuplicateSourceUrl) -> HTTPException:
    existing = exc.existing
    state = "" if existing.enabled else ", disabled: enable it instead"
    return HTTPException(
        status_code=status.HTTP_409_CONFLICT,
        detail={
            "error": f"url: source {existing.id!r} ({existing.name}{state}) already has this URL: {existing.url}",
            "code": "duplicate_url",
            "existing": {"id": existing.id, "name": existing.name, "url": existing.url, "enabled": existing.enabled},
            "params": {"id": existing.id, "name": existing.name},
        },
    )


def _check_failed(result: UrlCheck) -> HTTPException:
    message = result.message
    return HTTPException(
        status_code=422,  # the constant's name differs between Starlette versions
        detail={
            "error": f"url: not usable as a source: {message}",
            "code": "url_check_failed",
            "check": {"code": result.code, "message": message, "found": result.kind},
            "params": {"reason": result.code, "found": result.kind or "", "detail": message},
        },
    )


async def _check_url(spec: SourceCreate, settings: IngestSettings) -> SourceCheck:
    """Check the URL once (see module doc). Raises the 422 when it is not usable."""
    now = datetime.now(UTC)
    candidate = Source.model_validate({**spec.model_dump(), "id": "check", "created_at": now, "updated_at": now})
    timeout = settings.source_check_timeout_s
    stop = threading.Event()
    try:
        # The fetcher bounds each request by the timeout; this bounds the whole check (robots.txt,
        # the per-host spacing, the document) and stops what is still waiting.
        result = await asyncio.wait_for(
            run_in_threadpool(check_source_url, settings, candidate, timeout_s=timeout, stop_event=stop), timeout
        )
    except TimeoutError:
        stop.set()
        result = UrlCheck(ok=False, code="timeout", message=f"not reachable: no answer within {timeout:g} s")
    if not result.ok or result.kind is None:
        raise _check_failed(result)
    return SourceCheck(kind=result.kind, articles=result.articles, message=result.message)


def _not_found(source_id: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"source {source_id!r} not found")


sources_router = APIRouter(prefix="/v1/sources", tags=["sources"])


@sources_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SourceCreated,
    responses={
        409: {"description": "The id is taken (`duplicate_id`), or another source has this URL (`duplicate_url`)"},
        422: {"description": "An invalid field, or the URL check found no usable document (`url_check_failed`)"},
    },
    summary="Add a crawl source",
    description="Register a feed (`rss`), sitemap, WordPress site or listing page for the crawler, which "
    "crawls it within about a second and then on its own schedule. The id is derived from the name unless given. "
    "Errors: 422 names the invalid field (a URL with a private or loopback address is refused unless allowed by "
    "`WARTA_CRAWL_ALLOW_HOSTS`); 409 when the id is taken (`duplicate_id`) or another source has the same URL, "
    "ignoring a trailing slash, http/https, `www.` and tracking parameters (`duplicate_url`, naming that source). "
    "The URL is then fetched once, as the crawler would: 422 `url_check_failed` with what was found (an HTTP "
    "error, no answer, an HTML page without article links, another kind of source...) unless it works as the "
    "given type; the 201 carries `check` with the kind found. `?check=false` skips the check (a site down for now).",
)
async def create_source(
    spec: SourceCreate,
    registry: RegistryDep,
    settings: SettingsDep,
    check: Annotated[
        bool,
        Query(
            description="Fetch the URL once and refuse it unless it works as the source's type; "
            "false stores the source unchecked (for a site that is down for now)"
        ),
    ] = True,
) -> Any:
    _check_address(spec.url, settings)
    existing = await run_in_threadpool(registry.find_by_url, spec.url)
    if existing is not None:
        raise _duplicate_url(DuplicateSourceUrl(existing))
    checked = await _check_url(spec, settings) if check else None
    try:
        source = await run_in_threadpool(registry.create, spec)
    except SourceExists as exc:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail={"error": f"source {exc.args[0]!r} already exists", "code": "duplicate_id"},
        ) from exc
    except DuplicateSourceUrl as exc:  # added by someone else while this one was being checked
        raise _duplicate_url(exc) from exc
    return SourceCreated(**source.model_dump(), check=checked)


@sources_router.get(
    "",
    response_model=SourceList,
    summary="List crawl sources",
    description="Every source, enabled and disabled; `?enabled=true` or `false` lists one kind.",
)
async def list_sources(registry: RegistryDep, enabled: bool | None = None) -> Any:
    return SourceList(sources=await run_in_threadpool(registry.list_sources, enabled=enabled))


async def _on_source(source_id: str, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` in the thread pool (the registry blocks on Elasticsearch); a source that does not
    exist becomes a 404."""
    try:
        return await run_in_threadpool(call, *args)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc


@sources_router.get(
    "/{source_id}", response_model=Source, summary="Read a source", description="One source. 404 if there is none."
)
async def get_source(source_id: str, registry: RegistryDep) -> Any:
    return await _on_source(source_id, registry.get, source_id)


@sources_router.patch(
    "/{source_id}",
    response_model=Source,
    summary="Change a source",
    description="Change the fields given; the others keep their values. Errors: 404 for an unknown source; 422 "
    "names the invalid field (as for creation, and `min_interval_s` over `max_interval_s`).",
)
async def update_source(source_id: str, patch: SourceUpdate, registry: RegistryDep, settings: SettingsDep) -> Any:
    _check_address(patch.url, settings)
    try:
        return await _on_source(source_id, registry.update, source_id, patch)
    except DuplicateSourceUrl as exc:
        raise _duplicate_url(exc) from exc
    except ValueError as exc:
        raise _invalid("min_interval_s", str(exc)) from exc


@sources_router.post(
    "/{source_id}/disable",
    response_model=Source,
    summary="Disable a source",
    description="Stop crawling the source; it keeps its history and can be enabled again. 404 if there is none.",
)
async def disable_source(source_id: str, registry: RegistryDep) -> Any:
    return await _on_source(source_id, registry.set_enabled, source_id, False)


@sources_router.post(
    "/{source_id}/enable",
    response_model=Source,
    summary="Enable a source",
    description="Crawl a disabled source again, on its schedule. 404 if there is none.",
)
async def enable_source(source_id: str, registry: RegistryDep) -> Any:
    return await _on_source(source_id, registry.set_enabled, source_id, True)


@sources_router.delete(
    "/{source_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a source",
    description="A soft delete: the source is disabled and keeps its history (its articles stay searchable). "
    "204 with no body; 404 if there is none.",
)
async def delete_source(source_id: str, registry: RegistryDep) -> Response:
    """Soft delete: the source is disabled and keeps its history."""
    await _on_source(source_id, registry.set_enabled, source_id, False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@sources_router.post(
    "/{source_id}/crawl",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CrawlRequested,
    summary="Crawl a source now",
    description="Make the source due now: the crawler process starts crawling it within about a second "
    "(`GET /v1/sources/{source_id}/health` shows the run). Errors: 404 for an unknown source, 409 for a disabled one.",
)
async def crawl_now(source_id: str, registry: RegistryDep) -> Any:
    source = await _on_source(source_id, registry.get, source_id)
    if not source.enabled:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=f"source {source_id!r} is disabled")
    await run_in_threadpool(registry.request_crawl, source_id)
    return CrawlRequested(id=source_id)


@sources_router.get(
    "/{source_id}/health",
    response_model=SourceHealth,
    summary="Source health",
    description="The source's state (`status`), its counters, last success and error, usual publishing "
    "interval, next crawl and its recent crawl runs. 404 if there is none.",
)
async def get_health(source_id: str, registry: RegistryDep, settings: SettingsDep) -> Any:
    return await _on_source(source_id, source_health, registry, source_id, settings)


class BackfillStatus(BackfillJob):
    """A backfill job as the API answers it."""

    created: bool = Field(
        default=False, description="True when this request queued it; false when it was already there"
    )


@sources_router.post(
    "/{source_id}/backfill",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BackfillStatus,
    responses={
        409: {"description": "Another backfill of the source is queued or running (`backfill_running`)"},
        422: {"description": "`since` is no date, in the future or more than 5 years back"},
    },
    summary="Backfill a source to a date",
    description="Queue a walk of the source's history back to `since` (YYYY-MM-DD, UTC): sitemap indexes by "
    "`lastmod`, WordPress REST pages (`after`/`before`; `/wp-sitemap.xml` when the REST API is off), listing pages "
    "by their next links; an RSS/Atom source only "
    "holds its recent items (`limited` says how many). The crawlers walk it when no live crawl is due, in steps that "
    "survive a restart; an article collected before is never published again. 202 with the job; the same request "
    "while it runs answers the same job. Errors: 404 for an unknown source; 409 for a disabled source or when a "
    "backfill with another `since` is queued or running (`backfill_running`); 422 for a bad, future or too old date.",
)
async def request_backfill(
    source_id: str,
    registry: RegistryDep,
    backfills: BackfillsDep,
    since: Annotated[str, Query(description="The oldest publication day to collect, YYYY-MM-DD (UTC)")],
) -> Any:
    now = datetime.now(UTC)
    try:
        day = check_since(since, now.date())
    except ValueError as exc:
        raise RequestValidationError([{"loc": ("query", "since"), "msg": str(exc), "type": "value_error"}]) from exc
    source = await _on_source(source_id, registry.get, source_id)
    if not source.enabled:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=f"source {source_id!r} is disabled")
    try:
        job, created = await run_in_threadpool(backfills.request, source, day, now)
    except BackfillConflict as exc:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail={
                "error": f"since: {exc}; cancel it first (DELETE /v1/sources/{source_id}/backfill)",
                "code": "backfill_running",
                "existing": exc.existing.model_dump(mode="json", include={"since", "state", "requested_at"}),
            },
        ) from exc
    return BackfillStatus(**job.model_dump(), created=created)


@sources_router.get(
    "/{source_id}/backfill",
    response_model=BackfillStatus,
    summary="Backfill progress",
    description="The source's latest backfill: its state (queued, running, done, failed or cancelled), `since`, "
    "where the walk continues, pages walked, URLs found, articles published and skipped, the oldest date reached, "
    "its times and last error. 404 for an unknown source or one never backfilled.",
)
async def get_backfill(source_id: str, registry: RegistryDep, backfills: BackfillsDep) -> Any:
    await _on_source(source_id, registry.get, source_id)
    current = await run_in_threadpool(backfills.get, source_id)
    if current is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"source {source_id!r} has no backfill")
    return BackfillStatus(**current.job.model_dump())


@sources_router.delete(
    "/{source_id}/backfill",
    response_model=BackfillStatus,
    summary="Cancel a backfill",
    description="Cancel the source's queued or running backfill: the crawler walking it stops after the page in "
    "hand; what it published stays. A finished backfill is answered as it is. 404 for an unknown source or one "
    "never backfilled.",
)
async def cancel_backfill(source_id: str, registry: RegistryDep, backfills: BackfillsDep) -> Any:
    await _on_source(source_id, registry.get, source_id)
    job = await run_in_threadpool(backfills.cancel, source_id, datetime.now(UTC))
    if job is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"source {source_id!r} has no backfill")
    return BackfillStatus(**job.model_dump())
