from __future__ import annotations

import gzip
from datetime import timedelta

import pytest

from services.ingest.crawler.discovery import (
    DiscoveryError,
    looks_like_article,
    parse_feed,
    parse_listing,
    parse_sitemap,
)

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>x</title>
<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
<item><title>Satu</title><link>https://a.example/2024/06/03/satu/?utm_source=rss</link>
<pubDate>Mon, 03 Jun 2024 09:15:00 +0700</pubDate></item>
<item><title>Dua</title><link>/relatif/dua/</link><pubDate>Tue, 04 Jun 2024 10:00:00 +0800</pubDate></item>
</channel></rss>"""


def test_rss_items_dates_keep_offsets_and_update_period() -> None:
    discovery = parse_feed(RSS, "https://a.example/feed/")
    assert [i.url for i in discovery.items] == ["https://a.example/2024/06/03/satu/", "https://a.example/relatif/dua/"]
    assert discovery.items[0].published_at is not None
    assert discovery.items[0].published_at.utcoffset() == timedelta(hours=7)
    assert discovery.items[1].published_at.utcoffset() == timedelta(hours=8)  # type: ignore[union-attr]
    assert discovery.update_period_s == 1800
    assert discovery.items[0].date_source == "feed"


def test_malformed_feed_is_a_discovery_error_not_a_crash() -> None:
    with pytest.raises(DiscoveryError) as exc:
        parse_feed(b"<html><body>Not a feed & broken", "https://a.example/feed/")
    assert exc.value.reason == "malformed_feed"


def test_partly_readable_feed_keeps_entries_and_records_failure() -> None:
    broken = b'<?xml version="1.0"?><rss><channel><title>x</title><item><title>a & b</title><link>https://a.example/x-y-z/</link></item><item><title>c'
    discovery = parse_feed(broken, "https://a.example/feed/")
    assert discovery.failures["malformed_feed"] == 1


SITEMAP_NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://a.example/berita/1.html</loc><lastmod>2024-06-05T09:20:00+07:00</lastmod>
<news:news><news:publication><news:name>A</news:name><news:language>id</news:language></news:publication>
<news:publication_date>2024-06-05T09:20:00+07:00</news:publication_date><news:title>Judul</news:title></news:news></url>
<url><loc>https://a.example/berita/2.html</loc><lastmod>2024-06-04</lastmod></url>
</urlset>"""


def test_google_news_sitemap() -> None:
    kind, entries = parse_sitemap(SITEMAP_NEWS)
    assert kind == "urlset"
    assert entries[0]["news_published"] == "2024-06-05T09:20:00+07:00"
    assert entries[0]["news_title"] == "Judul"
    assert entries[1]["lastmod"] == "2024-06-04"


def test_sitemap_index_and_gzip() -> None:
    index = b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://a.example/s1.xml</loc></sitemap></sitemapindex>'
    kind, entries = parse_sitemap(gzip.compress(index))
    assert kind == "index" and entries[0]["loc"] == "https://a.example/s1.xml"


@pytest.mark.parametrize("body", [b"<html><body>404</body></html>", b"<urlset><url><loc>x"])
def test_bad_sitemaps(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(body)


def test_sitemap_entities_are_not_resolved() -> None:
    xxe = (
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&e;</loc></url></urlset>'
    )
    try:
        _kind, entries = parse_sitemap(xxe)
    except DiscoveryError:
        return
    assert "root:" not in str(entries)


def test_listing_links_and_next_page() -> None:
    page = """<html><head><link rel="next" href="?hal=2"></head><body>
    <a href="2024/06/a.html?utm_source=x">A</a><a href="#top">top</a><a href="mailto:r@a.example">m</a>
    <a href="/berita/?hal=2">Selanjutnya</a></body></html>"""
    links, next_url = parse_listing(page, "https://a.example/berita/")
    assert "https://a.example/berita/2024/06/a.html?utm_source=x" in links
    assert next_url == "https://a.example/berita/?hal=2"
    links, next_url = parse_listing(
        '<a href="/b/">1</a><a href="/berita/?hal=3">Selanjutnya</a>', "https://a.example/berita/?hal=2"
    )
    assert next_url == "https://a.example/berita/?hal=3"


def test_article_heuristic() -> None:
    assert looks_like_article("https://a.example/2024/06/03/pemkab-kudus-perbaiki-jalan/")
    assert looks_like_article("https://a.example/read/20240603123456")
    assert not looks_like_article("https://a.example/category/ekonomi/")
    # A home page on a port, or on a host with a number, is no article (its host is no slug).
    assert not looks_like_article("http://127.0.0.1:8101/")
    assert not looks_like_article("https://radar2024.example")
