"""Indonesian NLP enrichment: language, entities, regions, summary, keywords and tone.

``annotate`` is the single entry point used by the Celery enrich task and by
``warta nlp annotate``. Models and dictionaries are loaded lazily, once per process, under a
lock; after loading, every component is read-only, so ``annotate`` is thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .canonical import Dictionary, load_dictionary
from .dateline import Dateline, find_dateline, outlet_prefix_end
from .entities import extract_entities
from .keywords import extract_keywords, idf_table
from .langid import LanguageIdentifier, load_identifier
from .ner import NerTagger
from .regions import load_params, tag_regions
from .summarize import load_model, summarize_tokens
from .text import Token, split_sentences, token_texts, tokenize_span
from .tone import ToneModel, load_tone_model, tone_of

__all__ = ["Dateline", "annotate", "find_dateline", "warm_up"]

# Entity, region and summary models are built for Indonesian. For Javanese, Sundanese and Malay
# text they still run (shared names and institutions are useful); for English they are skipped.
_NLP_LANGUAGES = frozenset({"id", "jv", "su", "ms"})


@dataclass(frozen=True)
class _Models:
    langid: LanguageIdentifier
    tagger: NerTagger
    dictionary: Dictionary
    tone: ToneModel


_models: _Models | None = None
_lock = threading.Lock()


def _load() -> _Models:
    global _models
    if _models is None:
        with _lock:
            if _models is None:
                load_model()
                load_params()
                idf_table()
                _models = _Models(load_identifier(), NerTagger(), load_dictionary(), load_tone_model())
    return _models


def warm_up() -> None:
    """Load every model now (e.g. at worker start) instead of on the first article."""
    _load()


def _summary(
    text: str,
    sentences: list[tuple[int, int]],
    title: str | None,
    sentence_tokens: Sequence[Sequence[Token]] | None = None,
) -> list[str]:
    if not sentences:
        return []
    if len(sentences) <= 2:
        return [text[s:e] for s, e in sentences]
    # Paragraph structure matters to the scorer (first sentence of a paragraph, lead paragraph).
    paragraphs: list[list[list[str]]] = []
    prev_end = None
    for k, (s, e) in enumerate(sentences):
        if prev_end is None or "\n" in text[prev_end:s]:
            paragraphs.append([])
        words = token_texts(text[s:e]) if sentence_tokens is None else [t.text for t in sentence_tokens[k]]
        paragraphs[-1].append(words)
        prev_end = e
    title_tokens = token_texts(title) if title else None
    return [text[sentences[i][0] : sentences[i][1]] for i in summarize_tokens(paragraphs, title_tokens)]


def annotate(text: str, title: str | None = None) -> dict[str, Any]:
    """Annotate one article.

    Returns ``{"language", "language_confidence", "entities", "regions", "regions_mentioned",
    "summary", "keywords", "dateline", "tone", "entity_tones"}``. Entity ``start``/``end`` are
    character offsets into ``text`` (half-open). ``dateline`` is ``{"text", "place", "name",
    "start", "end", "region_code"}`` or None (see ``dateline.py``); the dateline is not an entity,
    not a mention, not part of the summary and carries no tone. ``regions`` are the article's
    regions (by prominence: title, lead, repeated and institutional mentions);
    ``regions_mentioned`` the regions only mentioned in passing (see ``regions.py``); both
    ``[{"code", "name", "level"}]``. ``tone`` is ``{"label", "score", "headline", "body"}``
    (``headline`` None without a title) and ``entity_tones`` one ``{"type", "canonical", "label",
    "score", "mentions", "evidence"?, "evidence_start"?, "evidence_end"?}`` per distinct entity
    (type and canonical name), the evidence being a sentence of ``text`` at those offsets (see
    ``tone.py``). Tone runs for every language; without entities (English) ``entity_tones`` is empty.
    Pure function of its inputs; CPU-bound (about a few ms per article); the first call in a
    process loads the models (about a second). Raises ``TypeError`` if ``text`` is not a str
    and ``FileNotFoundError`` if a committed model file is missing.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be str or None, not {type(title).__name__}")
    models = _load()
    language, confidence = models.langid.predict(f"{title}\n{text}" if title else text)
    dateline = find_dateline(text, models.dictionary)
    # The dateline (or an outlet credit without a place, "PENADEWATA.ID -") is blanked out (same
    # length, so every offset still points into ``text``): nothing downstream sees it as a name,
    # a mention, a keyword or part of the first sentence.
    cut = dateline.end if dateline is not None else outlet_prefix_end(text)
    story = " " * cut + text[cut:] if cut else text
    sentences = split_sentences(story)
    # Tokenised once, shared by the tagger, the dictionary matcher, regions and the summariser.
    # Sentences cover every non-space character and no token crosses a sentence boundary, so
    # their tokens in order are exactly ``tokenize(text)``.
    sentence_tokens = [tokenize_span(story, s, e) for s, e in sentences]
    entities: list[dict[str, Any]] = []
    regions: list[dict[str, str]] = []
    regions_mentioned: list[dict[str, str]] = []
    if language in _NLP_LANGUAGES:
        entities = extract_entities(story, sentences, models.tagger, models.dictionary, sentence_tokens)
        text_tokens = [t for toks in sentence_tokens for t in toks]
        regions, regions_mentioned = tag_regions(story, title, entities, models.dictionary, text_tokens, dateline)
    summary = _summary(story, sentences, title, sentence_tokens)
    keywords = extract_keywords(story, title, entities) if language != "en" else []
    tone, entity_tones = tone_of(story, title, sentences, sentence_tokens, entities, models.tone)
    return {
        "language": language,
        "language_confidence": round(confidence, 4),
        "entities": entities,
        "regions": regions,
        "regions_mentioned": regions_mentioned,
        "summary": summary,
        "keywords": keywords,
        "dateline": None if dateline is None else _dateline_dict(text, dateline),
        "tone": tone,
        "entity_tones": entity_tones,
    }


def _dateline_dict(text: str, dateline: Dateline) -> dict[str, Any]:
    return {
        "text": text[dateline.start : dateline.end].strip(),
        "place": dateline.place,
        "name": dateline.name,
        "start": dateline.start,
        "end": dateline.end,
        "region_code": dateline.region_code,
    }
