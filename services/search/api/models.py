"""The search API's request and response models: what the OpenAPI schema publishes.

Hot paths (search, stories, timeline) build their bodies as plain dicts in these shapes and skip
response validation (:mod:`services.search.api.results`); the models stay the one definition of
each shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.search.criteria import (
    EXPORT_TIME_ZONE,
    MAX_QUERY_LENGTH,
    MAX_TIMELINE_BUCKETS,
    Criteria,
    Interval,
    RegionScope,
    Sort,
    time_zone,
)
from services.search.digests.config import Channels, Schedule
from shared.auth import DEFAULT_TEAM, TEAM_PATTERN, Role
from shared.schemas import Region

# --- errors -----------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    error: str
    code: str | None = Field(
        None,
        description="Stable error code to translate by (for the query: one of the codes in "
        "docs/query-language.md, e.g. missing_right_operand, unbalanced_parenthesis, unterminated_phrase)",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="The values the message names (a field, an operator, a limit), by name"
    )
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
    source: list[str] = Field(
        [], description="Outlet filter (repeatable): the outlet's name or its domain, case-insensitive, as source:"
    )
    language: list[str] = Field([], description="Language filter (repeatable)")
    region: list[str] = Field(
        [],
        description="Region (repeatable): code, name, name without Kabupaten/Kota or a province's short form, as region:",
    )
    entity: list[str] = Field([], description="Entity (repeatable): its canonical name or an alias, as entity:")
    region_scope: RegionScope = Field(
        "primary",
        description="What region: and the region filter match: the article's regions (primary, the default: "
        "dateline, title, lead, repeated mentions) or also regions it only mentions in passing (any)",
    )
    tone: list[str] = Field(
        [],
        description="Tone (repeatable, any of): positive, negative or neutral (positif, negatif, netral; any case). "
        "The article's overall tone; with entity filters, the tone toward those entities (as entity:X AND tone:x in "
        "q). An unknown value is a 400 with code unknown_tone_value.",
    )
    tone_mismatch: bool | None = Field(
        None,
        description="true: only articles whose headline tone differs from their body tone; false: only articles "
        "with a tone where they agree (or without a title)",
    )

    def criteria(self) -> Criteria:
        return Criteria(q=self.q, date_from=self.date_from, date_to=self.date_to, sources=self.source,
                        languages=self.language, regions=self.region, entities=self.entity,
                        region_scope=self.region_scope, tones=self.tone, tone_mismatch=self.tone_mismatch)  # fmt: skip


class SearchParams(CriteriaParams):
    size: int = Field(10, ge=0, le=100, description="Hits per page; 0 counts only (total, total_stories, no hits)")
    sort: Sort = "relevance"
    cursor: str | None = Field(None, max_length=2000)
    collapse: bool = Field(False, description="One hit per story")


class TimelineParams(CriteriaParams):
    interval: Interval | Literal["auto"] = Field(
        "auto",
        description="Bucket interval; auto picks it from the span (from/to, else the matches): up to 60 days "
        "day, up to 2 years week, longer month",
    )
    count: Literal["articles", "stories"] = "articles"


class TopParams(CriteriaParams):
    field: Literal[
        "source", "entity", "person", "org", "location", "region", "region_mentioned", "language", "source_id"
    ] = "source"
    size: int = Field(10, ge=1, le=100)
    count: Literal["articles", "stories"] = "articles"


class ExportParams(CriteriaParams):
    format: Literal["csv", "ndjson"] = "csv"
    tz: str = Field(
        EXPORT_TIME_ZONE,
        max_length=64,
        description="IANA time zone every time in the export is written in, ISO-8601 with its offset (Asia/Makassar "
        "for WITA, Asia/Jayapura for WIT, UTC); the CSV header names it. An unknown zone is a 422.",
    )

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return time_zone(value).key  # raises ValueError (a 422) for an unknown zone

    def zone(self) -> ZoneInfo:
        return time_zone(self.tz)


class ReportParams(CriteriaParams):
    """GET /v1/reports: the articles the criteria select, as a report (services/search/reports)."""

    format: Literal["html", "pdf"] = Field("html", description="html: one self-contained page; pdf: A4, paginated")
    lang: Literal["id", "en"] = Field("id", description="The report's language: id (Indonesian, the default) or en")
    title: str | None = Field(
        None, max_length=200, description='The report\'s title (default "Laporan Pemberitaan" / "Coverage report")'
    )
    top: int = Field(10, ge=1, le=50, description="Values in each top list (outlets, people, institutions, regions)")
    stories: int = Field(100, ge=1, le=500, description="Stories listed, the most widely carried first")


# --- search, articles, stories --------------------------------------------------------------------


class EntityOut(BaseModel):
    type: str
    canonical: str
    role: str | None = None


class StoryInfo(BaseModel):
    story_id: str
    story_size: int
    outlets: list[str] = Field(description="The outlets carrying the story, by name (the domain when unnamed)")
    earliest_published_at: datetime | None = None


TONE_LABEL_HELP = "positive, negative or neutral"


class ToneOut(BaseModel):
    """An article's tone (articles enriched before tone have none)."""

    label: str = Field(description=f"The overall tone: {TONE_LABEL_HELP}")
    score: float = Field(description="From -1 (negative) to 1 (positive)")
    headline: str | None = Field(None, description=f"The headline's tone read alone: {TONE_LABEL_HELP}; null "
                                 "without a title")  # fmt: skip
    body: str = Field(description=f"The body's tone, ignoring the title: {TONE_LABEL_HELP}")


