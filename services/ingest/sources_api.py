"""``/v1/sources``: manage crawl sources and read their health.

Mount with ``app.include_router(sources_router)``. The registry comes from the :func:`get_registry`
dependency and the settings from :func:`get_crawler_settings`; override either with
``app.dependency_overrides`` (tests, or an app that builds them itself). ``POST .../crawl`` does
not crawl in the API process: it makes the source due now, and the crawler process (polling the
shared SQLite registry every ``crawl_tick_s``) picks it up within about a second.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from services.ingest.crawler.health import SourceHealth, source_health
from services.ingest.crawler.models import Source, SourceCreate, SourceUpdate
from services.ingest.crawler.registry import SourceExists, SourceNotFound, SourceRegistry
from services.ingest.crawler.settings import CrawlerSettings
from shared.ssrf import is_public_address


@lru_cache(maxsize=1)
def get_crawler_settings() -> CrawlerSettings:
    return CrawlerSettings()


@lru_cache(maxsize=1)
def _default_registry(path: str) -> SourceRegistry:
    return SourceRegistry(path)


def get_registry(settings: Annotated[CrawlerSettings, Depends(get_crawler_settings)]) -> SourceRegistry:
    """The registry at ``settings.registry_path`` (one instance per path, thread-safe)."""
    return _default_registry(str(settings.registry_path))


RegistryDep = Annotated[SourceRegistry, Depends(get_registry)]
SettingsDep = Annotated[CrawlerSettings, Depends(get_crawler_settings)]


class SourceList(BaseModel):
    sources: list[Source]


class CrawlRequested(BaseModel):
    id: str
    status: str = "scheduled"


def _invalid(field: str, message: str) -> RequestValidationError:
    # A request validation error like FastAPI's own, so the app's handler gives it the one error
    # shape (``{"error": "field: message", "detail": [{"loc", "msg", "type"}]}``).
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


def _check_address(url: str | None, settings: CrawlerSettings) -> None:
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


def _not_found(source_id: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"source {source_id!r} not found")


sources_router = APIRouter(prefix="/v1/sources", tags=["sources"])


@sources_router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=Source, responses={409: {"description": "id taken"}}
)
async def create_source(spec: SourceCreate, registry: RegistryDep, settings: SettingsDep) -> Any:
    _check_address(spec.url, settings)
    try:
        return await run_in_threadpool(registry.create, spec)
    except SourceExists as exc:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT, detail=f"source {exc.args[0]!r} already exists"
        ) from exc


@sources_router.get("", response_model=SourceList)
async def list_sources(registry: RegistryDep, enabled: bool | None = None) -> Any:
    return SourceList(sources=await run_in_threadpool(registry.list_sources, enabled=enabled))


@sources_router.get("/{source_id}", response_model=Source)
async def get_source(source_id: str, registry: RegistryDep) -> Any:
    try:
        return await run_in_threadpool(registry.get, source_id)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc


@sources_router.patch("/{source_id}", response_model=Source)
async def update_source(source_id: str, patch: SourceUpdate, registry: RegistryDep, settings: SettingsDep) -> Any:
    _check_address(patch.url, settings)
    try:
        return await run_in_threadpool(registry.update, source_id, patch)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc
    except ValueError as exc:
        raise _invalid("min_interval_s", str(exc)) from exc


@sources_router.post("/{source_id}/disable", response_model=Source)
async def disable_source(source_id: str, registry: RegistryDep) -> Any:
    try:
        return await run_in_threadpool(registry.set_enabled, source_id, False)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc


@sources_router.post("/{source_id}/enable", response_model=Source)
async def enable_source(source_id: str, registry: RegistryDep) -> Any:
    try:
        return await run_in_threadpool(registry.set_enabled, source_id, True)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc


@sources_router.delete("/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(source_id: str, registry: RegistryDep) -> Response:
    """Soft delete: the source is disabled and keeps its history."""
    try:
        await run_in_threadpool(registry.set_enabled, source_id, False)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@sources_router.post("/{source_id}/crawl", status_code=status.HTTP_202_ACCEPTED, response_model=CrawlRequested)
async def crawl_now(source_id: str, registry: RegistryDep) -> Any:
    try:
        source = await run_in_threadpool(registry.get, source_id)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc
    if not source.enabled:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=f"source {source_id!r} is disabled")
    await run_in_threadpool(registry.request_crawl, source_id)
    return CrawlRequested(id=source_id)


@sources_router.get("/{source_id}/health", response_model=SourceHealth)
async def get_health(source_id: str, registry: RegistryDep, settings: SettingsDep) -> Any:
    try:
        return await run_in_threadpool(source_health, registry, source_id, settings)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc
