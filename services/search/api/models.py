"""The search API's request and response models: what the OpenAPI schema publishes.

Hot paths (search, stories, timeline) build their bodies as plain dicts in these shapes and skip
response validation (:mod:`services.search.api.results`); the models stay the one definition of
each shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.search.criteria import MAX_QUERY_LENGTH, MAX_TIMELINE_BUCKETS, Criteria, Interval, Sort
from shared.auth import Role
from shared.schemas import Region

# --- errors -----------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    error: str
    position: int | None = None


# The error answers every /v1 endpoint documents (create_app adds them to each /v1 route).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed query or parameter"},
    401: {"model": ErrorBody, "description": "Missing or invalid API key"},
    403: {"model": ErrorBody, "description": "The key's role is not allowed here"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded"},
    503: {"model": ErrorBody, "description": "Search backend unavailable"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


# --- query parameters -----------------------------------------------------------------------------


class CriteriaParams(BaseModel):
    """The query parameters that select articles, shared by search, analytics and export. Each
    endpoint declares all its query parameters as one subclass: one model validated per request
    costs less than separately declared parameters and dependencies."""

    # The length is checked with the query's other guards (a 400 with the position), not here.
    q: str = Field(
        "", description="Query in the Warta query language", json_schema_extra={"maxLength": MAX_QUERY_LENGTH}
    )
    date_from: str | None = Field(None, alias="from", description="ISO date or date-time; default zone Asia/Jakarta")
    date_to: str | None = Field(None, alias="to", description="ISO date or date-time; default zone Asia/Jakarta")
    source: list[str] = Field([], description="Outlet filter (repeatable)")
    language: list[str] = Field([], description="Language filter (repeatable)")
    region: list[str] = Field([], description="Region code or name (repeatable)")
    entity: list[str] = Field([], description="Canonical entity name (repeatable)")

    def criteria(self) -> Criteria:
        return Criteria(q=self.q, date_from=self.date_from, date_to=self.date_to, sources=self.source,
                        languages=self.language, regions=self.region, entities=self.entity)  # fmt: skip


class SearchParams(CriteriaParams):
    size: int = Field(10, ge=1, le=100)
    sort: Sort = "relevance"
    cursor: str | None = Field(None, max_length=2000)
    collapse: bool = Field(False, description="One hit per story")


class TimelineParams(CriteriaParams):
    interval: Interval = "day"
    count: Literal["articles", "stories"] = "articles"


class TopParams(CriteriaParams):
    field: Literal["source", "entity", "person", "org", "location", "region", "language", "source_id"] = "source"
    size: int = Field(10, ge=1, le=100)
    count: Literal["articles", "stories"] = "articles"


class ExportParams(CriteriaParams):
    format: Literal["csv", "ndjson"] = "csv"


# --- search, articles, stories --------------------------------------------------------------------


class EntityOut(BaseModel):
    type: str
    canonical: str
    role: str | None = None


class StoryInfo(BaseModel):
    story_id: str
    story_size: int
    outlets: list[str]
    earliest_published_at: datetime | None = None


# One article in a list of results. services.search.api.results.hit_dict builds it from an
# Elasticsearch hit: each field it does not compute (results.COMPUTED) is the indexed field of the
# same name, and those fields are what search and stories read from the index (HIT_SOURCE).
class Hit(BaseModel):
    id: str
    url: str
    title: str
    source: str
    outlet: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    snippet: str | None = None
    highlights: dict[str, list[str]] = Field(default_factory=dict)
    summary: list[str] = Field(default_factory=list)
    entities: list[EntityOut] = Field(default_factory=list)
    regions: list[Region] = Field(default_factory=list)
    story_id: str | None = None
    story_size: int | None = None
    story: StoryInfo | None = None


class SearchResult(BaseModel):
    total: int
    total_stories: int | None = None
    hits: list[Hit]
    next_cursor: str | None = None


class StoryResult(BaseModel):
    story: StoryInfo
    members: list[Hit]


# --- analytics ------------------------------------------------------------------------------------


class Bucket(BaseModel):
    key: str
    count: int


class Timeline(BaseModel):
    interval: Interval = Field(description="The interval of the buckets: the requested one, or a coarser one")
    count: Literal["articles", "stories"]
    time_zone: str
    buckets: list[Bucket]
    requested_interval: Interval
    interval_adjusted: bool = Field(
        description=f"True when the requested interval would need more than {MAX_TIMELINE_BUCKETS:,} buckets "
        "and a coarser one was used"
    )
    outside_window: int = Field(description="Matches dated before 1900 or over a year ahead: not in any bucket")
    note: str | None = Field(None, description="Why the interval was adjusted or matches were left out")


class TopResult(BaseModel):
    field: str
    count: Literal["articles", "stories"]
    values: list[Bucket]
    significant_terms: list[Bucket]


# --- saved searches -------------------------------------------------------------------------------

WEBHOOK_URL_HELP = (
    "http(s) URL called with each batch of new matches (docs/alerts.md). It must resolve to public addresses "
    "only, unless its host:port is in WARTA_WEBHOOK_ALLOW_HOSTS; no credentials in the URL. A refused URL is a 422 "
    "naming the reason."
)


class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1, max_length=2000)
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://", description=WEBHOOK_URL_HELP)


class SavedSearchPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    query: str | None = Field(default=None, min_length=1, max_length=2000)
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://", description=WEBHOOK_URL_HELP)
    enabled: bool | None = None


class SavedSearch(BaseModel):
    id: str
    name: str
    query: str
    webhook_url: str | None = None
    enabled: bool = True
    created_at: datetime
    updated_at: datetime
    delivery_status: Literal["ok", "failing"] | None = Field(
        None, description="Outcome of the last webhook attempt: ok, failing (no success since), null (none yet)"
    )
    consecutive_failures: int = Field(0, description="Failed webhook attempts since the last success")
    last_delivery_at: datetime | None = Field(None, description="Time of the last webhook attempt")
    last_delivery_error: str | None = Field(None, description="Why the last attempt failed (null after a success)")
    # Written by the alerts consumer (`warta search alerts`, services/search/alerts/store.py); read-only here.
    query_status: Literal["ok", "failing"] | None = Field(
        None,
        description="Outcome of the last run of the query by the alerts consumer: ok; failing (Elasticsearch rejected "
        "it, so the monitor is skipped while it fails); null (not run since the monitor was created or its query "
        "changed). Read-only.",
    )
    query_error: str | None = Field(
        None, description="Why Elasticsearch rejected the query (null unless query_status is failing). Read-only."
    )
    query_failed_at: datetime | None = Field(
        None, description="Since when the query has been failing (null unless query_status is failing). Read-only."
    )


class Match(BaseModel):
    saved_search_id: str
    article_id: str
    matched_at: datetime
    published_at: datetime | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None


class Delivery(BaseModel):
    id: str
    saved_search_id: str
    article_ids: list[str]
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None
    log: list[dict[str, Any]] = Field(default_factory=list)


# --- API keys -------------------------------------------------------------------------------------


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role


class KeyCreated(BaseModel):
    id: str
    name: str
    role: Role
    key: str = Field(description="The plaintext key. It is shown once and stored only as a hash.")


class KeyInfo(BaseModel):
    id: str
    name: str
    role: Role
    created_at: datetime
    disabled: bool
    prefix: str | None = None
