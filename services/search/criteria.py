"""Search criteria and the Elasticsearch request parts built from them: the one query path shared
by search, analytics, export and the web app.

:class:`Criteria` (query text and filters) becomes the Elasticsearch query; around it are the sort
orders and cursors of search pages, the timeline's bounded buckets, the export's CSV rows, and the
client-facing sentence for a query Elasticsearch rejects. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import json
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, available_timezones

from services.search.index import TONE_LABELS, entity_tone_key
from services.search.query import Filter, Node, QueryLimits, QuerySyntaxError, parse, to_es_query
from services.search.query.compiler import ANY_REGION_KEYWORD_FIELDS, DEFAULT_KEYWORD_FIELDS, KeywordFields
from services.search.query.names import entity_names
from services.search.query.names import notices as name_notices
from services.search.query.parser import TONE_LABELS as TONE_VALUES

JAKARTA = ZoneInfo("Asia/Jakarta")
Sort = Literal["relevance", "newest"]
# region: and the region filter match the article's regions ("primary", the default) or also
# the regions it only mentions in passing ("any").
RegionScope = Literal["primary", "any"]
MAX_QUERY_LENGTH = QueryLimits().max_length
# The ``tone`` filter takes the values of ``tone:`` in the query (TONE_VALUES: Indonesian or
# English, any letter case, to the label they stand for), and answers an unknown one as it does.
TONE_ACCEPTED = ", ".join(TONE_VALUES)

# `field` values of /v1/analytics/top and the index fields they aggregate.
TOP_FIELDS = {
    "source": "source",
    "entity": "entity_names",
    "person": "persons",
    "org": "organizations",
    "location": "locations",
    "region": "region_names",
    "region_mentioned": "region_mentioned_names",  # regions named only in passing
    "language": "language",
    "source_id": "source_id",  # the crawl source (sources page: articles per day)
}
# The fields above that the index lower-cases (so counts agree with the case-insensitive filters),
# and where an article keeps their display form: /v1/analytics/top shows that form. ``source``
# is shown by outlet name instead (services/search/api/routes/analytics.py).
TOP_DISPLAY = {"entity_names": "entities.canonical", "region_names": "regions.name",
               "region_mentioned_names": "regions_mentioned.name", "language": "language"}  # fmt: skip


class BadRequest(ValueError):
    """A request the client can fix: answered 400 with ``error`` (``message``), a stable ``code``
    (clients translate by it), the ``params`` the message names and, for the query, ``position``."""

    def __init__(
        self, message: str, position: int | None = None, code: str = "bad_request", params: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.code = code
        self.params = params or {}


def parse_when(value: str | None, name: str, end: bool = False) -> datetime | None:
    """A date or date-time. Without a zone it is Asia/Jakarta; a bare ``to`` date means the end of
    that day."""
    if not value:
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime.combine(d, time.max if end else time.min, JAKARTA)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{name}: not an ISO-8601 date or date-time: {value!r}", code="invalid_date",
                         params={"name": name, "value": value}) from exc  # fmt: skip
    return dt if dt.tzinfo else dt.replace(tzinfo=JAKARTA)


@dataclass
class Criteria:
    """Everything that selects articles: the query text plus the UI's filters."""

    q: str = ""
    date_from: str | None = None
    date_to: str | None = None
    sources: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    region_scope: RegionScope = "primary"
    tones: list[str] = field(default_factory=list)
    tone_mismatch: bool | None = None

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """``from`` and ``to`` as aware datetimes (``to`` a bare date: the end of that day)."""
        start, stop = parse_when(self.date_from, "from"), parse_when(self.date_to, "to", end=True)
        if start and stop and start > stop:
            raise BadRequest("from is after to", code="date_range_reversed")
        return start, stop

    def name_notices(self) -> list[dict[str, Any]]:
        """How region and entity names were read, in the search API's notice shape: an ambiguous
        region name (both regions matched), an unknown one (with close names), an entity alias (its
        canonical name matched). For ``region:``/``entity:`` in ``q`` and the filter parameters."""
        extra = [("region", v) for v in self.regions] + [("entity", v) for v in self.entities]
        return [notice.as_dict() for notice in name_notices(_parsed(self.q), extra)]

    def tone_labels(self) -> list[str]:
        """The ``tone`` filter values as index labels (positive, negative, neutral), in order, once
        each. Raises :class:`BadRequest` for a value that is no tone."""
        labels: list[str] = []
        for value in self.tones:
            label = TONE_VALUES.get(value.strip().lower())
            if label is None:
                raise BadRequest(f"tone: does not accept {value!r}; accepted values: {TONE_ACCEPTED}",
                                 code="unknown_tone_value",
                                 params={"field": "tone", "value": value, "accepted": TONE_ACCEPTED})  # fmt: skip
            if label not in labels:
                labels.append(label)
        return labels

    def tone_notices(self) -> list[dict[str, Any]]:
        """How the ``tone`` filter was read: with ``entity`` filters it is the tone toward them
        (toward any of them, by canonical name), in the shape of the query's ``tone_entity_scope``
        notice (:func:`services.search.query.names.tone_notice`)."""
        if not self.entities:
            return []
        toward = list(dict.fromkeys(entity_names(v)[-1] for v in self.entities))  # the canonical name last
        self.tone_labels()  # a value that is no tone raises
        out, seen = [], set()
        for value in self.tones:
            label = TONE_VALUES[value.strip().lower()]
            if label in seen:
                continue
            seen.add(label)
            term = f"tone={value}"
            out.append({"code": "tone_entity_scope", "message": f"{term} is the tone toward {' or '.join(toward)}",
                        "position": None,
                        "params": {"field": "tone", "value": value, "matches": toward, "suggestions": [],
                                   "term": term, "label": label, "toward": [toward]}})  # fmt: skip
        return out

    def es_query(self) -> dict[str, Any]:
        """The Elasticsearch query. Raises :class:`BadRequest` (with the position for query errors)."""
        if len(self.q) > MAX_QUERY_LENGTH:  # before the blank check: 3,000 spaces are too long as well
            raise BadRequest(f"query is longer than {MAX_QUERY_LENGTH} characters", MAX_QUERY_LENGTH, "query_too_long",
                             {"max": MAX_QUERY_LENGTH})  # fmt: skip
        try:
            main = _compile(self.q, self.region_scope) if self.q.strip() else {"match_all": {}}
        except QuerySyntaxError as exc:
            raise BadRequest(exc.message, exc.position, exc.code, exc.params) from exc
        filters: list[dict[str, Any]] = []
        start, stop = self.time_range()
        if start or stop:
            rng: dict[str, str] = {}
            if start:
                rng["gte"] = start.isoformat()
            if stop:
                rng["lte"] = stop.isoformat()
            filters.append({"range": {"published_at": rng}})
        if self.sources:  # each an outlet's name or its domain, as with source: in the query
            filters.append({"bool": {"should": [_compile_source(v) for v in self.sources], "minimum_should_match": 1}})
        if self.languages:
            filters.append({"terms": {"language": [v.lower() for v in self.languages]}})
        # Regions and entities as people write them, resolved as region: and entity: in the query.
        for fname, values in (("entity", self.entities), ("region", self.regions)):
            if values:
                filters.append({"bool": {"should": [_compile_filter(fname, v, self.region_scope) for v in values],
                                         "minimum_should_match": 1}})  # fmt: skip
        if labels := self.tone_labels():
            filters.append(self._tone_filter(labels))
        if self.tone_mismatch is not None:
            filters.append({"term": {"tone_mismatch": self.tone_mismatch}})
        if not filters:
            return main
        return {"bool": {"must": [main], "filter": filters}}

    def _tone_filter(self, labels: list[str]) -> dict[str, Any]:
        """The ``tone`` filter: the article's overall tone; with ``entity`` filters (an AND group of
        filters, like ``entity:X AND tone:negatif`` in the query language) the tone toward any of
        those entities, under each name the entity filter matches (an alias and its canonical name).
        A term query on ``entity_tone_keys`` applies the field's lowercase normalizer to the value."""
        if not self.entities:
            return {"terms": {"tone.label": labels}}
        keys = sorted({entity_tone_key(name, label) for value in self.entities for name in entity_names(value)
                       for label in labels})  # fmt: skip
        return {"terms": {"entity_tone_keys": keys}}


