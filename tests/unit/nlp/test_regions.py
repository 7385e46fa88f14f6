from concurrent.futures import ThreadPoolExecutor

from services.enrich.nlp import annotate


def _codes(text: str, title: str | None = None) -> list[str]:
    return [r["code"] for r in annotate(text, title)["regions"]]


def test_kabupaten_and_kota_of_the_same_name_are_told_apart() -> None:
    assert _codes("Bupati Semarang meresmikan pasar baru di Ungaran. Pemkab Semarang menyiapkan anggaran.")[:2] == [
        "3322",
        "33",
    ]
    assert _codes("Wali Kota Semarang meninjau banjir. Pemkot Semarang mengerahkan pompa.")[:2] == ["3374", "33"]


def test_dateline_and_province_abbreviation() -> None:
    codes = _codes("Blora – Warga Blora menyambut panen raya. Pemprov Jateng mengirim bantuan benih.")
    assert codes == ["3316", "33"]


def test_common_words_that_are_region_names_need_a_cue() -> None:
    text = "Polda Metro Jaya menangkap pelaku di Jakarta Selatan. Batu akik itu dijual mahal."
    codes = _codes(text)
    assert "1872" not in codes  # Kota Metro, Lampung
    assert "3579" not in codes  # Kota Batu, Jawa Timur
    assert "3174" in codes  # Jakarta Selatan


def test_no_region_evidence_gives_no_regions() -> None:
    assert _codes("Harga emas dunia naik tipis pada perdagangan hari ini.") == []


def test_annotate_is_thread_safe_and_deterministic() -> None:
    text = "Pemkab Blora menerima penghargaan dari Kemenpan RB. Bupati Blora, H. Arief Rohman, bersyukur."
    expected = annotate(text)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: annotate(text), range(16)))
    assert all(r == expected for r in results)
