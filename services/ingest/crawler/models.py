"""The source model: what the registry stores and the sources API accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.ingest.urls import InvalidURL, PatternError, clean_url, compile_pattern

SourceType = Literal["rss", "sitemap", "wordpress", "listing"]
SOURCE_ID = r"^[a-z0-9][a-z0-9_-]{1,63}$"
MIN_INTERVAL_FLOOR_S = 10.0


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

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(
        default=None, max_length=2000, description="Feed, sitemap, site root (wordpress) or listing page URL"
    )
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    region: str | None = Field(default=None, max_length=100, description="Region hint, e.g. 'Jawa Tengah'")
    outlet: str | None = Field(default=None, max_length=200)
    min_interval_s: float | None = Field(default=None, ge=MIN_INTERVAL_FLOOR_S)
    max_interval_s: float | None = Field(default=None, ge=MIN_INTERVAL_FLOOR_S)
    include_patterns: list[str] | None = Field(default=None, max_length=50)
    exclude_patterns: list[str] | None = Field(default=None, max_length=50)
    max_pages: int | None = Field(default=None, ge=1, le=100)
    enabled: bool | None = None

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

    id: str | None = Field(default=None, pattern=SOURCE_ID, description="Stable id; derived from the name when absent")
    type: SourceType
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=2000)
    language: str | None = Field(default="id", pattern=r"^[a-z]{2,3}$")
    include_patterns: list[str] = Field(default_factory=list, max_length=50)
    exclude_patterns: list[str] = Field(default_factory=list, max_length=50)
    enabled: bool = True


class SourceUpdate(SourceFields):
    """Body of ``PATCH /v1/sources/{id}``: only the fields given change."""

    type: SourceType | None = None


class Source(BaseModel):
    """A stored source."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: SourceType
    name: str
    url: str
    language: str | None = "id"
    region: str | None = None
    outlet: str | None = None
    min_interval_s: float | None = None
    max_interval_s: float | None = None
    include_patterns: list[str] = Field(default_factory=list)
    exclude_patterns: list[str] = Field(default_factory=list)
    max_pages: int | None = None
    enabled: bool = True
    created_at: datetime
    updated_at: datetime
