"""The backfill walkers (services/ingest/crawler/backfill.py) on fixture documents served by
``httpx.MockTransport``: what one page of history yields and where the walk continues; and the
``since`` rules of the API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.ingest.crawler.backfill import BackfillJob, check_since, initial_cursor, position_of, walk_page
from services.ingest.crawler.models import Source
from tests.unit.crawler.test_fetcher import make_fetcher

SINCE = datetime(2024, 3, 1, tzinfo=UTC)
REQUESTED = datetime(2026, 1, 1, tzinfo=UTC)
BASE = "http://berita.example"


def source(type_: str, path: str, **extra: Any) -> Source:
    now = datetime.now(UTC)
    return Source(id="s", type=type_, name="S", url=BASE + path, created_at=now, updated_at=now, **extra)


def xml(body: str) -> httpx.Response:
    return httpx.Response(200, content=body.encode(), headers={"content-type": "application/xml"})


INDEX = """<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>/sm-2024-01.xml</loc><lastmod>2024-01-31T10:00:00+07:00</lastmod></sitemap>
<sitemap><loc>/sm-2024-03.xml</loc><lastmod>2024-03-30T10:00:00+07:00</lastmod></sitemap>
<sitemap><loc>/sm-undated.xml</loc></sitemap>
<sitemap><loc>/sm-2024-06.xml</loc><lastmod>2024-06-30T10:00:00+07:00</lastmod></sitemap>
</sitemapindex>"""
URLSET = """<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>/a/baru-sekali-terbit</loc><lastmod>2024-03-20T08:00:00+07:00</lastmod></url>
<url><loc>/a/berita-tanpa-tanggal</loc></url>
<url><loc>/a/berita-lama-sekali</loc><lastmod>2024-04-02T08:00:00Z</lastmod>
 <news:news><news:publication_date>2024-02-10T08:00:00+07:00</news:publication_date></news:news></url>
<url><loc>/a/berita-lama-diubah</loc><lastmod>2024-02-28T23:00:00Z</lastmod></url>
</urlset>"""


def test_sitemap_index_skips_children_older_than_since_and_walks_newest_first() -> None:
    fetcher = make_fetcher(lambda r: xml(INDEX))
    page = walk_page(
        fetcher, source("sitemap", "/index.xml"), SINCE, initial_cursor(source("sitemap", "/index.xml")), REQUESTED
    )
    assert page.items == [] and page.older == 1
    assert page.cursor == {"queue": [f"{BASE}/sm-undated.xml", f"{BASE}/sm-2024-06.xml", f"{BASE}/sm-2024-03.xml"], "offset": 0}  # fmt: skip


def test_sitemap_urlset_keeps_entries_dated_since_and_undated_ones() -> None:
    fetcher = make_fetcher(lambda r: xml(URLSET))
    cursor = {"queue": [f"{BASE}/sm-2024-03.xml", f"{BASE}/sm-2024-01.xml"], "offset": 0}
    page = walk_page(fetcher, source("sitemap", "/index.xml"), SINCE, cursor, REQUESTED)
    # news:publication_date beats lastmod: a February article modified in April is older than since.
    assert [i.url for i in page.items] == [f"{BASE}/a/baru-sekali-terbit", f"{BASE}/a/berita-tanpa-tanggal"]
    assert page.older == 2
    assert page.oldest == datetime(2024, 3, 20, 1, 0, tzinfo=UTC)
    assert page.cursor == {"queue": [f"{BASE}/sm-2024-01.xml"], "offset": 0}


def test_sitemap_urlset_is_walked_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.ingest.crawler.backfill.CHUNK", 3)
    fetcher = make_fetcher(lambda r: xml(URLSET))
    first = walk_page(
        fetcher, source("sitemap", "/sm.xml"), SINCE, {"queue": [f"{BASE}/sm.xml"], "offset": 0}, REQUESTED
    )
    assert first.cursor == {"queue": [f"{BASE}/sm.xml"], "offset": 3}
    last = walk_page(fetcher, source("sitemap", "/sm.xml"), SINCE, first.cursor, REQUESTED)
    assert last.cursor is None and last.items == [] and last.older == 1


def wp_handler(total_pages: int, posts: list[dict[str, Any]], seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=posts, headers={"X-WP-TotalPages": str(total_pages)})

    return handler


def post(n: int, day: str) -> dict[str, Any]:
    return {"id": n, "link": f"{BASE}/{day}/post-nomor-{n}/", "date_gmt": f"{day}T01:00:00",
            "modified_gmt": f"{day}T01:00:00", "title": {"rendered": f"Post {n}"}}  # fmt: skip


def test_wordpress_walks_pages_with_after_and_before() -> None:
    seen: list[httpx.Request] = []
    fetcher = make_fetcher(wp_handler(3, [post(1, "2024-05-02"), post(2, "2024-04-01")], seen))
    page = walk_page(fetcher, source("wordpress", "/"), SINCE, {"page": 2}, REQUESTED)
    query = parse_qs(urlsplit(str(seen[0].url)).query)
    assert query["after"] == ["2024-03-01T00:00:00"] and query["before"] == ["2026-01-01T00:00:00"]
    assert query["page"] == ["2"] and query["orderby"] == ["date"] and query["order"] == ["desc"]
    assert [i.url for i in page.items] == [f"{BASE}/2024-05-02/post-nomor-1/", f"{BASE}/2024-04-01/post-nomor-2/"]
    assert page.cursor == {"page": 3}


def test_wordpress_ends_at_the_last_page_or_at_an_older_post() -> None:
    last = walk_page(make_fetcher(wp_handler(3, [post(1, "2024-05-02")], [])), source("wordpress", "/"), SINCE,
                     {"page": 3}, REQUESTED)  # fmt: skip
    assert last.cursor is None and len(last.items) == 1
    # A site that ignores ``after``: the first post older than since ends the walk.
    ignoring = make_fetcher(wp_handler(9, [post(1, "2024-03-02"), post(2, "2024-02-01")], []))
    page = walk_page(ignoring, source("wordpress", "/"), SINCE, {"page": 1}, REQUESTED)
    assert page.cursor is None and page.older == 1 and len(page.items) == 1
    past_the_end = make_fetcher(lambda r: httpx.Response(400, json={"code": "rest_post_invalid_page_number"}))
    assert walk_page(past_the_end, source("wordpress", "/"), SINCE, {"page": 4}, REQUESTED).cursor is None


LISTING = """<html><body><nav><a href="/">Beranda</a><a href="/kanal/ekonomi">Ekonomi</a></nav>
<a href="/berita/2024/03/harga-beras-turun-lagi.html">Harga beras</a>
<a href="/berita/2024/03/harga-beras-turun-lagi.html?utm_source=x">Harga beras</a>
<a href="https://lain.example/berita/situs-lain-sama-sekali.html">Lain</a>
<a href="?hal=3">Selanjutnya</a></body></html>"""


def test_listing_page_yields_article_links_and_the_next_page() -> None:
    fetcher = make_fetcher(lambda r: httpx.Response(200, text=LISTING, headers={"content-type": "text/html"}))
    page = walk_page(
        fetcher, source("listing", "/berita/"), SINCE, {"url": f"{BASE}/berita/?hal=2", "pages": 1}, REQUESTED
    )
    assert [i.url for i in page.items] == [f"{BASE}/berita/2024/03/harga-beras-turun-lagi.html"]
    assert page.cursor == {"url": f"{BASE}/berita/?hal=3", "pages": 2}
    assert position_of(page.cursor) == f"{BASE}/berita/?hal=3"


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>A</title><link>http://berita.example/a/berita-baru-satu</link><pubDate>Mon, 03 Jun 2024 09:00:00 +0700</pubDate></item>
<item><title>B</title><link>http://berita.example/a/berita-lama-dua</link><pubDate>Mon, 05 Feb 2024 09:00:00 +0700</pubDate></item>
</channel></rss>"""


