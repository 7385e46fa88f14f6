"""Extraction on hand-written Indonesian pages: text without boilerplate, dates with zones,
metadata from JSON-LD/OpenGraph, charsets."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.ingest.extract import ExtractedArticle, extract
from services.ingest.extract.cli import extract_main

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
WIB = timezone(timedelta(hours=7))
WITA = timezone(timedelta(hours=8))
WIT = timezone(timedelta(hours=9))
BOILERPLATE = (
    "Baca juga",
    "Baca Juga",
    "BACA JUGA",
    "Simak juga",
    "Editor:",
    "Penulis:",
    "Bagikan",
    "Facebook",
    "WhatsApp",
    "komentar",
    "Semoga cepat surut",
    "Tags:",
    "Tag:",
    "Berita Terkini",
    "Berita Terkait",
    "Hak cipta",
    "Beranda",
    "Jalan Pantura Macet",
    "Harga Beras",
)


def load(name: str) -> tuple[bytes, str]:
    return (FIXTURES / f"{name}.html").read_bytes(), (FIXTURES / f"{name}.url").read_text().strip()


def expected(name: str) -> str:
    return (FIXTURES / f"{name}.expected.txt").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("name", ["wordpress_baca_juga", "jsonld_news", "custom_cms_wit"])
def test_body_is_exactly_the_article_paragraphs(name: str) -> None:
    html, url = load(name)
    article = extract(html, url, now=NOW)
    assert article.text.split("\n") == expected(name).split("\n")
    for marker in BOILERPLATE:
        assert marker not in article.text


def test_wordpress_page_metadata_and_wib_dateline() -> None:
    html, url = load("wordpress_baca_juga")
    article = extract(html, url, now=NOW)
    assert article.title == "Banjir Rendam Ratusan Rumah di Kudus"
    assert article.published_at == datetime(2025, 5, 5, 14, 30, tzinfo=WIB)
    assert article.published_at.utcoffset() == timedelta(hours=7)
    assert article.date_source == "html"
    assert article.author == "Rina Kartika"
    assert article.outlet == "Suara Muria"
    # WordPress themes declare lang="en-US" on Indonesian sites; the text decides.
    assert article.language == "id"
    assert article.canonical_url == "https://suaramuria.example.id/2025/05/05/banjir-rendam-ratusan-rumah-di-kudus/"
    assert article.image == "https://suaramuria.example.id/wp-content/uploads/2025/05/banjir-kudus.jpg"
    assert article.tags == ["banjir", "kudus"]


def test_jsonld_news_article_wins_with_wita_offset() -> None:
    html, url = load("jsonld_news")
    article = extract(html, url, now=NOW)
    assert article.published_at == datetime(2025, 4, 29, 9, 15, tzinfo=WITA)
    assert article.published_at.utcoffset() == timedelta(hours=8)
    assert article.date_source == "jsonld"
    assert article.modified_at == datetime(2025, 4, 29, 11, 0, tzinfo=WITA)
    assert article.authors == ["Maria Lumenta", "Johan Rompas"]
    assert article.language == "id"
    assert article.categories == ["Ekonomi"]
    assert article.tags == ["nelayan", "solar", "Bitung"]


def test_custom_cms_numeric_date_with_wit_and_credit_line_author() -> None:
    html, url = load("custom_cms_wit")
    article = extract(html, url, now=NOW)
    assert article.published_at == datetime(2025, 5, 5, 10, 45, tzinfo=WIT)
    assert article.author == "Yohanes Wenda"
    assert article.title == "Festival Danau Sentani Kembali Digelar"


def test_future_date_is_rejected_and_feed_date_used() -> None:
    html = b"""<html lang="id"><head>
    <meta property="article:published_time" content="2031-01-01T08:00:00+07:00">
    <title>Jadwal Pelantikan Bupati</title></head><body><article><h1>Jadwal Pelantikan Bupati</h1>
    <p>Pelantikan bupati dan wakil bupati terpilih dijadwalkan berlangsung di gedung DPRD provinsi.
    Seluruh undangan diminta hadir satu jam sebelum acara dimulai untuk pemeriksaan keamanan.</p>
    <p>Panitia menyiapkan tempat duduk bagi sekitar lima ratus tamu dari berbagai daerah.</p>
    </article></body></html>"""
    feed_date = datetime(2025, 5, 20, 6, 0, tzinfo=WIB)
    article = extract(
        html,
        "https://berita.example.id/pelantikan",
        fallback_published_at=feed_date,
        fallback_date_source="feed",
        now=NOW,
    )
    assert article.published_at == feed_date
    assert article.date_source == "feed"


def test_implausibly_old_and_future_dates_without_fallback_give_none() -> None:
    html = b"""<html><head><meta property="article:published_time" content="1970-01-01T00:00:00Z">
    <meta name="date" content="2099-01-01"></head><body><p>Isi berita singkat.</p></body></html>"""
    article = extract(html, "https://berita.example.id/lama", now=NOW)
    assert article.published_at is None
    assert article.date_source is None


def test_future_feed_date_is_rejected_too() -> None:
    article = extract(
        "<html><body><p>Teks</p></body></html>",
        "https://x.example.id/a",
        fallback_published_at=NOW + timedelta(days=2),
        fallback_date_source="sitemap",
        now=NOW,
    )
    assert article.published_at is None


def test_windows_1252_page_decodes_from_meta_and_header() -> None:
    body = (
        '<html><head><meta charset="windows-1252"><title>Caf\u00e9 di Braga</title></head><body><article>'
        "<h1>Caf\u00e9 di Braga</h1><p>\u201cKami buka sejak 1998,\u201d kata pemilik caf\u00e9 itu, "
        "yang menjual kopi tubruk dan roti bakar kepada mahasiswa di Bandung setiap pagi hingga malam.</p>"
        "<p>Menurut dia, pengunjung paling ramai datang pada akhir pekan dan hari libur nasional.</p>"
        "</article></body></html>"
    ).encode("cp1252")
    for kwargs in ({}, {"encoding": "windows-1252"}):
        article = extract(body, "https://bandung.example.id/cafe", now=NOW, **kwargs)
        assert "\u201cKami buka sejak 1998,\u201d kata pemilik caf\u00e9 itu" in article.text
        assert article.title == "Caf\u00e9 di Braga"
        assert "\ufffd" not in article.text


def test_header_charset_wins_over_a_wrong_meta_declaration() -> None:
    body = (
        '<html><head><meta charset="utf-8"></head><body><article><p>Warga Sleman menggelar '
        "kirab budaya \u00e0 la Jogja di sepanjang jalan utama desa pada Minggu pagi bersama "
        "para seniman dan pelajar dari berbagai sekolah di kabupaten tersebut.</p></article></body></html>"
    ).encode("cp1252")
    article = extract(body, "https://x.example.id/kirab", encoding="cp1252", now=NOW)
    assert "\u00e0 la Jogja" in article.text


def test_malformed_or_empty_html_does_not_raise() -> None:
    for html in ("", "   ", b"", "<html><body></body></html>", "<?xml version='1.0' encoding='utf-8'?><html/>"):
        article = extract(html, "https://x.example.id/kosong", now=NOW)
        assert isinstance(article, ExtractedArticle)
        assert article.text == ""
    assert isinstance(extract(b"\x00\x01\xff", "https://x.example.id/biner", now=NOW), ExtractedArticle)


def test_to_json_has_offsets_and_author() -> None:
    html, url = load("jsonld_news")
    data = json.loads(extract(html, url, now=NOW).to_json())
    assert data["published_at"] == "2025-04-29T09:15:00+08:00"
    assert data["author"] == "Maria Lumenta"
    assert data["date_source"] == "jsonld"


def test_cli_reads_file_and_prints_one_json_object() -> None:
    _, url = load("wordpress_baca_juga")
    out = io.StringIO()
    code = extract_main(["--url", url, "--html-file", str(FIXTURES / "wordpress_baca_juga.html")], io.StringIO(), out)
    assert code == 0
    data = json.loads(out.getvalue())
    assert set(data) == {"title", "text", "published_at", "author", "image", "language", "canonical_url", "date_source"}
    assert data["published_at"] == "2025-05-05T14:30:00+07:00"
    assert data["date_source"] == "html"
    assert "Baca juga" not in data["text"]


def test_cli_reads_stdin() -> None:
    html, url = load("jsonld_news")
    out = io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(html), encoding="utf-8")
    assert extract_main(["--url", url], stdin, out) == 0
    assert json.loads(out.getvalue())["title"] == "Nelayan Bitung Keluhkan Solar Langka"


def test_cli_missing_file_is_an_error() -> None:
    out = io.StringIO()
    assert extract_main(["--url", "https://x.example.id/", "--html-file", "/nonexistent.html"], io.StringIO(), out) == 1
