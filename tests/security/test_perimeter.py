"""The HTTP perimeter of both APIs, against real processes (issue 13, items 3, 8 and 10):

- a body over its route's cap is refused with 413 before it is read (by ``Content-Length``, or
  as soon as a streamed body passes the cap), and a request without a valid key never has its body
  read: the 401 arrives before the client has sent it, and a 30 MB POST costs the server no memory;
- failed authentication is rate-limited per client address (429 with ``Retry-After``), while a
  key already verified keeps working;
- each API counts its own requests per key, and a key disabled on one API stops working on the
  other within two seconds;
- every answer carries the security headers.

Requests are written on raw sockets so a test controls exactly which bytes the server has seen
when it answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import select
import socket
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from services.search.reports.style import REPORT_STYLE_HASH
from services.search.web import SHELL_CSP
from shared.http import APP_CSP
from shared.limits import MAX_PUSH_REQUEST_BYTES, MAX_REQUEST_BYTES
from tests.pipeline import Pipeline

pytestmark = [pytest.mark.e2e]

MiB = 1024 * 1024


# --- raw HTTP ---------------------------------------------------------------------------------


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def _read_response(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one response; the body is read up to its
    Content-Length. Raises TimeoutError if nothing complete arrives in ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head, body = data[:head_end].decode("latin-1"), data[head_end + 4 :]
            status = int(head.split(" ", 2)[1])
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])
            }
            if len(body) >= int(headers.get("content-length", 0)):
                return status, headers, body
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete response within {timeout}s (got {data[:200]!r})")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a complete response (got {data[:200]!r})")
        data += chunk


def answer_before_body(port: int, method: str, path: str, headers: dict[str, str],
                       timeout: float = 3.0) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """Send only the request head (the body it announces never comes) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(_head(method, path, headers))
        return _read_response(sock, timeout)


def stream_until_answered(port: int, method: str, path: str, headers: dict[str, str], total: int,
                          chunk: int = 16 * 1024, timeout: float = 10.0) -> tuple[int, bytes, int]:  # fmt: skip
    """Send a chunked body of ``total`` bytes in ``chunk``-sized pieces, checking for an answer
    between pieces. Returns (status, body, bytes of body sent when the answer was seen)."""
    sent = 0
    piece = b"x" * chunk
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(_head(method, path, {**headers, "Transfer-Encoding": "chunked"}))
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0.02)
            if readable:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        else:
            try:
                sock.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        status, _, body = _read_response(sock, timeout)
        return status, body, sent


