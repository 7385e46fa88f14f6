"""Feeds as regional outlets serve them: Atom, RSS with odd dates and encodings, Google News
sitemaps. Each case states the exact instant (UTC) and title the parser must return."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ingest.crawler.charset import decode_xml
from services.ingest.crawler.discovery import DiscoveryError, parse_feed, parse_sitemap
from services.ingest.dates import WIB, parse_feed_date
from services.ingest.demo_sites.content import load_site
from services.ingest.demo_sites.feed_sites import atom_feed, feed_date, khatulistiwa_feed, news_sitemap

FEED_URL = "http://kabar.test/feed/"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "offset_h"),
    [
        ("Sen, 05 Des 2026 07:00:00 WIB", utc(2026, 12, 5, 0, 0), 7),
        ("Senin, 05 Des 2026 07:00:00 WIB", utc(2026, 12, 5, 0, 0), 7),
        ("Sabtu, 5 Desember 2026 07:00 WITA", utc(2026, 12, 4, 23, 0), 8),
        ("Sab, 05 Des 2026 07:00:00 WIT", utc(2026, 12, 4, 22, 0), 9),
        ("Sat, 05 Dec 2026 07:00:00 WIB", utc(2026, 12, 5, 0, 0), 7),
        ("Jum'at, 04 Des 2026 19:00:00 +0700", utc(2026, 12, 4, 12, 0), 7),
        ("Kam, 03 Agu 2026 14.30 WIB", utc(2026, 8, 3, 7, 30), 7),
        ("Rab, 02 Okt 26 08:15:00 WITA", utc(2026, 10, 2, 0, 15), 8),
        ("Min, 01 Mei 2026 12:00:00 GMT", utc(2026, 5, 1, 12, 0), 0),
        ("Mon, 06 Jul 2026 10:00:00 -0000", utc(2026, 7, 6, 10, 0), 0),
        ("Tue, 07 Jul 2026 10:00:00 EST", utc(2026, 7, 7, 15, 0), -5),
        ("2026-12-05T07:00:00+07:00", utc(2026, 12, 5, 0, 0), 7),
        ("2026-12-05 07:00:00+08:00", utc(2026, 12, 4, 23, 0), 8),
        ("2026-12-05T07:00:00Z", utc(2026, 12, 5, 7, 0), 0),
        ("2026-12-05T07:00+09:00", utc(2026, 12, 4, 22, 0), 9),
        ("  Sen,  05 Des 2026\n 07:00:00 WIB ", utc(2026, 12, 5, 0, 0), 7),
    ],
)
def test_feed_dates_with_a_zone(value: str, expected: datetime, offset_h: int) -> None:
    parsed = parse_feed_date(value)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=offset_h)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sat, 05 Dec 2026 07:00:00", utc(2026, 12, 5, 0, 0)),
        ("Sab, 05 Des 2026 07:00", utc(2026, 12, 5, 0, 0)),
        ("2026-12-05T07:00:00", utc(2026, 12, 5, 0, 0)),
        ("2026-12-05 07:00:00", utc(2026, 12, 5, 0, 0)),
    ],
)
def test_feed_dates_without_a_zone_are_read_in_the_default_zone_or_unknown(value: str, expected: datetime) -> None:
    assert parse_feed_date(value) is None
    parsed = parse_feed_date(value, WIB)
    assert parsed == expected and parsed is not None and parsed.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    "value",
    ["", "  ", "2026-12-05", "kemarin sore", "Sen, 05 Des 2026", "Sen, 32 Des 2026 07:00 WIB", "05 Xyz 2026 07:00 WIB"],
)
def test_feed_dates_that_are_unknown(value: str) -> None:
    assert parse_feed_date(value, WIB) is None


def test_demo_site_date_styles_round_trip() -> None:
    for value in (
        datetime(2025, 6, 2, 7, 15, tzinfo=timezone(timedelta(hours=7))),
        datetime(2025, 6, 3, 10, 0, tzinfo=timezone(timedelta(hours=8))),
        datetime(2025, 6, 7, 16, 45, tzinfo=timezone(timedelta(hours=9))),
    ):
        for style in ("id_word", "en_word", "iso", "rfc822"):
            assert parse_feed_date(feed_date(value, style)) == value, style
    assert feed_date(datetime(2025, 6, 2, 7, 15, tzinfo=WIB), "id_word") == "Sen, 02 Jun 2025 07:15:00 WIB"


# --- Atom ---------------------------------------------------------------------------------------

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://kabar.test/berita/" xml:lang="id">
  <title>Kabar</title>
  <link rel="self" href="/atom.xml"/>
  <link rel="alternate" href="/"/>
  <id>tag:kabar.test,2026:feed</id>
  <updated>2026-12-05T09:00:00+08:00</updated>
  <entry>
    <title type="html">Banjir Rob &amp;amp; Angin Kencang di &amp;lt;i&amp;gt;Pesisir&amp;lt;/i&amp;gt;</title>
    <link rel="replies" type="text/html" href="daerah/banjir-rob#komentar"/>
    <link rel="enclosure" type="image/jpeg" href="/media/1.jpg" length="10"/>
    <link rel="alternate" type="text/html" href="daerah/banjir-rob"/>
    <id>tag:kabar.test,2026:1</id>
    <published>2026-12-05T07:30:00+08:00</published>
    <updated>2026-12-05T09:00:00+08:00</updated>
    <content type="html">&lt;p&gt;Air laut naik.&lt;/p&gt;</content>
  </entry>
  <entry xml:base="http://kabar.test/opini/">
    <title type="html">&lt;b&gt;Menjaga&lt;/b&gt; Hutan Bakau</title>
    <link href="menjaga-hutan-bakau"/>
    <id>tag:kabar.test,2026:2</id>
    <updated>2026-12-04T10:00:00Z</updated>
  </entry>
  <entry>
    <title type="text">Harga &lt;Cabai&gt; Turun</title>
    <link rel="alternate" type="application/pdf" href="/cetak/3.pdf"/>
    <link rel="alternate" type="text/html" href="http://kabar.test/ekonomi/harga-cabai-turun"/>
    <id>tag:kabar.test,2026:3</id>
    <published>2026-12-03T06:00:00+07:00</published>
    <updated>2026-12-03T06:00:00+07:00</updated>
  </entry>
</feed>
"""


