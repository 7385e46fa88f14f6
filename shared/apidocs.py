"""The API documentation both HTTP APIs serve: ``/docs`` (Swagger UI) and what the OpenAPI
document says about authentication.

- The page loads its script, style and favicon from this server, never from a CDN, so it works on
  a machine without internet. The assets come from the ``fastapi-offline`` package (Swagger UI 5,
  under its Apache-2.0 licence, as that package's LICENSE states), mounted at :data:`ASSETS_PATH`;
  a pinned dependency rather than vendored copies, so an upgrade is one line in ``pyproject.toml``.
  There is no ``/redoc``: ReDoc's page loads its logo from redocly's CDN, and Swagger UI shows the
  same document.
- The OpenAPI document declares the bearer scheme (:data:`BEARER_SCHEME`); every operation whose
  route depends on :func:`shared.auth.require` carries it (Swagger UI's "Authorize" then sends the
  key, and shows a lock on the operation), and its description ends with the role it needs.
  Operations without a key (health checks) say so with an empty ``security``. This is read from
  the routes' dependencies when the document is built, so it costs nothing per request (a
  ``Security(HTTPBearer())`` dependency would cost each request a dependency call).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from shared.auth import ROLE_RANK, Role, required_role

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/assets"
BEARER_SCHEME = "bearerAuth"
ROLE_TEXT: dict[Role, str] = {
    "reader": "Who may call it: any API key (role `reader`, `analyst` or `admin`).",
    "analyst": "Who may call it: an API key with the `analyst` or `admin` role.",
    "admin": "Who may call it: an API key with the `admin` role.",
}
SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    "persistAuthorization": False,  # the key stays in the page, never in localStorage
    "validatorUrl": None,  # no badge fetched from swagger.io
    "tryItOutEnabled": False,
    "displayRequestDuration": True,
}


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets from this process, and extend the app's OpenAPI document with
    the bearer scheme. The app must be created with ``docs_url=None`` and ``redoc_url=None``
    (FastAPI's own pages load from a CDN). Raises ``ValueError`` otherwise."""
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the app with docs_url=None and redoc_url=None: install_docs serves them")
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title}: Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI's document, cached until the routes change
        if BEARER_SCHEME not in schema.get("components", {}).get("securitySchemes", {}):
            add_bearer_security(app, schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _role(dependant: Dependant) -> Role | None:
    """The highest role any dependency of ``dependant`` (at any depth) requires."""
    roles = [r for r in (required_role(dependant.call), *(_role(d) for d in dependant.dependencies)) if r]
    return max(roles, key=lambda r: ROLE_RANK[r or "reader"]) if roles else None


def add_bearer_security(app: FastAPI, schema: dict[str, Any]) -> None:
    """Declare :data:`BEARER_SCHEME` in ``schema`` and mark each operation of ``app``: a key and its
    role for the routes that depend on :func:`shared.auth.require`, none for the others."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key (wk_...)",
        "description": "An API key: `Authorization: Bearer wk_...`. A `reader` key may search, read articles, "
        "analytics and export, and read its team's monitors; an `analyst` key also manages its team's "
        "monitors; an `admin` key may do everything, for every team. Another team's resources answer 404. "
        "A missing or unknown key is a 401, "
        "a key without the role an endpoint needs a 403, a key over its rate limit a 429.",
    }
    paths = schema.get("paths", {})
    # Route contexts, as FastAPI's get_openapi reads them: included routers are kept as such, and a
    # context carries the route's effective path and dependencies (the router's included).
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        route = cast(APIRoute, context)  # a context stands for its route, with the effective path and dependencies
        if not route.include_in_schema:
            continue
        role = _role(route.dependant)
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation["security"] = [{BEARER_SCHEME: []}] if role else []
            if role and operation.get("description"):  # an undescribed operation stays so (tests find it)
                operation["description"] = f"{operation['description'].rstrip()}\n\n{ROLE_TEXT[role]}"
            elif not role and operation.get("description"):
                operation["description"] = f"{operation['description'].rstrip()}\n\nWho may call it: anyone, no key."
