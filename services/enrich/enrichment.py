"""Turn a RawArticle into an EnrichedArticle. Pure apart from the story clusterer's shared state.

This is the one function both the Celery task and ``warta nlp annotate`` build on.
"""

from __future__ import annotations

import re
import unicodedata

from shared.schemas import EnrichedArticle, RawArticle, utcnow

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
    """Enrich one article. ``annotate`` is the NLP function (text, title) -> dict; ``clusterer``
    assigns stories. Both default to the production implementations."""
    if annotate is None:
        from services.enrich.nlp import annotate as annotate
    body = normalize_body(raw.text)
    nlp = annotate(body, raw.title)
    language = raw.language or nlp["language"]
    story_id = story_size = None
    if clusterer is not None:
        # The window is measured in ingest time: copies that Warta sees within N days of each other
        # are compared, even when a crawl back-fills articles published long ago.
        assignment = clusterer.assign(raw.id, raw.title, body, raw.ingested_at)
        story_id, story_size = assignment.story_id, assignment.story_size
    fields = raw.model_dump(exclude={"schema_version", "language"})
    return EnrichedArticle(
        **fields,
        language=language,
        language_confidence=1.0 if raw.language else float(nlp["language_confidence"]),
        word_count=word_count(body),
        body=body,
        entities=nlp.get("entities", []),
        regions=nlp.get("regions", []),
        summary=nlp.get("summary", []),
        keywords=nlp.get("keywords", []),
        story_id=story_id,
        story_size=story_size,
        enriched_at=utcnow(),
    )
