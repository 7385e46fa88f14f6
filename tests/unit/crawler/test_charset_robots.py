from __future__ import annotations

import codecs

import pytest

from services.ingest.crawler.charset import decode_body
from services.ingest.crawler.robots import RobotsCache

TEXT = "Kafe “Kopi Lereng” – kopi robusta dari lereng Slamet"


def test_header_charset_wins() -> None:
    decoded = decode_body(TEXT.encode("cp1252"), "text/html; charset=windows-1252")
    assert (decoded.text, decoded.source) == (TEXT, "header")


def test_meta_charset_when_header_has_none() -> None:
    body = (
        b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>'
        + TEXT.encode("cp1252")
    )
    decoded = decode_body(body, "text/html")
    assert TEXT in decoded.text and decoded.source == "meta"


def test_iso_8859_1_label_means_windows_1252() -> None:
    decoded = decode_body(TEXT.encode("cp1252"), "text/html; charset=ISO-8859-1")
    assert decoded.text == TEXT


@pytest.mark.parametrize(("bom", "encoding"), [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")])
def test_bom_beats_a_wrong_header(bom: bytes, encoding: str) -> None:
    decoded = decode_body(bom + TEXT.encode(encoding), "text/html; charset=iso-8859-1")
    assert (decoded.text, decoded.source) == (TEXT, "bom")


def test_xml_declaration() -> None:
    body = '<?xml version="1.0" encoding="windows-1252"?><rss><title>“x”</title></rss>'.encode("cp1252")
    assert "“x”" in decode_body(body, "application/xml").text


def test_detection_without_any_declaration() -> None:
    body = ("<p>" + TEXT + " " + "Pemerintah kabupaten menata ulang trayek angkutan kota. " * 20 + "</p>").encode(
        "cp1252"
    )
    decoded = decode_body(body, None)
    assert decoded.source == "detected"
    assert "“Kopi Lereng”" in decoded.text


def test_lying_utf8_header_falls_through() -> None:
    decoded = decode_body(b'<meta charset="utf-8">' + TEXT.encode("cp1252"), "text/html; charset=utf-8")
    assert "\ufffd" not in decoded.text or decoded.source != "header"


def _robots(status: int, text: str = "", error: Exception | None = None) -> RobotsCache:
    def fetch(url: str) -> tuple[int, str]:
        if error:
            raise error
        return status, text

    return RobotsCache(fetch, "WartaBot/0.1 (+https://example)")


def test_robots_disallow_and_allow() -> None:
    robots = _robots(200, "User-agent: *\nDisallow: /berita/draf/\nDisallow: /cari\n")
    assert robots.check("http://a.example/berita/draf/2024/x.html") == "robots"
    assert robots.allowed("http://a.example/berita/2024/x.html")
    assert not robots.allowed("http://a.example/cari?q=x")


def test_robots_specific_agent_and_crawl_delay() -> None:
    robots = _robots(200, "User-agent: WartaBot\nDisallow: /privat/\nCrawl-delay: 3\n\nUser-agent: *\nDisallow: /\n")
    assert robots.allowed("http://a.example/berita/x")
    assert not robots.allowed("http://a.example/privat/x")
    assert robots.crawl_delay("http://a.example/") == 3.0


def test_robots_missing_means_allow_all() -> None:
    assert _robots(404).allowed("http://a.example/anything")


def test_robots_unreachable_means_disallow_with_reason() -> None:
    assert _robots(503).check("http://a.example/x") == "robots_unreachable"

    class Timeout(Exception):
        reason = "timeout"

    assert _robots(0, error=Timeout()).check("http://a.example/x") == "timeout"


def test_robots_fetched_once_per_host() -> None:
    calls: list[str] = []

    def fetch(url: str) -> tuple[int, str]:
        calls.append(url)
        return 200, "User-agent: *\nDisallow:\n"

    robots = RobotsCache(fetch, "WartaBot/0.1")
    for path in ("a", "b", "c"):
        robots.allowed(f"http://a.example/{path}")
    robots.allowed("http://b.example/")
    assert calls == ["http://a.example/robots.txt", "http://b.example/robots.txt"]
