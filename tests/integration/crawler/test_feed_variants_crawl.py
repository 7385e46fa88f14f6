"""Crawl the feed-variant demo sites end to end (real HTTP, real Redis, fake publisher): Atom, RSS
with odd dates and encodings, a Google News sitemap, WordPress with its REST API off."""

from __future__ import annotations

from collections import Counter

import pytest

from services.ingest.crawler.discovery import discover
from services.ingest.crawler.models import SourceCreate
from services.ingest.crawler.probe import check_source_url
from services.ingest.crawler.runner import Crawler
from services.ingest.demo_sites import DemoWeb
from services.ingest.demo_sites.feed_sites import FEED_PATHS, feed_variant_articles, feed_variant_sources
from tests.integration.crawler.conftest import FakePublisher

pytestmark = pytest.mark.redis

SOURCE_IDS = [
    "suarakawanua-atom",
    "suarakawanua-news",
    "khatulistiwa-latin1",
    "khatulistiwa-charset",
    "khatulistiwa-bom",
    "radartimur-jayapura",
    "radartimur-merauke",
    "radartimur-sorong",
    "radartimur-biak",
]
# WordPress installs with the REST API off: the reason noted, and what was read instead.
WP_FALLBACK = {
    "radartimur-jayapura": ("wp_api_fallback_http_401", "/feed/"),
    "radartimur-merauke": ("wp_api_fallback_http_403", "/merauke/feed/"),
    "radartimur-sorong": ("wp_api_fallback_http_404", "/sorong/feed/"),
    "radartimur-biak": ("wp_api_fallback_content_type", "/biak/wp-sitemap-posts-post-1.xml"),
}


def _spec(demo_web: DemoWeb, source_id: str) -> SourceCreate:
    (spec,) = [s for s in feed_variant_sources(demo_web.base_urls) if s["id"] == source_id]
    return SourceCreate.model_validate(spec)


def test_every_variant_has_a_source() -> None:
    base_urls = {k: f"http://127.0.0.1:{9000 + i}" for i, k in enumerate(FEED_PATHS)}
    assert [s["id"] for s in feed_variant_sources(base_urls)] == SOURCE_IDS


@pytest.mark.parametrize("source_id", SOURCE_IDS)
def test_variant_is_discovered_and_crawled(demo_web, crawl_env, source_id: str) -> None:  # type: ignore[no-untyped-def]
    settings, registry, kv = crawl_env
    source = registry.create(_spec(demo_web, source_id))
    site = source_id.split("-")[0]
    base = demo_web.base_urls[site]
    expected = {f"{base}{FEED_PATHS[site](a)}": a for a in feed_variant_articles(demo_web.base_urls, source_id)}
    assert expected

    publisher = FakePublisher()
    with Crawler(settings, registry, publisher, kv=kv) as crawler:
        # What the source's documents say, before any article page is fetched.
        discovery = discover(crawler.fetcher, source)
        assert {item.url for item in discovery.items} == set(expected)
        assert not discovery.failures
        for item in discovery.items:
            a = expected[item.url]
            if source_id != "radartimur-biak":  # a plain sitemap has neither title nor date
                assert item.title == a.title, item
                assert item.published_at == a.published, (item.url, item.published_at, a.published)
                assert item.published_at is not None and item.published_at.utcoffset() is not None

        record = crawler.crawl(source)

    assert record.status == "ok", (record.status, record.error, record.failed)
    assert record.published == len(expected)
    collected = Counter(article.canonical_url for article in publisher.articles)
    assert collected == Counter(set(expected)), collected
    for article in publisher.articles:
        a = expected[article.canonical_url]
        assert article.title == a.title
        assert a.first_sentence in article.text and a.last_sentence in article.text
        # The same instant as the site published (pages of suarakawanua and khatulistiwa carry no
        # date: this is the feed's or the news sitemap's).
        assert article.published_at == a.published, (article.url, article.published_at, a.published)
    if source_id in WP_FALLBACK:
        note, path = WP_FALLBACK[source_id]
        assert record.skipped[note] == 1, record.skipped
        assert demo_web.stats.paths[f"{site}{path}"] >= 1


@pytest.mark.parametrize(
    ("source_id", "message"),
    [
        ("radartimur-jayapura", "a WordPress site without REST API (HTTP 401): 2 posts in "),
        ("radartimur-merauke", "a WordPress site without REST API (HTTP 403): 1 posts in "),
        ("radartimur-sorong", "a WordPress site without REST API (HTTP 404): 1 posts in "),
        ("radartimur-biak", "a WordPress site without REST API (not JSON): 1 posts in "),
    ],
)
def test_url_check_accepts_wordpress_without_rest_api(demo_web, crawl_env, source_id: str, message: str) -> None:  # type: ignore[no-untyped-def]
    settings, registry, _ = crawl_env
    source = registry.create(_spec(demo_web, source_id))
    check = check_source_url(settings, source, timeout_s=3.0)
    assert check.ok and check.kind == "wordpress" and check.code == "wordpress_fallback", check
    assert check.message.startswith(message), check.message
