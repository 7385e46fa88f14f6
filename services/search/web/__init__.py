"""The Warta web app: a small vanilla-JS front end served by the search service.

The pages are static (``static/``): every list of articles they show comes from the search API
itself (``/v1/search``, ``/v1/analytics/*``, ``/v1/stories``, ...), called from the browser with
the user's API key, so there is no second query path. Only the sources page needs the ingest API;
it goes through :func:`ingest_proxy` (same origin, so no CORS) which forwards the few ``/v1/sources``
calls that page makes (:func:`proxied_path`) with the caller's ``Authorization`` header; the ingest
API does the authentication. Anything else under the proxy is a 404 and never leaves this process.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from services.search.reports.style import REPORT_STYLE_HASH
from shared.http import APP_CSP
from shared.settings import CommonSettings

STATIC = Path(__file__).parent / "static"
PAGES = ("/", "/login", "/search", "/monitors", "/sources", "/reports", "/pickups")

# The ingest calls of the sources page (static/app.js), by method. The path is matched after
# Starlette's percent-decoding, so an encoded '.', '/' or '%' (double encoding) can never match the
# source id, whose syntax is the ingest API's (services/ingest/crawler/models.py SOURCE_ID).
_SOURCE_ID = r"[a-z0-9][a-z0-9_-]{1,63}"
_PROXIED = {
    "GET": re.compile(rf"(?:/{_SOURCE_ID}/(?:health|backfill))?"),
    "POST": re.compile(rf"(?:/{_SOURCE_ID}/(?:crawl|enable|disable|backfill))?"),
    "DELETE": re.compile(rf"/{_SOURCE_ID}/backfill"),
}


def proxied_path(method: str, rest: str) -> str | None:
    """The ingest path to forward for ``method`` and ``rest`` (what follows
    ``/web/ingest/v1/sources``, decoded), or None when the web app never makes that call."""
    pattern = _PROXIED.get(method)
    if pattern is None or not pattern.fullmatch(rest):
        return None
    return f"/v1/sources{rest}"


class WebSettings(CommonSettings):
    # Where the search service reaches the ingest API (for the sources page), e.g.
    # http://ingest-api:8001 in docker compose.
    ingest_url: str = "http://127.0.0.1:8001"
    web_proxy_timeout_s: float = 15.0


# The pages' policy (shared.http.APP_CSP) also allows the report's one stylesheet, by its hash: the
# Laporan page shows a report in a srcdoc frame and opens it as a blob: page, which both inherit
# this policy (services/search/reports/style.py).
SHELL_CSP = APP_CSP.replace("style-src 'self'", f"style-src 'self' {REPORT_STYLE_HASH}", 1)


def _shell() -> FileResponse:
    # The shell is tiny and changes with each release: always revalidate.
    return FileResponse(STATIC / "index.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache", "Content-Security-Policy": SHELL_CSP})  # fmt: skip


def web_router(settings: WebSettings | None = None) -> APIRouter:
    settings = settings or WebSettings()
    router = APIRouter(include_in_schema=False)
    clients: list[httpx.AsyncClient] = []

    for path in PAGES:
        router.add_api_route(path, _shell, methods=["GET"])
    router.add_api_route("/article/{article_id}", _shell, methods=["GET"])
    router.add_api_route("/pickups/{release_id}", _shell, methods=["GET"])

    @router.api_route("/web/ingest/v1/sources{rest:path}", methods=["GET", "POST", "PATCH", "DELETE"])
    async def ingest_proxy(request: Request, rest: str) -> Response:
        path = proxied_path(request.method, rest)
        if path is None:
            return JSONResponse(status_code=404, content={"error": "not found"})
        headers = {k: v for k, v in request.headers.items() if k.lower() in {"authorization", "content-type", "accept"}}
        url = f"{settings.ingest_url.rstrip('/')}{path}"
        if not clients:  # one pooled client per process: building one costs ~200 ms (TLS context)
            clients.append(httpx.AsyncClient(timeout=settings.web_proxy_timeout_s))
        try:
            resp = await clients[0].request(request.method, url, params=request.query_params, headers=headers,
                                            content=await request.body())  # fmt: skip
        except httpx.HTTPError as exc:
            return JSONResponse(status_code=502, content={"error": f"ingest API unreachable: {exc.__class__.__name__}"})
        keep = {
            k: v for k, v in resp.headers.items() if k.lower() in {"content-type", "retry-after", "www-authenticate"}
        }
        return Response(content=resp.content, status_code=resp.status_code, headers=keep)

    return router


def mount_web(app: FastAPI, settings: WebSettings | None = None) -> None:
    """Serve the web app on ``app``: the page shell, ``/static`` and the ingest proxy."""
    app.include_router(web_router(settings))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
