"""Contract tests: the exported schemas match the models, and every example message goes through
every consumer's decoding and processing code."""

from __future__ import annotations

import json

import pytest

from services.enrich.enrichment import enrich
from services.search.index import MAPPING, to_document
from shared.contracts import EXAMPLES, examples, schema_path
from shared.schemas import (
    MODELS,
    SUPPORTED_VERSIONS,
    EnrichedArticle,
    InvalidMessage,
    MessageError,
    RawArticle,
    UnknownSchemaVersion,
    decode,
)


def test_exported_schemas_match_models() -> None:
    for topic, model in MODELS.items():
        for version in SUPPORTED_VERSIONS[model]:
            on_disk = json.loads(schema_path(topic, version).read_text())
            assert on_disk == model.model_json_schema(), f"run `make contracts`: {topic} v{version} drifted"


@pytest.mark.parametrize("topic", list(MODELS))
def test_every_topic_has_valid_and_invalid_examples(topic: str) -> None:
    assert examples(topic), f"no valid example for {topic}"
    if topic.startswith("articles."):
        assert examples(topic, valid=False), f"no invalid example for {topic}"


@pytest.mark.parametrize("path", examples("articles.raw"), ids=lambda p: p.name)
def test_raw_examples_through_enrich(path) -> None:  # type: ignore[no-untyped-def]
    raw = decode(RawArticle, path.read_bytes())
    enriched = enrich(raw)
    assert enriched.id == raw.id
    again = decode(EnrichedArticle, enriched.to_bytes())
    assert again == enriched
    doc = to_document(enriched, "2025-05-06T00:00:00Z")
    _assert_fits_mapping(doc, MAPPING["properties"])


@pytest.mark.parametrize("path", examples("articles.enriched"), ids=lambda p: p.name)
def test_enriched_examples_through_indexer_projection(path) -> None:  # type: ignore[no-untyped-def]
    article = decode(EnrichedArticle, path.read_bytes())
    doc = to_document(article, "2025-05-06T00:00:00Z")
    _assert_fits_mapping(doc, MAPPING["properties"])
    assert "text" not in doc and doc["body"] == article.body
    assert set(doc["region_codes"]) == {r.code for r in article.regions}
    assert set(doc["region_mentioned_codes"]) == {r.code for r in article.regions_mentioned}
    assert set(doc["entity_names"]) == {e.canonical for e in article.entities}


def _enriched_example(version: int) -> dict:  # type: ignore[type-arg]
    return json.loads((EXAMPLES / "articles.enriched" / f"v{version}" / "enriched.json").read_bytes())


def test_raw_examples_enrich_to_version_2_with_tone() -> None:
    raw = decode(RawArticle, examples("articles.raw")[0].read_bytes())
    enriched = decode(EnrichedArticle, enrich(raw).to_bytes())
    assert enriched.schema_version == 2 and enriched.tone is not None
    assert enriched.tone.label in {"positive", "negative", "neutral"}


def test_version_2_requires_tone() -> None:
    data = _enriched_example(2)
    article = decode(EnrichedArticle, json.dumps(data).encode())
    assert article.schema_version == 2 and article.tone is not None and article.entity_tones
    del data["tone"]
    for value in (json.dumps(data).encode(), data):
        with pytest.raises(InvalidMessage, match="tone is required"):
            decode(EnrichedArticle, value)


def test_version_1_refuses_tone() -> None:
    v1 = _enriched_example(1)
    with_tone = {**v1, "tone": {"label": "positive", "score": 0.5, "headline": None, "body": "positive"}}
    with_entity_tones = {**v1, "entity_tones": _enriched_example(2)["entity_tones"]}
    for data in (with_tone, with_entity_tones):
        with pytest.raises(InvalidMessage, match="need schema_version 2"):
            decode(EnrichedArticle, json.dumps(data).encode())


def test_version_1_without_tone_and_version_2_both_index() -> None:
    old = decode(EnrichedArticle, json.dumps(_enriched_example(1)).encode())
    assert old.schema_version == 1 and old.tone is None and old.entity_tones == []
    doc = to_document(old, "2025-05-06T00:00:00Z")
    _assert_fits_mapping(doc, MAPPING["properties"])
    assert not {"tone", "tone_mismatch", "entity_tones", "entity_tone_keys"} & set(doc)

    new = decode(EnrichedArticle, json.dumps(_enriched_example(2)).encode())
    doc = to_document(new, "2025-05-06T00:00:00Z")
    _assert_fits_mapping(doc, MAPPING["properties"])
    assert doc["tone"] == {"label": "negative", "score": -0.21, "headline": "positive", "body": "negative"}
    assert doc["tone_mismatch"] is True
    assert "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Blora|negative" in doc["entity_tone_keys"]
    assert len(doc["entity_tones"]) == len(new.entity_tones)
    for t in new.entity_tones:  # the evidence is the body's text at its offsets
        if t.evidence is not None:
            assert new.body[t.evidence_start : t.evidence_end] == t.evidence


@pytest.mark.parametrize("topic", list(MODELS))
def test_invalid_examples_raise_typed_errors(topic: str) -> None:
    for path in examples(topic, valid=False):
        with pytest.raises(MessageError):
            decode(MODELS[topic], path.read_bytes())


def _assert_fits_mapping(doc: dict, props: dict) -> None:  # type: ignore[type-arg]
    """The mapping is ``dynamic: strict``: every field the indexer writes must be mapped."""
    for key, value in doc.items():
        assert key in props, f"field {key!r} is not in the mapping"
        sub = props[key].get("properties")
        if sub is not None:
            for item in value if isinstance(value, list) else [value]:
                _assert_fits_mapping(item, sub)


@pytest.mark.parametrize("path", examples("articles.raw"), ids=lambda p: p.name)
def test_a_message_must_state_its_version(path) -> None:  # type: ignore[no-untyped-def]
    """The model defaults schema_version to 1, but a record without one is not trusted to be v1."""
    data = json.loads(path.read_bytes())
    assert decode(RawArticle, json.dumps(data).encode()) == decode(RawArticle, data)
    del data["schema_version"]
    with pytest.raises(UnknownSchemaVersion):
        decode(RawArticle, json.dumps(data).encode())
    data["schema_version"] = 2
    with pytest.raises(UnknownSchemaVersion):
        decode(RawArticle, json.dumps(data))
