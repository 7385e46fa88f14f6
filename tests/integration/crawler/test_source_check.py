"""``POST /v1/sources`` checks the URL once against the demo sites (real HTTP, the crawler's own
fetcher): 201 with the kind found for each source type, 422 saying what was found otherwise,
``?check=false`` to store a source that does not answer, and 409 for a URL another source has."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ingest.crawler.registry import SourceRegistry
from services.ingest.demo_sites import DemoWeb
from services.ingest.settings import IngestSettings
from services.ingest.sources_api import get_registry, get_settings, sources_router
from shared.http import install_error_handlers

pytestmark = pytest.mark.elasticsearch


class Api:
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def post(self, body: dict[str, Any], **params: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://t") as http:
                return await http.post("/v1/sources", json=body, params=params, timeout=30)

        return asyncio.run(call())


@pytest.fixture
def api(demo_web: DemoWeb, registry: SourceRegistry) -> Iterator[Api]:
    settings = IngestSettings(
        crawl_allow_hosts=demo_web.allow_hosts,
        crawl_min_delay_s=0.0,
        source_check_timeout_s=3.0,
    )
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(sources_router)
    app.dependency_overrides[get_registry] = lambda: registry
    app.dependency_overrides[get_settings] = lambda: settings
    yield Api(app)


@pytest.mark.parametrize(
    ("site", "path", "kind", "articles", "message"),
    [
        ("lintasmuria", "/feed/", "rss", 7, "an RSS/Atom feed with 7 entries"),
        ("lintasmuria", "/", "wordpress", 7, "a WordPress REST API with 7 posts"),
        ("lintasmuria", "/wp-sitemap.xml", "sitemap", 1, "a sitemap index of 1 sitemaps"),
        ("kabarserayu", "/sitemap.xml", "sitemap", 7, "a sitemap of 7 URLs"),
        ("kabarserayu", "/berita/", "listing", 7, "a page with 7 article links"),
        ("penadewata", "/indeks/", "listing", 4, "a page with 4 article links"),
    ],
)
def test_each_source_type_is_201_with_the_kind_found(
    api: Api, demo_web: DemoWeb, site: str, path: str, kind: str, articles: int, message: str
) -> None:
    body: dict[str, Any] = {"type": kind, "name": f"{site} {kind}", "url": demo_web.base_urls[site] + path}
    if site == "kabarserayu" and kind == "listing":
        body["include_patterns"] = [r"^/berita/.+\.html$"]
    response = api.post(body)
    assert response.status_code == 201, response.text
    assert response.json()["check"] == {"kind": kind, "articles": articles, "message": message}


@pytest.mark.parametrize(
    ("kind", "path", "code", "message"),
    [
        ("rss", "/tidak-ada/", "http_404", "HTTP 404"),
        ("listing", "/tentang-kami/", "no_article_links", "HTML page without article links; it announces a feed at"),
        ("rss", "/tentang-kami/", "no_article_links", "HTML page without article links"),
        ("listing", "/feed/", "type_mismatch", "the URL is an RSS/Atom feed, not a page with article links"),
        ("rss", "/wp-sitemap.xml", "type_mismatch", "the URL is a sitemap, not an RSS/Atom feed (add it with type 'sitemap')"),
        ("sitemap", "/wp-json/wp/v2/posts", "not_a_source_document", "a JSON document"),
        ("wordpress", "/tentang-kami/", "no_wordpress_api", "no WordPress REST API at"),
    ],
)  # fmt: skip
def test_a_url_that_is_no_source_of_its_type_is_422_saying_what_was_found(
    api: Api, demo_web: DemoWeb, kind: str, path: str, code: str, message: str
) -> None:
    # 65bf119: every one of these was stored (201) and only failed later, in the crawler.
    url = demo_web.base_urls["lintasmuria"] + path
    response = api.post({"type": kind, "name": "Uji", "url": url})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "url_check_failed"
    assert body["check"]["code"] == code
    assert message in body["check"]["message"]
    assert body["error"].startswith("url: not usable as a source: ")
    assert body["params"]["reason"] == code
    # Nothing was stored: the same URL can be added once it is right.
    assert api.post({"type": kind, "name": "Uji", "url": url}, check="false").status_code == 201


def test_an_unreachable_or_slow_url_is_422_unless_the_check_is_skipped(api: Api, demo_web: DemoWeb) -> None:
    # The slow demo host answers after 1 s per request; a 0.5 s check gives up.
    slow = demo_web.base_urls["gemalereng"] + "/feed.xml"
    api.app.dependency_overrides[get_settings]().source_check_timeout_s = 0.5
    response = api.post({"type": "rss", "name": "Gema Lereng", "url": slow})
    assert response.status_code == 422, response.text
    assert response.json()["check"]["code"] == "timeout"
    # The 429 of the archive sitemap is answered at once (no waiting out a 120 s Retry-After).
    busy = api.post(
        {"type": "sitemap", "name": "Arsip", "url": demo_web.base_urls["kabarserayu"] + "/sitemap-arsip.xml"}
    )
    assert busy.status_code == 422 and busy.json()["check"]["code"] == "http_429"
    stored = api.post({"type": "rss", "name": "Gema Lereng", "url": slow}, check="false")
    assert stored.status_code == 201 and stored.json()["check"] is None


def test_a_duplicate_url_is_409_before_any_check(api: Api, demo_web: DemoWeb) -> None:
    base = demo_web.base_urls["lintasmuria"]
    first = api.post({"id": "lm-rss", "type": "rss", "name": "Lintas Muria RSS", "url": f"{base}/feed/"})
    assert first.status_code == 201, first.text
    for variant in (f"{base}/feed", base.replace("http:", "https:") + "/feed/", f"{base}/feed/?utm_source=wa"):
        response = api.post({"type": "rss", "name": "Lagi", "url": variant})
        assert response.status_code == 409, (variant, response.text)
        assert response.json()["code"] == "duplicate_url"
        assert response.json()["existing"]["id"] == "lm-rss"
        assert "'lm-rss'" in response.json()["error"]
