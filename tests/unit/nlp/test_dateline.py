"""Datelines: where a story was filed from, found at the start of the text and kept out of
entities, mention counts and the summary."""

from __future__ import annotations

import pytest

from services.enrich.nlp import annotate
from services.enrich.nlp.dateline import find_dateline, outlet_prefix_end


@pytest.mark.parametrize(
    ("text", "dateline", "place", "name", "code"),
    [
        ("KUDUS, Lintas Muria – Sebanyak 300 perajin", "KUDUS, Lintas Muria – ", "KUDUS", "Kudus", "3319"),
        ("BLORA (klikjateng) - Pemkab Blora meraih", "BLORA (klikjateng) - ", "BLORA", "Blora", "3316"),
        (
            "Semarang, 12/3 (ANTARA) - Gubernur Jawa Tengah",
            "Semarang, 12/3 (ANTARA) - ",
            "Semarang",
            "Semarang",
            "3374",
        ),
        ("Klikjateng, Semarang – Pemerintah Kabupaten", "Klikjateng, Semarang – ", "Semarang", "Semarang", "3374"),
        ("JAKARTA, KOMPAS.com - Presiden", "JAKARTA, KOMPAS.com - ", "JAKARTA", "Jakarta", "31"),
        ("Liputan6.com, Jakarta - Presiden", "Liputan6.com, Jakarta - ", "Jakarta", "Jakarta", "31"),
        ("TRIBUNJATENG.COM, KUDUS - Warga", "TRIBUNJATENG.COM, KUDUS - ", "KUDUS", "Kudus", "3319"),
        ("Wamena, Senin (5/5/2025) — Warga", "Wamena, Senin (5/5/2025) — ", "Wamena", "Wamena", None),
        ("Kudus, 5 Juni 2024 - Warga", "Kudus, 5 Juni 2024 - ", "Kudus", "Kudus", "3319"),
        ("PURWOKERTO - Petani", "PURWOKERTO - ", "PURWOKERTO", "Purwokerto", None),
        ("BLORA–Pemkab Blora", "BLORA–", "BLORA", "Blora", "3316"),
        ("Jepara -- Warga", "Jepara -- ", "Jepara", "Jepara", "3320"),
    ],
)
def test_dateline_forms(text: str, dateline: str, place: str, name: str, code: str | None) -> None:
    found = find_dateline(text)
    assert found is not None
    assert text[found.start : found.end] == dateline
    assert text[found.place_start : found.place_end] == found.place == place
    assert (found.name, found.region_code) == (name, code)


@pytest.mark.parametrize(
    "text",
    [
        "Pemerintah Provinsi Jawa Tengah menggelar operasi pasar murah - kata warga",
        "Pemerintah Kabupaten Blora – yang meraih penghargaan",  # a name before a dash, no marker
        "Lintas Muria – berita",  # an outlet alone is not a place
        "PENADEWATA.ID - Pemerintah Kota Denpasar",  # a domain, no place
        "Al-Azhar menggelar wisuda",  # a hyphen inside a word
        "Sebanyak 300 perajin - dari enam kecamatan",
        "",
        "KUDUS",
    ],
)
def test_not_a_dateline(text: str) -> None:
    assert find_dateline(text) is None


def test_dateline_is_stored_and_kept_out_of_entities_and_summary() -> None:
    text = (
        "KUDUS, Lintas Muria – Ketua Asosiasi Perajin Ukir Jepara, Slamet Riyadi, berharap festival ini membuka "
        "pasar baru di Jepara.\nFestival berlangsung hingga Minggu dan terbuka untuk umum.\n"
        "Panitia menyiapkan lomba mengukir relief di Jepara."
    )
    result = annotate(text, "Festival Ukir Jepara 2024 Libatkan 300 Perajin")
    assert result["dateline"] == {
        "text": "KUDUS, Lintas Muria –",
        "place": "KUDUS",
        "name": "Kudus",
        "start": 0,
        "end": 22,
        "region_code": "3319",
    }
    assert all(e["start"] >= 22 for e in result["entities"])
    assert "KUDUS" not in {e["text"] for e in result["entities"]}
    assert result["summary"][0].startswith("Ketua Asosiasi Perajin Ukir Jepara")
    assert all("Lintas Muria" not in s for s in result["summary"])
    for e in result["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]


def test_no_dateline_is_null() -> None:
    assert annotate("Pemerintah Kabupaten Blora meraih predikat Sangat Baik.")["dateline"] is None


def test_an_outlet_credit_without_a_place_is_kept_out_of_the_summary() -> None:
    text = "PENADEWATA.ID - Pemerintah Kota Denpasar menambah 20 truk sampah.\nVolume sampah naik.\nWarga senang."
    assert outlet_prefix_end(text) == len("PENADEWATA.ID - ")
    assert outlet_prefix_end("Rimanews - Polda Sumatera Utara menangkap dua pelaku.") == 0
    result = annotate(text)
    assert result["dateline"] is None
    assert result["summary"][0].startswith("Pemerintah Kota Denpasar")
    assert all(e["start"] >= len("PENADEWATA.ID - ") for e in result["entities"])
