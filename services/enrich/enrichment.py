"""Turn a RawArticle into an EnrichedArticle. Pure apart from the story clusterer's shared state.

This is the one function both the Celery task and ``warta nlp annotate`` build on.

Output size is bounded, so that an article the edge accepted (text up to
:data:`~shared.limits.MAX_TEXT_BYTES`) always fits in one Kafka record
(:data:`~shared.limits.KAFKA_MESSAGE_MAX_BYTES`). The record carries the text twice (``text`` and
``body``); what enrich adds shares :data:`~shared.limits.ENRICHED_OVERHEAD_BYTES` (256 KiB) with
the article's metadata:

- ``body`` at most ``MAX_TEXT_BYTES`` (Unicode normalisation can make it longer than the text);
- ``entities`` at most ``MAX_ENTITIES_BYTES`` (the first mention of every entity is kept before
  any second mention); a mention longer than ``MAX_ENTITY_CHARS`` is not a name and is dropped;
- ``summary`` sentences cut at ``MAX_SUMMARY_SENTENCE_CHARS``, at most ``MAX_SUMMARY_BYTES`` in all;
- ``keywords`` longer than ``MAX_KEYWORD_CHARS`` dropped; at most ``MAX_REGIONS`` regions (and as many
  passing mentions);
- ``entity_tones``: one per distinct entity (type and canonical name) that is still in ``entities``,
  evidence sentences cut like summary sentences, at most ``MAX_ENTITY_TONES_BYTES`` in all (the
  most-mentioned entities first); ``tone`` is a few dozen bytes.

That is at most 128 + 16 + 32 KiB, plus about 10 KiB of regions and a few KiB of keywords, dateline
and tone: the rest of the 256 KiB is left to the metadata (URLs, title, authors, tags, description).
These bounds only bite on pathological text: a real article has a few dozen entities.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import orjson

from shared.kafka import truncate_encoded
from shared.limits import MAX_TEXT_BYTES, encoded_size
from shared.schemas import EnrichedArticle, RawArticle, utcnow

MAX_ENTITIES_BYTES = 128 * 1024
MAX_ENTITY_CHARS = 200
MAX_SUMMARY_BYTES = 16 * 1024
MAX_SUMMARY_SENTENCE_CHARS = 1000
MAX_KEYWORD_CHARS = 100
MAX_REGIONS = 64
MAX_ENTITY_TONES_BYTES = 32 * 1024

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u3000]+")
_BLANKS = re.compile(r"\n{3,}")
_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_body(text: str) -> str:
    """NFC, one space between words, paragraphs separated by one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def enrich(raw: RawArticle, *, annotate=None, clusterer=None) -> EnrichedArticle:  # type: ignore[no-untyped-def]
    """Enrich one article into an ``EnrichedArticle`` of schema version 2 (with tone).
    ``annotate`` is the NLP function (text, title) -> dict, shaped like
    :func:`services.enrich.nlp.annotate` (``tone`` is required); ``clusterer`` assigns stories.
    Both default to the production implementations."""
    if annotate is None:
        from services.enrich.nlp import annotate as annotate
    # Cut before the NLP runs, so entity offsets point into the body that is published.
    body = truncate_encoded(normalize_body(raw.text), MAX_TEXT_BYTES)
    nlp = annotate(body, raw.title)
    language = raw.language or nlp["language"]
    story_id = story_size = None
    if clusterer is not None:
        # The window is measured in ingest time: copies that Warta sees within N days of each other
        # are compared, even when a crawl back-fills articles published long ago.
        assignment = clusterer.assign(raw.id, raw.title, body, raw.ingested_at)
        story_id, story_size = assignment.story_id, assignment.story_size
    fields = raw.model_dump(exclude={"schema_version", "language"})
    entities = bounded_entities(nlp.get("entities", []))
    return EnrichedArticle(
        **fields,
        schema_version=2,
        language=language,
        language_confidence=1.0 if raw.language else float(nlp["language_confidence"]),
        word_count=word_count(body),
        body=body,
        entities=entities,
        regions=nlp.get("regions", [])[:MAX_REGIONS],
        regions_mentioned=nlp.get("regions_mentioned", [])[:MAX_REGIONS],
        summary=bounded_summary(nlp.get("summary", [])),
        keywords=[k for k in nlp.get("keywords", []) if len(k) <= MAX_KEYWORD_CHARS],
        dateline=nlp.get("dateline"),
        tone=nlp["tone"],
        entity_tones=bounded_entity_tones(nlp.get("entity_tones", []), entities),
        story_id=story_id,
        story_size=story_size,
        enriched_at=utcnow(),
    )