def test_atom_links_dates_and_titles() -> None:
    discovery = parse_feed(ATOM, "http://kabar.test/atom.xml", "application/atom+xml")
    assert not discovery.failures
    items = {item.url: item for item in discovery.items}
    assert list(items) == [
        "http://kabar.test/berita/daerah/banjir-rob",
        "http://kabar.test/opini/menjaga-hutan-bakau",
        "http://kabar.test/ekonomi/harga-cabai-turun",
    ]
    first = items["http://kabar.test/berita/daerah/banjir-rob"]
    assert first.title == "Banjir Rob & Angin Kencang di <i>Pesisir</i>"
    assert first.published_at == utc(2026, 12, 4, 23, 30)
    assert first.lastmod == utc(2026, 12, 5, 1, 0)
    assert first.date_source == "feed"
    # An entry with "updated" only: that is its date.
    second = items["http://kabar.test/opini/menjaga-hutan-bakau"]
    assert second.title == "Menjaga Hutan Bakau"
    assert second.published_at == second.lastmod == utc(2026, 12, 4, 10, 0)
    third = items["http://kabar.test/ekonomi/harga-cabai-turun"]
    assert third.title == "Harga <Cabai> Turun"
    assert third.published_at == utc(2026, 12, 2, 23, 0)


def test_demo_atom_feed() -> None:
    site = load_site("suarakawanua")
    body = atom_feed("http://127.0.0.1:8105", site.articles).encode()
    discovery = parse_feed(body, "http://127.0.0.1:8105/atom.xml", "application/atom+xml")
    assert [i.url for i in discovery.items] == [
        f"http://127.0.0.1:8105/berita/{a.category.lower()}/{a.slug}" for a in site.articles
    ]
    assert [i.title for i in discovery.items] == [a.title for a in site.articles]
    assert discovery.items[0].title == "Nelayan Bitung Dapat Bantuan Mesin Tempel & Jaring"
    assert discovery.items[0].published_at == utc(2025, 6, 4, 23, 30)
    # The oldest entry has no <published>: its <updated> is its date.
    assert discovery.items[-1].published_at == site.articles[-1].modified == utc(2025, 6, 2, 1, 0)


# --- RSS: odd dates and encodings ---------------------------------------------------------------


