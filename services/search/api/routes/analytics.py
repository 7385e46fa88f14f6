"""``GET /v1/analytics/timeline`` (matches per calendar interval, Asia/Jakarta) and
``GET /v1/analytics/top`` (the top values of a field, with significant terms); both count articles
or stories."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.search.api.deps import IndexDep, ReaderKey
from services.search.api.models import Bucket, Timeline, TimelineParams, TopParams, TopResult
from services.search.api.results import json_response
from services.search.criteria import (
    JAKARTA,
    MAX_TIMELINE_BUCKETS,
    STORY_COUNT,
    TOP_FIELDS,
    bucket_count,
    fill_buckets,
    pick_interval,
    timeline_aggs,
    timeline_span,
    timeline_window,
)

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get("/timeline", response_model=Timeline)
async def timeline(p: Annotated[TimelineParams, Query()], index: IndexDep, _: ReaderKey) -> Any:
    """Matches per calendar interval, empty intervals included, from ``from`` (else the first
    match) to ``to`` (else the last). Never more than MAX_TIMELINE_BUCKETS buckets: a span that
    needs more at the requested interval is counted per the next coarser one that fits
    (``interval``, ``interval_adjusted``, ``note``). One Elasticsearch request unless adjusted."""
    requested, count = p.interval, p.count
    criteria = p.criteria()
    query = criteria.es_query()
    start, stop = criteria.time_range()
    window = timeline_window()
    interval = requested
    if start is not None and stop is not None and max(start, window[0]) <= min(stop, window[1]):
        interval = pick_interval(max(start, window[0]), min(stop, window[1]), requested)  # known: no retry
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
    notes = []
    if interval != requested:
        lo, hi = span or (max(start or window[0], window[0]), min(stop or window[1], window[1]))
        notes.append(f"{bucket_count(lo, hi, requested):,} {requested} buckets would exceed the limit of "
                     f"{MAX_TIMELINE_BUCKETS:,}: counted per {interval}")  # fmt: skip
    if outside:
        notes.append(f"{outside:,} matching article{'s' if outside > 1 else ''} dated before {window[0].date()} "
                     f"or after {window[1].date()} not in any bucket")  # fmt: skip
    return json_response({"interval": interval, "count": count, "time_zone": str(JAKARTA), "buckets": buckets,
                          "requested_interval": requested, "interval_adjusted": interval != requested,
                          "outside_window": outside, "note": "; ".join(notes) or None})  # fmt: skip


@router.get("/top", response_model=TopResult)
async def top(p: Annotated[TopParams, Query()], index: IndexDep, _: ReaderKey) -> Any:
    field, size, count = p.field, p.size, p.count
    query = p.criteria().es_query()
    terms: dict[str, Any] = {"terms": {"field": TOP_FIELDS[field], "size": size}}
    if count == "stories":
        terms["aggs"] = {"stories": STORY_COUNT}
        terms["terms"]["order"] = {"stories": "desc"}
    aggs = {"top": terms, "sig": {"significant_terms": {"field": "keywords", "size": 10, "min_doc_count": 2}}}
    resp = await index.es.search(index=index.alias, size=0, query=query, aggs=aggs, timeout=index.search_timeout)
    values = [Bucket(key=str(b["key"]), count=b["stories"]["value"] if count == "stories" else b["doc_count"])
              for b in resp["aggregations"]["top"]["buckets"]]  # fmt: skip
    sig = [Bucket(key=str(b["key"]), count=b["doc_count"]) for b in resp["aggregations"]["sig"]["buckets"]]
    return TopResult(field=field, count=count, values=values, significant_terms=sig)