def bounded_entities(entities: list[Any], budget: int = MAX_ENTITIES_BYTES) -> list[Any]:
    """At most ``budget`` bytes of entity mentions (JSON), in text order. The first mention of each
    distinct entity is kept before any repeated mention, so a capped list still names every
    entity it can. Mentions longer than ``MAX_ENTITY_CHARS`` are dropped. Pure."""
    names = [e for e in entities if len(e.get("text", "")) <= MAX_ENTITY_CHARS]
    if len(names) == len(entities) and len(orjson.dumps(entities)) <= budget:
        return entities
    firsts: list[int] = []
    repeats: list[int] = []
    seen: set[tuple[Any, Any]] = set()
    for i, e in enumerate(names):
        identity = (e.get("type"), e.get("canonical"))
        (repeats if identity in seen else firsts).append(i)
        seen.add(identity)
    kept: list[int] = []
    used = 2  # the list's brackets
    for i in firsts + repeats:
        size = len(orjson.dumps(names[i])) + 1  # and its comma
        if used + size > budget:
            continue  # a smaller mention later may still fit
        kept.append(i)
        used += size
    return [names[i] for i in sorted(kept)]


def bounded_summary(sentences: list[str]) -> list[str]:
    """Summary sentences cut at ``MAX_SUMMARY_SENTENCE_CHARS`` (at a space when there is one near
    the end, marked with an ellipsis), at most ``MAX_SUMMARY_BYTES`` (JSON) in all. Pure."""
    out: list[str] = []
    used = 0
    for sentence in sentences:
        sentence = cut_sentence(sentence)
        size = encoded_size(sentence) + 3  # quotes and a comma
        if used + size > MAX_SUMMARY_BYTES:
            break
        out.append(sentence)
        used += size
    return out


def cut_sentence(sentence: str) -> str:
    """``sentence``, or its first ``MAX_SUMMARY_SENTENCE_CHARS`` characters (at a space when there is
    one near the end) and an ellipsis. Pure."""
    if len(sentence) <= MAX_SUMMARY_SENTENCE_CHARS:
        return sentence
    cut = sentence[:MAX_SUMMARY_SENTENCE_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_SUMMARY_SENTENCE_CHARS * 0.8 else cut).rstrip() + "\u2026"


def bounded_entity_tones(tones: list[Any], entities: list[Any], budget: int = MAX_ENTITY_TONES_BYTES) -> list[Any]:
    """The tone toward each entity that ``entities`` (already bounded) still names, one per type and
    canonical name, in the NLP's order. An evidence sentence longer than
    ``MAX_SUMMARY_SENTENCE_CHARS`` is cut like a summary sentence (its ``evidence_start`` and
    ``evidence_end`` still span the whole sentence in the body). At most ``budget`` bytes (JSON):
    the most-mentioned entities are kept first. Pure."""
    named = {(e.get("type"), e.get("canonical")) for e in entities}
    kept: list[Any] = []
    seen: set[tuple[Any, Any]] = set()
    for tone in tones:
        identity = (tone.get("type"), tone.get("canonical"))
        if identity not in named or identity in seen:
            continue
        seen.add(identity)
        evidence = tone.get("evidence")
        if isinstance(evidence, str) and len(evidence) > MAX_SUMMARY_SENTENCE_CHARS:
            tone = {**tone, "evidence": cut_sentence(evidence)}
        kept.append(tone)
    sizes = [len(orjson.dumps(t)) + 1 for t in kept]  # and its comma
    if sum(sizes) + 2 <= budget:
        return kept
    chosen: set[int] = set()
    used = 2  # the list's brackets
    for i in sorted(range(len(kept)), key=lambda i: -int(kept[i].get("mentions") or 0)):
        if used + sizes[i] <= budget:  # a smaller tone later may still fit
            chosen.add(i)
            used += sizes[i]
    return [t for i, t in enumerate(kept) if i in chosen]
