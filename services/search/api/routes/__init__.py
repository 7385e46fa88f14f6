"""One router per resource, in the order the app includes them: :data:`ROUTERS` under ``/v1``,
:data:`health_router` at the root."""

from __future__ import annotations

from fastapi import APIRouter

from services.search.api.routes import analytics, articles, export, health, keys, saved_searches, search

ROUTERS: tuple[APIRouter, ...] = (
    search.router,
    articles.router,
    analytics.router,
    export.router,
    saved_searches.router,
    keys.router,
)
health_router = health.router
