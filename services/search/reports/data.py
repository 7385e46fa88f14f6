"""What a report says, read from the article index: the counts, the timeline, the tone mix, the top
outlets, people, institutions and regions, and the stories, for one set of :class:`Criteria`.

Two Elasticsearch requests per report, whatever its size: one with every aggregation, then one for
the tone toward the top people and institutions. Every figure is counted over the articles the
criteria select, so each one equals a count over those articles (tests/integration/search/test_reports_api.py).
Nothing is stored; nothing here renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import AsyncElasticsearch

from services.search.criteria import (
    STORY_COUNT,
    Criteria,
    Interval,
    auto_interval,
    fill_buckets,
    pick_interval,
    timeline_aggs,
    timeline_span,
    timeline_window,
    tone_aggs,
    tone_counts,
)
from services.search.index import TONE_LABELS, entity_tone_key

# What a story line reads from its first article.
STORY_SOURCE = ["id", "url", "title", "summary", "outlet", "source", "published_at", "tone.label"]
# Outlets listed per story (a story carried by more is cut, with the number left out).
STORY_OUTLETS = 50


@dataclass(frozen=True)
class Ranked:
    """One value of a top list (an outlet, a person, an institution, a region): how many of the
    report's articles have it, and their tone (toward it, for people and institutions)."""

    name: str
    count: int
    tone: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TONE_LABELS, 0))


@dataclass(frozen=True)
class Story:
    """One story among the report's articles: its first article (title, link, summary, time), the
    outlets of its articles in the report, most articles first, and how many articles it has there."""

    story_id: str
    title: str
    url: str
    published_at: datetime | None
    summary: list[str]
    outlets: list[str]
    articles: int
    tone: str | None


@dataclass(frozen=True)
class ReportData:
    criteria: Criteria
    generated_at: datetime
    start: datetime | None  # the requested period; None: open
    stop: datetime | None
    articles: int
    stories: int
    interval: Interval
    timeline: list[dict[str, Any]]  # fill_buckets: key (ISO, Asia/Jakarta), count, tone
    outside_window: int  # matches dated before 1900 or over a year ahead: in no bucket
    tone: dict[str, int]  # articles by overall tone
    without_tone: int  # articles enriched before tone
    outlets: list[Ranked]
    people: list[Ranked]
    institutions: list[Ranked]
    regions: list[Ranked]
    story_list: list[Story]

    @property
    def has_tone(self) -> bool:
        return sum(self.tone.values()) > 0


