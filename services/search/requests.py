"""Turning API parameters into Elasticsearch request bodies: the one query path shared by search,
analytics, export and the web app."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from services.search.query import QuerySyntaxError, parse, to_es_query

JAKARTA = ZoneInfo("Asia/Jakarta")
Sort = Literal["relevance", "newest"]

# `field` values of /v1/analytics/top and the index fields they aggregate.
TOP_FIELDS = {
    "source": "source",
    "entity": "entity_names",
    "person": "persons",
    "org": "organizations",
    "location": "locations",
    "region": "region_names",
    "language": "language",
    "source_id": "source_id",  # the crawl source (sources page: articles per day)
}


class BadRequest(ValueError):
    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


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
        raise BadRequest(f"{name}: not an ISO-8601 date or date-time: {value!r}") from exc
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

    def es_query(self) -> dict[str, Any]:
        try:
            main = _compile(self.q) if self.q.strip() else {"match_all": {}}
        except QuerySyntaxError as exc:
            raise BadRequest(exc.message, exc.position) from exc
        filters: list[dict[str, Any]] = []
        start, stop = parse_when(self.date_from, "from"), parse_when(self.date_to, "to", end=True)
        if start and stop and start > stop:
            raise BadRequest("from is after to")
        if start or stop:
            rng: dict[str, str] = {}
            if start:
                rng["gte"] = start.isoformat()
            if stop:
                rng["lte"] = stop.isoformat()
            filters.append({"range": {"published_at": rng}})
        for fname, values in (("source", self.sources), ("language", self.languages), ("entity_names", self.entities)):
            if values:
                filters.append({"terms": {fname: [v.lower() for v in values]}})
        if self.regions:
            filters.append({"bool": {"should": [{"terms": {"region_codes": self.regions}},
                                                {"terms": {"region_names": [r.lower() for r in self.regions]}}],
                                     "minimum_should_match": 1}})  # fmt: skip
        if not filters:
            return main
        return {"bool": {"must": [main], "filter": filters}}


@lru_cache(maxsize=1024)
def _compile(q: str) -> dict[str, Any]:
    """The query language compiled to Elasticsearch, cached by text: dashboards, alerts and export
    pages send the same queries again and again. The result is shared, so callers embed it and
    never mutate it. Errors are not cached."""
    return to_es_query(parse(q))


# Distinct stories among the matches (exact up to 40,000, the aggregation's highest precision).
STORY_COUNT: dict[str, Any] = {"cardinality": {"field": "story_id", "precision_threshold": 40000}}


def timeline_aggs(interval: str, count: Literal["articles", "stories"] = "articles") -> dict[str, Any]:
    """The timeline aggregation ``t``: matches per calendar interval in the Asia/Jakarta zone, empty
    intervals included, with the distinct stories of each interval when counting stories."""
    hist: dict[str, Any] = {"date_histogram": {"field": "published_at", "calendar_interval": interval,
                                               "time_zone": str(JAKARTA), "min_doc_count": 0}}  # fmt: skip
    if count == "stories":
        hist["aggs"] = {"stories": STORY_COUNT}
    return {"t": hist}


def sort_clause(sort: Sort) -> list[dict[str, Any]]:
    newest: list[dict[str, Any]] = [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    return newest if sort == "newest" else [{"_score": "desc"}, *newest]


def encode_cursor(kind: str, values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": kind, "v": values}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["k"] != kind or not isinstance(data["v"], list):
            raise ValueError("the cursor belongs to another sort order or view")
        return list(data["v"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"cursor: invalid cursor ({exc})") from exc


# What a hit needs (see ``hit_dict``): entity mentions without offsets or surface text, no
# keywords. A third of the bytes of the full source on real articles.
HIT_SOURCE = ["id", "url", "title", "source", "outlet", "published_at", "summary", "entities.type", "entities.canonical",
              "entities.role", "regions", "language", "story_id", "story_size"]  # fmt: skip
# What an export row carries: the whole enriched article except the body.
EXPORT_SOURCE = ["id", "url", "title", "source", "outlet", "published_at", "summary", "entities", "regions", "language",
                 "story_id", "story_size", "keywords"]  # fmt: skip
HIGHLIGHT = {
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    "encoder": "html",
    "fields": {"title": {"number_of_fragments": 0}, "body": {"fragment_size": 180, "number_of_fragments": 2}},
}
