"""Request and response models of ``/v1/pickups`` (what the OpenAPI document publishes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

MAX_RELEASE_CHARS = 50_000
# The body cap of POST /v1/pickups: the longest release in UTF-8 (up to 4 bytes a character, JSON
# escapes aside) with room for the other fields. Larger bodies are answered 413 before they are read.
MAX_RELEASE_REQUEST_BYTES = 4 * MAX_RELEASE_CHARS + 16 * 1024
MIN_RELEASE_WORDS = 20
MAX_WINDOW_DAYS = 31
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


class PickupIn(BaseModel):
    """A press release to track: its text (and title), or the URL of the original on the
    institution's own site when Warta already indexed that page."""

    title: str = Field("", max_length=500, description="The release's title (compared with each pickup's title)")
    text: str | None = Field(
        None, max_length=MAX_RELEASE_CHARS, description=f"The release's text (at least {MIN_RELEASE_WORDS} words)"
    )
    url: str | None = Field(
        None,
        max_length=2000,
        description="Instead of `text`: the URL of the original on the institution's site. Warta does not fetch "
        "it; the article must already be indexed (crawl the institution's site as a source), else 422.",
    )
    released_at: AwareDatetime | None = Field(
        None,
        description="When the release went out (ISO 8601 with a zone). Default: the original's publication time "
        "for a `url`, else now. Delays are measured from it.",
    )
    window_days: int = Field(7, ge=1, le=MAX_WINDOW_DAYS, description="How long to track the release, in days")

    @field_validator("released_at")
    @classmethod
    def _plausible_time(cls, v: datetime | None) -> datetime | None:
        # Delays are computed from it, and a window around year 1 or 9999 overflows.
        if v is not None and not EARLIEST <= v <= datetime.now(UTC) + timedelta(days=366):
            raise ValueError("must be after 1990 and at most a year from now")
        return v

    @field_validator("title")
    @classmethod
    def _strip_title(cls, v: str) -> str:
        return v.strip()

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        if not v.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @model_validator(mode="after")
    def _text_or_url(self) -> PickupIn:
        if (self.text is None or not self.text.strip()) == (self.url is None):
            raise ValueError("give either the release's `text` or the `url` of its original, not both")
        return self


class DiffPart(BaseModel):
    op: Literal["equal", "delete", "insert"]
    text: str


class Pickup(BaseModel):
    """One article that carried the release."""

    article_id: str
    outlet: str | None
    source: str | None
    title: str | None
    url: str | None
    published_at: datetime | None
    first_seen: datetime | None = Field(description="The outlet's publication time, else when Warta ingested it")
    delay_s: int | None = Field(description="Seconds from the release to `first_seen` (negative: before it)")
    kept: float = Field(description="Share of the release's text the article kept (shingle containment, 0-1)")
    share: float = Field(description="Share of the article's text that is the release (0-1)")
    title_changed: bool
    lead_similarity: float = Field(description="difflib ratio of the leads' words (1: kept word for word)")
    lead_diff: list[DiffPart] = Field(description="The release's lead against the article's, word by word")


class Release(BaseModel):
    id: str
    team: str
    title: str
    url: str | None
    original_id: str | None = Field(description="The indexed original (for a release given by `url`)")
    released_at: datetime
    window_days: int
    window_end: datetime
    tracking: bool = Field(description="The window is still open: new pickups may appear")
    created_at: datetime
    created_by: str | None
    outlets: int = Field(description="Outlets that carried it so far")
    pickup_count: int = Field(description="Articles that carried it so far")


class ReleaseDetail(Release):
    text: str
    pickups: list[Pickup]


class OutletScore(BaseModel):
    outlet: str
    releases_carried: int
    carried_share: float = Field(description="releases_carried / releases in the period")
    articles: int
    median_delay_s: float | None = Field(description="Median over releases of the outlet's first pickup delay")
    mean_kept: float = Field(description="Mean over releases of the most the outlet kept of each (0-1)")


class Scorecard(BaseModel):
    date_from: datetime = Field(alias="from")
    date_to: datetime = Field(alias="to")
    releases: int
    outlets: list[OutletScore]

    model_config = {"populate_by_name": True}
