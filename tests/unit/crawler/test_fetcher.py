"""Fetcher behaviour against an in-memory transport (no sockets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.ingest.crawler.fetcher import Fetcher, FetchError, parse_retry_after
from services.ingest.crawler.state import MemoryKeyValue, ValidatorStore
from services.ingest.settings import IngestSettings
from shared.ssrf import SsrfGuard

DNS = {"berita.example": ["103.10.20.30"], "intranet.example": ["10.0.0.7"]}


def make_fetcher(handler: Callable[[httpx.Request], httpx.Response], **overrides: Any) -> Fetcher:
    settings = IngestSettings(
        crawl_min_delay_s=0.0, crawl_max_retry_wait_s=0.2, crawl_max_body_bytes=10_000, **overrides
    )
    guard = SsrfGuard(resolver=lambda host, port: DNS[host])
    validators = ValidatorStore(MemoryKeyValue(), "t:", 60)

    def with_robots(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(200, text="User-agent: *\nDisallow: /privat/\n")
        return handler(request)

    return Fetcher(settings, validators, guard=guard, transport=httpx.MockTransport(with_robots))


def html(text: str = "<p>ok</p>", **headers: str) -> httpx.Response:
    return httpx.Response(200, content=text.encode(), headers={"content-type": "text/html; charset=utf-8", **headers})


def test_connection_is_pinned_to_the_checked_address_with_host_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return html()

    make_fetcher(handler).fetch("http://berita.example/a")
    assert seen[0].url.host == "103.10.20.30"
    assert seen[0].headers["host"] == "berita.example"
    assert "WartaBot" in seen[0].headers["user-agent"]


def test_redirect_to_private_address_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://intranet.example/admin"})

    with pytest.raises(FetchError) as exc:
        make_fetcher(handler).fetch("http://berita.example/a")
    assert exc.value.reason == "ssrf_blocked"


def test_redirect_loop_and_hop_limit() -> None:
    def loop(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "/b" if request.url.path == "/a" else "/a"})

    with pytest.raises(FetchError) as exc:
        make_fetcher(loop).fetch("http://berita.example/a")
    assert exc.value.reason == "redirect_loop"

    def chain(request: httpx.Request) -> httpx.Response:
        n = int(request.url.path.strip("/") or 0)
        return httpx.Response(301, headers={"location": f"/{n + 1}"})

    with pytest.raises(FetchError) as exc:
        make_fetcher(chain, crawl_max_redirects=3).fetch("http://berita.example/0")
    assert exc.value.reason == "too_many_redirects"


def test_redirect_followed_to_final_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "/baru"}) if request.url.path == "/lama" else html()

    result = make_fetcher(handler).fetch("http://berita.example/lama")
    assert result.url == "http://berita.example/baru"
    assert result.redirects == ["http://berita.example/lama"]


def test_robots_disallowed_path() -> None:
    with pytest.raises(FetchError) as exc:
        make_fetcher(lambda r: html()).fetch("http://berita.example/privat/x")
    assert exc.value.reason == "robots"


def test_body_size_limit_and_content_type() -> None:
    with pytest.raises(FetchError) as exc:
        make_fetcher(lambda r: html("x" * 20_000)).fetch("http://berita.example/besar")
    assert exc.value.reason == "too_large"
    pdf = httpx.Response(200, content=b"%PDF", headers={"content-type": "application/pdf"})
    with pytest.raises(FetchError) as exc:
        make_fetcher(lambda r: pdf).fetch("http://berita.example/x.pdf")
    assert exc.value.reason == "content_type"


def test_429_with_short_retry_after_is_waited_out() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(429, headers={"retry-after": "0"}) if calls["n"] == 1 else html()

    assert make_fetcher(handler).fetch("http://berita.example/a").status == 200
    assert calls["n"] == 2


def test_429_with_long_retry_after_fails_with_retry_after_and_blocks_host() -> None:
    fetcher = make_fetcher(lambda r: httpx.Response(429, headers={"retry-after": "120"}))
    with pytest.raises(FetchError) as exc:
        fetcher.fetch("http://berita.example/a")
    assert exc.value.reason == "http_429" and exc.value.retry_after == 120
    with pytest.raises(FetchError) as exc:
        fetcher.fetch("http://berita.example/b")
    assert exc.value.reason == "host_backoff"


def test_conditional_get_uses_stored_validators() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return html(etag='"v1"', **{"last-modified": "Mon, 03 Jun 2024 02:15:00 GMT"})

    fetcher = make_fetcher(handler)
    first = fetcher.fetch("http://berita.example/a")
    assert not first.not_modified
    fetcher.remember(first)
    assert fetcher.fetch("http://berita.example/a").not_modified


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