def test_feed_is_one_page_and_says_it_is_limited() -> None:
    fetcher = make_fetcher(lambda r: httpx.Response(200, text=FEED, headers={"content-type": "application/rss+xml"}))
    page = walk_page(fetcher, source("rss", "/feed/"), SINCE, {"feed": f"{BASE}/feed/"}, REQUESTED)
    assert [i.url for i in page.items] == [f"{BASE}/a/berita-baru-satu"]
    assert page.cursor is None and page.older == 1
    assert page.limited == "feed only holds 2 recent items"


def test_source_patterns_apply_to_history() -> None:
    fetcher = make_fetcher(lambda r: xml(URLSET))
    src = source("sitemap", "/sm.xml", exclude_patterns=["tanpa-tanggal"])
    page = walk_page(fetcher, src, SINCE, {"queue": [f"{BASE}/sm.xml"], "offset": 0}, REQUESTED)
    assert [i.url for i in page.items] == [f"{BASE}/a/baru-sekali-terbit"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("2024-02-30", "not a date"), ("01-03-2024", "not a date"), ("2026-12-06", "in the future"),
     ("2021-12-04", "more than 5 years back")],
)  # fmt: skip
def test_since_is_refused_with_a_reason(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_since(value, date(2026, 12, 5))


def test_since_accepts_today_and_five_years_back() -> None:
    assert check_since("2026-12-05", date(2026, 12, 5)) == date(2026, 12, 5)
    assert check_since("2021-12-05", date(2026, 12, 5)) == date(2021, 12, 5)
    assert check_since("2019-02-28", date(2024, 2, 29)) == date(2019, 2, 28)


def test_job_since_is_midnight_utc() -> None:
    now = datetime.now(UTC)
    job = BackfillJob(source_id="s", source_type="rss", state="queued", since=date(2024, 3, 1), requested_at=now,
                      updated_at=now)  # fmt: skip
    assert job.since_dt == SINCE
