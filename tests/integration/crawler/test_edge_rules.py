"""The crawler applies ingest's edge rules (services/ingest/articles.py): the byte limit on the
text (a too-large page is a recorded outcome, never truncated), the publication-date rule (an
implausible date is dropped with the reason logged, the article kept), clean titles, URLs without
credentials, and patterns on RE2. One crawl of an RSS source against an in-memory web."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from services.ingest.crawler.fetcher import Fetcher
from services.ingest.crawler.health import source_health
from services.ingest.crawler.models import SourceCreate
from services.ingest.crawler.registry import SourceRegistry
from services.ingest.crawler.runner import Crawler
from services.ingest.crawler.state import MemoryKeyValue, ValidatorStore
from services.ingest.settings import IngestSettings
from shared.limits import MAX_TEXT_BYTES
from shared.schemas import RawArticle
from shared.ssrf import SsrfGuard

pytestmark = pytest.mark.elasticsearch

SITE = "http://berita.example"
RECENT = datetime.now(UTC) - timedelta(hours=2)


def _page(title: str, paragraphs: list[str], published: str | None = None, headline: str | None = None) -> str:
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    if headline is not None:  # JSON-LD keeps any character (json.dumps escapes NUL and controls)
        meta += (
            f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", "headline": headline})}</script>'
        )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title>{meta}</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def _story(n: int) -> list[str]:
    return [f"Kalimat {i} berita nomor {n}: warga desa membersihkan saluran air sebelum musim hujan." for i in range(8)]


# About 170,000 characters of Chinese, in distinct paragraphs (repeated ones would be removed).
CJK = ["".join(chr(0x4E00 + (i * 131 + j * 7) % 20000) for j in range(100)) for i in range(1700)]

PAGES = {
    "/big": _page("Halaman besar", CJK, RECENT.isoformat()),
    "/old-date": _page("Tanggal lama", _story(1), "1970-01-01T00:00:00+00:00"),
    "/no-date": _page("Tanpa tanggal", _story(2)),
    "/bidi": _page("x", _story(3), RECENT.isoformat(), headline="Harga\u202e beras\x00 naik\u2066 lagi\u2069\x07"),
    "/creds": _page("Dengan kredensial", _story(4), RECENT.isoformat()),
}
FEED_ITEMS = [
    ("/big", RECENT),
    ("/old-date", RECENT),
    ("/no-date", datetime(1970, 1, 1, tzinfo=UTC)),  # an implausible feed date, and none in the page
    ("/bidi", RECENT),
]


def _feed() -> str:
    items = "".join(
        f"<item><title>t</title><link>{SITE}{path}</link><pubDate>{format_datetime(date)}</pubDate></item>"
        for path, date in FEED_ITEMS
    )
    items += "<item><title>t</title><link>http://redaksi:s3cret@berita.example/creds</link></item>"
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>{items}</channel></rss>'


def _handler(request: httpx.Request) -> httpx.Response:
    assert "s3cret" not in str(request.url)  # credentials are never sent either
    if request.url.path == "/robots.txt":
        return httpx.Response(404)
    if request.url.path == "/feed.xml":
        return httpx.Response(200, content=_feed().encode(), headers={"content-type": "application/rss+xml"})
    page = PAGES.get(request.url.path)
    if page is None:
        return httpx.Response(404)
    return httpx.Response(200, content=page.encode(), headers={"content-type": "text/html; charset=utf-8"})


class Recorder:
    def __init__(self) -> None:
        self.articles: list[RawArticle] = []

    def publish(self, article: RawArticle) -> None:
        self.articles.append(article)


def _crawler(registry: SourceRegistry, publisher: Recorder) -> tuple[Crawler, IngestSettings]:
    settings = IngestSettings(crawl_min_delay_s=0.0, crawl_max_retry_wait_s=0.2)
    fetcher = Fetcher(
        settings,
        ValidatorStore(MemoryKeyValue(), "t:", 60),
        guard=SsrfGuard(resolver=lambda host, port: ["103.10.20.30"]),
        transport=httpx.MockTransport(_handler),
    )
    return Crawler(settings, registry, publisher, kv=MemoryKeyValue(), fetcher=fetcher), settings


def test_one_crawl_applies_the_edge_rules(registry: SourceRegistry, caplog: pytest.LogCaptureFixture) -> None:
    publisher = Recorder()
    crawler, settings = _crawler(registry, publisher)
    source = registry.create(SourceCreate(type="rss", name="Berita", url=f"{SITE}/feed.xml"))
    with caplog.at_level(logging.INFO, logger="services.ingest"), crawler:
        record = crawler.crawl(source)
    by_path = {a.url.removeprefix(SITE): a for a in publisher.articles}

    # Too large: refused and recorded, never truncated (HEAD cut the text to 200,000 characters,
    # and 170,000 CJK characters, 510 KB, passed whole).
    assert "/big" not in by_path
    assert record.failed["text_too_large"] == 1
    health = source_health(registry, source.id, settings)
    assert health.failed.get("text_too_large") == 1 and health.last_status == "partial"
    assert any("too large" in r.message and f"{MAX_TEXT_BYTES:,}" in getattr(r, "error", "") for r in caplog.records)

    # Implausible dates: dropped, reason logged, article kept with its date unknown (HEAD dropped
    # the feed date silently). A page's implausible date gives way to the feed's.
    assert by_path["/old-date"].published_at == RECENT.replace(microsecond=0)
    assert by_path["/no-date"].published_at is None
    dropped = [getattr(r, "error", "") for r in caplog.records if "implausible" in r.message]
    assert any("1970-01-01" in e and "before 1995-01-01" in e for e in dropped), dropped

    # Titles: control and bidi control characters removed (HEAD kept them).
    assert by_path["/bidi"].title == "Harga beras naik lagi"

    # Credentials: gone from the stored and the canonical URL (HEAD kept them in both).
    creds = by_path["/creds"]
    assert (creds.url, creds.canonical_url) == (f"{SITE}/creds", f"{SITE}/creds")
    assert record.published == 4


def test_a_stored_pattern_re2_cannot_compile_fails_the_crawl_with_a_reason(registry: SourceRegistry) -> None:
    publisher = Recorder()
    crawler, _ = _crawler(registry, publisher)
    source = registry.create(SourceCreate(type="rss", name="Berita", url=f"{SITE}/feed.xml"))
    # Written before patterns ran on RE2 (the API refuses it now): look-ahead.
    registry.es.update(
        index=registry.indices.sources, id=source.id, doc={"include_patterns": ["^/(?=b)"]}, refresh=True
    )
    with crawler:
        record = crawler.crawl(registry.get(source.id))
    assert record.status == "failed" and record.failed["bad_pattern"] == 1
    assert "look" in (record.error or "") or "(?=" in (record.error or "")
    assert publisher.articles == []
