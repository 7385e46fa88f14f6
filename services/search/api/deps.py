"""What the routes depend on: the article index, the stores and the caller's API key. The clients
and stores are made once per process by the app's lifespan (:func:`services.search.api.main.create_app`)
and kept in ``app.state``; these dependencies only read them, so none blocks or raises, except the
key dependencies (401, 403, 429 or 503 from :func:`shared.auth.require`).

Each dependency costs FastAPI about 8 µs per request, so a search route takes two: the index
(client, alias and timeout in one) and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from elasticsearch import AsyncElasticsearch
from fastapi import Depends, Request

from services.search.alerts import SavedSearchStore
from services.search.tombstones import Removals
from shared.audit import AuditLog
from shared.auth import ApiKey, KeyStore, require


@dataclass(frozen=True)
class ArticleIndex:
    """The article index as the routes read it: the process's client, the alias and the time
    limit of one search."""

    es: AsyncElasticsearch
    alias: str
    search_timeout: str


async def get_index(request: Request) -> ArticleIndex:
    return request.app.state.index  # type: ignore[no-any-return]


async def get_es(request: Request) -> AsyncElasticsearch:
    return request.app.state.es  # type: ignore[no-any-return]


async def get_saved_searches(request: Request) -> SavedSearchStore:
    return request.app.state.saved  # type: ignore[no-any-return]


async def get_keys(request: Request) -> KeyStore:
    return request.app.state.keys  # type: ignore[no-any-return]


async def get_removals(request: Request) -> Removals:
    return request.app.state.removals  # type: ignore[no-any-return]


async def get_audit(request: Request) -> AuditLog:
    return request.app.state.audit  # type: ignore[no-any-return]


IndexDep = Annotated[ArticleIndex, Depends(get_index)]
EsDep = Annotated[AsyncElasticsearch, Depends(get_es)]
SavedSearchesDep = Annotated[SavedSearchStore, Depends(get_saved_searches)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
RemovalsDep = Annotated[Removals, Depends(get_removals)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]
# The caller's key, with at least this role (reader < analyst < admin).
ReaderKey = Annotated[ApiKey, Depends(require("reader"))]
AnalystKey = Annotated[ApiKey, Depends(require("analyst"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
