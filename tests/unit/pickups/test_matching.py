"""Press-release pickups, pure parts: containment scoring, the title and lead comparisons, the
candidate phrases and query, the scorecard arithmetic and the CSV cells (no network)."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, datetime, timedelta

from services.search.pickups import ReleaseText, pickup_of, score, scorecard
from services.search.pickups.export import PICKUP_COLUMNS, pickups_csv, proof_html
from services.search.pickups.matching import candidate_query, lead_diff, phrases, title_changed
from tests.integration.search.pickup_corpus import RELEASE_PARAGRAPHS, RELEASE_TEXT, RELEASE_TITLE, UNRELATED

RELEASE = ReleaseText.of(RELEASE_TITLE, RELEASE_TEXT)
OWN_STORY = [
    "Di Kecamatan Randublatung, antrean di kios pupuk sudah terlihat sejak pagi karena pasokan datang terlambat "
    "dua hari dari gudang distributor di Cepu.",
    "Seorang petani, Sutrisno, mengaku harus membeli pupuk eceran dengan harga lebih mahal agar tanamannya tidak "
    "telat dipupuk menjelang musim hujan.",
    "Ketua kelompok tani setempat berharap pemerintah menambah kuota pupuk bersubsidi tahun depan karena luas "
    "lahan garapan warga terus bertambah.",
    "Pantauan di lapangan, sebagian besar sawah di wilayah itu masih menunggu air irigasi dari Waduk Bentolo "
    "yang debitnya menurun sejak bulan lalu.",
    "Petugas penyuluh mengimbau petani menggunakan pupuk organik buatan sendiri sebagai tambahan untuk menekan "
    "biaya produksi selama harga belum turun.",
]
AT = datetime(2025, 6, 2, 2, tzinfo=UTC)


def test_copies_with_boilerplate_keep_everything_and_unrelated_articles_do_not_match() -> None:
    copy = "BLORA – " + RELEASE_TEXT + "\n\nBaca juga: Harga gabah naik\n\nEditor: Rudi"
    assert score(RELEASE, copy) == score(RELEASE, RELEASE_TEXT)
    assert score(RELEASE, copy).kept == 1.0 and score(RELEASE, copy).carried
    half = score(RELEASE, "\n\n".join(RELEASE_PARAGRAPHS[:2]))
    assert half.carried and half.share == 1.0 and 0.3 < half.kept < 0.5  # kept only the first half
    assert not score(RELEASE, UNRELATED).carried
    # One paragraph of the release as background in a long article of its own is not a pickup.
    host = "\n\n".join([UNRELATED, *OWN_STORY[:2], RELEASE_PARAGRAPHS[2], *OWN_STORY[2:]])
    assert not score(RELEASE, host).carried
    assert not score(RELEASE, "").carried


def test_title_changes_ignore_case_punctuation_and_spacing() -> None:
    assert not title_changed(RELEASE_TITLE, "  " + RELEASE_TITLE.upper() + "!!")
    assert title_changed(RELEASE_TITLE, "Ribuan Petani Blora Terima Benih Padi Gratis")


def test_the_lead_diff_marks_dropped_and_added_words_in_order() -> None:
    diff = lead_diff("Bupati Blora membagikan benih padi", "Hari ini Bupati Blora membagikan bibit padi")
    assert diff == [{"op": "insert", "text": "Hari ini"}, {"op": "equal", "text": "Bupati Blora membagikan"},
                    {"op": "delete", "text": "benih"}, {"op": "insert", "text": "bibit"},
                    {"op": "equal", "text": "padi"}]  # fmt: skip
    assert lead_diff("", "") == []


def test_candidate_phrases_are_spread_over_the_release_and_the_query_is_windowed() -> None:
    found = phrases(RELEASE)
    assert found[0] == "Pemerintah Kabupaten Blora menyalurkan" and all(len(p.split()) == 4 for p in found)
    assert any(p in RELEASE_PARAGRAPHS[-1] for p in found)  # the last paragraph has phrases too
    query = candidate_query(RELEASE, AT, AT + timedelta(days=7), ["orig"])["bool"]
    assert query["minimum_should_match"] == 2 and len(query["should"]) == len(found)
    assert query["must_not"] == [{"ids": {"values": ["orig"]}}]
    when = query["filter"][0]["bool"]["should"][0]["range"]["published_at"]
    assert when == {"gte": (AT - timedelta(days=1)).isoformat(), "lte": (AT + timedelta(days=7)).isoformat()}


def _src(ident: str, outlet: str, body: str, minutes: int, title: str = RELEASE_TITLE) -> dict[str, object]:
    at = (AT + timedelta(minutes=minutes)).isoformat()
    return {"id": ident, "outlet": outlet, "source": "x.example", "title": title, "url": f"https://x.example/{ident}",
            "body": body, "published_at": at, "ingested_at": at}  # fmt: skip


def test_a_pickup_record_and_the_scorecard_arithmetic() -> None:
    p = pickup_of(RELEASE, AT, _src("a", "Suara Blora", RELEASE_TEXT, -30))
    assert p is not None and p["delay_s"] == -1800 and p["kept"] == 1.0 and not p["title_changed"]
    assert pickup_of(RELEASE, AT, _src("b", "Suara Blora", UNRELATED, 10)) is None
    half = "\n\n".join(RELEASE_PARAGRAPHS[:3])
    r1 = [pickup_of(RELEASE, AT, _src("a", "A", RELEASE_TEXT, 60)), pickup_of(RELEASE, AT, _src("b", "A", half, 10)),
          pickup_of(RELEASE, AT, _src("c", "B", half, 300))]  # fmt: skip
    r2 = [pickup_of(RELEASE, AT, _src("d", "A", half, 120))]
    rows = scorecard([({"id": "1"}, r1), ({"id": "2"}, r2), ({"id": "3"}, [])])  # type: ignore[list-item]
    a, b = rows
    assert a["outlet"] == "A" and a["releases_carried"] == 2 and a["articles"] == 3 and a["carried_share"] == 0.6667
    assert a["median_delay_s"] == (600 + 7200) / 2  # the first delay per release: 10 min, then 2 h
    assert a["mean_kept"] == round((1.0 + r2[0]["kept"]) / 2, 4)  # type: ignore[index]
    assert b == {"outlet": "B", "releases_carried": 1, "carried_share": 0.3333, "articles": 1,
                 "median_delay_s": 18000, "mean_kept": r1[2]["kept"]}  # type: ignore[index]  # fmt: skip


def test_csv_cells_are_neutralised_and_times_are_in_jakarta() -> None:
    p = pickup_of(RELEASE, AT, _src("a", '=HYPERLINK("x")', RELEASE_TEXT, -30, title="@judul"))
    release = {"id": "r1", "title": "+rilis", "released_at": AT.isoformat(), "pickups": [p]}
    data = pickups_csv(release)
    assert data.startswith(codecs.BOM_UTF8)
    (row,) = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(row) == PICKUP_COLUMNS
    assert row["outlet"].startswith("'=") and row["title"] == "'@judul" and row["release_title"] == "'+rilis"
    assert row["delay_minutes"] == "-30"  # a number, not neutralised
    assert row["published_at (Asia/Jakarta)"] == "2025-06-02T08:30:00+07:00"


def test_the_proof_sheet_escapes_article_text() -> None:
    p = pickup_of(RELEASE, AT, _src("a", "<script>x</script>", RELEASE_TEXT, 5))
    html = proof_html({"id": "r", "title": "<b>rilis</b>", "released_at": AT.isoformat(), "window_days": 7,
                       "window_end": (AT + timedelta(days=7)).isoformat(), "url": None, "pickups": [p]}, "en")  # fmt: skip
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;rilis" in html
    assert "Carried by 1 articles in 1 outlets." in html
