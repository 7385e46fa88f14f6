"""``/v1/sources``: manage crawl sources and read their health.

Mount with ``app.include_router(sources_router)``. The registry comes from the :func:`get_registry`
dependency and the settings from :func:`get_settings`; override either with
``app.dependency_overrides`` (tests, or an app that builds them itself). ``POST .../crawl`` does
not crawl in the API process: it makes the source due now, and the crawler process (polling the
shared SQLite registry every ``crawl_tick_s``) picks it up within about a second.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from services.ingest.crawler.health import SourceHealth, source_health
from services.ingest.crawler.models import Source, SourceCreate, SourceUpdate
from services.ingest.crawler.registry import SourceExists, SourceNotFound, SourceRegistry
from services.ingest.settings import IngestSettings
from shared.ssrf import is_public_address

T = TypeVar("T")


@lru_cache(maxsize=1)
def get_settings() -> IngestSettings:
    return IngestSettings()


@lru_cache(maxsize=1)
def _default_registry(path: str) -> SourceRegistry:
    return SourceRegistry(path)


def get_registry(settings: Annotated[IngestSettings, Depends(get_settings)]) -> SourceRegistry:
    """The registry at ``settings.registry_path`` (one instance per path, thread-safe)."""
    return _default_registry(str(settings.registry_path))


RegistryDep = Annotated[SourceRegistry, Depends(get_registry)]
SettingsDep = Annotated[IngestSettings, Depends(get_settings)]


class SourceList(BaseModel):
    sources: list[Source]


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


async def _on_source(source_id: str, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` in the thread pool (the registry blocks on SQLite); a source that does not
    exist becomes a 404."""
    try:
        return await run_in_threadpool(call, *args)
    except SourceNotFound as exc:
        raise _not_found(source_id) from exc


@sources_router.get("/{source_id}", response_model=Source)
async def get_source(source_id: str, registry: RegistryDep) -> Any:
    return await _on_source(source_id, registry.get, source_id)


@sources_router.patch("/{source_id}", response_model=Source)
async def update_source(source_id: str, patch: SourceUpdate, registry: RegistryDep, settings: SettingsDep) -> Any:
    _check_address(patch.url, settings)
    try:
        return await _on_source(source_id, registry.update, source_id, patch)
    except ValueError as exc:
        raise _invalid("min_interval_s", str(exc)) from exc


@sources_router.post("/{source_id}/disable", response_model=Source)
async def disable_source(source_id: str, registry: RegistryDep) -> Any:
    return await _on_source(source_id, registry.set_enabled, source_id, False)


@sources_router.post("/{source_id}/enable", response_model=Source)
async def enable_source(source_id: str, registry: RegistryDep) -> Any:
    return await _on_source(source_id, registry.set_enabled, source_id, True)


@sources_router.delete("/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(source_id: str, registry: RegistryDep) -> Response:
    """Soft delete: the source is disabled and keeps its history."""
    await _on_source(source_id, registry.set_enabled, source_id, False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@sources_router.post("/{source_id}/crawl", status_code=status.HTTP_202_ACCEPTED, response_model=CrawlRequested)
async def crawl_now(source_id: str, registry: RegistryDep) -> Any:
    source = await _on_source(source_id, registry.get, source_id)
    if not source.enabled:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=f"source {source_id!r} is disabled")
    await run_in_threadpool(registry.request_crawl, source_id)
    return CrawlRequested(id=source_id)


@sources_router.get("/{source_id}/health", response_model=SourceHealth)
async def get_health(source_id: str, registry: RegistryDep, settings: SettingsDep) -> Any:
    return await _on_source(source_id, source_health, registry, source_id, settings)