class EntityToneOut(BaseModel):
    """The tone toward one entity, with the sentence that decided it."""

    type: str = Field(description="PER, ORG or LOC")
    canonical: str = Field(description="The entity's canonical name")
    label: str = Field(description=f"The tone toward the entity: {TONE_LABEL_HELP}")
    score: float = Field(description="From -1 (negative) to 1 (positive)")
    mentions: int = Field(description="Sentences that mention the entity or refer back to it")
    evidence: str | None = Field(None, description="The sentence that decided a positive or negative label; null "
                                 "for neutral")  # fmt: skip
    evidence_start: int | None = Field(None, description="Start of the evidence in the article's body (characters)")
    evidence_end: int | None = Field(None, description="End of the evidence in the article's body (characters)")


class ToneCounts(BaseModel):
    """A tone split: how many of the counted articles (or stories) have each tone. Articles without
    tone (enriched before it) are in none."""

    positive: int = Field(0, description="Counted with a positive tone")
    negative: int = Field(0, description="Counted with a negative tone")
    neutral: int = Field(0, description="Counted with a neutral tone")


# One article in a list of results. services.search.api.results.hit_dict builds it from an
# Elasticsearch hit: each field it does not compute (results.COMPUTED) is the indexed field of the
# same name, and those fields are what search and stories read from the index (HIT_SOURCE).
class Hit(BaseModel):
    id: str
    url: str
    title: str
    source: str = Field(description="The outlet's domain (host without www., with a non-default port)")
    outlet: str | None = Field(None, description="The outlet's name; its domain when the article has no name")
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
    tone: ToneOut | None = Field(None, description="The article's tone; null if it was enriched before tone")
    entity_tones: list[EntityToneOut] = Field(
        default_factory=list, description="The tone toward each person and organisation, with its evidence"
    )


class Notice(BaseModel):
    """A hint about how the request was understood (the query parsed, but perhaps not as meant)."""

    code: str = Field(
        description="Stable code to translate by: lowercase_operator; region_ambiguous (a region name matched several "
        "regions, all searched), region_unknown (no region has that name; params.suggestions has close names), "
        "entity_alias (an alias matched its canonical entity name), tone_entity_scope (the tone filter is the tone "
        "toward the entity filters)"
    )
    message: str = Field(description="The hint in English")
    position: int | None = Field(None, description="0-based character offset in q, when the hint is about q")
    params: dict[str, Any] = Field(default_factory=dict, description="The values the message names, by name")


class SearchResult(BaseModel):
    total: int
    total_stories: int | None = None
    hits: list[Hit]
    next_cursor: str | None = None
    notices: list[Notice] = Field(default_factory=list, description="Hints about the query, e.g. a lower-case and")


class StoryResult(BaseModel):
    story: StoryInfo
    members: list[Hit]


# --- analytics ------------------------------------------------------------------------------------


class Bucket(BaseModel):
    key: str
    count: int


class TimelineBucket(Bucket):
    tone: ToneCounts = Field(
        description="The interval's matches by overall tone; with count=stories the distinct stories with an "
        "article of that tone (a story whose copies differ in tone is in each)"
    )