def rss(items: str, *, declared: str = "UTF-8", language: str = "id") -> str:
    return (
        f'<?xml version="1.0" encoding="{declared}"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Kabar</title>'
        f"<link>http://kabar.test/</link><language>{language}</language>{items}</channel></rss>"
    )


def test_rss_indonesian_dates_zone_words_naive_iso_and_dc_date() -> None:
    body = rss(
        "<item><title>Satu</title><link>http://kabar.test/1</link><pubDate>Sen, 05 Des 2026 07:00:00 WIB</pubDate></item>"
        "<item><title>Dua</title><link>http://kabar.test/2</link><pubDate>Sel, 06 Des 2026 07:00:00 WITA</pubDate></item>"
        "<item><title>Tiga</title><link>http://kabar.test/3</link><pubDate>Rab, 07 Des 2026 07:00:00 WIT</pubDate></item>"
        "<item><title>Empat</title><link>http://kabar.test/4</link><pubDate>Thu, 08 Dec 2026 07:00:00</pubDate></item>"
        "<item><title>Lima</title><link>http://kabar.test/5</link><pubDate>2026-12-09T07:00:00+07:00</pubDate></item>"
        "<item><title>Enam</title><link>http://kabar.test/6</link><dc:date>2026-12-10T07:00:00+07:00</dc:date></item>"
        "<item><title>Tujuh</title><link>http://kabar.test/7</link><pubDate>kemarin</pubDate></item>"
    ).encode()
    items = parse_feed(body, FEED_URL, "application/rss+xml").items
    assert [(i.title, i.published_at) for i in items] == [
        ("Satu", utc(2026, 12, 5, 0, 0)),
        ("Dua", utc(2026, 12, 5, 23, 0)),
        ("Tiga", utc(2026, 12, 6, 22, 0)),
        ("Empat", utc(2026, 12, 8, 0, 0)),  # no zone, an Indonesian feed: WIB
        ("Lima", utc(2026, 12, 9, 0, 0)),
        ("Enam", utc(2026, 12, 10, 0, 0)),  # dc:date only
        ("Tujuh", None),
    ]


def test_rss_naive_dates_of_a_feed_not_known_to_be_indonesian_are_unknown() -> None:
    body = rss(
        "<item><title>A</title><link>http://kabar.test/a</link><pubDate>Thu, 08 Dec 2026 07:00:00</pubDate></item>",
        language="en",
    ).encode()
    assert parse_feed(body, FEED_URL).items[0].published_at is None
    assert parse_feed(body, "http://kabar.co.id/feed/").items[0].published_at == utc(2026, 12, 8, 0, 0)


TITLE = "Kafé “Kopi” – Pontianak"


def _latin_items() -> str:
    return f"<item><title>{TITLE}</title><link>http://kabar.test/k</link><pubDate>Sen, 05 Des 2026 07:00:00 WIB</pubDate></item>"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # windows-1252 bytes declared ISO-8859-1 (WHATWG: the same), no charset in the header.
        (rss(_latin_items(), declared="ISO-8859-1").encode("cp1252"), "application/rss+xml"),
        # windows-1252 declared in the prolog, the header lies (utf-8).
        (rss(_latin_items(), declared="windows-1252").encode("cp1252"), "application/rss+xml; charset=utf-8"),
        # UTF-8 with a BOM, the header lies (iso-8859-1).
        (b"\xef\xbb\xbf" + rss(_latin_items()).encode(), "text/xml; charset=iso-8859-1"),
        # UTF-8 without BOM, declared ISO-8859-1 in the prolog: valid UTF-8 wins.
        (rss(_latin_items(), declared="ISO-8859-1").encode(), "text/xml"),
        # UTF-16 with a BOM.
        (rss(_latin_items(), declared="UTF-16").encode("utf-16"), "application/xml"),
    ],
    ids=["latin1-prolog", "header-lies-utf8", "bom-header-lies-latin1", "utf8-declared-latin1", "utf16-bom"],
)
def test_rss_encodings(body: bytes, content_type: str) -> None:
    (item,) = parse_feed(body, FEED_URL, content_type).items
    assert item.title == TITLE
    assert item.published_at == utc(2026, 12, 5, 0, 0)


