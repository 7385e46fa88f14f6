"""What both HTTP APIs share at their edge: error handling (every error body is
``{"error": "...", ...}``) and the perimeter middleware (body caps, authentication before the body
is read, security headers)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


# --- the perimeter: body caps before reading, authentication before parsing, security headers ----

Gate = Callable[[Scope], Awaitable[ASGIApp | None]]


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes its cap; :class:`BodyLimit` answers 413."""


def _too_large(cap: int, method: str, path: str) -> JSONResponse:
    return JSONResponse(
        status_code=413,
        content={"error": f"request body is over the limit of {cap:,} bytes for {method} {path}"},
        headers={"Connection": "close"},
    )


def _closing(send: Send) -> Send:
    """``send`` with ``Connection: close`` on the response: the body was not read, so the
    connection cannot carry another request."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return wrapped


class BodyLimit:
    """Pure ASGI middleware. For a request that announces a body (``Content-Length`` above 0 or a
    ``Transfer-Encoding``), before the application reads a byte of it:

    1. a ``Content-Length`` over the route's cap is answered 413;
    2. ``gate`` (authentication) runs, and its error response, if any, is sent instead;
    3. the body is counted as the application reads it; once the count passes the cap, reading
       raises :class:`BodyTooLarge` and the client gets 413 (unless the response had already
       started, which no Warta route does before reading its body).

    Caps are per ``(method, path)`` with ``default_cap`` for everything else. A request without a
    body costs one header scan. The server reads at most its buffer (64 KiB in uvicorn) ahead of
    the application, so a refused body is never held in memory.
    """

    def __init__(self, app: ASGIApp, caps: Mapping[tuple[str, str], int], default_cap: int,
                 gate: Gate | None = None) -> None:  # fmt: skip
        self.app = app
        self.caps = {(m.upper(), p.rstrip("/") or "/"): c for (m, p), c in caps.items()}
        self.default_cap = default_cap
        self.gate = gate

    def cap_for(self, method: str, path: str) -> int:
        return self.caps.get((method, path.rstrip("/") or "/"), self.default_cap)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked and not length:  # no body: nothing to cap, nothing read before auth
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        cap = self.cap_for(method, path)
        if length is not None and length < 0:
            bad = JSONResponse(status_code=400, content={"error": "invalid Content-Length"})
            await bad(scope, receive, _closing(send))
            return
        if length is not None and length > cap:
            await _too_large(cap, method, path)(scope, receive, send)
            return
        if self.gate is not None:
            refusal = await self.gate(scope)
            if refusal is not None:
                await refusal(scope, receive, _closing(send))
                return

        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    over = True
                    raise BodyTooLarge(cap)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # whatever the application made of BodyTooLarge; the 413 below replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await _too_large(cap, method, path)(scope, receive, send)


# The web app: scripts and styles only from /static (index.html has no inline script or style),
# the favicon is a data: URL, every call goes to this origin (the API and /web/ingest).
APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# /docs (Swagger UI) loads its bundle from this server (shared/apidocs.py) and starts it with one
# inline script, allowed by its hash (computed from the page itself, see SecurityHeaders). Its
# components set inline styles and use data: images.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # The web app's pages and its API calls are same-origin; nothing (not even the origin) goes to
    # the outlets' sites its article links point to. ``same-origin`` rather than ``no-referrer``
    # because the article page's "back" link checks that the user came from within the app.
    (b"referrer-policy", b"same-origin"),
)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.S | re.I)


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP source expressions (``'sha256-...'``) for every inline ``<script>`` of ``html``."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


class SecurityHeaders:
    """Pure ASGI middleware adding ``Content-Security-Policy``, ``X-Content-Type-Options``,
    ``X-Frame-Options`` and ``Referrer-Policy`` to every HTTP response that lacks them. Pages under
    ``docs_paths`` get :data:`DOCS_CSP` with the hashes of their inline scripts (the page is small
    and buffered); everything else gets :data:`APP_CSP`."""

    def __init__(self, app: ASGIApp, docs_paths: Iterable[str] = ("/docs", "/redoc", "/docs/oauth2-redirect")) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        self._app_headers = (*SECURITY_HEADERS, (b"content-security-policy", APP_CSP.encode()))

    @staticmethod
    def _with(message: Message, extra: Iterable[tuple[bytes, bytes]]) -> Message:
        headers = list(message.get("headers", []))
        present = {k.lower() for k, _ in headers}
        headers.extend((k, v) for k, v in extra if k not in present)
        return {**message, "headers": headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = self._with(message, self._app_headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            csp = DOCS_CSP.format(hashes=" ".join(inline_script_hashes(body)) or "'none'")
            await send(self._with(start, (*SECURITY_HEADERS, (b"content-security-policy", csp.encode()))))
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered_send)


def install_perimeter(app: FastAPI, caps: Mapping[tuple[str, str], int], default_cap: int,
                      gate: Gate | None = None) -> None:  # fmt: skip
    """Install :class:`BodyLimit` (with ``gate`` authenticating requests that carry a body) and,
    outside it so its refusals carry them too, :class:`SecurityHeaders`."""
    app.add_middleware(BodyLimit, caps=caps, default_cap=default_cap, gate=gate)
    app.add_middleware(SecurityHeaders)