@lru_cache(maxsize=1024)
def _compile(q: str, region_scope: RegionScope = "primary") -> dict[str, Any]:
    """The query language compiled to Elasticsearch, cached by text: dashboards, alerts and export
    pages send the same queries again and again. The result is shared, so callers embed it and
    never mutate it. Errors are not cached."""
    return to_es_query(parse(q), keyword_fields=_region_fields(region_scope))


def _region_fields(region_scope: RegionScope) -> KeywordFields:
    return ANY_REGION_KEYWORD_FIELDS if region_scope == "any" else DEFAULT_KEYWORD_FIELDS


def _compile_source(value: str) -> dict[str, Any]:
    """The ``source`` filter parameter: the same match as ``source:"value"`` in the query."""
    return to_es_query(Filter("source", value))


@lru_cache(maxsize=1024)
def _compile_filter(
    fname: Literal["entity", "region"], value: str, region_scope: RegionScope = "primary"
) -> dict[str, Any]:
    """The ``entity`` and ``region`` filter parameters: the same match as ``entity:"value"`` and
    ``region:"value"`` in the query (cached and shared like :func:`_compile`)."""
    return to_es_query(Filter(fname, value), keyword_fields=_region_fields(region_scope))


@lru_cache(maxsize=1024)
def _parsed(q: str) -> Node | None:
    try:
        return parse(q) if q.strip() else None
    except QuerySyntaxError:
        return None


