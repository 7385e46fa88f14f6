"""``/healthz`` (liveness) and ``/readyz`` (Elasticsearch reachable): unauthenticated, so their
answers name no internals; the reason for a 503 goes to the log."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.search.api.deps import EsDep
from services.search.api.models import ErrorBody

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", description='`{"status": "ok"}` while the process serves requests.')
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"model": ErrorBody}},
    summary="Readiness",
    description='`{"status": "ready"}` when Elasticsearch is reachable; otherwise 503 (the reason goes to '
    "the log, not to the answer).",
)
async def readyz(es: EsDep) -> Any:
    try:
        await es.cluster.health(timeout="1s")
    except Exception as exc:
        log.warning("readyz: Elasticsearch is not reachable", extra={"error": repr(exc)[:2000]})
        return JSONResponse(status_code=503, content={"error": "Elasticsearch is not reachable"})
    return {"status": "ready"}
