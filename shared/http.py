"""Error handling shared by the HTTP APIs: every error body is ``{"error": "...", ...}``."""

from __future__ import annotations

from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


def describe_validation(errors: list[Any]) -> str:
    """``field.sub: message; ...``: the message names the field."""
    parts = []
    for err in errors[:10]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg')}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    # Starlette's class, so FastAPI's subclass and the framework's own errors (such as an
    # unparsable body) get the same shape.
    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        body = exc.detail if isinstance(exc.detail, dict) else {"error": str(exc.detail)}
        return JSONResponse(status_code=exc.status_code, content=body, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"error": describe_validation(errors), "detail": errors})

    @app.exception_handler(ESConnectionError)
    @app.exception_handler(ConnectionTimeout)
    async def _backend_down(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, content={"error": "a backend is unavailable, try again shortly"})