class TopValue(Bucket):
    tone: ToneCounts = Field(
        description="The tone mix of the value, counted like count: for entity, person, org and location the tone "
        "TOWARD that entity in the matches that have one; for the other fields the overall tone of the value's "
        "matches"
    )


class Timeline(BaseModel):
    interval: Interval = Field(
        description="The interval of the buckets: the requested one (with auto, the one picked from the span), "
        "or a coarser one when that needs too many buckets"
    )
    count: Literal["articles", "stories"]
    time_zone: str
    buckets: list[TimelineBucket]
    requested_interval: Interval | Literal["auto"]
    interval_adjusted: bool = Field(
        description=f"True when the requested interval would need more than {MAX_TIMELINE_BUCKETS:,} buckets "
        "and a coarser one was used"
    )
    outside_window: int = Field(description="Matches dated before 1900 or over a year ahead: not in any bucket")
    note: str | None = Field(None, description="Why the interval was adjusted or matches were left out")


class TopResult(BaseModel):
    field: str
    count: Literal["articles", "stories"]
    values: list[TopValue] = Field(
        description="The top values, in their display form (as an article writes them, not lower-cased); for "
        "source, the outlet's name, or its domain for articles without a name"
    )
    significant_terms: list[Bucket]


# --- suggestions ----------------------------------------------------------------------------------


class SuggestParams(BaseModel):
    field: Literal["region", "entity", "source"] = Field(description="The filter to suggest values for")
    prefix: str = Field(
        "",
        max_length=100,
        description="What the user typed: values with a word starting with it, any letter case (empty: the most "
        "frequent values); for region and entity also the names a short form or alias starting with it stands for",
    )
    size: int = Field(10, ge=1, le=20)


class Suggestion(BaseModel):
    value: str = Field(description="A value the filter accepts, as the index shows it (Kabupaten Blora, Lintas Muria)")
    count: int = Field(description="Articles with this value")


class SuggestResult(BaseModel):
    field: str
    prefix: str
    values: list[Suggestion] = Field(description="Values that exist in the index, most frequent first")


# --- saved searches -------------------------------------------------------------------------------

WEBHOOK_URL_HELP = (
    "http(s) URL called with each batch of new matches (docs/alerts.md). It must resolve to public addresses "
    "only, unless its host:port is in WARTA_WEBHOOK_ALLOW_HOSTS; no credentials in the URL. A refused URL is a 422 "
    "naming the reason."
)


MONITOR_NAME_HELP = "The monitor's name, as shown on the Monitors page"
MONITOR_QUERY_HELP = "A query in the Warta query language (docs/query-language.md); a malformed one is a 400"
SCHEDULE_HELP = (
    "When the monitor's digest is sent (`warta search digests`): daily, or weekly on `weekday`, at `time` in "
    "`timezone` (default 07:00 Asia/Jakarta); each digest lists the matches since the previous one. Needs a channel "
    "(422 otherwise). The first digest is at the first such time after the schedule is set (docs/pr-workflows.md)"
)
CHANNELS_HELP = (
    "Where the digest goes: `email` (recipient addresses, sent through the deployment's SMTP server) and "
    "`chat_webhook_url` (a Slack-compatible incoming webhook: Slack, Mattermost, Rocket.Chat; refused like a "
    "webhook_url, with a 422 naming the reason)"
)


SPIKE_HELP = (
    "Spike alerts: one alert when the monitor's story count (syndicated copies count once) in a `window` "
    "(`hour` or `day`, Asia/Jakarta) is far above its baseline, the same window on the previous days; "
    "`sensitivity` low, medium (default) or high. Sent to the webhook_url (signed JSON) and to the chat channel "
    "channels.chat_webhook_url (a text message), once each; needs one of them (422 otherwise); "
    "docs/alerts.md#spike-alerts"
)


class SpikeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: Literal["hour", "day"] = Field("hour", description="Count stories per clock hour or per day (WIB)")
    sensitivity: Literal["low", "medium", "high"] = Field(
        "medium", description="How far above the baseline alerts: high alerts on smaller spikes, and more often"
    )


class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description=MONITOR_NAME_HELP)
    query: str = Field(min_length=1, max_length=2000, description=MONITOR_QUERY_HELP)
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://", description=WEBHOOK_URL_HELP)
    team: str | None = Field(
        default=None,
        pattern=TEAM_PATTERN,
        description="The team that owns the monitor: the creating key's team unless given. Only an admin key may "
        "name another team (403 otherwise).",
    )
    schedule: Schedule | None = Field(None, description=SCHEDULE_HELP)
    channels: Channels | None = Field(None, description=CHANNELS_HELP)
    spike: SpikeSettings | None = Field(None, description=SPIKE_HELP)


class SavedSearchPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200, description=MONITOR_NAME_HELP)
    query: str | None = Field(default=None, min_length=1, max_length=2000, description=MONITOR_QUERY_HELP)
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://", description=WEBHOOK_URL_HELP)
    enabled: bool | None = Field(None, description="false pauses the monitor (no matches, no webhook calls)")
    schedule: Schedule | None = Field(None, description=SCHEDULE_HELP + "; null stops the digest")
    channels: Channels | None = Field(None, description=CHANNELS_HELP + "; given whole (it replaces the old one)")
    spike: SpikeSettings | None = Field(None, description=SPIKE_HELP + "; given whole; null stops spike alerts")


class SavedSearch(BaseModel):
    id: str = Field(description="The monitor's id")
    name: str = Field(description=MONITOR_NAME_HELP)
    team: str = Field(DEFAULT_TEAM, description="The team that owns the monitor; only its keys (and admins) see it")
    query: str = Field(description=MONITOR_QUERY_HELP)
    webhook_url: str | None = Field(None, description="Where new matches are POSTed (the alert webhook); null: none")
    enabled: bool = Field(True, description="Whether the alerts consumer evaluates the monitor")
    schedule: Schedule | None = Field(None, description="When the digest is sent; null: no digest")
    channels: Channels | None = Field(None, description="Where the digest goes (email, chat_webhook_url)")
    spike: SpikeSettings | None = Field(None, description="Spike alert settings; null: no spike alerts")
    schedule_updated_at: datetime | None = Field(
        None, description="When the schedule was set: the first digest is at the first scheduled time after it"
    )
    created_at: datetime = Field(description="When the monitor was created")
    updated_at: datetime = Field(description="When it was last changed")
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
    saved_search_id: str = Field(description="The monitor")
    team: str = Field(DEFAULT_TEAM, description="The monitor's team")
    article_id: str = Field(description="The matched article (GET /v1/articles/{article_id})")
    matched_at: datetime = Field(description="When the alerts consumer recorded the match")
    published_at: datetime | None = Field(None, description="The article's publication time")
    title: str | None = Field(None, description="The article's headline")
    url: str | None = Field(None, description="The article's URL")
    source: str | None = Field(None, description="The article's outlet: its domain")
    outlet: str | None = Field(None, description="The outlet's name, when the article has one (else see source)")


class Delivery(BaseModel):
    id: str = Field(description="The delivery id, sent as delivery_id and X-Warta-Delivery")
    saved_search_id: str = Field(description="The monitor")
    team: str = Field(DEFAULT_TEAM, description="The monitor's team")
    article_ids: list[str] = Field(description="The matches this delivery carries (a spike: one article per story)")
    kind: Literal["match", "spike"] = Field("match", description="New matches, or a spike alert")
    channel: Literal["webhook", "chat"] = Field(
        "webhook",
        description="webhook: the signed JSON to webhook_url; chat: a spike alert as a text message to "
        "the monitor's chat channel (channels.chat_webhook_url)",
    )
    spike: dict[str, Any] | None = Field(None, description="A spike alert's window and counts (see AlertPayload)")
    status: str = Field(description="pending, delivering, delivered, failed (after 8 attempts) or cancelled")
    attempts: int = Field(description="Attempts made so far")
    created_at: datetime = Field(description="When the matches were recorded")
    delivered_at: datetime | None = Field(None, description="When a 2xx answer was received")
    next_attempt_at: datetime | None = Field(None, description="When the next attempt is due (pending only)")
    log: list[dict[str, Any]] = Field(
        default_factory=list, description="One entry per attempt: at, status_code, error, duration_ms"
    )


# --- API keys -------------------------------------------------------------------------------------


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    team: str = Field(
        DEFAULT_TEAM,
        pattern=TEAM_PATTERN,
        description="The team the key belongs to: lower-case letters, digits, '-' and '_' (at most 63). "
        "A non-admin key sees only its team's monitors and other team-owned resources.",
    )


class KeyCreated(BaseModel):
    id: str
    name: str
    role: Role
    team: str = DEFAULT_TEAM
    key: str = Field(description="The plaintext key. It is shown once and stored only as a hash.")