def blast(port: int, path: str, headers: dict[str, str], size: int, chunked: bool) -> None:
    """Send a POST with a ``size``-byte JSON-ish body as fast as possible; ignore how it ends."""
    head = {**headers, "Content-Type": "application/json"}
    head.update({"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)})
    block = b'{"articles": [' + b"1," * (MiB // 2 - 8)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(_head("POST", path, head))
            sent = 0
            while sent < size:
                part = block[: size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                sent += len(part)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
            sock.settimeout(10)
            sock.recv(65536)
    except OSError:
        pass  # refused early: the server closed the connection while we were still sending


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _pid(p: Pipeline, name: str) -> int:
    popen = p.procs[name].popen
    assert popen is not None
    return popen.pid


def _fresh_minute(margin_s: float = 8.0) -> None:
    """Wait for a new minute if this one ends within ``margin_s``: the limits count per minute."""
    left = 60 - time.time() % 60
    if left < margin_s:
        time.sleep(left + 0.2)


@pytest.fixture
def apis(pipeline_factory) -> Pipeline:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["ingest-api", "search-api"])
    return p


# --- item 3: caps before reading, authentication before parsing ------------------------------


def test_content_length_over_the_cap_is_refused_before_the_body_is_sent(apis: Pipeline) -> None:
    p = apis
    for headers in ({}, p.ns.auth):  # with or without a key: the size alone decides
        status, resp_headers, body = answer_before_body(
            p.ingest_port, "POST", "/v1/articles", {**headers, "Content-Length": str(30 * MiB)}
        )
        assert status == 413, body
        assert f"{MAX_PUSH_REQUEST_BYTES:,}" in httpx.Response(413, content=body).json()["error"]
        assert resp_headers["connection"] == "close"
    # Every other route has a small cap, on both APIs.
    for port, path in ((p.ingest_port, "/v1/sources"), (p.search_port, "/v1/saved-searches"),
                       (p.search_port, "/v1/keys"), (p.search_port, "/web/ingest/v1/sources")):  # fmt: skip
        status, _, body = answer_before_body(
            port, "POST", path, {**p.ns.auth, "Content-Length": str(MAX_REQUEST_BYTES + 1)}
        )
        assert status == 413, (path, body)


def test_a_body_without_a_valid_key_is_never_read(apis: Pipeline) -> None:
    """The 401 arrives while the body (under the cap, so size does not decide) is still unsent."""
    p = apis
    for auth in ({}, {"Authorization": "Bearer wk_" + "x" * 40}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        for port, path, length in ((p.ingest_port, "/v1/articles", MiB), (p.ingest_port, "/v1/articles/batch", MiB),
                                   (p.ingest_port, "/v1/sources", 1000), (p.search_port, "/v1/keys", 1000),
                                   (p.search_port, "/v1/saved-searches", 1000),
                                   (p.search_port, "/web/ingest/v1/sources", 1000)):  # fmt: skip
            for framing in ({"Content-Length": str(length)}, {"Transfer-Encoding": "chunked"}):
                status, headers, body = answer_before_body(
                    port, "POST", path, {**auth, **framing, "Content-Type": "application/json"}
                )
                assert status == 401, (path, auth, framing, body)
                assert headers["www-authenticate"] == "Bearer"
                assert headers["connection"] == "close"


def test_a_streamed_body_is_cut_off_once_it_passes_the_cap(apis: Pipeline) -> None:
    p = apis
    status, body, sent = stream_until_answered(p.ingest_port, "POST", "/v1/sources", p.ns.auth, total=4 * MiB)
    assert status == 413, body
    assert f"{MAX_REQUEST_BYTES:,}" in body.decode()
    # The server reads at most its own buffer (64 KiB in uvicorn) and the socket buffers ahead.
    assert sent < MAX_REQUEST_BYTES + 3 * MiB, f"sent {sent:,} bytes before the 413"
    status, body, _ = stream_until_answered(p.search_port, "POST", "/v1/saved-searches", p.ns.auth, total=4 * MiB)
    assert status == 413, body
    # Under their caps, bodies go through the perimeter untouched, chunked or not.
    r = httpx.post(f"{p.ingest_url}/v1/sources", headers=p.ns.auth, json={"bogus": True})
    assert r.status_code == 422, r.text
    article = {"url": f"https://suarablora.example/berita/{uuid.uuid4().hex}", "title": "Banjir di Blora",
               "text": "Banjir melanda Blora. " * 2000, "published_at": "2025-05-01T08:00:00+07:00"}  # fmt: skip
    body = json.dumps(article).encode()
    r = httpx.post(f"{p.ingest_url}/v1/articles", headers={**p.ns.auth, "Content-Type": "application/json"},
                   content=iter([body[:1000], body[1000:]]), timeout=30)  # fmt: skip
    assert r.status_code == 202, r.text


def test_a_30_mb_post_without_a_key_costs_the_server_no_memory(apis: Pipeline) -> None:
    """Today's code parsed such a body before looking at the key: 90-120 MB per request."""
    p = apis
    pid = _pid(p, "ingest-api")
    assert httpx.get(f"{p.ingest_url}/v1/sources", headers=p.ns.auth).status_code == 200  # warm
    before = peak_rss_mb(pid)
    threads = [
        threading.Thread(target=blast, args=(p.ingest_port, path, {}, 30 * MiB, chunked))
        for path in ("/v1/articles", "/v1/articles/batch")
        for chunked in (True, False)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    after = peak_rss_mb(pid)
    assert after - before < 15, f"peak RSS grew {after - before:.0f} MB ({before:.0f} -> {after:.0f})"
    assert httpx.get(f"{p.ingest_url}/healthz").status_code == 200


# --- item 8: key guessing ---------------------------------------------------------------------


def test_failed_authentication_is_rate_limited_per_address(apis: Pipeline) -> None:
    p = apis
    _fresh_minute()
    assert httpx.get(f"{p.search_url}/v1/search", headers=p.ns.auth).status_code == 200  # verified and cached
    codes = []
    for i in range(25):
        r = httpx.get(f"{p.search_url}/v1/search", headers={"Authorization": f"Bearer wk_guess{i}{uuid.uuid4().hex}"})
        codes.append(r.status_code)
    assert codes[:20] == [401] * 20, codes
    assert set(codes[20:]) == {429}, codes
    assert 0 < int(r.headers["Retry-After"]) <= 60
    # The count is per address and shared by both APIs (through Redis), and a body is not read.
    r = httpx.get(f"{p.ingest_url}/v1/sources", headers={"Authorization": "Bearer wk_another_guess"})
    assert r.status_code == 429, r.text
    status, _, _ = answer_before_body(p.ingest_port, "POST", "/v1/articles",
                                      {"Authorization": "Bearer wk_x", "Content-Length": "1000"})  # fmt: skip
    assert status == 429
    # A key this process already verified keeps working from the same address.
    assert httpx.get(f"{p.search_url}/v1/search", headers=p.ns.auth).status_code == 200


# --- item 10: one counter per key and API; revocation reaches the other API -------------------


def test_each_api_counts_its_own_requests_per_key(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "5"}, start=False)
    p.start(["ingest-api", "search-api"])
    _fresh_minute(margin_s=15)
    ingest = [httpx.get(f"{p.ingest_url}/v1/sources", headers=p.ns.auth).status_code for _ in range(7)]
    assert ingest[:5] == [200] * 5 and ingest[-1] == 429, ingest
    time.sleep(0.6)  # both limiters have synced with Redis
    search = []
    for _ in range(5):
        search.append(httpx.get(f"{p.search_url}/v1/search", headers=p.ns.auth).status_code)
        time.sleep(0.3)
    assert search == [200] * 5, f"search locked out by ingest traffic: {search}"


def test_a_key_disabled_on_search_stops_working_on_ingest_within_two_seconds(apis: Pipeline) -> None:
    p = apis
    r = httpx.post(f"{p.search_url}/v1/keys", headers=p.ns.auth, json={"name": "revoke-me", "role": "admin"})
    assert r.status_code == 201, r.text
    key_id, key = r.json()["id"], r.json()["key"]
    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{p.ingest_url}/v1/sources", headers=auth).status_code == 200  # now cached by ingest
    assert httpx.get(f"{p.search_url}/v1/search", headers=auth).status_code == 200
    assert httpx.delete(f"{p.search_url}/v1/keys/{key_id}", headers=p.ns.auth).status_code == 204
    revoked_at = time.monotonic()
    assert httpx.get(f"{p.search_url}/v1/search", headers=auth).status_code == 401
    while httpx.get(f"{p.ingest_url}/v1/sources", headers=auth).status_code != 401:
        assert time.monotonic() - revoked_at < 2.0, "ingest still accepts a key disabled on search"
        time.sleep(0.05)


# --- item 11: security headers ----------------------------------------------------------------


def test_every_answer_carries_the_security_headers(apis: Pipeline) -> None:
    p = apis
    expected = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}
    answers = [
        httpx.get(f"{p.search_url}/"),  # the web app's shell
        httpx.get(f"{p.search_url}/static/app.js"),
        httpx.get(f"{p.search_url}/v1/search", headers=p.ns.auth),
        httpx.get(f"{p.search_url}/v1/search"),  # 401
        httpx.get(f"{p.ingest_url}/v1/sources", headers=p.ns.auth),
        httpx.get(f"{p.ingest_url}/healthz"),
        httpx.get(f"{p.ingest_url}/metrics/"),
    ]
    for r in answers:
        for name, value in expected.items():
            assert r.headers.get(name) == value, (r.url, name, r.headers)
        # The pages' shell also allows the report's one stylesheet by its hash (the Laporan page).
        assert r.headers["content-security-policy"] == (SHELL_CSP if r.url.path == "/" else APP_CSP), r.url
    assert "frame-ancestors 'none'" in APP_CSP and "script-src 'self';" in APP_CSP
    assert SHELL_CSP == APP_CSP.replace("style-src 'self';", f"style-src 'self' {REPORT_STYLE_HASH};")
    # Swagger UI: its bundle from this server (no CDN), and its one inline script by hash (never 'unsafe-inline').
    for url in (p.search_url, p.ingest_url):
        r = httpx.get(f"{url}/docs")
        csp = r.headers["content-security-policy"]
        inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
        assert inline, r.text
        for script in inline:
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "'self'" in script_src and "https:" not in csp and "unsafe-inline" not in script_src
        assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
