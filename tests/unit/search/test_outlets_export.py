"""Outlets by name and exports people can open (issue 15, items 2 and 7), without a server: the
outlet a person reads, the top values' display form, export rows and records in one stated zone."""

from __future__ import annotations

from typing import Any

import pytest

from services.search.api.models import ExportParams
from services.search.api.results import display_form, outlet_buckets
from services.search.criteria import (
    EXPORT_COLUMNS,
    JAKARTA,
    export_header,
    export_record,
    export_row,
    in_zone,
    outlet_name,
    time_zone,
)

WITA = time_zone("Asia/Makassar")


def test_the_outlet_is_its_name_else_its_domain() -> None:
    assert outlet_name({"source": "127.0.0.1:8101", "outlet": "Lintas Muria"}) == "Lintas Muria"
    assert outlet_name({"source": "kabarjateng.example"}) == "kabarjateng.example"
    assert outlet_name({"source": "kabarjateng.example", "outlet": ""}) == "kabarjateng.example"


def test_times_are_written_in_the_zone_asked_for() -> None:
    assert in_zone("2024-06-08T13:20:00+08:00", JAKARTA) == "2024-06-08T12:20:00+07:00"
    assert in_zone("2024-06-08T05:20:00Z", JAKARTA) == "2024-06-08T12:20:00+07:00"
    assert in_zone("2024-06-08T12:20:00+07:00", WITA) == "2024-06-08T13:20:00+08:00"
    # Nothing that is not an aware ISO-8601 time is dropped or guessed at.
    for odd in ("+2025", "2024-06-08T12:20:00", "", None, "0001-01-01T00:00:00+14:00"):
        assert in_zone(odd, JAKARTA) == odd


@pytest.mark.parametrize(("name", "key"), [("Asia/Jakarta", "Asia/Jakarta"), ("asia/makassar", "Asia/Makassar"),
                                           (" UTC ", "UTC"), ("Asia/Jayapura", "Asia/Jayapura")])  # fmt: skip
def test_time_zones_are_iana_names_in_any_letter_case(name: str, key: str) -> None:
    assert time_zone(name).key == key


@pytest.mark.parametrize("name", ["Mars/Base", "Asia", "", "../etc/passwd", "a\x00b", "WIB", "+07:00"])
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        time_zone(name)
    with pytest.raises(ValueError):
        ExportParams.model_validate({"tz": name})


def test_export_params_default_to_jakarta_and_normalise_the_zone() -> None:
    assert ExportParams.model_validate({}).zone().key == "Asia/Jakarta"
    assert ExportParams.model_validate({"tz": "asia/makassar"}).tz == "Asia/Makassar"


def test_the_csv_names_the_zone_and_carries_outlet_and_domain() -> None:
    assert export_header() == ["id", "published_at (Asia/Jakarta)", "outlet", "source", *EXPORT_COLUMNS[4:]]
    assert export_header(WITA)[1] == "published_at (Asia/Makassar)"
    src = {"id": "a1", "published_at": "2024-06-08T13:20:00+08:00", "source": "127.0.0.1:8103",
           "outlet": "Pena Dewata", "title": "Judul"}  # fmt: skip
    assert export_row(src)[:5] == ["a1", "2024-06-08T12:20:00+07:00", "Pena Dewata", "127.0.0.1:8103", "Judul"]
    assert export_row(src, WITA)[1] == "2024-06-08T13:20:00+08:00"
    assert export_row({**src, "outlet": None})[2] == "127.0.0.1:8103"


def test_an_ndjson_record_keeps_the_stored_fields_with_outlet_and_zone() -> None:
    src = {"id": "a1", "published_at": "2024-06-08T13:20:00+08:00", "source": "x.example", "title": "T"}
    assert export_record(src) == {**src, "outlet": "x.example", "published_at": "2024-06-08T12:20:00+07:00"}
    assert "published_at" not in export_record({"id": "a2", "source": "x.example"})


def _bucket(key: str, count: int) -> dict[str, Any]:
    return {"key": key, "doc_count": count}


def test_outlet_buckets_merge_names_with_the_domains_of_unnamed_articles() -> None:
    aggs = {"outlets": {"buckets": [_bucket("Lintas Muria", 5), _bucket("Kabar Serayu", 2)]},
            "unnamed": {"outlets": {"buckets": [_bucket("kabarjateng.example", 3), _bucket("Kabar Serayu", 1)]}}}  # fmt: skip
    assert outlet_buckets(aggs) == [("Lintas Muria", 5), ("Kabar Serayu", 3), ("kabarjateng.example", 3)]


def test_display_form_is_the_articles_own_spelling() -> None:
    shown = {"shown": {"hits": {"hits": [{"_source": {"entities": [{"canonical": "Ganjar Pranowo"},
                                                                   {"canonical": "Pemerintah Kabupaten Blora"}]}}]}}}  # fmt: skip
    assert display_form("pemerintah kabupaten blora", shown, "entities.canonical") == "Pemerintah Kabupaten Blora"
    regions = {"shown": {"hits": {"hits": [{"_source": {"regions": [{"name": "Kabupaten Blora"}]}}]}}}
    assert display_form("kabupaten blora", regions, "regions.name") == "Kabupaten Blora"
    assert display_form("id", {"shown": {"hits": {"hits": [{"_source": {"language": "id"}}]}}}, "language") == "id"
    assert display_form("unseen", {}, "regions.name") == "unseen"  # no article to read it from: the key