def test_decode_xml_order() -> None:
    text = rss(_latin_items(), declared="windows-1252")
    assert decode_xml(text.encode("cp1252"), "text/xml; charset=utf-8").encoding == "cp1252"
    assert decode_xml(b"\xef\xbb\xbf" + text.encode(), "text/xml; charset=iso-8859-1").source == "bom"
    assert decode_xml(text.encode(), "text/xml; charset=iso-8859-1").encoding == "utf-8"
    # No declaration, not UTF-8: the header decides.
    assert decode_xml("<rss>Kafé</rss>".encode("cp1252"), "text/xml; charset=iso-8859-1").text == "<rss>Kafé</rss>"


def test_rss_titles_with_entities_and_cdata() -> None:
    body = rss(
        "<item><title>Harga Cabai &amp;amp; Bawang &amp;quot;Meroket&amp;quot;</title><link>http://kabar.test/1</link></item>"
        "<item><title>&#8220;Festival&#8221; Danau &#8211; Sentani</title><link>http://kabar.test/2</link></item>"
        "<item><title><![CDATA[<b>Banjir</b> di Sintang & Sekadau]]></title><link>http://kabar.test/3</link></item>"
        "<item><title>  Spasi\n   Berlebih  </title><link>http://kabar.test/4</link></item>"
        "<item><title>Pajak &lt; 5 Persen</title><link>http://kabar.test/5</link></item>"
    ).encode()
    assert [i.title for i in parse_feed(body, FEED_URL).items] == [
        'Harga Cabai & Bawang "Meroket"',
        "“Festival” Danau – Sentani",
        "Banjir di Sintang & Sekadau",
        "Spasi Berlebih",
        "Pajak < 5 Persen",
    ]


def test_demo_khatulistiwa_feeds() -> None:
    site = {a.id: a for a in load_site("khatulistiwa").articles}
    seen = set()
    for name in ("latin1", "charset", "bom"):
        body, content_type = khatulistiwa_feed("http://127.0.0.1:8106", name)
        for item in parse_feed(body, "http://127.0.0.1:8106/rss/x.xml", content_type).items:
            a = site[int(item.url.split("/")[4])]
            assert item.title == a.title
            assert item.published_at == a.published
            seen.add(a.id)
    assert seen == set(site)


def test_a_malformed_feed_still_raises() -> None:
    with pytest.raises(DiscoveryError):
        parse_feed(b"<html><body>Bukan feed</body></html>", FEED_URL, "text/html")


# --- Google News sitemaps -----------------------------------------------------------------------

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
 <url><loc>http://kabar.test/a</loc>
  <news:news><news:publication><news:name>Kabar</news:name><news:language>id</news:language></news:publication>
   <news:publication_date>2026-12-05T07:30:00+08:00</news:publication_date>
   <news:title>Nelayan &amp;amp; Petani</news:title></news:news></url>
 <url><loc>http://kabar.test/b</loc>
  <news:news><news:publication><news:name>Kabar</news:name><news:language>id</news:language></news:publication>
   <news:publication_date>2026-12-05T07:30</news:publication_date><news:title>Tanpa Zona</news:title></news:news></url>
 <url><loc>http://kabar.test/c</loc>
  <news:news><news:publication><news:name>Kabar</news:name><news:language>en</news:language></news:publication>
   <news:publication_date>2026-12-05</news:publication_date><news:title>Hanya Tanggal</news:title></news:news></url>
</urlset>
"""


def test_google_news_sitemap_entries() -> None:
    kind, entries = parse_sitemap(NEWS_SITEMAP)
    assert kind == "urlset"
    assert [(e["loc"], e["news_language"], e["news_title"]) for e in entries] == [
        ("http://kabar.test/a", "id", "Nelayan &amp; Petani"),
        ("http://kabar.test/b", "id", "Tanpa Zona"),
        ("http://kabar.test/c", "en", "Hanya Tanggal"),
    ]


def test_demo_news_sitemap_dates() -> None:
    site = load_site("suarakawanua")
    _, entries = parse_sitemap(news_sitemap("http://127.0.0.1:8105", site.articles).encode())
    stamps = [e["news_published"] for e in entries]
    assert stamps[:3] == ["2025-06-05T07:30:00+08:00", "2025-06-04T10:15+08:00", "2025-06-03T00:00:00Z"]
    assert [parse_feed_date(s) for s in stamps] == [a.published for a in site.articles]
