"""Government bodies by pattern and by the alias dictionary, each with one canonical name."""

from __future__ import annotations

import pytest
import yaml

from services.enrich.nlp import annotate
from services.enrich.nlp.canonical import load_dictionary
from services.enrich.nlp.institutions import find_institutions
from services.enrich.nlp.text import tokenize
from services.ingest.demo_sites.content import DATA_DIR


def _orgs(text: str) -> list[tuple[str, str]]:
    return [(e["text"], e["canonical"]) for e in annotate(text)["entities"] if e["type"] == "ORG"]


@pytest.mark.parametrize(
    ("text", "surface", "canonical"),
    [
        # Pemerintah Provinsi/Kabupaten/Kota X and the short forms
        (
            "Pemerintah Provinsi Jawa Tengah menggelar operasi pasar murah.",
            "Pemerintah Provinsi Jawa Tengah",
            "Pemerintah Provinsi Jawa Tengah",
        ),
        ("Warga menyambut baik langkah Pemprov Jateng itu.", "Pemprov Jateng", "Pemerintah Provinsi Jawa Tengah"),
        ("Bantuan datang dari Pemkab Blora pekan ini.", "Pemkab Blora", "Pemerintah Kabupaten Blora"),
        ("Program itu dijalankan Pemkot Semarang sejak Mei.", "Pemkot Semarang", "Pemerintah Kota Semarang"),
        ("Pemerintah Kota Denpasar menambah 20 truk sampah.", "Pemerintah Kota Denpasar", "Pemerintah Kota Denpasar"),
        (
            "Pemerintahan Kota (Pemkot) Cirebon gencar membangun.",
            "Pemerintahan Kota (Pemkot) Cirebon",
            "Pemerintah Kota Cirebon",
        ),
        # Dinas ... X, listed and unlisted fields
        ("Kepala Dinas Kesehatan Blora meninjau lokasi.", "Dinas Kesehatan Blora", "Dinas Kesehatan Kabupaten Blora"),
        ("Data itu dari Dinkes Kudus.", "Dinkes Kudus", "Dinas Kesehatan Kabupaten Kudus"),
        (
            "Dinas Perindustrian dan Perdagangan Jawa Tengah menyampaikan hal itu.",
            "Dinas Perindustrian dan Perdagangan Jawa Tengah",
            "Dinas Perindustrian dan Perdagangan Provinsi Jawa Tengah",
        ),
        (
            "Dinas Pemuda dan Olahraga Kabupaten Blora menggelar lomba.",
            "Dinas Pemuda dan Olahraga Kabupaten Blora",
            "Dinas Pemuda dan Olahraga Kabupaten Blora",
        ),
        (
            "Menurut Dinas Lingkungan Hidup dan Kebersihan Denpasar volume sampah naik.",
            "Dinas Lingkungan Hidup dan Kebersihan Denpasar",
            "Dinas Lingkungan Hidup dan Kebersihan Kota Denpasar",
        ),
        # DPRD X
        ("Raperda itu disetujui DPRD Jepara kemarin.", "DPRD Jepara", "DPRD Kabupaten Jepara"),
        ("PPP memiliki 8 kursi di DPRD Jateng.", "DPRD Jateng", "DPRD Provinsi Jawa Tengah"),
        # Polres / Polda / Kodim X
        ("Pelaku diamankan di Polres Kudus.", "Polres Kudus", "Kepolisian Resor Kudus"),
        ("Polda Jabar mencatat korban bertambah.", "Polda Jabar", "Kepolisian Daerah Jawa Barat"),
        (
            "Kasus itu dilaporkan ke Kepolisian Daerah (Polda) Sumatera Utara.",
            "Kepolisian Daerah (Polda) Sumatera Utara",
            "Kepolisian Daerah Sumatera Utara",
        ),
        ("Penyidik Polda Metro Jaya memeriksa saksi.", "Polda Metro Jaya", "Kepolisian Daerah Metro Jaya"),
        ("Prajurit Kodim 0721/Blora ikut membantu warga.", "Kodim 0721/Blora", "Komando Distrik Militer Blora"),
        # Kementerian ...
        ("Aturan itu dari Kementerian Kesehatan dan Kemenkeu.", "Kemenkeu", "Kementerian Keuangan"),
        (
            "Kementerian Hukum dan HAM memutar video itu.",
            "Kementerian Hukum dan HAM",
            "Kementerian Hukum dan Hak Asasi Manusia",
        ),
        (
            "Menurut Juru Bicara Kementerian Luar Negeri RI Arrmanatha Nasir, kunjungan itu penting.",
            "Kementerian Luar Negeri",
            "Kementerian Luar Negeri",
        ),
        (
            "Kementerian Luar Negeri China meminta semua pihak tenang.",
            "Kementerian Luar Negeri China",
            "Kementerian Luar Negeri China",
        ),
        # Badan ...
        (
            "Badan Penanggulangan Bencana Daerah Pati mencatat 600 rumah tergenang.",
            "Badan Penanggulangan Bencana Daerah Pati",
            "Badan Penanggulangan Bencana Daerah Kabupaten Pati",
        ),
        ("Hadir pula Badan Gizi Nasional di acara itu.", "Badan Gizi Nasional", "Badan Gizi Nasional"),
        (
            "Rapat digelar di kantor Bappeda Kudus.",
            "Bappeda Kudus",
            "Badan Perencanaan Pembangunan Daerah Kabupaten Kudus",
        ),
        # RSUD X
        ("Korban dirawat di RSUD Kudus.", "RSUD Kudus", "Rumah Sakit Umum Daerah Kudus"),
    ],
)
def test_pattern_families(text: str, surface: str, canonical: str) -> None:
    assert (surface, canonical) in _orgs(text)


def test_a_name_after_a_ministry_is_not_part_of_it() -> None:
    orgs = _orgs("Direktur Jenderal Perhubungan Laut Kementerian Perhubungan Antonius Tonny Budiono menimbun uang.")
    assert ("Kementerian Perhubungan", "Kementerian Perhubungan") in orgs


def test_the_body_wins_over_a_longer_crf_span_around_it() -> None:
    orgs = _orgs("Kabid Humas Polda Metro Jaya Kombes Pol Awi Setiyono mengatakan ketiganya ditangkap.")
    assert ("Polda Metro Jaya", "Kepolisian Daerah Metro Jaya") in orgs


def test_generic_words_are_not_bodies() -> None:
    dictionary = load_dictionary()
    for text in ["Badan jalan itu rusak parah.", "Dinas itu belum menjawab.", "Kementerian menegaskan hal itu."]:
        assert find_institutions(tokenize(text), dictionary) == [], text


@pytest.mark.parametrize("site", ["lintasmuria", "kabarserayu", "penadewata"])
def test_demo_articles_opening_with_the_provincial_government_get_the_entity(site: str) -> None:
    data = yaml.safe_load((DATA_DIR / f"{site}.yaml").read_text(encoding="utf-8"))
    articles = [
        a for a in data["articles"] if a["paragraphs"][0].startswith("Pemerintah Provinsi Jawa Tengah menggelar")
    ]
    assert articles
    for article in articles:
        result = annotate("\n".join(article["paragraphs"]), article["title"])
        canon = {e["canonical"] for e in result["entities"] if e["type"] == "ORG"}
        assert "Pemerintah Provinsi Jawa Tengah" in canon
        assert "Dinas Perindustrian dan Perdagangan Provinsi Jawa Tengah" in canon
