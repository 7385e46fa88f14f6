"""Versioned message schemas: the source of truth for everything that travels through Kafka.

Every message carries ``schema_version``. A consumer meeting a version it does not know raises
:class:`UnknownSchemaVersion`; a message that does not validate raises :class:`InvalidMessage`.
Both are "invalid, never retry" errors and send the record to the stage's DLQ.
JSON Schemas and example messages are exported to ``shared/contracts/`` by
``python -m shared.contracts`` and checked by the contract tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.limits import MAX_TEXT_BYTES


def utcnow() -> datetime:
    return datetime.now(UTC)


class MessageError(Exception):
    """A Kafka record that can never be processed: it goes to the DLQ, it is never retried."""


class InvalidMessage(MessageError):
    pass


class UnknownSchemaVersion(MessageError):
    def __init__(self, model: str, version: object) -> None:
        super().__init__(f"unknown schema_version {version!r} for {model}")
        self.version = version


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode("utf-8")


NonEmpty = Annotated[str, Field(min_length=1)]


class _ArticleFields(_Message):
    """What ingest knows about an article; shared by the raw and the enriched message."""

    schema_version: Literal[1] = 1
    id: NonEmpty
    url: NonEmpty
    canonical_url: NonEmpty
    title: NonEmpty
    source: NonEmpty
    outlet: str | None = None
    published_at: AwareDatetime | None = None
    date_source: str | None = None
    modified_at: AwareDatetime | None = None
    authors: list[str] = Field(default_factory=list)
    image: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    region_hint: str | None = None
    source_id: str | None = None
    ingested_at: AwareDatetime
    origin: Literal["api", "crawler"] = "api"


class RawArticle(_ArticleFields):
    """An article as ingest publishes it to ``articles.raw``: text only, never raw HTML."""

    # The edge rule is in bytes (shared/limits.py ``check_text``, applied by ingest's one builder);
    # this backstop in characters can never be stricter (a character is at least one byte).
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_BYTES)]
    language: str | None = None


class Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    type: Literal["PER", "ORG", "LOC"]
    text: str
    canonical: str
    role: str | None = None


class Region(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    level: Literal["provinsi", "kabupaten_kota"]


class Dateline(BaseModel):
    """Where the story was filed from, as written at the start of the text ("KUDUS, Lintas Muria –").

    ``start``/``end``: the dateline's span in ``body`` (half-open); ``place``: the place as written
    ("KUDUS"); ``name``: its display name ("Kudus"); ``region_code``: the BPS code of the matched
    province or kabupaten/kota, None for a place outside the region list.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    place: str
    name: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    region_code: str | None = None


ToneLabel = Literal["positive", "negative", "neutral"]


class ArticleTone(BaseModel):
    """The tone of an article: ``label`` overall, ``score`` from -1 (negative) to 1 (positive),
    ``headline`` of the title read alone (None when there is no title), ``body`` of the body alone.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: ToneLabel
    score: float = Field(ge=-1.0, le=1.0)
    headline: ToneLabel | None = None
    body: ToneLabel


class EntityTone(BaseModel):
    """The tone toward one entity (all mentions of one ``type`` + ``canonical``), from the sentences
    that mention it or refer back to it. ``evidence`` is the sentence that decided a positive or
    negative label (None for neutral); ``evidence_start``/``evidence_end`` its span in ``body``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["PER", "ORG", "LOC"]
    canonical: str
    label: ToneLabel
    score: float = Field(ge=-1.0, le=1.0)
    mentions: int = Field(ge=1)
    evidence: str | None = None
    evidence_start: int | None = Field(default=None, ge=0)
    evidence_end: int | None = Field(default=None, ge=0)


