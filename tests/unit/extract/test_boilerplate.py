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
