"""The monthly index layout through the whole pipeline (``WARTA_ES_INDEX_PERIOD=month``,
``WARTA_ES_SHARDS=2``): articles are filed under the month of their publication (their ingestion
when they have no date), every index sits behind the one read alias, an
article whose publication month changes moves, and a month dropped by retention comes back when
an article of that month arrives again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from services.search.lifecycle import delete_older_than
from tests.e2e.test_pipeline import article
from tests.pipeline import ES_URL, Pipeline, wait_for

pytestmark = [pytest.mark.e2e]


def where(es: Elasticsearch, alias: str, article_id: str) -> list[str]:
    """The concrete indices holding ``article_id`` (refreshed first)."""
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"ids": {"values": [article_id]}}, source=False)["hits"]["hits"]
    return sorted(h["_index"] for h in hits)


def post(p: Pipeline, body: dict[str, Any]) -> str:
    r = p.post(body)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_articles_are_filed_by_month_behind_one_alias(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(extra_env={"WARTA_ES_INDEX_PERIOD": "month", "WARTA_ES_SHARDS": "2"})
    run = f"bln{uuid.uuid4().hex[:8]}"
    alias = f"{p.ns.prefix}articles"
    now = datetime.now(UTC)
    this_month = f"{now.year:04d}.{now.month:02d}"

    def url(n: int) -> str:
        return f"https://warta-test.example/bulanan/{run}/{n}"

    march = post(p, article(f"{run} maret", url=url(1), published_at="2025-03-10T09:00:00+07:00"))
    april = post(p, article(f"{run} april", url=url(2), published_at="2025-04-30T23:30:00+07:00"))  # 16:30 UTC
    undated = post(p, article(f"{run} tanpa", url=url(3), published_at=None))
    wait_for(lambda: p.search(run)["total"] == 3, 90, message="all three searchable")

    es = Elasticsearch(ES_URL, request_timeout=30)
    try:
        v1 = f"{alias}-v1"
        assert where(es, alias, march) == [f"{v1}-2025.03"]
        assert where(es, alias, april) == [f"{v1}-2025.04"], "the month is UTC's"
        assert where(es, alias, undated) == [f"{v1}-{this_month}"], "no publication date: the ingestion month"
        for index in (f"{v1}-2025.03", f"{v1}-2025.04", f"{v1}-{this_month}"):
            settings = es.indices.get_settings(index=index)[index]["settings"]["index"]
            assert settings["number_of_shards"] == "2"
            aliases = es.indices.get_alias(index=index)[index]["aliases"]
            month = index.rsplit("-", 1)[1]
            assert aliases == {alias: {}, f"{alias}-{month}": {"is_write_index": True}}

        # Reads by id and date filters work across the months.
        for article_id in (march, april, undated):
            r = p.get(f"/v1/articles/{article_id}")
            assert r.status_code == 200 and r.json()["id"] == article_id, r.text
        assert p.get("/v1/articles/0123456789abcdef").status_code == 404
        in_april = p.search(run, **{"from": "2025-04-01", "to": "2025-04-30T23:59:59Z"})
        assert [h["id"] for h in in_april["hits"]] == [april]

        # The outlet corrects the date: the newer copy is filed under May, the March one deleted.
        post(p, article(f"{run} maret", url=url(1), published_at="2025-05-20T09:00:00+07:00"))
        wait_for(lambda: where(es, alias, march) == [f"{v1}-2025.05"], 60, message="moved to May")
        assert p.search(run)["total"] == 3
        assert p.get(f"/v1/articles/{march}").json()["published_at"].startswith("2025-05-20")

        # Retention (cutoff 2025-05-10) drops March and April whole and keeps May.
        days = (now - datetime(2025, 5, 10, tzinfo=UTC)).total_seconds() / 86400
        result = delete_older_than(es, alias, days)
        assert sorted(result["dropped_indices"]) == [f"{v1}-2025.03", f"{v1}-2025.04"]
        assert result["deleted"] == 1  # April's article; March's index was empty after the move
        assert not es.indices.exists(index=f"{v1}-2025.04")
        assert where(es, alias, march) == [f"{v1}-2025.05"]
        wait_for(lambda: p.search(run)["total"] == 2, 30, message="April's article gone from search")

        # An April article arriving after retention recreates April's index with its aliases.
        late = post(p, article(f"{run} susulan", url=url(5), published_at="2025-04-02T10:00:00+07:00"))
        wait_for(lambda: where(es, alias, late) == [f"{v1}-2025.04"], 60, message="April recreated")
        assert es.indices.get_alias(index=f"{v1}-2025.04")[f"{v1}-2025.04"]["aliases"] == {
            alias: {}, f"{alias}-2025.04": {"is_write_index": True}}  # fmt: skip

        # An admin removal deletes the article from its month's index.
        r = httpx.request("DELETE", f"{p.search_url}/v1/articles/{undated}", params={"reason": "test article"},
                          headers=p.ns.auth, timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text
        assert where(es, alias, undated) == []
        assert p.get(f"/v1/articles/{undated}").status_code == 404
    finally:
        es.close()
