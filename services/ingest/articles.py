"""Articles pushed over the API: validation and conversion to the ``articles.raw`` message."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.ingest.urls import InvalidURL, canonical_url, domain_of
from shared.ids import article_id
from shared.schemas import MAX_TEXT_CHARS, RawArticle, utcnow

# Clock skew we tolerate on publication dates supplied by clients.
FUTURE_SKEW = timedelta(hours=1)


class ArticleIn(BaseModel):
    """One article as a client pushes it. Exactly one of ``text`` and ``html`` is required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Annotated[str, Field(min_length=1, max_length=2048, description="Absolute http(s) URL of the article")]
    title: Annotated[str, Field(min_length=1, max_length=1000)]
    text: Annotated[str | None, Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)] = None
    html: Annotated[str | None, Field(default=None, min_length=1, max_length=2_000_000)] = None
    source: Annotated[
        str | None,
        Field(default=None, min_length=1, max_length=255, description="Outlet; defaults to the URL's domain"),
    ] = None
    published_at: AwareDatetime | None = Field(default=None, description="ISO-8601 with a time zone")
    language: Annotated[str | None, Field(default=None, pattern=r"^[a-z]{2,3}$")] = None

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        try:
            canonical_url(value)
        except InvalidURL as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("published_at")
    @classmethod
    def _not_future(cls, value: AwareDatetime | None) -> AwareDatetime | None:
        if value is not None and value > utcnow() + FUTURE_SKEW:
            raise ValueError("published_at is in the future")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> ArticleIn:
        if (self.text is None) == (self.html is None):
            raise ValueError("exactly one of 'text' or 'html' is required")
        return self


class EmptyArticle(ValueError):
    """The HTML held no extractable main text."""


def to_raw(article: ArticleIn) -> RawArticle:
    """Build the Kafka message. Raw HTML never travels: it is reduced to its main text here."""
    canonical = canonical_url(article.url)
    fields: dict[str, object] = {}
    text = article.text
    if article.html is not None:
        from services.ingest.extract import extract

        extracted = extract(article.html, article.url)
        text = extracted.text
        if not text or not text.strip():
            raise EmptyArticle("html: no main text could be extracted from the page")
        fields = {
            "authors": list(extracted.authors or []),
            "image": extracted.image,
            "description": extracted.description,
            "tags": list(extracted.tags or []),
            "modified_at": extracted.modified_at,
            "outlet": extracted.outlet,
        }
        if article.published_at is None and extracted.published_at is not None:
            fields["published_at"] = extracted.published_at
            fields["date_source"] = extracted.date_source
    if article.published_at is not None:
        fields["published_at"] = article.published_at
        fields["date_source"] = "api"
    assert text is not None
    return RawArticle(
        id=article_id(canonical),
        url=article.url,
        canonical_url=canonical,
        title=article.title,
        text=text,
        source=article.source or domain_of(canonical),
        language=article.language,
        ingested_at=utcnow(),
        origin="api",
        **{k: v for k, v in fields.items() if v is not None},  # type: ignore[arg-type]
    )
