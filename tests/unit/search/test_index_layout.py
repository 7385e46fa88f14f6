"""Naming and month routing of the article indices (services/search/index.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.search.index import (
    Layout,
    index_name,
    is_month_alias,
    month_alias,
    month_of,
    month_of_document,
    next_month_start,
    parse_index_name,
)
from shared.settings import CommonSettings

WIB = timezone(timedelta(hours=7))


def test_month_is_the_publication_month_in_utc_else_the_ingestion_month() -> None:
    ingested = datetime(2026, 12, 5, 3, tzinfo=UTC)
    assert month_of(datetime(2025, 3, 10, 9, tzinfo=WIB), ingested) == "2025.03"
    # 1 May 00:30 in Jakarta is still 30 April in UTC: one zone for every writer and reader.
    assert month_of(datetime(2025, 5, 1, 0, 30, tzinfo=WIB), ingested) == "2025.04"
    assert month_of(None, ingested) == "2026.12"
    assert (
        month_of_document({"published_at": "2025-12-31T23:59:59+00:00", "ingested_at": ingested.isoformat()})
        == "2025.12"
    )
    assert month_of_document({"ingested_at": "2026-01-01T06:00:00+07:00"}) == "2025.12"


def test_index_names_parse_back() -> None:
    assert index_name("t-", 3) == "t-articles-v3"
    assert index_name("t-", 3, "2025.04") == "t-articles-v3-2025.04"
    assert month_alias("t-", "2025.04") == "t-articles-2025.04"
    assert is_month_alias("t-", "t-articles-2025.04")
    assert not is_month_alias("t-", "t-articles") and not is_month_alias("t-", "t-articles-v3-2025.04")
    assert not is_month_alias("u-", "t-articles-2025.04")
    assert parse_index_name("t-articles-v3") == (3, None)
    assert parse_index_name("t-articles-v12-2025.04") == (12, "2025.04")
    assert parse_index_name("t-articles-2025.04") is None
    assert parse_index_name("t-warta-article-tombstones") is None
    assert next_month_start("2025.12") == datetime(2026, 1, 1, tzinfo=UTC)
    assert next_month_start("2025.04") == datetime(2025, 5, 1, tzinfo=UTC)


def test_layout_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARTA_ES_SHARDS", "4")
    monkeypatch.setenv("WARTA_ES_REPLICAS", "1")
    monkeypatch.setenv("WARTA_ES_INDEX_PERIOD", "month")
    layout = Layout.of(CommonSettings())
    assert layout == Layout(4, 1, "month")
    assert layout.index_settings(refresh_interval="-1") | {"refresh_interval": "1s"} == {
        "number_of_shards": 4, "number_of_replicas": 1, "refresh_interval": "1s", "max_result_window": 10_000}  # fmt: skip
    monkeypatch.setenv("WARTA_ES_INDEX_PERIOD", "week")
    with pytest.raises(ValueError, match="es_index_period"):
        CommonSettings()
    monkeypatch.setenv("WARTA_ES_INDEX_PERIOD", "none")
    monkeypatch.setenv("WARTA_ES_SHARDS", "0")
    with pytest.raises(ValueError, match="es_shards"):
        CommonSettings()
