"""One hit shape (issue 14, item 4): the Hit model defines it, hit_dict fills it from an
Elasticsearch hit, and HIT_SOURCE asks the index for exactly what hit_dict copies."""

from __future__ import annotations

from typing import Any

from services.search.api.models import Hit, SavedSearch
from services.search.api.results import COMPUTED, HIT_SOURCE, hit_dict
from services.search.index import MAPPING

SOURCE: dict[str, Any] = {
    "id": "a1", "url": "https://suarablora.example/a1", "title": "Banjir di Blora", "source": "suarablora",
    "outlet": "Suara Blora", "published_at": "2025-05-01T08:00:00+07:00", "language": "id",
    "summary": ["Banjir melanda Blora.", "Warga mengungsi."],
    "entities": [{"type": "LOC", "canonical": "Blora", "role": "place"}, {"type": "PER", "canonical": "Arief Rohman"},
                 {"type": "LOC", "canonical": "Blora"}],
    "regions": [{"code": "33.16", "name": "Blora", "level": "kabupaten_kota"}], "story_id": "s1", "story_size": 3,
}  # fmt: skip


def test_a_hit_has_the_models_fields_in_its_order_and_validates() -> None:
    hit = hit_dict({"_source": SOURCE, "highlight": {"body": ["<mark>Banjir</mark> melanda"]}})
    assert list(hit) == list(Hit.model_fields)
    Hit.model_validate(hit)
    assert hit == {
        "id": "a1", "url": SOURCE["url"], "title": "Banjir di Blora", "source": "suarablora", "outlet": "Suara Blora",
        "published_at": "2025-05-01T08:00:00+07:00", "language": "id", "snippet": "<mark>Banjir</mark> melanda",
        "highlights": {"body": ["<mark>Banjir</mark> melanda"]}, "summary": SOURCE["summary"],
        "entities": [{"type": "LOC", "canonical": "Blora", "role": "place"},
                     {"type": "PER", "canonical": "Arief Rohman", "role": None}],
        "regions": SOURCE["regions"], "story_id": "s1", "story_size": 3, "story": None, "tone": None,
        "entity_tones": [],
    }  # fmt: skip
    assert [list(e) for e in hit["entities"]] == [["type", "canonical", "role"]] * 2


def test_a_sparse_hit_gets_the_models_defaults_and_the_summary_as_snippet() -> None:
    src = {"id": "a2", "url": "https://x.example/a2", "title": "T", "source": "x", "summary": ["Ringkas."]}
    story = {"story_id": "s9", "story_size": 2, "outlets": ["x", "y"], "earliest_published_at": None}
    hit = hit_dict({"_source": src}, story)
    assert list(hit) == list(Hit.model_fields)
    assert hit["snippet"] == "Ringkas."
    assert (hit["highlights"], hit["entities"], hit["regions"]) == ({}, [], [])
    assert hit["outlet"] == "x"  # no outlet name: the domain stands in
    assert (hit["published_at"], hit["story_id"], hit["story_size"]) == (None, None, None)
    assert hit["story"] == story
    Hit.model_validate(hit)
    assert hit_dict({"_source": {**src, "summary": []}})["snippet"] is None


def test_hit_source_reads_what_hit_dict_copies_and_no_more() -> None:
    stored = [name for name in Hit.model_fields if name not in COMPUTED]
    assert set(HIT_SOURCE) == {*stored, "entities.type", "entities.canonical", "entities.role"}
    assert "body" not in HIT_SOURCE and "keywords" not in HIT_SOURCE
    for field in HIT_SOURCE:  # every one is a field of the index
        parent, _, child = field.partition(".")
        assert (MAPPING["properties"][parent]["properties"] if child else MAPPING["properties"]).get(child or parent)


def test_saved_search_shows_the_alert_consumers_query_state_when_present() -> None:
    base = {"id": "m1", "name": "Banjir", "query": "banjir", "created_at": "2025-05-01T00:00:00Z",
            "updated_at": "2025-05-01T00:00:00Z"}  # fmt: skip
    assert SavedSearch.model_validate(base).model_dump(include={"query_status", "query_error", "query_failed_at"}) == {
        "query_status": None,
        "query_error": None,
        "query_failed_at": None,
    }
    failing = SavedSearch.model_validate(
        {
            **base,
            "query_status": "failing",
            "query_error": "too many clauses",
            "query_failed_at": "2025-05-02T00:00:00Z",
        }
    )
    assert (failing.query_status, failing.query_error) == ("failing", "too many clauses")
    assert failing.query_failed_at is not None and failing.query_failed_at.year == 2025
    schema = SavedSearch.model_json_schema()["properties"]
    assert all(schema[name].get("description") for name in ("query_status", "query_error", "query_failed_at"))
