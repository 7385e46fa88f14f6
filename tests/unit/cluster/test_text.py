from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.enrich.cluster.text import shingle_hashes, strip_boilerplate, tokens
from tests.unit.cluster.articles import ORIGINAL

BODY = "Pemkab Blora kembali menorehkan prestasi di kancah nasional."


def test_datelines_are_removed() -> None:
    for dateline in [
        "BLORA – ",
        "Semarang (ANTARA) - ",
        "klikjateng.com – ",
        "Klikjateng, Semarang – ",
        "JAKARTA, KOMPAS.com - ",
        "Liputan6.com, Jakarta -- ",
        "Wamena, Senin (5/5/2025) — ",
        "Suara.com - ",
    ]:
        assert strip_boilerplate(dateline + BODY) == BODY, dateline


def test_lead_sentence_without_dateline_is_kept() -> None:
    lead = "Ketua MPR Zulkifli Hasan menyesalkan kisruh transportasi - online dan tradisional."
    assert strip_boilerplate(lead) == lead
    score = "Barcelona menang 3 - 0 atas Real Madrid di Santiago Bernabeu."
    assert strip_boilerplate(score) == score


def test_boilerplate_lines_are_removed() -> None:
    text = "\n".join(
        [
            "BLORA – " + BODY,
            "Baca juga: Bupati Resmikan Jalan Baru",
            "BACA JUGA : Festival Budaya",
            "Simak juga: Video Banjir",
            "Paragraf kedua tetap ada.",
            "Bagikan: Facebook Twitter WhatsApp",
            "Artikel ini telah tayang di Jurnal Daerah dengan judul lain",
            "Dapatkan update berita pilihan setiap hari dari kami di Google News",
            "Pewarta: Dimas",
            "Editor: Lina Marlina",
            "Penulis: Dwi | Editor: Rudi",
            "Paragraf terakhir. (ant/rid)",
        ]
    )
    assert strip_boilerplate(text) == f"{BODY}\nParagraf kedua tetap ada.\nParagraf terakhir."


def test_tokens_ignore_case_punctuation_and_spacing() -> None:
    assert (
        tokens("Kata  PERTAMA,kata\tkedua!!")
        == tokens("kata pertama , kata kedua")
        == ["kata", "pertama", "kata", "kedua"]
    )


def test_shingles_are_sorted_unique_and_handle_short_texts() -> None:
    hashes = shingle_hashes(["a", "b", "c", "a", "b", "c"], 3)
    assert hashes.dtype == np.uint32
    assert list(hashes) == sorted(set(hashes.tolist()))
    assert hashes.size == 3  # abc, bca, cab
    assert shingle_hashes(["satu", "dua"], 3).size == 1
    assert shingle_hashes([], 3).size == 0


def test_shingle_hashes_are_stable_across_processes() -> None:
    """Workers on different machines must agree: no dependence on PYTHONHASHSEED."""
    here = shingle_hashes(tokens(ORIGINAL), 3).tolist()[:20]
    code = (
        "from services.enrich.cluster.text import shingle_hashes, tokens;"
        "from tests.unit.cluster.articles import ORIGINAL;"
        "print(shingle_hashes(tokens(ORIGINAL), 3).tolist()[:20])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == str(here)


_WORDS = st.lists(st.from_regex(r"[a-z]{2,9}", fullmatch=True), min_size=4, max_size=40)


@settings(max_examples=80, deadline=None)
@given(
    _WORDS,
    st.lists(st.sampled_from([" ", "  ", ", ", ". ", " - ", "\t", "; ", "! ", ": "]), min_size=40, max_size=40),
    st.integers(min_value=0, max_value=39),
)
def test_shingles_ignore_punctuation_spacing_and_boilerplate_lines(
    words: list[str], separators: list[str], cut: int
) -> None:
    plain = " ".join(words)
    noisy = "".join(word + separators[i] for i, word in enumerate(words))
    cut = min(cut, len(noisy))
    # A "Baca juga" block and a credit line break the body at an arbitrary word boundary.
    boundary = noisy.rfind(" ", 0, cut) + 1 if " " in noisy[:cut] else 0
    noisy = noisy[:boundary] + "\nBaca juga: Judul Lain\n" + noisy[boundary:] + "\nEditor: Lina"
    assert np.array_equal(shingle_hashes(tokens(plain), 3), shingle_hashes(tokens(noisy), 3))