# Distinct stories among the matches (exact up to 40,000, the aggregation's highest precision).
STORY_COUNT: dict[str, Any] = {"cardinality": {"field": "story_id", "precision_threshold": 40000}}


# --- timeline ------------------------------------------------------------------------------------
#
# The timeline must stay small and valid whatever dates are in the index: one article dated
# 0001-01-01 or 1970-01-01 used to make the day histogram 400 (too many buckets) or 1 MB. So:
# - dates outside TIMELINE_EARLIEST..now+TIMELINE_FUTURE are never bucketed (``hard_bounds``) and
#   are counted apart (``outside``);
# - Elasticsearch returns only non-empty buckets (``min_doc_count: 1``), at most one per day of
#   that window (about 46,000, under its 65,536-bucket limit) and in practice a few;
# - the API fills the empty intervals itself between ``from`` (or the first match) and ``to`` (or
#   the last match), and when that span needs more than MAX_TIMELINE_BUCKETS intervals it asks for
#   the next coarser interval (day, week, month, quarter, year) and says so.

Interval = Literal["day", "week", "month", "quarter", "year"]
INTERVALS: tuple[Interval, ...] = get_args(Interval)
MAX_TIMELINE_BUCKETS = 1000
# No news article is dated before this; the year histogram of the whole window has ~130 buckets.
TIMELINE_EARLIEST = datetime(1900, 1, 1, tzinfo=JAKARTA)
TIMELINE_FUTURE = timedelta(days=366)
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def timeline_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The dates the timeline places in buckets: TIMELINE_EARLIEST to a year from now."""
    return TIMELINE_EARLIEST, (now or datetime.now(UTC)).astimezone(JAKARTA) + TIMELINE_FUTURE


def timeline_aggs(
    interval: str,
    count: Literal["articles", "stories"] = "articles",
    window: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The timeline aggregations: ``t``, the non-empty calendar intervals (Asia/Jakarta) of the
    matches dated inside ``window`` (default :func:`timeline_window`), with the distinct stories of
    each interval when counting stories; ``outside``, the matches dated outside it."""
    lo, hi = window or timeline_window()
    bounds = {"min": lo.isoformat(), "max": hi.isoformat()}
    hist: dict[str, Any] = {"date_histogram": {"field": "published_at", "calendar_interval": interval,
                                               "time_zone": str(JAKARTA), "min_doc_count": 1,
                                               "hard_bounds": bounds}}  # fmt: skip
    hist["aggs"] = {"tone": tone_aggs(count)}
    if count == "stories":
        hist["aggs"]["stories"] = STORY_COUNT
    outside = {"filter": {"bool": {"should": [{"range": {"published_at": {"lt": bounds["min"]}}},
                                              {"range": {"published_at": {"gt": bounds["max"]}}}]}}}  # fmt: skip
    return {"t": hist, "outside": outside}


def tone_aggs(count: Literal["articles", "stories"] = "articles") -> dict[str, Any]:
    """The tone split of a bucket: a terms aggregation on the articles' overall tone, with the
    distinct stories of each tone when counting stories: a story with articles of two tones in the
    bucket (copies rarely differ) is in both. :func:`tone_counts` reads it."""
    terms: dict[str, Any] = {"terms": {"field": "tone.label", "size": len(TONE_LABELS)}}
    if count == "stories":
        terms["aggs"] = {"stories": STORY_COUNT}
    return terms