def report_aggs(top: int, stories: int, window: tuple[datetime, datetime]) -> dict[str, Any]:
    """Every aggregation of a report in one request: the distinct stories, the overall tone, the
    day timeline (per :func:`~services.search.criteria.timeline_aggs`; coarser intervals are summed
    from it), the top outlets (by name, else domain), people, institutions and regions (with an
    article to read a region's display form from), and the ``stories`` stories with the most
    articles (ties: the earliest first), each with its first article and its outlets."""
    # Imported here: the API package imports this module (its reports route), and outlets are
    # grouped as the API groups them (services/search/api/results.py).
    from services.search.api.results import outlet_aggs

    first = {"top_hits": {"size": 1, "sort": [{"published_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
                          "_source": {"includes": STORY_SOURCE}}}  # fmt: skip
    return {
        "stories": STORY_COUNT,
        "tone": tone_aggs("articles"),
        **timeline_aggs("day", "articles", window),
        "outlets": {"filter": {"match_all": {}}, "aggs": outlet_aggs(top, {"tone": tone_aggs("articles")})},
        "people": {"terms": {"field": "persons", "size": top}},
        "institutions": {"terms": {"field": "organizations", "size": top}},
        "regions": {
            "terms": {"field": "region_names", "size": top},
            "aggs": {"shown": {"top_hits": {"size": 1, "_source": {"includes": ["regions.name"]}}}},
        },
        "story_list": {
            "terms": {"field": "story_id", "size": stories, "order": [{"_count": "desc"}, {"earliest": "asc"}]},
            "aggs": {
                "earliest": {"min": {"field": "published_at"}},
                "first": first,
                "carried": {"filter": {"match_all": {}}, "aggs": outlet_aggs(STORY_OUTLETS)},
            },
        },
    }


async def gather(
    es: AsyncElasticsearch,
    alias: str,
    criteria: Criteria,
    *,
    top: int = 10,
    stories: int = 100,
    timeout: str = "30s",
    now: datetime | None = None,
) -> ReportData:
    """The report of ``criteria`` over the index ``alias``. Raises
    :class:`~services.search.criteria.BadRequest` for criteria the client can fix (before any
    request) and the client's :class:`elasticsearch.ApiError` for the backend's refusals."""
    from services.search.api.results import display_form, outlet_buckets, outlet_tones

    query = criteria.es_query()
    start, stop = criteria.time_range()
    window = timeline_window(now)
    resp = await es.search(index=alias, size=0, query=query, track_total_hits=True, timeout=timeout,
                           aggs=report_aggs(top, stories, window))  # fmt: skip
    aggs = resp["aggregations"]
    total = int(resp["hits"]["total"]["value"])

    days = aggs["t"]["buckets"]
    span = timeline_span(days, start, stop, window)
    interval: Interval = "day"
    timeline: list[dict[str, Any]] = []
    if span is not None:
        interval = pick_interval(*span, auto_interval(*span))
        timeline = fill_buckets(days, *span, interval)  # day buckets summed into the interval's

    tone = tone_counts(aggs["tone"])
    outlet_agg = aggs["outlets"]
    tones = outlet_tones(outlet_agg)
    outlets = [Ranked(k, n, tones[k]) for k, n in outlet_buckets(outlet_agg)[:top]]
    people = [Ranked(str(b["key"]), int(b["doc_count"])) for b in aggs["people"]["buckets"]]
    institutions = [Ranked(str(b["key"]), int(b["doc_count"])) for b in aggs["institutions"]["buckets"]]
    toward = await _tone_toward(es, alias, query, list(dict.fromkeys(r.name for r in people + institutions)), timeout)
    people = [Ranked(r.name, r.count, toward[r.name]) for r in people]
    institutions = [Ranked(r.name, r.count, toward[r.name]) for r in institutions]
    regions = [Ranked(display_form(str(b["key"]), b, "regions.name"), int(b["doc_count"]))
               for b in aggs["regions"]["buckets"]]  # fmt: skip

    return ReportData(
        criteria=criteria, generated_at=now or datetime.now(UTC), start=start, stop=stop, articles=total,
        stories=int(aggs["stories"]["value"]), interval=interval, timeline=timeline,
        outside_window=int(aggs["outside"]["doc_count"]), tone=tone, without_tone=total - sum(tone.values()),
        outlets=outlets, people=people, institutions=institutions, regions=regions,
        story_list=[_story(b) for b in aggs["story_list"]["buckets"]],
    )  # fmt: skip


def _story(bucket: dict[str, Any]) -> Story:
    from services.search.api.results import outlet_buckets

    src = bucket["first"]["hits"]["hits"][0]["_source"]
    published = src.get("published_at")
    return Story(
        story_id=str(bucket["key"]), title=src.get("title") or "", url=src.get("url") or "",
        published_at=datetime.fromisoformat(published) if published else None,
        summary=list(src.get("summary") or []), outlets=[k for k, _ in outlet_buckets(bucket["carried"])],
        articles=int(bucket["doc_count"]), tone=(src.get("tone") or {}).get("label"),
    )  # fmt: skip


async def _tone_toward(
    es: AsyncElasticsearch, alias: str, query: dict[str, Any], names: list[str], timeout: str
) -> dict[str, dict[str, int]]:
    """The tone toward each entity of ``names`` among the matches of ``query``: articles whose
    ``entity_tone_keys`` hold "<name>|<label>" (one ``filters`` aggregation, as the tone mix of
    /v1/analytics/top toward an entity)."""
    out = {n: dict.fromkeys(TONE_LABELS, 0) for n in names}
    if not names:
        return out
    filters = {f"{i}|{label}": {"term": {"entity_tone_keys": entity_tone_key(n, label)}}
               for i, n in enumerate(names) for label in TONE_LABELS}  # fmt: skip
    resp = await es.search(index=alias, size=0, query=query, timeout=timeout,
                           aggs={"toward": {"filters": {"filters": filters}}})  # fmt: skip
    for key, b in resp["aggregations"]["toward"]["buckets"].items():
        i, _, label = key.partition("|")
        out[names[int(i)]][label] += int(b["doc_count"])
    return out
