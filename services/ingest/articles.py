"""Articles pushed over the API, and the one builder of ``articles.raw`` messages (the API and
the crawler both call :func:`build_raw_article`), so both doors apply the same edge rules:

- **text**: at most :data:`shared.limits.MAX_TEXT_BYTES` (JSON-encoded UTF-8), never truncated:
  :class:`shared.limits.TooLarge` (the API answers 413, the crawler records ``too_large``);
- **title**: control characters (NUL included) become spaces and bidi embeddings, overrides and
  isolates (U+202A-202E, U+2066-2069) are removed, whitespace is collapsed, and it is cut to
  :data:`shared.limits.MAX_TITLE_CHARS`; a title empty after that is refused;
- **URL**: :func:`services.ingest.urls.clean_url` (a valid host and port; credentials removed from
  the stored and the canonical URL);
- **publication date**: :func:`shared.limits.published_at_problem` (the API refuses an implausible
  date with a 422; the crawler drops it, keeps the article and logs why);
- other metadata (description, authors, tags, image, outlet) is cut to a bounded size, so the
  enriched record stays within the envelope :data:`shared.limits.ENRICHED_OVERHEAD_BYTES` allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.ingest.extract.model import ExtractedArticle
from services.ingest.urls import InvalidURL, canonical_url, clean_url, domain_of
from shared.ids import article_id
from shared.limits import MAX_TITLE_CHARS, check_html, check_text, published_at_problem
from shared.schemas import RawArticle, utcnow

# C0 and C1 controls (NUL, tabs and newlines included): replaced by a space.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates: invisible, and able to make a title display reversed.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Bounds on the metadata that travels with the text (characters, each value).
MAX_DESCRIPTION_CHARS = 2000
MAX_NAME_CHARS = 200  # one author, the outlet, the source
MAX_AUTHORS = 10
MAX_TAG_CHARS = 100
MAX_TAGS = 50
MAX_URL_CHARS = 2048


def clean_line(value: str) -> str:
    """One line of display text: no control or bidi control characters, whitespace collapsed."""
    return " ".join(_CONTROL.sub(" ", _BIDI.sub("", value)).split())


class InvalidArticle(ValueError):
    """A field breaks an edge rule (other than size). ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class EmptyArticle(ValueError):
    """The HTML held no extractable main text."""


