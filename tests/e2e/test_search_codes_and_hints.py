"""The search API, issue 15 items 5 and 9: error bodies carry a stable ``code`` (and ``params``)
next to ``error`` and ``position``; ``size=0`` counts only; a lower-case ``and``/``or``/``not``
between words stays a word but gets a notice; the timeline picks its interval from the range
unless one is asked for. Only the search API runs; documents are indexed directly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.pipeline import Pipeline
from tests.security.test_search_api import doc, index_docs

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def api(pipeline_factory) -> Iterator[Pipeline]:  # type: ignore[no-untyped-def]
    p = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "100000"}, start=False)
    p.start(["search-api"])
    yield p


def token() -> str:
    return f"c{uuid.uuid4().hex[:8]}"


KNOWN = "title, source, lang, entity, region, tone, tone.judul, tone.headline, tone.isi, tone.body"
TONE_ACCEPTED = "negatif, positif, netral, beda, negative, positive, neutral, mismatch"

QUERY_ERRORS: list[tuple[str, str, dict[str, Any], int]] = [
    ("banjir AND", "missing_right_operand", {"operator": "AND"}, 7),
    ("(banjir OR longsor", "unbalanced_parenthesis", {"paren": "("}, 0),
    ('"wakil bupati', "unterminated_phrase", {}, 0),
    ("pe*", "wildcard_too_short", {"min": 3}, 0),
    ("foo:bar", "unknown_field", {"field": "foo", "known": KNOWN}, 0),
    ("x" * 2001, "query_too_long", {"max": 2000}, 2000),
    ("banjir tone:marah", "unknown_tone_value", {"field": "tone", "value": "marah", "accepted": TONE_ACCEPTED}, 12),
]


def test_query_errors_carry_a_code(api: Pipeline) -> None:
    for q, code, params, position in QUERY_ERRORS:
        for path in ("/v1/search", "/v1/analytics/timeline", "/v1/analytics/top"):
            r = api.get(path, q=q)
            assert r.status_code == 400, r.text[:300]
            body = r.json()
            assert (body["code"], body["params"], body["position"]) == (code, params, position), (q, path)
            assert isinstance(body["error"], str) and body["error"]  # the English message stays


def test_other_bad_requests_carry_a_code(api: Pipeline) -> None:
    r = api.get("/v1/search", q="x", **{"from": "kemarin"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_date"
    assert r.json()["params"] == {"name": "from", "value": "kemarin"}
    r = api.get("/v1/search", q="x", **{"from": "2025-05-02", "to": "2025-05-01"})
    assert r.status_code == 400 and r.json()["code"] == "date_range_reversed"
    r = api.get("/v1/search", q="x", cursor="bm90LWEtY3Vyc29y")
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"
    # A monitor with a malformed query is refused the same way.
    r = httpx.post(f"{api.search_url}/v1/saved-searches", json={"name": "rusak", "query": "banjir OR"},
                   headers=api.ns.auth, timeout=30)  # fmt: skip
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "missing_right_operand" and r.json()["position"] == 7


def test_size_zero_counts_only(api: Pipeline) -> None:
    tok = token()
    docs = [doc(tok, i, f"2025-05-0{i + 1}T03:00:00Z") for i in range(3)]
    docs[2]["story_id"] = docs[1]["story_id"]  # two stories among three articles
    index_docs(api.ns.prefix, docs)
    r = api.get("/v1/search", q=tok, size=0)
    assert r.status_code == 200, r.text
    assert r.json() == {"total": 3, "total_stories": None, "hits": [], "next_cursor": None, "notices": []}
    r = api.get("/v1/search", q=tok, size=0, collapse="true")
    assert r.status_code == 200, r.text
    assert (r.json()["total"], r.json()["total_stories"], r.json()["hits"]) == (3, 2, [])
    assert api.get("/v1/search", q=tok, size=-1).status_code == 422


def test_lowercase_operator_is_a_word_with_a_hint(api: Pipeline) -> None:
    tok = token()
    docs = [doc(tok, 0, "2025-05-01T03:00:00Z", body=f"{tok} pasar and murah"),
            doc(tok, 1, "2025-05-01T03:00:00Z", body=f"{tok} pasar murah"),
            doc(tok, 2, "2025-05-01T03:00:00Z", body=f"{tok} murah meriah pasar")]  # fmt: skip
    index_docs(api.ns.prefix, docs)
    lower = api.get("/v1/search", q=f"{tok} pasar and murah").json()
    upper = api.get("/v1/search", q=f"{tok} pasar AND murah").json()
    assert (lower["total"], upper["total"]) == (1, 3)  # the rule is kept: "and" is a word
    position = len(tok) + 7
    assert lower["notices"] == [{"code": "lowercase_operator", "position": position,
                                 "params": {"word": "and", "operator": "AND"},
                                 "message": "'and' is searched as a word; did you mean AND?"}]  # fmt: skip
    assert upper["notices"] == []
    assert (
        api.get("/v1/search", q=f"{tok} pasar and murah", size=0).json()["notices"][0]["code"] == "lowercase_operator"
    )


def test_timeline_picks_its_interval_from_the_range(api: Pipeline) -> None:
    tok = token()
    dates = ["2023-01-10T03:00:00Z", "2024-06-01T03:00:00Z", "2025-05-01T03:00:00Z", "2025-05-20T03:00:00Z"]
    index_docs(api.ns.prefix, [doc(tok, i, d) for i, d in enumerate(dates)])

    def timeline(**params: Any) -> dict[str, Any]:
        r = api.get("/v1/analytics/timeline", q=tok, **params)
        assert r.status_code == 200, r.text[:300]
        return r.json()

    # All time: the matches span 2023-01-10..2025-05-20 (more than two years): per month.
    tl = timeline()
    assert (tl["interval"], tl["requested_interval"], tl["interval_adjusted"]) == ("month", "auto", False)
    assert "interval picked from the span of 862 days: month" in tl["note"]
    assert len(tl["buckets"]) == 29 and sum(b["count"] for b in tl["buckets"]) == 4
    # From a date on: the span runs to the last match (2024-06-01..2025-05-20): per week.
    tl = timeline(**{"from": "2024-06-01"})
    assert tl["interval"] == "week" and sum(b["count"] for b in tl["buckets"]) == 3
    # An explicit range of 60 days or less: per day, every day of it.
    tl = timeline(**{"from": "2025-05-01", "to": "2025-05-31"})
    assert tl["interval"] == "day" and len(tl["buckets"]) == 31
    assert "span of 31 days: day" in tl["note"]
    # An interval asked for is kept.
    tl = timeline(interval="day", **{"from": "2025-05-01", "to": "2025-05-31"})
    assert (tl["interval"], tl["requested_interval"], tl["note"]) == ("day", "day", None)
    tl = timeline(interval="week")
    assert tl["interval"] == "week" and tl["requested_interval"] == "week"
    # Nothing matches: no buckets, and no error.
    r = api.get("/v1/analytics/timeline", q=f"{tok} tidakada")
    assert r.status_code == 200 and r.json()["buckets"] == []