def tone_counts(agg: dict[str, Any] | None, count: str = "articles") -> dict[str, int]:
    """``{"positive": n, "negative": n, "neutral": n}`` of a :func:`tone_aggs` answer (zeros
    without one). Articles without tone (enriched before it) are in none of the three."""
    out = dict.fromkeys(TONE_LABELS, 0)
    for b in (agg or {}).get("buckets", []):
        if b["key"] in out:
            out[b["key"]] += int(b["stories"]["value"] if count == "stories" else b["doc_count"])
    return out


def interval_start(moment: datetime, interval: Interval) -> datetime:
    """Start (Asia/Jakarta midnight) of the calendar interval holding ``moment``; weeks start on
    Monday, as in Elasticsearch. ``moment`` must be inside :func:`timeline_window`."""
    day = moment.astimezone(JAKARTA).date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval in _MONTHS:
        months = _MONTHS[interval]
        day = date(day.year, (day.month - 1) // months * months + 1, 1)
    return datetime.combine(day, time.min, JAKARTA)


def _next_start(start: datetime, interval: Interval) -> datetime:
    day = start.date()
    if interval in ("day", "week"):
        day += timedelta(days=1 if interval == "day" else 7)
    else:
        index = day.year * 12 + day.month - 1 + _MONTHS[interval]
        day = date(index // 12, index % 12 + 1, 1)
    return datetime.combine(day, time.min, JAKARTA)


def bucket_count(lo: datetime, hi: datetime, interval: Interval) -> int:
    """How many ``interval`` buckets span ``lo`` to ``hi`` (both included). Arithmetic, no loop."""
    a, b = interval_start(lo, interval).date(), interval_start(hi, interval).date()
    if interval == "day":
        return (b - a).days + 1
    if interval == "week":
        return (b - a).days // 7 + 1
    return ((b.year - a.year) * 12 + b.month - a.month) // _MONTHS[interval] + 1


def pick_interval(lo: datetime, hi: datetime, requested: Interval, limit: int = MAX_TIMELINE_BUCKETS) -> Interval:
    """``requested``, or the first coarser interval whose buckets from ``lo`` to ``hi`` fit in
    ``limit``. Inside :func:`timeline_window` a year always fits."""
    for interval in INTERVALS[INTERVALS.index(requested) :]:
        if bucket_count(lo, hi, interval) <= limit:
            return interval
    return "year"


# The interval the timeline uses unless one is asked for, by the number of calendar days spanned.
AUTO_DAY_MAX_DAYS = 60
AUTO_WEEK_MAX_DAYS = 731  # two years


def auto_interval(lo: datetime, hi: datetime) -> Interval:
    """The interval for a timeline from ``lo`` to ``hi`` when none is asked for: day up to 60
    calendar days (Asia/Jakarta, both ends included), week up to two years, month beyond."""
    days = span_days(lo, hi)
    if days <= AUTO_DAY_MAX_DAYS:
        return "day"
    return "week" if days <= AUTO_WEEK_MAX_DAYS else "month"


def span_days(lo: datetime, hi: datetime) -> int:
    """Calendar days (Asia/Jakarta) from ``lo`` to ``hi``, both included."""
    return (hi.astimezone(JAKARTA).date() - lo.astimezone(JAKARTA).date()).days + 1


def extent_aggs(window: tuple[datetime, datetime]) -> dict[str, Any]:
    """Aggregations for the first (``lo``) and last (``hi``) publication date of the matches
    inside ``window``: the span an automatic timeline interval is picked from."""
    bounds = {"gte": window[0].isoformat(), "lte": window[1].isoformat()}
    return {"extent": {"filter": {"range": {"published_at": bounds}},
                       "aggs": {"lo": {"min": {"field": "published_at"}}, "hi": {"max": {"field": "published_at"}}}}}  # fmt: skip


def timeline_span(
    buckets: list[dict[str, Any]], start: datetime | None, stop: datetime | None, window: tuple[datetime, datetime]
) -> tuple[datetime, datetime] | None:
    """The span to draw: ``from`` (else the first non-empty bucket) to ``to`` (else the last),
    inside ``window``. None when nothing matched inside the window."""
    if not buckets:
        return None
    lo = start if start is not None else datetime.fromtimestamp(buckets[0]["key"] / 1000, UTC)
    hi = stop if stop is not None else datetime.fromtimestamp(buckets[-1]["key"] / 1000, UTC)
    # Compare before converting: a far-off date with an offset cannot always be converted.
    lo, hi = max(lo, window[0]), min(hi, window[1])
    return (lo, hi) if lo <= hi else None


def fill_buckets(
    buckets: Iterable[dict[str, Any]], lo: datetime, hi: datetime, interval: Interval, count: str = "articles"
) -> list[dict[str, Any]]:
    """Every ``interval`` bucket from ``lo`` to ``hi``, with the counts (and the tone split,
    :func:`tone_counts`) of the non-empty Elasticsearch ``buckets`` and zero elsewhere. Keys are
    ISO-8601 in Asia/Jakarta, as Elasticsearch writes them (``2025-05-01T00:00:00.000+07:00``)."""
    starts = [interval_start(lo, interval)]
    last = interval_start(hi, interval)
    while starts[-1] < last:
        starts.append(_next_start(starts[-1], interval))
    edges = [int(s.timestamp() * 1000) for s in starts]
    counts = [0] * len(starts)
    tones = [dict.fromkeys(TONE_LABELS, 0) for _ in starts]
    for b in buckets:
        i = bisect_right(edges, b["key"]) - 1  # by position, robust to a zone-history difference
        if 0 <= i < len(counts):
            counts[i] += b["stories"]["value"] if count == "stories" else b["doc_count"]
            for label, n in tone_counts(b.get("tone"), count).items():
                tones[i][label] += n
    return [{"key": s.isoformat(timespec="milliseconds"), "count": c, "tone": t}
            for s, c, t in zip(starts, counts, tones, strict=True)]  # fmt: skip


def sort_clause(sort: Sort) -> list[dict[str, Any]]:
    newest: list[dict[str, Any]] = [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    return newest if sort == "newest" else [{"_score": "desc"}, *newest]


def encode_cursor(kind: str, values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": kind, "v": values}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> list[Any]:
    """The sort values of a cursor made by :func:`encode_cursor` for ``kind``. A cursor is client
    input: raises :class:`BadRequest` unless it has exactly the shape ``kind`` produces, so nothing
    crafted reaches Elasticsearch (or ``int()``)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or data.get("k") != kind or not isinstance(data.get("v"), list):
            raise ValueError("the cursor belongs to another sort order or view")
        values = list(data["v"])
    except (ValueError, TypeError) as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise BadRequest(f"cursor: invalid cursor ({exc})", code="invalid_cursor") from exc
    expected = _CURSOR_SHAPES["story" if kind.startswith("story:") else kind]
    if len(values) != len(expected) or not all(ok(v) for ok, v in zip(expected, values, strict=True)):
        raise BadRequest("cursor: invalid cursor (not one this endpoint made)", code="invalid_cursor")
    return values


_LONG = 2**63


def _is_long(v: Any) -> bool:
    return type(v) is int and -_LONG <= v < _LONG  # not bool, which is an int subclass


def _is_offset(v: Any) -> bool:
    return type(v) is int and v >= 0


def _is_score(v: Any) -> bool:
    return (type(v) is float or _is_long(v)) and abs(v) < 1e30


def _is_id(v: Any) -> bool:
    return type(v) is str and len(v) <= 512


# The sort values each kind of cursor carries (see ``sort_clause``): collapsed search pages by
# offset; article search by [score,] published_at (epoch ms; Long.MIN/MAX when missing), id.
_CURSOR_SHAPES: dict[str, tuple[Callable[[Any], bool], ...]] = {
    "story": (_is_offset,),
    "article:relevance": (_is_score, _is_long, _is_id),
    "article:newest": (_is_long, _is_id),
}


# What an export row carries: the whole enriched article except the body.
EXPORT_SOURCE = ["id", "url", "title", "source", "outlet", "published_at", "summary", "entities", "regions", "language",
                 "story_id", "story_size", "keywords", "tone", "tone_mismatch", "entity_tones"]  # fmt: skip
# tone, tone_headline, tone_body: the article's overall, headline and body tone (empty without
# tone); entity_tones: "<canonical>: <label>" per entity, the tone toward it.
EXPORT_COLUMNS = ["id", "published_at", "outlet", "source", "title", "url", "language", "regions", "entities",
                  "story_id", "summary", "tone", "tone_headline", "tone_body", "entity_tones"]  # fmt: skip
# Times in an export are written in one zone, named in the CSV header; the default is WIB.
EXPORT_TIME_ZONE = "Asia/Jakarta"


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (any letter case: ``asia/makassar`` is Asia/Makassar). Raises
    ValueError for a name the tz database does not have (a path, a directory such as ``Asia``)."""
    key = _zone_names().get(name.strip().lower())
    if key is None:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Asia/Jakarta (WIB), "
                         "Asia/Makassar (WITA) or Asia/Jayapura (WIT)")  # fmt: skip
    return ZoneInfo(key)


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """``value`` as a CSV cell that no spreadsheet evaluates: text starting with ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a leading single quote, as OWASP recommends. Every
    exported value is text from third-party pages (titles, summaries, entities, URLs), so a
    negative number is never mangled: there are none."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def outlet_name(src: dict[str, Any]) -> str | None:
    """What a person reads as an article's outlet: its name, else its domain (``source``)."""
    return src.get("outlet") or src.get("source")


def in_zone(value: Any, tz: ZoneInfo) -> Any:
    """An ISO-8601 time as ISO-8601 in ``tz``, with that zone's offset. Anything that is not an
    aware ISO-8601 time (or cannot be shown in ``tz``) is returned unchanged, never dropped."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
        return moment.astimezone(tz).isoformat() if moment.tzinfo else value
    except (ValueError, OverflowError):
        return value


def export_header(tz: ZoneInfo = JAKARTA) -> list[str]:
    """The CSV header: :data:`EXPORT_COLUMNS`, the time column naming its zone."""
    return [f"{c} ({tz.key})" if c == "published_at" else c for c in EXPORT_COLUMNS]


def export_record(src: dict[str, Any], tz: ZoneInfo = JAKARTA) -> dict[str, Any]:
    """One ndjson record: the stored fields, ``outlet`` filled as :func:`outlet_name` and
    ``published_at`` in ``tz``."""
    record = {**src, "outlet": outlet_name(src)}
    if "published_at" in record:
        record["published_at"] = in_zone(record["published_at"], tz)
    return record


def export_row(src: dict[str, Any], tz: ZoneInfo = JAKARTA) -> list[str]:
    """One CSV row (:data:`EXPORT_COLUMNS`) of an indexed article, ``published_at`` in ``tz``,
    every cell made safe."""
    tone = src.get("tone") or {}
    values = [src.get("id"), in_zone(src.get("published_at"), tz), outlet_name(src), src.get("source"),
              src.get("title"), src.get("url"),
              src.get("language"), "; ".join(r["name"] for r in src.get("regions") or []),
              "; ".join(sorted({e["canonical"] for e in src.get("entities") or []})), src.get("story_id"),
              " ".join(src.get("summary") or []), tone.get("label"), tone.get("headline"), tone.get("body"),
              "; ".join(f"{t['canonical']}: {t['label']}" for t in src.get("entity_tones") or [])]  # fmt: skip
    return [csv_cell(v) for v in values]


HIGHLIGHT = {
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    "encoder": "html",
    "fields": {"title": {"number_of_fragments": 0}, "body": {"fragment_size": 180, "number_of_fragments": 2}},
}


# Elasticsearch errors a client can cause, by the type of their root cause, and what to tell them.
# Anything else is answered without detail: index names, shard failures and Java exception types
# stay in the server log.
_BACKEND_REJECTIONS = {
    "too_many_clauses": "the query expands to too many terms: use fewer or longer wildcard prefixes",
    "too_many_nested_clauses": "the query expands to too many terms: use fewer or longer wildcard prefixes",
    "too_many_buckets_exception": "the aggregation needs too many buckets: narrow the date range",
    "parse_exception": "a date or value in the request cannot be parsed",
    "date_time_parse_exception": "a date in the request cannot be parsed",
}
QUERY_REJECTED = "the search backend rejected the query"


def _error_types(error: Any, depth: int = 0) -> Iterable[str]:
    if not isinstance(error, dict) or depth > 8:
        return
    if isinstance(error.get("type"), str):
        yield error["type"]
    for cause in error.get("root_cause") or []:
        yield from _error_types(cause, depth + 1)
    yield from _error_types(error.get("caused_by"), depth + 1)
    for shard in error.get("failed_shards") or []:
        if isinstance(shard, dict):
            yield from _error_types(shard.get("reason"), depth + 1)


def rejection_message(body: Any) -> str:
    """A client-facing message for an Elasticsearch 400 (``body`` is its error body): a stable
    sentence, more precise for the few causes a client can fix, never the backend's own text."""
    error = body.get("error") if isinstance(body, dict) else None
    for kind in _error_types(error):
        hint = _BACKEND_REJECTIONS.get(kind)
        if hint:
            return f"{QUERY_REJECTED}: {hint}"
    return QUERY_REJECTED
