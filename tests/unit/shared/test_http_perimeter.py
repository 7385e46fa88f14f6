"""shared/http.py's perimeter middleware driven through the ASGI interface directly, so each test
knows exactly how much of the body the application asked for."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Scope

from shared.http import APP_CSP, BodyLimit, SecurityHeaders, install_error_handlers, install_perimeter


def run(app: ASGIApp, method: str, path: str, headers: dict[str, str], chunks: list[bytes]) -> dict[str, Any]:
    """One request; returns status, headers, body and how many body chunks the app pulled."""
    pulled = 0
    sent: list[Message] = []
    chunks = chunks or [b""]  # what a server delivers for a request without a body
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
        "raw_path": path.encode(), "root_path": "", "scheme": "http", "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.1.2.3", 5000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip

    async def receive() -> Message:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        await asyncio.sleep(3600)  # a client that never sends more
        raise AssertionError

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    hdrs = {k.decode(): v.decode() for k, v in start["headers"]}
    return {"status": start["status"], "headers": hdrs, "body": body, "pulled": pulled}


def echo_app(gate: Any = None, caps: dict[tuple[str, str], int] | None = None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install_perimeter(app, caps=caps or {("POST", "/big"): 1000}, default_cap=100, gate=gate)

    @app.post("/big")
    @app.post("/small")
    async def echo(request: Request) -> dict[str, Any]:
        return {"len": len(await request.body()), "key": getattr(request.state, "api_key", None)}

    @app.post("/json")
    async def parsed(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    return app


def test_a_content_length_over_the_cap_is_refused_without_reading() -> None:
    app = echo_app()
    r = run(app, "POST", "/small", {"content-length": "101"}, [b"x" * 101])
    assert r["status"] == 413 and r["pulled"] == 0
    assert json.loads(r["body"]) == {"error": "request body is over the limit of 100 bytes for POST /small"}
    assert r["headers"]["connection"] == "close"
    assert run(app, "POST", "/big/", {"content-length": "1001"}, [b"x"])["status"] == 413  # trailing slash
    ok = run(app, "POST", "/big", {"content-length": "1000"}, [b"x" * 500, b"x" * 500])
    assert ok["status"] == 200 and json.loads(ok["body"])["len"] == 1000


def test_a_streamed_body_is_cut_off_as_soon_as_it_passes_the_cap() -> None:
    app = echo_app()
    r = run(app, "POST", "/big", {"transfer-encoding": "chunked"}, [b"x" * 400] * 10)
    assert r["status"] == 413 and r["pulled"] == 3  # 1,200 bytes > 1,000: nothing more is read
    # The same through FastAPI's body parsing, which turns read errors into a 400 of its own.
    r = run(app, "POST", "/json", {"transfer-encoding": "chunked", "content-type": "application/json"},
            [b'{"a": "' + b"x" * 60, b"x" * 60, b'"}'])  # fmt: skip
    assert r["status"] == 413 and r["pulled"] == 2
    # A lying Content-Length does not get around the count either.
    r = run(app, "POST", "/small", {"content-length": "10"}, [b"x" * 80, b"x" * 80])
    assert r["status"] == 413
    assert run(app, "POST", "/small", {"content-length": "ten"}, [b"x"])["status"] == 400


def test_the_gate_runs_before_the_body_is_read_and_only_when_there_is_one() -> None:
    calls: list[str] = []

    async def gate(scope: Scope) -> ASGIApp | None:
        calls.append(scope["path"])
        header = dict(scope["headers"]).get(b"authorization")
        if header != b"Bearer good":
            return JSONResponse({"error": "invalid or disabled API key"}, status_code=401)
        scope.setdefault("state", {})["api_key"] = "good"
        return None

    app = echo_app(gate)
    r = run(app, "POST", "/big", {"content-length": "500"}, [b"x" * 500])
    assert r["status"] == 401 and r["pulled"] == 0 and r["headers"]["connection"] == "close"
    r = run(app, "POST", "/big", {"transfer-encoding": "chunked"}, [b"x" * 500])
    assert r["status"] == 401 and r["pulled"] == 0
    r = run(app, "POST", "/big", {"content-length": "500", "authorization": "Bearer good"}, [b"x" * 500])
    assert r["status"] == 200 and json.loads(r["body"]) == {"len": 500, "key": "good"}
    calls.clear()
    run(app, "POST", "/big", {}, [])  # no body: nothing to protect, the route's own auth decides
    run(app, "POST", "/big", {"content-length": "0"}, [])
    assert calls == []


def test_security_headers_on_every_answer_and_a_hash_for_each_inline_docs_script() -> None:
    app = FastAPI(title="t")
    install_perimeter(app, caps={}, default_cap=100)

    @app.get("/page")
    async def page() -> dict[str, str]:
        return {}

    @app.get("/own-policy")
    async def own() -> JSONResponse:
        return JSONResponse({}, headers={"Content-Security-Policy": "default-src 'none'"})

    r = run(app, "GET", "/page", {}, [])
    assert r["headers"]["content-security-policy"] == APP_CSP
    assert r["headers"]["x-content-type-options"] == "nosniff"
    assert r["headers"]["x-frame-options"] == "DENY"
    assert r["headers"]["referrer-policy"] == "same-origin"
    assert run(app, "GET", "/nowhere", {}, [])["headers"]["x-frame-options"] == "DENY"
    assert run(app, "GET", "/own-policy", {}, [])["headers"]["content-security-policy"] == "default-src 'none'"
    docs = run(app, "GET", "/docs", {}, [])
    csp = docs["headers"]["content-security-policy"]
    script = docs["body"].split(b"<script>")[1].split(b"</script>")[0]
    assert f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'" in csp
    assert "script-src 'self' 'sha256-" in csp and "https:" not in csp and "frame-ancestors 'none'" in csp
    assert int(docs["headers"]["content-length"]) == len(docs["body"])


def test_security_headers_pass_other_scopes_through() -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(SecurityHeaders(inner)({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    asyncio.run(BodyLimit(inner, {}, 1)({"type": "websocket"}, None, None))  # type: ignore[arg-type]
    assert seen == ["lifespan", "websocket"]
