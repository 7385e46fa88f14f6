"""Enrich's output is bounded (services/enrich/enrichment.py): an article the edge accepted, however
pathological its text, enriches to a record that fits in one Kafka record."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from services.enrich import enrichment
from services.enrich.enrichment import (
    MAX_ENTITIES_BYTES,
    MAX_ENTITY_TONES_BYTES,
    MAX_KEYWORD_CHARS,
    MAX_REGIONS,
    MAX_SUMMARY_BYTES,
    MAX_SUMMARY_SENTENCE_CHARS,
    bounded_entities,
    bounded_entity_tones,
    enrich,
)
from services.enrich.nlp import entities as nlp_entities
from shared.kafka import check_record_size
from shared.limits import KAFKA_MESSAGE_MAX_BYTES, MAX_TEXT_BYTES, MAX_TITLE_CHARS, encoded_size
from shared.schemas import RawArticle, utcnow

NAMES = ["Budi", "Joko", "Widodo", "Ani", "Sri", "Setyorini", "Arief", "Rohman", "Jakarta", "Blora", "Semarang",
         "Jawa", "Tengah", "Pemerintah", "Kabupaten", "Gubernur", "Bupati", "Kementerian", "Polres", "Ganjar"]  # fmt: skip


def _edge_max_article(text: str) -> RawArticle:
    """The largest article the edge accepts around ``text``: longest URL and title too."""
    assert encoded_size(text) <= MAX_TEXT_BYTES
    url = "https://berita.example/" + "a" * 2000
    return RawArticle(
        id="f" * 40, url=url, canonical_url=url, title="Bupati Blora " * (MAX_TITLE_CHARS // 13), source="berita.example",
        text=text, ingested_at=utcnow(),
    )  # fmt: skip


def _capitalised_words(limit: int, seed: int = 1) -> str:
    """No full stop anywhere: one sentence of entity-like words, the NLP's worst case."""
    rng = random.Random(seed)
    words: list[str] = []
    size = 0
    while True:
        word = rng.choice(NAMES) + rng.choice(["", "", str(rng.randint(1, 99))])
        if size + len(word) + 1 > limit:
            return " ".join(words)
        words.append(word)
        size += len(word) + 1


def test_a_max_size_text_of_capitalised_words_enriches_to_a_record_under_the_limit() -> None:
    raw = _edge_max_article(_capitalised_words(MAX_TEXT_BYTES))
    enriched = enrich(raw)  # the real NLP
    value = enriched.to_bytes()
    assert len(value) <= KAFKA_MESSAGE_MAX_BYTES
    check_record_size(raw.id.encode(), value)
    assert enriched.entities, "the bounds keep entities, they do not drop them all"
    # Every distinct entity is still named before any of them is repeated.
    assert len({(e.type, e.canonical) for e in enriched.entities}) >= len(set(NAMES)) // 2


def _adversarial_annotate(text: str, title: str | None = None) -> dict[str, Any]:
    """An NLP at its worst: every word an entity, the whole text as summary three times over,
    keywords the size of the text, every region, a negative tone toward every entity with the
    whole text as evidence."""
    entities = []
    pos = 0
    for word in text.split(" "):
        entities.append({"start": pos, "end": pos + len(word), "type": "PER", "text": word, "canonical": word,
                         "role": "Bupati Blora"})  # fmt: skip
        pos += len(word) + 1
    regions = [{"code": f"{i:04d}", "name": f"Kabupaten {i}", "level": "kabupaten_kota"} for i in range(600)]
    tone = {"label": "negative", "score": -0.9, "headline": "negative" if title else None, "body": "negative"}
    entity_tones = [{"type": "PER", "canonical": e["canonical"], "label": "negative", "score": -0.9, "mentions": 1,
                     "evidence": text, "evidence_start": 0, "evidence_end": len(text)} for e in entities]  # fmt: skip
    return {"language": "id", "language_confidence": 0.9, "entities": entities, "regions": regions,
            "summary": [text, text, text], "keywords": [text[:5000], "banjir", "x" * (MAX_KEYWORD_CHARS + 1)],
            "tone": tone, "entity_tones": entity_tones}  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        _capitalised_words(MAX_TEXT_BYTES, seed=2),
        # Unicode normalisation (NFC) turns each of these 4-byte characters into three code points
        # of 4 bytes: the body would be three times the text.
        "\U0001d160" * (MAX_TEXT_BYTES // 4),
        "\u0958" * (MAX_TEXT_BYTES // 3),  # Devanagari: 3 bytes -> 6 bytes
    ],
    ids=["entities", "nfc-musical", "nfc-devanagari"],
)
def test_whatever_the_nlp_returns_the_record_fits(text: str) -> None:
    enriched = enrich(_edge_max_article(text), annotate=_adversarial_annotate)
    assert len(enriched.to_bytes()) <= KAFKA_MESSAGE_MAX_BYTES
    assert encoded_size(enriched.body) <= MAX_TEXT_BYTES
    assert len(enriched.regions) == MAX_REGIONS
    assert sum(encoded_size(s) + 3 for s in enriched.summary) <= MAX_SUMMARY_BYTES
    assert all(len(k) <= MAX_KEYWORD_CHARS for k in enriched.keywords) and "banjir" in enriched.keywords
    # Entity offsets still point into the body that is published.
    for e in enriched.entities:
        assert e.end <= len(enriched.body)
    assert enriched.schema_version == 2 and enriched.tone is not None and enriched.tone.label == "negative"
    # Tones toward the entities that are kept (a one-word text of 100,000 characters is no name).
    assert bool(enriched.entity_tones) == bool(enriched.entities), "the bounds do not drop every tone"
    assert len(orjson.dumps([t.model_dump(exclude_none=True) for t in enriched.entity_tones])) <= MAX_ENTITY_TONES_BYTES
    named = {(e.type, e.canonical) for e in enriched.entities}
    assert all((t.type, t.canonical) in named for t in enriched.entity_tones)
    for t in enriched.entity_tones:
        assert t.evidence is not None and len(t.evidence) <= MAX_SUMMARY_SENTENCE_CHARS + 1
        assert t.evidence_end is not None and t.evidence_end <= len(enriched.body)


