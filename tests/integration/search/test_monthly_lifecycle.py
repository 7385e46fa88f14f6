"""The monthly index layout's lifecycle against a real Elasticsearch (services/search/index.py,
services/search/lifecycle.py): a reindex between layouts, a reindex under concurrent writes through
the month write aliases, retention that drops whole months, and reads by id across the months.
Each test works under its own index prefix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from services.search.index import Layout, ensure_index, ensure_month, fetch_articles, index_name, month_alias
from services.search.lifecycle import delete_older_than, indices_behind, reindex
from tests.integration.search.test_lifecycle import Writer, bulk, doc

pytestmark = [pytest.mark.elasticsearch]

MONTHLY = Layout(shards=2, replicas=0, period="month")
MONTHS = ["2025.01", "2025.02", "2025.03"]


def published(month: str, day: int = 10) -> datetime:
    year, mon = month.split(".")
    return datetime(int(year), int(mon), day, 12, tzinfo=UTC)


def aliases_of(es: Elasticsearch, prefix: str) -> dict[str, dict[str, Any]]:
    """Each index behind the read alias with its aliases."""
    alias = f"{prefix}articles"
    return {i: es.indices.get_alias(index=i)[i]["aliases"] for i in indices_behind(es, alias)}


def test_reindex_moves_between_the_one_index_and_the_monthly_layout(es: Elasticsearch, prefix: str) -> None:
    alias = ensure_index(es, prefix)
    base = 1_700_000_000_000
    docs = [(doc(i, base + i, published=published(MONTHS[i % 3])), base + i) for i in range(300)]
    docs.append((doc(300, base, ingested=published("2025.02", 28)), base))  # no publication date
    bulk(es, alias, docs)
    es.indices.refresh(index=alias)

    result = reindex(es, prefix, 2, grace_s=0.1, layout=MONTHLY)

    assert result["docs"] == 301 and result["failed"] == 0
    assert sorted(result["indices"]) == [index_name(prefix, 2, m) for m in MONTHS]
    assert aliases_of(es, prefix) == {
        index_name(prefix, 2, m): {alias: {}, month_alias(prefix, m): {"is_write_index": True}} for m in MONTHS
    }
    for m in MONTHS:
        index = index_name(prefix, 2, m)
        assert es.indices.get_settings(index=index)[index]["settings"]["index"]["number_of_shards"] == "2"
    assert es.count(index=index_name(prefix, 2, "2025.02"))["count"] == 101, "100 by publication, 1 by ingestion"
    got = es.get(index=index_name(prefix, 2, "2025.02"), id="a000007")
    assert got["_version"] == base + 7, "versions (the ingest time) are kept"

    # And back to one index: the month write aliases go with the monthly indices.
    back = reindex(es, prefix, 3, grace_s=0.1, layout=Layout(shards=1))
    assert back["docs"] == 301 and back["to"] == index_name(prefix, 3)
    assert aliases_of(es, prefix) == {index_name(prefix, 3): {alias: {"is_write_index": True}}}
    assert not es.indices.exists_alias(name=month_alias(prefix, "2025.01"))


def test_monthly_reindex_loses_no_concurrent_writes(es: Elasticsearch, prefix: str) -> None:
    """A writer keeps writing through the month write aliases (as the indexer does) while a reindex
    rebuilds the monthly indices: afterwards every article is there once, at its latest version."""
    ensure_index(es, prefix, MONTHLY)
    for m in MONTHS:
        ensure_month(es, prefix, m, MONTHLY)
    alias = f"{prefix}articles"
    base = 1_700_000_000_000

    def month_bulk(batch: list[tuple[dict[str, Any], int]]) -> None:
        ops: list[dict[str, Any]] = []
        for d, version in batch:
            target = month_alias(prefix, d["published_at"][:7].replace("-", "."))
            ops += [{"index": {"_index": target, "_id": d["id"], "version": version, "version_type": "external_gte",
                               "require_alias": True}}, d]  # fmt: skip
        resp = es.bulk(operations=ops, refresh=False)
        bad = [i for i in resp["items"] if i["index"]["status"] >= 300 and i["index"]["status"] != 409]
        assert not bad, bad[:3]

    month_bulk([(doc(i, base, published=published(MONTHS[i % 3])), base) for i in range(1500)])
    es.indices.refresh(index=alias)

    def make(i: int, version: int, rev: int) -> dict[str, Any]:
        return doc(i, version, published=published(MONTHS[i % 3]), rev=rev)

    with Writer(es, alias, base, 1500, make, month_bulk, new=3, every=150) as w:
        result = reindex(es, prefix, 2, batch=200, grace_s=1.0, layout=MONTHLY)
    assert not w.errors, w.errors
    latest = w.latest
    assert {index_name(prefix, v, m) for v in (1, 2) for m in MONTHS} <= w.wrote_to, "written before and after"
    assert result["caught_up"] > 0, "writes during the copy must have been caught up"
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == len(latest)
    found = {}
    for lo in range(0, len(latest), 500):
        ids = list(latest)[lo : lo + 500]
        hits = es.search(
            index=alias, query={"ids": {"values": ids}}, size=1000, version=True, source_includes=["word_count"]
        )
        for h in hits["hits"]["hits"]:
            assert h["_id"] not in found, f"{h['_id']} twice"
            found[h["_id"]] = (h["_version"], h["_source"]["word_count"])
            assert h["_index"].startswith(index_name(prefix, 2))
    assert found == latest


def test_retention_drops_whole_expired_months(es: Elasticsearch, prefix: str) -> None:
    ensure_index(es, prefix, MONTHLY)
    now = datetime.now(UTC)
    alias = f"{prefix}articles"
    old = now - timedelta(days=150)  # its month ended well before a 90-day cutoff
    edge = now - timedelta(days=91)  # in the month the cutoff falls in, or the one before it
    recent = now - timedelta(days=5)
    rows = [doc(1, 1, published=old), doc(2, 1, published=old), doc(3, 1, published=edge),
            doc(4, 1, published=recent), doc(5, 1, ingested=old)]  # fmt: skip
    ops: list[dict[str, Any]] = []
    for d in rows:
        when = datetime.fromisoformat(d.get("published_at") or d["ingested_at"])
        month = f"{when.year:04d}.{when.month:02d}"
        ops += [{"index": {"_index": ensure_month(es, prefix, month, MONTHLY), "_id": d["id"]}}, d]
    es.bulk(operations=ops, refresh=True)
    old_index = index_name(prefix, 1, f"{old.year:04d}.{old.month:02d}")

    by_ingest = delete_older_than(es, alias, 90, field="ingested_at", dry_run=True)
    assert by_ingest["would_drop_indices"] == [], "a month index is filed by publication, not ingestion"
    dry = delete_older_than(es, alias, 90, dry_run=True)
    assert old_index in dry["would_drop_indices"] and dry["would_delete"] == 4
    assert es.count(index=alias)["count"] == 5

    result = delete_older_than(es, alias, 90)
    assert old_index in result["dropped_indices"] and result["deleted"] == 4
    assert not es.indices.exists(index=old_index)
    es.indices.refresh(index=alias)
    assert [h["_id"] for h in es.search(index=alias)["hits"]["hits"]] == ["a000004"]


def test_reads_by_id_are_real_time_across_months(es: Elasticsearch, prefix: str) -> None:
    ensure_index(es, prefix, MONTHLY)
    alias = f"{prefix}articles"
    jan, mar = ensure_month(es, prefix, "2025.01", MONTHLY), ensure_month(es, prefix, "2025.03", MONTHLY)
    es.index(index=jan, id="x1", document=doc(1, 1, published=published("2025.01")), version=5, version_type="external")
    es.index(index=mar, id="x2", document=doc(2, 1, published=published("2025.03")))
    # A move between months in flight: two copies, the newer one wins.
    es.index(index=mar, id="x1", document=doc(1, 1, published=published("2025.03"), rev=9), version=7,
             version_type="external")  # fmt: skip

    got = fetch_articles(es, alias, ["x2", "nope", "x1"], source=["id", "word_count"])  # nothing refreshed
    assert list(got.items()) == [("x2", {"id": "a000002", "word_count": 0}), ("x1", {"id": "a000001", "word_count": 9})]
    assert fetch_articles(es, alias, []) == {}
    assert fetch_articles(es, f"{prefix}no-such-alias", ["x1"]) == {}