class EnrichedArticle(_ArticleFields):
    """A raw article plus everything enrich adds; published to ``articles.enriched``.

    ``dateline`` was added to version 1 as an optional field: records without it stay valid.
    Version 2 adds tone: ``tone`` (required) and ``entity_tones``. Version 1 records (no tone)
    are still read and indexed.
    """

    schema_version: Literal[1, 2] = 2  # type: ignore[assignment]
    text: str
    language: str
    language_confidence: float = Field(ge=0.0, le=1.0)
    word_count: int = Field(ge=0)
    body: str
    entities: list[Entity] = Field(default_factory=list)
    regions: list[Region] = Field(default_factory=list)
    # Regions named only in passing ("pembeli dari Bali dan Jakarta"); ``regions`` holds the
    # article's own regions. Added to version 1 as optional: records without it stay valid.
    regions_mentioned: list[Region] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    dateline: Dateline | None = None
    story_id: str | None = None
    story_size: int | None = None
    tone: ArticleTone | None = None
    entity_tones: list[EntityTone] = Field(default_factory=list)
    enriched_at: AwareDatetime

    @model_validator(mode="after")
    def _tone_from_version_2(self) -> EnrichedArticle:
        if self.schema_version >= 2 and self.tone is None:
            raise ValueError("tone is required from schema_version 2")
        if self.schema_version == 1 and (self.tone is not None or self.entity_tones):
            raise ValueError("tone and entity_tones need schema_version 2")
        return self

    @field_validator("entities")
    @classmethod
    def _spans_ordered(cls, entities: list[Entity]) -> list[Entity]:
        for e in entities:
            if e.end < e.start:
                raise ValueError(f"entity {e.text!r} ends before it starts")
        return entities


class DlqRecord(_Message):
    """A record that a stage could not process, with enough context to replay it."""

    schema_version: Literal[1] = 1
    stage: Literal["enrich", "search"]
    reason: Literal["invalid", "unknown_schema", "failed", "rejected"]
    error: str
    attempts: int = Field(ge=1)
    failed_at: AwareDatetime
    article_id: str | None = None
    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    # The original record value, verbatim (UTF-8, or latin-1 escaped when it was not text). Cut
    # only when the DLQ record would not fit in Kafka: ``error`` then ends with "[payload truncated:
    # kept K of N bytes, sha256 <hex of the whole payload in UTF-8>]" (shared/kafka.py fit_dlq_record).
    payload: str


class IndexedArticle(_Message):
    """An article the indexer has durably written to Elasticsearch; published to
    ``articles.indexed`` (keyed by article id) after the bulk succeeded and before the offsets of
    ``articles.enriched`` are committed. The alerts consumer matches saved searches against it."""

    schema_version: Literal[1] = 1
    id: NonEmpty
    # The Elasticsearch index the document was written to (behind the alias), and when.
    index: NonEmpty
    indexed_at: AwareDatetime
    # The article's ingest time: its external version, so a consumer can tell a re-index of the
    # same copy from a newer copy.
    ingested_at: AwareDatetime
    story_id: str | None = None


M = TypeVar("M", bound=_Message)

MODELS: dict[str, type[_Message]] = {
    "articles.raw": RawArticle,
    "articles.enriched": EnrichedArticle,
    "enrich.dlq": DlqRecord,
    "search.dlq": DlqRecord,
    "articles.indexed": IndexedArticle,
}
SUPPORTED_VERSIONS: dict[type[_Message], frozenset[int]] = {
    RawArticle: frozenset({1}),
    EnrichedArticle: frozenset({1, 2}),
    DlqRecord: frozenset({1}),
    IndexedArticle: frozenset({1}),
}


def decode(model: type[M], value: bytes | str | dict[str, Any]) -> M:
    """Parse one message. Raises InvalidMessage or UnknownSchemaVersion; never anything else."""
    if isinstance(value, dict):
        data = value
    else:
        # Fast path (pydantic parses the JSON itself, about twice as fast): a valid message that
        # states its version. Anything else takes the slow path, which says what is wrong.
        try:
            msg = model.model_validate_json(value)
            if "schema_version" in msg.model_fields_set:
                return msg
        except ValidationError:
            pass
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as exc:  # also raised for invalid UTF-8
            raise InvalidMessage(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidMessage("message is not a JSON object")
    version = data.get("schema_version")
    if version not in SUPPORTED_VERSIONS[model]:
        raise UnknownSchemaVersion(model.__name__, version)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(_summarize(exc)) from exc


def _summarize(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def payload_text(value: bytes | None) -> str:
    """Render a raw record value for a DLQ record without ever failing."""
    if value is None:
        return ""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
