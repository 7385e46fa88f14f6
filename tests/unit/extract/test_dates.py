"""Indonesian and machine date parsing, plausibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ingest.dates import date_from_url, is_plausible, parse_human_date, parse_machine_date

WIB = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("text", "expected", "has_time"),
    [
        ("Senin, 5 Mei 2025 14:30 WIB", datetime(2025, 5, 5, 14, 30, tzinfo=WIB), True),
        (
            "Kamis, 12 Desember 2024 | 09.15 WITA",
            datetime(2024, 12, 12, 9, 15, tzinfo=timezone(timedelta(hours=8))),
            True,
        ),
        ("Jum'at, 1 Agustus 2025 - 20:05 WIT", datetime(2025, 8, 1, 20, 5, tzinfo=timezone(timedelta(hours=9))), True),
        ("Selasa, 3 Juni 2024 pukul 10:00", datetime(2024, 6, 3, 10, 0, tzinfo=WIB), True),
        ("5/5/25", datetime(2025, 5, 5, tzinfo=WIB), False),
        ("05/05/2025 - 14:30 WIB", datetime(2025, 5, 5, 14, 30, tzinfo=WIB), True),
        ("17 Agt 2023", datetime(2023, 8, 17, tzinfo=WIB), False),
        ("Diposting 1 Nopember 2022 08:00 WIB", datetime(2022, 11, 1, 8, 0, tzinfo=WIB), True),
    ],
)
def test_indonesian_dates_keep_time_and_zone(text: str, expected: datetime, has_time: bool) -> None:
    parsed = parse_human_date(text)
    assert parsed is not None
    assert parsed.value == expected
    assert parsed.value.utcoffset() == expected.utcoffset()
    assert parsed.has_time is has_time


def test_invalid_day_is_not_a_date() -> None:
    assert parse_human_date("31 Februari 2025") is None
    assert parse_human_date("tidak ada tanggal di sini") is None


def test_machine_dates_keep_offsets_and_read_naive_in_default_zone() -> None:
    assert parse_machine_date("2025-05-05T14:30:00+07:00").value.utcoffset() == timedelta(hours=7)
    assert parse_machine_date("2025-05-05T07:30:00Z").value == datetime(2025, 5, 5, 7, 30, tzinfo=UTC)
    naive = parse_machine_date("2025-05-05 14:30:00", WIB)
    assert naive.value == datetime(2025, 5, 5, 14, 30, tzinfo=WIB)
    day = parse_machine_date("2025-05-05")
    assert day.has_time is False
    assert parse_machine_date("Senin, 5 Mei 2025 14:30 WIB", UTC).value.utcoffset() == timedelta(hours=7)
    assert parse_machine_date("bukan tanggal") is None


def test_url_dates() -> None:
    assert date_from_url("https://x.id/2025/05/05/judul/").value.date().isoformat() == "2025-05-05"
    assert date_from_url("https://x.id/read/20240131/judul").value.date().isoformat() == "2024-01-31"
    assert date_from_url("https://x.id/berita/12345") is None


def test_plausibility_window() -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    assert is_plausible(now - timedelta(days=1), now)
    assert is_plausible(now + timedelta(minutes=5), now)
    assert not is_plausible(now + timedelta(hours=2), now)
    assert not is_plausible(datetime(1994, 12, 31, tzinfo=UTC), now)
    assert not is_plausible(datetime(2025, 1, 1), now)  # naive


def test_long_separator_runs_parse_in_linear_time() -> None:
    # A nested optional quantifier in the time pattern once made this take minutes.
    assert parse_human_date("5 Mei 2025" + " " * 20000 + "x") is not None
    assert parse_human_date("12/12/2024" + " , " * 5000 + "x") is not None