class KeySelf(BaseModel):
    id: str = Field(description="The key's id (its hash)")
    name: str = Field(description="The key's name")
    role: Role = Field(description="reader, analyst or admin")
    team: str = Field(description="The team whose monitors and other resources the key sees (admin: every team's)")


class KeyInfo(BaseModel):
    id: str
    name: str
    role: Role
    team: str = DEFAULT_TEAM
    created_at: datetime
    disabled: bool
    prefix: str | None = None


# --- the alert webhook (sent by the alerts consumer, services/search/alerts/dispatcher.py) ---------


class AlertSavedSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The monitor's id")
    name: str = Field(description="The monitor's name at the time of sending")
    query: str = Field(description="The monitor's query at the time of sending")


class AlertArticle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The article id (GET /v1/articles/{article_id})")
    url: str = Field(description="The article's canonical URL")
    title: str = Field(description="The headline")
    source: str = Field(description="The outlet's host")
    published_at: datetime | None = Field(None, description="Publication time, with its offset")
    summary: list[str] = Field(default_factory=list, description="Summary sentences")


class AlertSpike(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: Literal["hour", "day"] = Field(description="The monitor's spike window")
    start: datetime = Field(description="The window's start (Asia/Jakarta)")
    end: datetime = Field(description="The window's end")
    stories: int = Field(description="Distinct stories in the window when the spike was found (it may grow)")
    articles: int = Field(description="Articles in the window then (syndicated copies included)")
    baseline: float = Field(
        description="The usual story count of this window: the same hour on the previous 28 days "
        "(scaled by the day's news level) or the previous 14 days, spikes left out"
    )
    threshold: int = Field(description="The smallest story count that is a spike at this sensitivity")
    sensitivity: Literal["low", "medium", "high"] = Field(description="The monitor's sensitivity")
    p_value: float = Field(description="How likely at least this many stories are in an ordinary window")


class AlertPayload(BaseModel):
    """The JSON body of one alert webhook call: one batch of new matches of one monitor."""

    model_config = ConfigDict(extra="forbid")

    delivery_id: str = Field(
        description="The batch; the same on every retry of it (also in X-Warta-Delivery). Deliveries are "
        "at-least-once: deduplicate on it"
    )
    saved_search: AlertSavedSearch = Field(description="The monitor whose query matched")
    articles: list[AlertArticle] = Field(description="The new matches. Articles deleted since the match are left out")
    sent_at: datetime = Field(description="When this attempt was made (it changes on each retry)")
    kind: Literal["spike"] | None = Field(
        None,
        description="`spike` for a spike alert (then `articles` holds one article per story, largest first); "
        "absent for new matches",
    )
    spike: AlertSpike | None = Field(None, description="A spike alert's window and counts; absent for new matches")


# --- removals and the audit log ------------------------------------------------------------------

REASON_MAX = 500


class RemovalIn(BaseModel):
    """Why an article is removed or restored; recorded in the tombstone and the audit log."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=REASON_MAX, description='Why, e.g. "takedown request", "court order", "test article"'
    )

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


class Tombstone(BaseModel):
    """A removed article: re-crawls and re-pushes of its id are not indexed while this exists."""

    id: str = Field(description="The removed article's id (derived from its canonical URL)")
    url: str | None = Field(None, description="The article's URL as it was indexed")
    canonical_url: str | None = Field(None, description="Its canonical URL: every URL variant of it maps to the id")
    source: str | None = Field(None, description="The outlet's host")
    reason: str = Field(description="Why it was removed")
    removed_by: str = Field(description="The name of the API key that removed it")
    removed_by_key: str = Field(description="The id of that API key (as listed by /v1/keys)")
    removed_at: datetime = Field(description="When it was removed (UTC)")


class AuditEvent(BaseModel):
    """One entry of the append-only audit log."""

    id: str = Field(description="The event's id")
    at: datetime = Field(description="When it happened (UTC)")
    action: str = Field(description="What was done: article.remove or article.restore")
    target_type: str = Field(description="What kind of thing it was done to: article")
    target_id: str = Field(description="The id of that thing")
    reason: str = Field(description="Why, as the caller gave it")
    actor_id: str = Field(description="The id of the API key that did it (as listed by /v1/keys)")
    actor_name: str = Field(description="That key's name")
    actor_role: Role = Field(description="That key's role")
    details: dict[str, Any] = Field(default_factory=dict, description="What the target was (e.g. its URL)")
