"""One router per resource, in the order the app includes them: :data:`ROUTERS` under ``/v1``,
:data:`health_router` at the root."""

from __future__ import annotations

from fastapi import APIRouter

from services.search.api.routes import (
    analytics,
    articles,
    audit,
    digests,
    export,
    health,
    keys,
    pickups,
    reports,
    saved_searches,
    search,
    suggest,
    tombstones,
)

ROUTERS: tuple[APIRouter, ...] = (
    search.router,
    suggest.router,
    articles.router,
    analytics.router,
    export.router,
    reports.router,
    saved_searches.router,
    digests.router,
    pickups.router,
    keys.router,
    tombstones.router,
    audit.router,
)
health_router = health.router