def test_a_normal_article_is_not_touched_by_the_bounds() -> None:
    text = ("Bupati Blora Arief Rohman meresmikan jembatan di Kecamatan Cepu, Jawa Tengah. "
            "Wakil Bupati Sri Setyorini hadir bersama Kapolres Blora.\n\n") * 5  # fmt: skip
    raw = _edge_max_article(text)
    nlp = _adversarial_annotate(text)
    nlp["summary"] = ["Bupati Blora Arief Rohman meresmikan jembatan."]
    nlp["keywords"] = ["jembatan", "blora"]
    nlp["regions"] = nlp["regions"][:2]
    enriched = enrich(raw, annotate=lambda body, title: nlp)
    assert [e.model_dump(exclude_none=True) for e in enriched.entities] == nlp["entities"]
    assert enriched.summary == nlp["summary"] and enriched.keywords == nlp["keywords"]
    assert enriched.body == enrichment.normalize_body(text)
    assert enriched.tone is not None and enriched.tone.model_dump() == nlp["tone"]
    assert [t.model_dump() for t in enriched.entity_tones] == _one_per_entity(nlp["entity_tones"])


def _one_per_entity(tones: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    return [t for t in tones if (t["type"], t["canonical"]) not in seen and not seen.add((t["type"], t["canonical"]))]


def test_capped_entity_tones_keep_the_most_mentioned_and_cut_long_evidence() -> None:
    entities = [{"start": i, "end": i + 1, "type": "ORG", "text": f"E{i}", "canonical": f"E{i}"} for i in range(400)]
    long_sentence = "Jalan rusak parah " * 200
    tones = [{"type": "ORG", "canonical": f"E{i}", "label": "negative", "score": -0.5, "mentions": 1 + i % 7,
              "evidence": long_sentence, "evidence_start": 0, "evidence_end": len(long_sentence)}
             for i in range(400)]  # fmt: skip
    tones.append({"type": "ORG", "canonical": "not an entity", "label": "neutral", "score": 0.0, "mentions": 9})
    kept = bounded_entity_tones(tones, entities)
    assert len(orjson.dumps(kept)) <= MAX_ENTITY_TONES_BYTES
    assert 0 < len(kept) < 400
    # The most-mentioned entities are kept, in the NLP's order; the one that is not an entity is not.
    assert {t["mentions"] for t in kept} == {7}
    assert [t["canonical"] for t in kept] == [f"E{i}" for i in range(400) if i % 7 == 6][: len(kept)]
    for t in kept:
        assert len(t["evidence"]) <= MAX_SUMMARY_SENTENCE_CHARS + 1 and t["evidence"].endswith("\u2026")
        assert (t["evidence_start"], t["evidence_end"]) == (0, len(long_sentence))
    # A normal article's tones pass untouched.
    small = [{**t, "evidence": "Jalan rusak parah.", "evidence_end": 18} for t in tones[:3]]
    assert bounded_entity_tones(small, entities) == small


def test_capped_entities_keep_every_entity_before_repeating_one() -> None:
    mentions = [{"start": i, "end": i + 1, "type": "PER", "text": f"N{i % 50}", "canonical": f"N{i % 50}"}
                for i in range(10_000)]  # fmt: skip
    kept = bounded_entities(mentions, budget=8 * 1024)
    assert {e["canonical"] for e in kept} == {f"N{i}" for i in range(50)}
    assert [e["start"] for e in kept] == sorted(e["start"] for e in kept)
    assert bounded_entities(mentions[:10]) == mentions[:10]
    assert len(bounded_entities(mentions)) < len(mentions)
    assert sum(len(str(e)) for e in bounded_entities(mentions)) < 2 * MAX_ENTITIES_BYTES


def test_roles_are_looked_for_near_the_name_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long sentence full of names used to tokenise the whole sentence before every name
    (quadratic: minutes for a 384 KiB text); now a window around the name."""
    longest: list[int] = []
    real = nlp_entities.tokenize

    def tokenize(text: str) -> Any:
        longest.append(len(text))
        return real(text)

    monkeypatch.setattr(nlp_entities, "tokenize", tokenize)
    from services.enrich.nlp import annotate

    # One sentence of 20,000 characters, with a name and its role at each end.
    text = (
        "Bupati Blora Arief Rohman berkata "
        + "jalan itu rusak parah dan " * 800
        + "menurut Wakil Bupati Blora Sri Setyorini jembatan itu penting."
    )
    out = annotate(text, None)
    assert longest and max(longest) <= nlp_entities._ROLE_WINDOW_CHARS
    # Roles are still found where they are: next to the name.
    roles = {e["canonical"]: e.get("role") for e in out["entities"] if e["type"] == "PER"}
    assert roles["Arief Rohman"] == "Bupati Blora"
    assert roles["Sri Setyorini"] == "Wakil Bupati Blora"