class ArticleIn(BaseModel):
    """One article as a client pushes it. Exactly one of ``text`` and ``html`` is required.

    Sizes are checked by the endpoint, in bytes (a 413 naming the field), not here: ``text`` up to
    ``shared.limits.MAX_TEXT_BYTES``, ``html`` up to ``shared.limits.MAX_HTML_BYTES``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_URL_CHARS,
            description="Absolute http(s) URL of the article; credentials (user:pass@) are removed",
        ),
    ]
    title: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_TITLE_CHARS,
            description="Control and bidi control characters are removed, whitespace is collapsed",
        ),
    ]
    text: Annotated[str | None, Field(default=None, min_length=1)] = None
    html: Annotated[str | None, Field(default=None, min_length=1)] = None
    source: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=255,
            description="The outlet's domain (e.g. lintasmuria.com); defaults to the URL's domain",
        ),
    ] = None
    outlet: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=MAX_NAME_CHARS,
            description="The outlet's name as people know it (e.g. Lintas Muria); defaults to the name the page's "
            "metadata gives (html), else none: search then shows the domain",
        ),
    ] = None
    published_at: AwareDatetime | None = Field(
        default=None, description="ISO-8601 with a time zone; not before 1995, at most 1 hour ahead"
    )
    language: Annotated[str | None, Field(default=None, pattern=r"^[a-z]{2,3}$")] = None

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        try:
            canonical_url(value)
            return clean_url(value)
        except InvalidURL as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("title", "source")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = clean_line(value)
        if not cleaned:
            raise ValueError("is empty once control and bidi control characters are removed")
        return cleaned

    @field_validator("published_at")
    @classmethod
    def _plausible(cls, value: AwareDatetime | None) -> AwareDatetime | None:
        problem = None if value is None else published_at_problem(value)
        if problem:
            raise ValueError(f"published_at {problem}")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> ArticleIn:
        if (self.text is None) == (self.html is None):
            raise ValueError("exactly one of 'text' or 'html' is required")
        return self


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = clean_line(value)[:limit]
    return value or None


def _clip_all(values: Iterable[str] | None, limit: int, count: int) -> list[str]:
    clipped = (_clip(str(v), limit) for v in values or ())
    return [v for v in clipped if v][:count]


def build_raw_article(
    *,
    url: str,
    canonical: str,
    title: str,
    text: str,
    source: str,
    origin: Literal["api", "crawler"],
    ingested_at: datetime,
    text_field: str = "text",
    published_at: datetime | None = None,
    date_source: str | None = None,
    modified_at: datetime | None = None,
    authors: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    description: str | None = None,
    image: str | None = None,
    outlet: str | None = None,
    language: str | None = None,
    region_hint: str | None = None,
    source_id: str | None = None,
) -> RawArticle:
    """The ``articles.raw`` message for one article, with the edge rules of the module docstring.

    ``canonical`` is the canonical URL (the id derives from it). ``text_field`` names the text in
    errors (``"text extracted from html"`` for an HTML push). Pure and cheap (one encode of the
    text). Raises :class:`shared.limits.TooLarge` and :class:`InvalidArticle`.
    """
    try:
        url = clean_url(url)
        canonical = clean_url(canonical)
    except InvalidURL as exc:
        raise InvalidArticle("url", str(exc)) from exc
    clean_title = clean_line(title)[:MAX_TITLE_CHARS].strip()
    if not clean_title:
        raise InvalidArticle("title", "is empty once control and bidi control characters are removed")
    check_text(text, text_field)
    problem = None if published_at is None else published_at_problem(published_at)
    if problem:
        raise InvalidArticle("published_at", problem)
    if modified_at is not None and published_at_problem(modified_at):
        modified_at = None
    fields: dict[str, Any] = {
        "published_at": published_at,
        "date_source": date_source if published_at is not None else None,
        "modified_at": modified_at,
        "description": _clip(description, MAX_DESCRIPTION_CHARS),
        "image": _clip(image, MAX_URL_CHARS),
        "outlet": _clip(outlet, MAX_NAME_CHARS),
        "language": language,
        "region_hint": region_hint,
        "source_id": source_id,
    }
    try:
        return RawArticle(
            id=article_id(canonical),
            url=url,
            canonical_url=canonical,
            title=clean_title,
            text=text,
            source=_clip(source, MAX_NAME_CHARS) or domain_of(canonical),
            authors=_clip_all(authors, MAX_NAME_CHARS, MAX_AUTHORS),
            tags=_clip_all(tags, MAX_TAG_CHARS, MAX_TAGS),
            ingested_at=ingested_at,
            origin=origin,
            **{k: v for k, v in fields.items() if v is not None},
        )
    except ValidationError as exc:  # a backstop: the checks above should have caught it
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "article"
        raise InvalidArticle(field, str(error["msg"])) from exc


def _extract_in_process(html: str, url: str) -> ExtractedArticle:
    from services.ingest.extract import extract

    return extract(html, url)


def to_raw(article: ArticleIn, extract_html: Callable[[str, str], ExtractedArticle] | None = None) -> RawArticle:
    """Build the Kafka message. Raw HTML never travels: it is reduced to its main text here, by
    ``extract_html`` (the API passes its worker pool; default: in this thread).

    Raises :class:`shared.limits.TooLarge` (the HTML, or the text extracted from it),
    :class:`EmptyArticle`, :class:`InvalidArticle`, and whatever ``extract_html`` raises.
    """
    canonical = canonical_url(article.url)
    text = article.text
    text_field = "text"
    extracted: ExtractedArticle | None = None
    if article.html is not None:
        check_html(article.html)
        extracted = (extract_html or _extract_in_process)(article.html, article.url)
        text = extracted.text
        if not text or not text.strip():
            raise EmptyArticle("html: no main text could be extracted from the page")
        text_field = "text extracted from html"
    assert text is not None
    published_at, date_source = article.published_at, "api" if article.published_at else None
    if published_at is None and extracted is not None and extracted.published_at is not None:
        # The extractor applies the same rule; checked again in case the clock moved past it.
        if published_at_problem(extracted.published_at) is None:
            published_at, date_source = extracted.published_at, extracted.date_source
    return build_raw_article(
        url=article.url,
        canonical=canonical,
        title=article.title,
        text=text,
        source=article.source or domain_of(canonical),
        origin="api",
        ingested_at=utcnow(),
        text_field=text_field,
        published_at=published_at,
        date_source=date_source,
        language=article.language,
        modified_at=extracted.modified_at if extracted else None,
        authors=extracted.authors if extracted else None,
        tags=extracted.tags if extracted else None,
        description=extracted.description if extracted else None,
        image=extracted.image if extracted else None,
        outlet=article.outlet or (extracted.outlet if extracted else None),
    )
