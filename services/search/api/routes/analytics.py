"""``GET /v1/analytics/timeline`` (matches per calendar interval, Asia/Jakarta) and
``GET /v1/analytics/top`` (the top values of a field, with significant terms); both count articles
or stories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.search.api.deps import ArticleIndex, IndexDep, ReaderKey
from services.search.api.models import Bucket, Timeline, TimelineParams, ToneCounts, TopParams, TopResult, TopValue
from services.search.api.results import display_form, json_response, outlet_aggs, outlet_buckets, outlet_tones
from services.search.criteria import (
    JAKARTA,
    MAX_TIMELINE_BUCKETS,
    STORY_COUNT,
    TOP_DISPLAY,
    TOP_FIELDS,
    Interval,
    auto_interval,
    bucket_count,
    extent_aggs,
    fill_buckets,
    pick_interval,
    span_days,
    timeline_aggs,
    timeline_span,
    timeline_window,
    tone_aggs,
    tone_counts,
)
from services.search.index import TONE_LABELS, entity_tone_key

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get("/timeline", response_model=Timeline)
async def timeline(p: Annotated[TimelineParams, Query()], index: IndexDep, _: ReaderKey) -> Any:
    """Matches per calendar interval, empty intervals included, from ``from`` (else the first
    match) to ``to`` (else the last). Never more than MAX_TIMELINE_BUCKETS buckets: a span that
    needs more at the requested interval is counted per the next coarser one that fits
    (``interval``, ``interval_adjusted``, ``note``). Each bucket splits its count by overall tone
    (``tone``, :func:`~services.search.criteria.tone_aggs`). ``interval=auto`` (the default) picks day,
    week or month from the span (:func:`~services.search.criteria.auto_interval`): from ``from``
    and ``to``, else from the first and last match, which costs one more request."""
    requested, count = p.interval, p.count
    criteria = p.criteria()
    query = criteria.es_query()
    start, stop = criteria.time_range()
    window = timeline_window()
    notes = []
    base: Interval = "day" if requested == "auto" else requested
    if requested == "auto":
        lo, hi = start, stop
        if lo is None or hi is None:  # the matches' first and last dates fill in what is open
            resp = await index.es.search(index=index.alias, size=0, query=query, timeout=index.search_timeout,
                                         aggs=extent_aggs(window))  # fmt: skip
            extent = resp["aggregations"]["extent"]
            if extent["doc_count"]:
                lo = lo or datetime.fromtimestamp(extent["lo"]["value"] / 1000, UTC)
                hi = hi or datetime.fromtimestamp(extent["hi"]["value"] / 1000, UTC)
        if lo is not None and hi is not None and max(lo, window[0]) <= min(hi, window[1]):
            lo, hi = max(lo, window[0]), min(hi, window[1])
            base = auto_interval(lo, hi)
            notes.append(f"interval picked from the span of {span_days(lo, hi):,} days: {base}")
    interval = base
    if start is not None and stop is not None and max(start, window[0]) <= min(stop, window[1]):
        interval = pick_interval(max(start, window[0]), min(stop, window[1]), base)  # known: no retry
    while True:  # at most once per coarser interval; a retry only for a span found in the data
        resp = await index.es.search(index=index.alias, size=0, query=query, timeout=index.search_timeout,
                               aggs=timeline_aggs(interval, count, window))  # fmt: skip
        found = resp["aggregations"]["t"]["buckets"]
        span = timeline_span(found, start, stop, window)
        if span is None or (wider := pick_interval(*span, interval)) == interval:
            break
        interval = wider
    buckets = fill_buckets(found, *span, interval, count) if span else []
    outside = resp["aggregations"]["outside"]["doc_count"]
    if interval != base:
        lo, hi = span or (max(start or window[0], window[0]), min(stop or window[1], window[1]))
        notes.append(f"{bucket_count(lo, hi, base):,} {base} buckets would exceed the limit of "
                     f"{MAX_TIMELINE_BUCKETS:,}: counted per {interval}")  # fmt: skip
    if outside:
        notes.append(f"{outside:,} matching article{'s' if outside > 1 else ''} dated before {window[0].date()} "
                     f"or after {window[1].date()} not in any bucket")  # fmt: skip
    return json_response({"interval": interval, "count": count, "time_zone": str(JAKARTA), "buckets": buckets,
                          "requested_interval": requested, "interval_adjusted": interval != base,
                          "outside_window": outside, "note": "; ".join(notes) or None})  # fmt: skip


@router.get(
    "/top",
    response_model=TopResult,
    summary="Top values",
    description="The most frequent values of a field (`field`: outlet, entity, person, org, location, region: the "
    "articles' own regions, region_mentioned: regions named only in passing, language) among the matches of `q` and the filters, counting articles or stories, with the significant "
    "terms of the matches. Each value has its tone mix (`tone`): for entity, person, org and location the tone "
    "toward that entity, for the other fields the overall tone of its articles. A malformed query is a 400 with `error`, `code` and its `position` "
    "(docs/query-language.md).",
)
async def top(p: Annotated[TopParams, Query()], index: IndexDep, _: ReaderKey) -> Any:
    """The ``size`` most frequent values of ``field`` among the matches, in their display form:
    ``source`` by outlet name (the domain for articles without one); a field the index
    lower-cases counted lower-cased, as its filter matches, and shown as an article writes it."""
    field, size, count = p.field, p.size, p.count
    query = p.criteria().es_query()
    sub: dict[str, Any] = {"stories": STORY_COUNT} if count == "stories" else {}
    order = {"stories": "desc"} if count == "stories" else None

    def by_count(b: dict[str, Any]) -> int:
        return int(b["stories"]["value"] if count == "stories" else b["doc_count"])

    aggs: dict[str, Any] = {"sig": {"significant_terms": {"field": "keywords", "size": 10, "min_doc_count": 2}}}
    indexed = TOP_FIELDS[field]
    display = TOP_DISPLAY.get(indexed)
    toward = field in ENTITY_TONE_FIELDS
    if not toward:  # the overall tone of each value's matches, in the same request
        sub = {**sub, "tone": tone_aggs(count)}
    if field == "source":
        aggs["top"] = {"filter": {"match_all": {}}, "aggs": outlet_aggs(size, sub, order)}
    else:
        if display:  # one article of each bucket, to read the value's display form from
            sub = {**sub, "shown": {"top_hits": {"size": 1, "_source": {"includes": [display]}}}}
        aggs["top"] = {"terms": {"field": indexed, "size": size, **({"order": order} if order else {})},
                       **({"aggs": sub} if sub else {})}  # fmt: skip
    resp = await index.es.search(index=index.alias, size=0, query=query, aggs=aggs, timeout=index.search_timeout)
    if field == "source":
        top_aggs = resp["aggregations"]["top"]
        tones = outlet_tones(top_aggs, count)
        values = [TopValue(key=k, count=n, tone=ToneCounts(**tones[k]))
                  for k, n in outlet_buckets(top_aggs, by_count)[:size]]  # fmt: skip
    else:
        found = resp["aggregations"]["top"]["buckets"]
        if toward:
            by_key = await _tone_toward(index, query, [str(b["key"]) for b in found], count)
        else:
            by_key = {str(b["key"]): tone_counts(b["tone"], count) for b in found}
        values = [TopValue(key=display_form(str(b["key"]), b, display) if display else str(b["key"]),
                           count=by_count(b), tone=ToneCounts(**by_key[str(b["key"])])) for b in found]  # fmt: skip
    sig = [Bucket(key=str(b["key"]), count=b["doc_count"]) for b in resp["aggregations"]["sig"]["buckets"]]
    return TopResult(field=field, count=count, values=values, significant_terms=sig)


# The fields whose values are entities: their tone mix is the tone TOWARD the entity, not the
# overall tone of the articles that mention it.
ENTITY_TONE_FIELDS = frozenset({"entity", "person", "org", "location"})


async def _tone_toward(
    index: ArticleIndex, query: dict[str, Any], values: list[str], count: str
) -> dict[str, dict[str, int]]:
    """The tone toward each entity in ``values`` (top-value keys) among the matches of ``query``.

    The tone toward an entity is one term of ``entity_tone_keys``, "<canonical>|<label>". A
    sub-aggregation of the top terms cannot name its parent's key, so this is a second request,
    once the top values are known: a ``filters`` aggregation with a ``term`` query per value and
    label (at most 3 x 100). A term query applies the field's lowercase normalizer to its value, so
    a lower-cased key (entity_names) and a display-form one (persons, organizations) both match
    exactly; no regular expression ever sees the entity's name. Counting stories, each filter
    counts the distinct stories."""
    out = {v: dict.fromkeys(TONE_LABELS, 0) for v in values}
    if not values:
        return out
    filters = {f"{i}|{label}": {"term": {"entity_tone_keys": entity_tone_key(v, label)}}
               for i, v in enumerate(values) for label in TONE_LABELS}  # fmt: skip
    agg: dict[str, Any] = {"filters": {"filters": filters}}
    if count == "stories":
        agg["aggs"] = {"stories": STORY_COUNT}
    resp = await index.es.search(index=index.alias, size=0, query=query, aggs={"toward": agg},
                                 timeout=index.search_timeout)  # fmt: skip
    for name, b in resp["aggregations"]["toward"]["buckets"].items():
        i, _, label = name.partition("|")
        out[values[int(i)]][label] += int(b["stories"]["value"] if count == "stories" else b["doc_count"])
    return out
