"""The source model: what the registry stores and the sources API accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.ingest.urls import InvalidURL, PatternError, clean_url, compile_pattern

SourceType = Literal["rss", "sitemap", "wordpress", "listing"]
SOURCE_ID = r"^[a-z0-9][a-z0-9_-]{1,63}$"
MIN_INTERVAL_FLOOR_S = 10.0


# What each field means, shown in the OpenAPI document of the sources API (docs/crawler.md, "Sources").
HELP = {
    "id": "Stable slug (lower-case letters, digits, - and _); derived from the name when absent",
    "type": "How the crawler reads the URL: rss (RSS/Atom feed), sitemap, wordpress (the site's REST API) or "
    "listing (a page of article links, followed for up to max_pages pages)",
    "name": "The source's name as people know it",
    "url": "Feed, sitemap, site root (wordpress) or listing page URL: absolute http(s); credentials are removed",
    "language": "ISO 639 code of the articles' language (id, jv, en, ...); default id",
    "region": "Region hint for the articles, e.g. 'Jawa Tengah'",
    "outlet": "The outlet's name as shown to readers, e.g. 'Lintas Muria'",
    "min_interval_s": "Shortest time between two crawls, in seconds (at least 10); default "
    "WARTA_CRAWL_DEFAULT_MIN_INTERVAL_S",
    "max_interval_s": "Longest time between two crawls, in seconds; default WARTA_CRAWL_DEFAULT_MAX_INTERVAL_S",
    "include_patterns": "Regular expressions (RE2, up to 500 characters each) searched in an article URL's path "
    "and query: when any are given, only URLs matching one are crawled",
    "exclude_patterns": "Regular expressions (RE2) as include_patterns: URLs matching one are skipped",
    "max_pages": "For listing sources: how many pages of links to follow (1-100)",
    "enabled": "Whether the crawler crawls this source",
    "created_at": "When the source was added",
    "updated_at": "When the source was last changed",
}


def _check_url(url: str) -> str:
    """The rules of every URL entering Warta (:func:`services.ingest.urls.clean_url`): a valid
    host and port, credentials removed (they would be shown to every admin and in logs)."""
    try:
        return clean_url(url)
    except InvalidURL as exc:
        # Addresses are checked by the SSRF guard: by the API for literal IPs, and after DNS
        # resolution at every fetch.
        raise ValueError(str(exc)) from exc


def _check_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise ValueError(str(exc)) from exc
    return patterns


class SourceFields(BaseModel):
    """Editable fields shared by create and update."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, description=HELP["name"])
    url: str | None = Field(default=None, max_length=2000, description=HELP["url"])
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$", description=HELP["language"])
    region: str | None = Field(default=None, max_length=100, description=HELP["region"])
    outlet: str | None = Field(default=None, max_length=200, description=HELP["outlet"])
    min_interval_s: float | None = Field(default=None, ge=MIN_INTERVAL_FLOOR_S, description=HELP["min_interval_s"])
    max_interval_s: float | None = Field(default=None, ge=MIN_INTERVAL_FLOOR_S, description=HELP["max_interval_s"])
    include_patterns: list[str] | None = Field(default=None, max_length=50, description=HELP["include_patterns"])
    exclude_patterns: list[str] | None = Field(default=None, max_length=50, description=HELP["exclude_patterns"])
    max_pages: int | None = Field(default=None, ge=1, le=100, description=HELP["max_pages"])
    enabled: bool | None = Field(default=None, description=HELP["enabled"])

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    @field_validator("include_patterns", "exclude_patterns")
    @classmethod
    def _patterns(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_patterns(value)

    @model_validator(mode="after")
    def _bounds(self) -> SourceFields:
        if self.min_interval_s and self.max_interval_s and self.min_interval_s > self.max_interval_s:
            raise ValueError("min_interval_s must not exceed max_interval_s")
        return self


class SourceCreate(SourceFields):
    """Body of ``POST /v1/sources`` and one entry of the seed YAML."""

    id: str | None = Field(default=None, pattern=SOURCE_ID, description=HELP["id"])
    type: SourceType = Field(description=HELP["type"])
    name: str = Field(min_length=1, max_length=200, description=HELP["name"])
    url: str = Field(max_length=2000, description=HELP["url"])
    language: str | None = Field(default="id", pattern=r"^[a-z]{2,3}$", description=HELP["language"])
    include_patterns: list[str] = Field(default_factory=list, max_length=50, description=HELP["include_patterns"])
    exclude_patterns: list[str] = Field(default_factory=list, max_length=50, description=HELP["exclude_patterns"])
    enabled: bool = Field(default=True, description=HELP["enabled"])


class SourceUpdate(SourceFields):
    """Body of ``PATCH /v1/sources/{id}``: only the fields given change."""

    type: SourceType | None = Field(default=None, description=HELP["type"])


class Source(BaseModel):
    """A stored source."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description=HELP["id"])
    type: SourceType = Field(description=HELP["type"])
    name: str = Field(description=HELP["name"])
    url: str = Field(description=HELP["url"])
    language: str | None = Field("id", description=HELP["language"])
    region: str | None = Field(None, description=HELP["region"])
    outlet: str | None = Field(None, description=HELP["outlet"])
    min_interval_s: float | None = Field(None, description=HELP["min_interval_s"])
    max_interval_s: float | None = Field(None, description=HELP["max_interval_s"])
    include_patterns: list[str] = Field(default_factory=list, description=HELP["include_patterns"])
    exclude_patterns: list[str] = Field(default_factory=list, description=HELP["exclude_patterns"])
    max_pages: int | None = Field(None, description=HELP["max_pages"])
    enabled: bool = Field(True, description=HELP["enabled"])
    created_at: datetime = Field(description=HELP["created_at"])
    updated_at: datetime = Field(description=HELP["updated_at"])
