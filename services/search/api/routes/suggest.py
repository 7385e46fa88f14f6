"""``GET /v1/suggest``: values of the region, entity and source filters that exist in the index,
for the web app's filter boxes to offer as the user types.

One Elasticsearch request of ``terms`` aggregations (server core) over the display-form keyword
fields, restricted by an ``include`` regular expression: a value matches when one of its words
starts with the prefix, in any letter case, or when it is a name the gazetteer says the prefix
stands for (``Jaten`` → ``Jawa Tengah``, ``Pemprov Ja`` → ``Pemerintah Provinsi Jawa Tengah``).
Read-only and idempotent; may block on Elasticsearch up to the search timeout.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.search.api.deps import IndexDep, ReaderKey
from services.search.api.models import SuggestParams, SuggestResult
from services.search.api.results import json_response
from services.search.query.names import gazetteer

router = APIRouter(tags=["search"])

# The keyword fields holding each filter's values as people read them (not lower-cased).
SUGGEST_FIELDS: dict[str, tuple[str, ...]] = {
    "region": ("regions.name",),
    "entity": ("persons", "organizations", "locations"),
    "source": ("outlet", "source"),  # source: accepts an outlet's name or its domain
}


def _literal(text: str) -> str:
    """``text`` as a Lucene regular expression matching exactly it."""
    return "".join(ch if ch.isalnum() else "\\" + ch for ch in text)


def _any_case(ch: str) -> str:
    lower, upper = ch.lower(), ch.upper()
    if lower == upper or len(lower) != 1 or len(upper) != 1:
        return _literal(ch)
    return f"[{lower}{upper}]"


def include_pattern(prefix: str, names: tuple[str, ...] = ()) -> str:
    """A Lucene regular expression for a terms ``include``: values with a word that starts with
    ``prefix`` (any letter case), or exactly one of ``names``."""
    word_start = "(.*[^a-zA-Z0-9])?" + "".join(_any_case(ch) for ch in prefix) + ".*"
    return "|".join([word_start, *(_literal(name) for name in names)])


@router.get("/suggest", response_model=SuggestResult)
async def suggest(p: Annotated[SuggestParams, Query()], index: IndexDep, _: ReaderKey) -> Any:
    """Up to ``size`` values of ``field`` that exist in the index and match ``prefix``, most
    frequent first: region names (Kabupaten Blora, Jawa Tengah), canonical entity names, outlet
    names and domains. Each is a value the search filter (and ``region:``, ``entity:``,
    ``source:``) accepts."""
    prefix = p.prefix.strip()
    names: tuple[str, ...] = ()
    if prefix and p.field == "region":
        names = gazetteer().regions_with_prefix(prefix)
    elif prefix and p.field == "entity":
        names = gazetteer().entities_with_prefix(prefix)
    aggs: dict[str, Any] = {}
    for number, field in enumerate(SUGGEST_FIELDS[p.field]):
        terms: dict[str, Any] = {"field": field, "size": p.size}
        if prefix:
            terms["include"] = include_pattern(prefix, names)
        aggs[f"f{number}"] = {"terms": terms}
    resp = await index.es.search(index=index.alias, size=0, aggs=aggs, timeout=index.search_timeout)
    counts: dict[str, int] = {}
    for agg in resp["aggregations"].values():
        for bucket in agg["buckets"]:
            key = str(bucket["key"])
            counts[key] = max(counts.get(key, 0), int(bucket["doc_count"]))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower()))[: p.size]
    return json_response({"field": p.field, "prefix": p.prefix,
                          "values": [{"value": value, "count": count} for value, count in ranked]})  # fmt: skip
