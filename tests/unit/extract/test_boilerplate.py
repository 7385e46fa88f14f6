"""Indonesian boilerplate lines and language detection."""

from __future__ import annotations

import pytest

from services.ingest.extract.boilerplate import clean_text, credited_authors, is_boilerplate_line
from services.ingest.extract.language import detect_language


@pytest.mark.parametrize(
    "line",
    [
        "Baca juga: Harga Cabai Naik Jelang Lebaran",
        "Baca Juga",
        "BACA JUGA: Bupati Lantik Pejabat Baru",
        "Simak juga: Video Banjir Bandang",
        "Lihat Juga: Foto-foto Karnaval",
        "Editor: Andi Prasetyo",
        "Penulis : Siti Aminah | Editor : Budi",
        "Pewarta: Rudi",
        "Tags: banjir, kudus",
        "Bagikan:",
        "Facebook Twitter WhatsApp",
        "ADVERTISEMENT",
        "SCROLL TO CONTINUE WITH CONTENT",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert is_boilerplate_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Bupati juga meminta warga membaca pengumuman di kantor desa.",
        "Editor senior itu mengatakan redaksi akan menindaklanjuti laporan warga tentang jalan rusak di desa mereka.",
        "Share of households with internet access rose to 80 percent.",
    ],
)
def test_article_lines_are_kept(line: str) -> None:
    assert not is_boilerplate_line(line)


def test_clean_text_drops_repeated_paragraphs_but_keeps_short_repeats() -> None:
    para = "Warga berharap pemerintah segera menormalisasi sungai yang dangkal."
    text = "\n".join([para, "Foto", "Baca juga: Judul Lain", para, "Foto"])
    assert clean_text(text).split("\n") == [para, "Foto", "Foto"]


def test_credit_line_authors() -> None:
    assert credited_authors("Isi\nPenulis: Yohanes Wenda | Editor: Markus\nReporter: Ani") == ["Yohanes Wenda", "Ani"]


def test_language_declared_then_vote() -> None:
    indonesian = "Pemerintah kota akan membangun jalan yang baru di desa ini dan juga untuk warga dari kecamatan lain."
    english = "The government said that the new road in the village will be built for the residents of the district."
    assert detect_language(["id-ID"], "") == "id"
    assert detect_language(["in"], "") == "id"
    assert detect_language(["en-US"], indonesian) == "id"
    assert detect_language([None], english) == "en"
    assert detect_language([None, "fr_FR"], "") == "fr"
    assert detect_language([], "") is None


def test_clean_head_drops_header_lines_only_at_the_top() -> None:
    from services.ingest.extract.boilerplate import clean_head

    text = "\n".join(
        [
            "Harga Beras Naik di Kudus",
            "Last updated: April 21, 2025",
            "5 min read",
            "Harga beras medium di pasar tradisional Kudus naik menjadi Rp14.000 per kilogram.",
            "Table of Contents",
            "Pedagang menyebut pasokan dari petani berkurang.",
            "Updated",
        ]
    )
    cleaned = clean_head(text, {"Harga Beras Naik di Kudus | Warta"} | {"Harga Beras Naik di Kudus"})
    assert cleaned.split("\n") == [
        "Harga beras medium di pasar tradisional Kudus naik menjadi Rp14.000 per kilogram.",
        "Pedagang menyebut pasokan dari petani berkurang.",
        "Updated",
    ]


def test_widget_class_on_the_whole_article_is_not_pruned() -> None:
    from lxml import html as lxml_html

    from services.ingest.extract.boilerplate import prune_tree

    paragraphs = "".join(f"<p>Paragraf isi berita nomor {i} yang cukup panjang.</p>" for i in range(20))
    tree = lxml_html.document_fromstring(
        f'<html><body><div class="share">{paragraphs}<div class="share">Facebook Twitter</div></div></body></html>'
    )
    prune_tree(tree)
    text = tree.text_content()
    assert "nomor 19" in text
    assert "Facebook" not in text


def test_precision_pass_trims_only_leading_and_trailing_blocks() -> None:
    from services.ingest.extract.core import _trim_edges

    body = [f"Paragraf {i} " + "kata " * 30 for i in range(6)]
    text = "\n".join(["Promo: langganan sekarang", *body, "Artikel lain dari penulis"])
    # The precision pass also dropped paragraph 2: interior lines stay.
    reference = "\n".join(body[:2] + body[3:])
    assert _trim_edges(text, reference).split("\n") == body
    # Trimming that would lose most of the words is refused.
    assert _trim_edges(text, body[0]) == text


def test_clean_text_keeps_repeated_list_items_but_drops_repeated_blocks() -> None:
    # A training plan or spec list repeats short items under each heading: kept.
    item = "- Pemanasan: jalan cepat 10 menit"
    plan = "\n".join(["Minggu 1", item, "- Lari 3 km", "Minggu 2", item, "- Lari 5 km"])
    assert clean_text(plan).split("\n") == plan.split("\n")
    # The same block printed twice (responsive duplicate of the article): the copy goes.
    block = ["Harga cabai naik di pasar", "Stok beras aman sampai Lebaran"]
    assert clean_text("\n".join(["Pembuka berita", *block, *block])).split("\n") == ["Pembuka berita", *block]


def test_clean_text_drops_form_lines() -> None:
    text = "Isi berita.\nEnter your email:\nSubscribe\nThanks for subscribing! Check your inbox."
    assert clean_text(text) == "Isi berita."
