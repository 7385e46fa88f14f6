"""The three Indonesian page types whose noise trafilatura lets through: photo galleries,
related-article lists with dates, reporter/editor credits. Pages from the ``idnoise/tune``
fixtures (the ``eval`` half is for ``make eval-extraction`` only) and small inline pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import html as lxml_html

from services.ingest.extract import extract
from services.ingest.extract.boilerplate import is_boilerplate_line, prune_tree

TUNE = Path(__file__).parent / "fixtures" / "idnoise" / "tune"
NOW = datetime(2025, 11, 10, tzinfo=UTC)


def _page(name: str) -> tuple[bytes, dict[str, str], list[str]]:
    meta = json.loads((TUNE / f"{name}.json").read_text(encoding="utf-8"))
    gold = (TUNE / f"{name}.expected.txt").read_text(encoding="utf-8").strip().split("\n")
    return (TUNE / f"{name}.html").read_bytes(), meta, gold


@pytest.mark.parametrize(
    ("name", "noise"),
    [
        ("gallery_national_foto", ["Foto 1 dari 6", "Petani menggaruk kristal", "Foto Lainnya", "(rhd/asp)", "13 Agu"]),
        ("gallery_wp_jnews", ["Telah dilihat", "1.287", "Pedagang sate menata", "wedang jahe", "Foto: Dok."]),
        (
            "related_national_inline",
            ["Pompa Air Kaligawe", "Bandarharjo", "Harga Cabai", "Baca:", "Laporan Wartawan", "16:09", "WIB"],
        ),
        ("related_wp_generic", ["Berita Lainnya", "Pabrik Gula Trangkil", "Pupuk Subsidi", "Pansus", "WIB"]),
        ("credits_national_read", ["Penulis", "Editor", "Kontributor Grobogan", "Baca juga", "WhatsApp Channel"]),
        ("credits_wp_regional", ["Reporter:", "Editor:", "Kontributor Kudus", "(mp/af)", "Baca juga"]),
    ],
)
def test_noise_is_gone_and_the_article_kept(name: str, noise: list[str]) -> None:
    html, meta, gold = _page(name)
    article = extract(html, meta["url"], now=NOW)
    assert article.text.split("\n") == gold
    for marker in noise:
        assert marker not in article.text


@pytest.mark.parametrize("name", sorted(p.stem for p in TUNE.glob("*.json")))
def test_publication_day_and_zone_of_the_fixture(name: str) -> None:
    html, meta, _ = _page(name)
    article = extract(html, meta["url"], now=NOW)
    gold = datetime.fromisoformat(meta["published"])
    assert article.published_at is not None
    assert article.published_at.date() == gold.date()
    assert article.published_at.utcoffset() == gold.utcoffset()
    assert abs(article.published_at - gold) < timedelta(minutes=1)


def test_related_list_dates_do_not_become_the_publication_date() -> None:
    # the first dated element is the header's "today"; then related items from other days
    html = """<html lang="id"><body>
    <div class="header-date">Senin, 10 November 2025 08:00 WIB</div>
    <article><h1>Jembatan Kali Serang Diperbaiki</h1>
    <div class="date">Rabu, 3 September 2025 10:15 WIB</div>
    <div class="content"><p>DEMAK - Jembatan Kali Serang yang retak sejak bulan lalu mulai diperbaiki oleh Dinas
    Pekerjaan Umum. Perbaikan ditargetkan selesai dalam tiga minggu.</p>
    <p>Selama perbaikan, kendaraan berat dialihkan melalui jalur Mranggen dan Gubug.</p></div>
    <ul><li><a href="/a">Kali Serang Meluap Lagi di Musim Hujan</a> <span>Senin, 1 September 2025 18:20 WIB</span></li>
    <li><a href="/b">Truk Terguling di Jalan Pantura Demak</a> <span>Minggu, 31 Agustus 2025 07:45 WIB</span></li></ul>
    </article></body></html>"""
    article = extract(html, "https://demakkita.example.id/2025/09/03/jembatan-kali-serang/", now=NOW)
    assert article.published_at == datetime(2025, 9, 3, 10, 15, tzinfo=article.published_at.tzinfo)
    assert article.published_at.utcoffset() == timedelta(hours=7)
    assert "Truk Terguling" not in article.text and "Kali Serang Meluap" not in article.text
    assert "Mranggen dan Gubug" in article.text


def test_dated_link_list_is_pruned_whatever_its_class() -> None:
    tree = lxml_html.document_fromstring(
        "<html><body><div class='x'><p>Isi berita yang panjang tentang banjir di Kudus dan Pati.</p>"
        "<div class='y'><p><a href='/a'>Harga Beras Naik di Pasar Kliwon</a><br>Kamis, 05 November 2015 16:09 WIB</p>"
        "<p><a href='/b'>Warga Kudus Gelar Kerja Bakti</a><br>Rabu, 04 November 2015 09:00 WIB</p></div>"
        "</div></body></html>"
    )
    prune_tree(tree)
    text = tree.text_content()
    assert "Harga Beras" not in text and "Kerja Bakti" not in text
    assert "Isi berita yang panjang" in text


def test_a_gallery_is_pruned_but_a_figure_in_the_text_is_not() -> None:
    tree = lxml_html.document_fromstring(
        "<html><body><article><p>Paragraf pertama berita tentang festival.</p>"
        "<div class='photo-gallery'><img src='1.jpg'><p>Penari tampil, Sabtu (3/2/2024) 09.12 WIB.</p>"
        "<img src='2.jpg'><p>Foto 2 dari 8</p></div>"
        "<div class='gallery-intro'><img src='3.jpg'><p>Satu foto dengan keterangan panjang.</p></div>"
        "<p>Paragraf kedua berita.</p></article></body></html>"
    )
    prune_tree(tree)
    text = tree.text_content()
    assert "Penari tampil" not in text and "Foto 2 dari 8" not in text
    assert "Satu foto dengan keterangan panjang" in text  # one image: not a gallery
    assert "Paragraf kedua berita." in text


@pytest.mark.parametrize(
    "line",
    [
        "Foto 3 dari 12",
        "Telah dilihat 1.287 kali",
        "Dibaca 2.431 kali",
        "Foto 2 dari 5 · Dilihat 987 kali",
        "3/8",
        "Petani menggaruk kristal garam di tambak. Foto: Rinto Hadi/kabarnusaFoto",
        "Pompa Air Kaligawe Mati, Genangan Meluas Kamis, 05 November 2015 13:12 WIB",
        "Kamis, 05 November 2015 16:09 WIB",
        "Persiapan Imlek di Pontianak 02/02/2024, 16:45 WIB",
        "Kontributor Kudus: Nur Halim",
        "Kontributor Grobogan, Puthut Dwi",
        "Laporan Wartawan Wartaraya, Dimas Aryo",
        "Pewarta: Arnas Padda",
        "Penulis: Kontributor Singkawang, Hendra Cipta | Editor: Sabrina Asril",
        "(rhd/asp)",
        "Baca: Tanggul Laut Semarang Ditargetkan Rampung 2017",
        "Berita Terpopuler",
        "Simak breaking news dan berita pilihan kami langsung di ponselmu.",
    ],
)
def test_noise_lines(line: str) -> None:
    assert is_boilerplate_line(line)


@pytest.mark.parametrize(
    "line",
    [
        # article sentences that end in a date and time, or mention photos and views
        "Rapat paripurna digelar pada Kamis, 5 November 2015 pukul 10.00 WIB.",
        "Harga cabai turun menjadi Rp 30.000 pada Kamis, 5 November 2015 16:09 WIB, kata pedagang di Pasar Johar.",
        "Polisi mengatakan video itu telah dilihat 3 juta kali di media sosial sebelum dihapus.",
        "Foto-foto kerusakan jembatan beredar luas di grup WhatsApp warga sejak pagi.",
        "Kontributor kami di lapangan melaporkan antrean kendaraan sepanjang dua kilometer di gerbang tol.",
    ],
)
def test_article_lines_are_kept(line: str) -> None:
    assert not is_boilerplate_line(line)
