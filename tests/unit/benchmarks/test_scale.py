"""The pure helpers of ``make bench-scale`` (benchmarks/bench_scale.py): the growth exponent, the
checkpoint sizes, the generated queries and the table."""

from __future__ import annotations

import math

import pytest

from benchmarks.bench_scale import KINDS, format_table, growth_exponent, metric_rows, parse_sizes, query_sets
from services.search.query import parse


@pytest.mark.parametrize("b", [0.0, 0.5, 1.0, -0.25, 2.0])
def test_growth_exponent_recovers_a_power_law(b: float) -> None:
    sizes = [100_000, 300_000, 1_000_000]
    assert growth_exponent(sizes, [3.0 * n**b for n in sizes]) == pytest.approx(b, abs=1e-9)


def test_growth_exponent_is_the_least_squares_slope_on_log_log() -> None:
    sizes, values = [10, 100, 1000], [1.0, 10.0, 10.0]
    # log10 points (1, 0), (2, 1), (3, 1): slope 0.5 by least squares (in any log base).
    assert growth_exponent(sizes, values) == pytest.approx(0.5)
    # Unevenly spaced sizes: log10 points (0, 0), (1, 1), (3, 1) give 2/7 by least squares, not the
    # end-to-end slope 1/3.
    assert growth_exponent([1, 10, 1000], [1.0, 10.0, 10.0]) == pytest.approx(2 / 7)


def test_growth_exponent_skips_missing_values_and_needs_two_sizes() -> None:
    assert growth_exponent([10, 100, 1000], [None, 5.0, 50.0]) == pytest.approx(1.0)
    assert growth_exponent([10, 100, 1000], [0.0, 5.0, 50.0]) == pytest.approx(1.0)
    assert growth_exponent([10, 100], [None, 5.0]) is None
    assert growth_exponent([10], [5.0]) is None


def test_parse_sizes() -> None:
    assert parse_sizes("100000,300000,1000000") == [100_000, 300_000, 1_000_000]
    assert parse_sizes("5000, 15000") == [5000, 15000]
    for bad in ("", "5000,5000", "300,100", "0,10", "10,x"):
        with pytest.raises(ValueError, match="sizes"):
            parse_sizes(bad)


TEXTS = [
    "Pemerintah daerah membangun jembatan baru di desa Sukamaju bersama warga setempat pekan lalu.",
    "Warga desa Sukamaju menyambut jembatan baru yang dibangun pemerintah daerah bersama kontraktor.",
    "Banjir merendam persawahan warga di kabupaten Blora setelah hujan deras sepanjang malam.",
    "Persawahan warga kabupaten Blora terendam banjir setelah hujan deras, kata petugas setempat.",
    "Gubernur meresmikan pelabuhan baru yang diharapkan mendorong perdagangan antarpulau di wilayah timur.",
    "Pelabuhan baru diresmikan gubernur untuk mendorong perdagangan antarpulau dan pariwisata.",
] * 3
NAMES = ["Ganjar Pranowo", "Pemerintah Kabupaten Blora", 'Bad "Quoted" Name', "Joko Widodo", "Polres Pati"]


def test_query_sets_give_distinct_parsable_queries_of_every_kind() -> None:
    sets = query_sets(TEXTS, NAMES, 4, stopwords=["setelah", "bersama"])
    assert set(sets) == {*KINDS, "words"}
    for kind, queries in sets.items():
        assert len(queries) == 4, kind
        for q in queries:
            parse(q)
    assert len(set(sets["word"])) == 4 and not set(sets["word"]) & set(sets["words"])
    assert all(q.endswith("*") and len(q) == 6 for q in sets["prefix"])
    assert all(" NEAR/5 " in q for q in sets["near"])
    assert all(q.startswith('"') and q.count(" ") == 1 for q in sets["phrase"])
    assert all(q.startswith('entity:"') and "Quoted" not in q for q in sets["entity"])
    assert all(" AND NOT " in q and q.count(" OR ") >= 5 for q in sets["monitor"])
    assert not {w for q in sets["word"] for w in q.split()} & {"setelah", "bersama"}


def test_query_sets_are_reproducible() -> None:
    assert query_sets(TEXTS, NAMES, 4) == query_sets(TEXTS, NAMES, 4)
    assert query_sets(TEXTS, NAMES, 4, seed=1) != query_sets(TEXTS, NAMES, 4, seed=2)


def test_metric_rows_and_table() -> None:
    checkpoints = [
        {"size": 10, "index": {"articles_per_s": 100.0}, "export": {"peak_rss_mb": 80.0}},
        {"size": 100, "index": {"articles_per_s": 50.0}, "export": {"peak_rss_mb": 80.0}},
    ]
    rows = metric_rows(checkpoints)
    assert rows["index.articles_per_s"] == [100.0, 50.0]
    assert rows["search.near.p99_ms"] == [None, None]
    exponents = {name: growth_exponent([10, 100], values) for name, values in rows.items()}
    assert exponents["export.peak_rss_mb"] == pytest.approx(0.0)
    assert exponents["index.articles_per_s"] == pytest.approx(math.log10(0.5))
    table = format_table([10, 100], rows, exponents)
    assert "index.articles_per_s" in table and "-0.30" in table and "0.00" in table
