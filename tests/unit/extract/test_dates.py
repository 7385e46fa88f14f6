"""Indonesian and machine date parsing, plausibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ingest.dates import (
    PageDate,
    choose_published,
    date_from_url,
    is_plausible,
    parse_human_date,
    parse_machine_date,
)

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


# --- the publication-date cascade: agreement between signals, zones -------------------------

WITA = timezone(timedelta(hours=8))
WIT = timezone(timedelta(hours=9))
NOW = datetime(2025, 11, 10, tzinfo=UTC)


def _machine(value: str, tz: timezone = WIB) -> PageDate | None:
    return parse_machine_date(value, tz)


def test_agreeing_signals_beat_a_lone_structured_value() -> None:
    # JSON-LD carries a wrong day (a template's "today"); the markup, htmldate and the URL agree.
    signals = [
        ("jsonld", _machine("2025-11-10T06:00:00+07:00")),
        ("html", parse_human_date("Kamis, 5 November 2015 16:09 WIB")),
        ("htmldate", _machine("2015-11-05")),
        ("url", date_from_url("https://x.example.id/2015/11/05/banjir", WIB)),
    ]
    value, source = choose_published(signals, now=NOW, default_tz=WIB)
    assert (value, source) == (datetime(2015, 11, 5, 16, 9, tzinfo=WIB), "html")


def test_structured_metadata_wins_when_it_agrees_with_another_signal() -> None:
    # the markup's first timed date is a related-article stamp from the day before
    signals = [
        ("jsonld", _machine("2022-12-22T19:05:42+07:00")),
        ("html", parse_human_date("Rabu, 21 Des 2022 22:10 WIB")),
        ("htmldate", _machine("2022-12-22")),
    ]
    value, source = choose_published(signals, now=NOW, default_tz=WIB)
    assert (value, source) == (datetime(2022, 12, 22, 19, 5, 42, tzinfo=WIB), "jsonld")


def test_a_tie_goes_to_structured_metadata() -> None:
    signals = [("opengraph", _machine("2024-04-02T17:48:00+07:00")), ("url", _machine("2024-04-01"))]
    assert choose_published(signals, now=NOW, default_tz=WIB) == (datetime(2024, 4, 2, 17, 48, tzinfo=WIB), "opengraph")


def test_a_bare_day_takes_the_time_of_an_agreeing_signal() -> None:
    signals = [("jsonld", _machine("2024-08-30")), ("html", parse_human_date("30 Agustus 2024 07:55 WIB"))]
    value, source = choose_published(signals, now=NOW, default_tz=WIB)
    assert (value, source) == (datetime(2024, 8, 30, 7, 55, tzinfo=WIB), "html")


def test_feed_date_votes_and_fills_in_the_time() -> None:
    feed = datetime(2025, 3, 12, 12, 45, tzinfo=UTC)
    value, source = choose_published(
        [("url", _machine("2025-03-12"))], fallback=feed, fallback_source="feed", now=NOW, default_tz=WIB
    )
    assert source == "feed"
    assert value == feed and value.utcoffset() == timedelta(hours=7)  # same instant, shown in WIB


def test_utc_metadata_is_shown_in_the_zone_the_page_prints() -> None:
    # og:published_time in UTC on a Bali page that prints WITA: same instant, WITA wall clock
    signals = [
        ("opengraph", _machine("2024-10-21T01:12:09+00:00")),
        ("html", parse_human_date("21 Oktober 2024 09:12 WITA")),
    ]
    value, source = choose_published(signals, now=NOW, default_tz=WIB)
    assert source == "opengraph"
    assert value == datetime(2024, 10, 21, 9, 12, 9, tzinfo=WITA)
    assert value.utcoffset() == timedelta(hours=8)


def test_utc_metadata_late_in_the_day_counts_for_the_local_day() -> None:
    # 20:00 UTC on the 13th is 05:00 WIT on the 14th: the page's own day
    signals = [
        ("jsonld", _machine("2023-04-13T20:20:00Z")),
        ("html", parse_human_date("Jumat, 14 April 2023 05:20 WIT")),
        ("url", date_from_url("https://p.example.id/2023/04/14/bbm", WIB)),
    ]
    value, _ = choose_published(signals, now=NOW, default_tz=WIB)
    assert value == datetime(2023, 4, 14, 5, 20, tzinfo=WIT)
    assert value.utcoffset() == timedelta(hours=9)


def test_wit_and_wita_words_are_kept() -> None:
    for text, offset in (
        ("14 April 2023 10:20 WIT", 9),
        ("9 Desember 2024 15:27 WITA", 8),
        ("5 Mei 2025 14:30 WIB", 7),
    ):
        value, source = choose_published([("html", parse_human_date(text))], now=NOW, default_tz=WIB)
        assert source == "html"
        assert value is not None and value.utcoffset() == timedelta(hours=offset)


def test_implausible_signals_do_not_vote() -> None:
    signals = [
        ("jsonld", _machine("2031-01-01T00:00:00+07:00")),
        ("meta", _machine("1970-01-01T00:00:00+00:00")),
        ("url", _machine("2025-05-05")),
    ]
    assert choose_published(signals, now=NOW, default_tz=WIB) == (datetime(2025, 5, 5, tzinfo=WIB), "url")
    assert choose_published([("jsonld", _machine("2031-01-01"))], now=NOW, default_tz=WIB) == (None, None)
