"""The result of extracting one article page."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ExtractedArticle(BaseModel):
    """Everything :func:`services.ingest.extract.extract` recovers from one HTML page.

    Every field may be empty: a page without a date gives ``published_at=None`` and
    ``date_source=None``. Datetimes are always timezone-aware and keep the page's own offset
    (``+07:00`` for WIB) rather than being converted to UTC.
    """

    model_config = ConfigDict(extra="forbid")

    url: str
    title: str | None = None
    text: str = ""
    published_at: AwareDatetime | None = None
    # Where published_at came from: jsonld, opengraph, meta, html, text, url, or the
    # fallback's label (feed, sitemap, ...).
    date_source: str | None = None
    modified_at: AwareDatetime | None = None
    authors: list[str] = Field(default_factory=list)
    image: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    tags: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    outlet: str | None = None

    @property
    def author(self) -> str | None:
        """The first author, or None."""
        return self.authors[0] if self.authors else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; datetimes as ISO-8601 with their offset."""
        data = self.model_dump(mode="json")
        # Always "+00:00"-style offsets, never "Z": consumers parse one form.
        data["published_at"] = iso(self.published_at)
        data["modified_at"] = iso(self.modified_at)
        data["author"] = self.author
        return data

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object (UTF-8 text kept readable, not ``\\u``-escaped)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with offset, or None."""
    return value.isoformat() if value is not None else None
