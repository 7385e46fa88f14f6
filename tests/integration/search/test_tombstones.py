"""Removals and the indexer's tombstone gate on a real Elasticsearch (services/search/tombstones.py):
a removal deletes the article and its matches and leaves a tombstone and an audit event; the gate
finds the tombstone with one real-time lookup, and its sweep deletes a copy that a racing bulk
wrote after the removal; a lift clears both. Own index prefix; no Kafka."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from services.search.alerts.store import AlertIndices
from services.search.index import ensure_index, tombstones_index
from services.search.tombstones import Removals, TombstoneGate
from shared.audit import AuditLog
from shared.auth import ApiKey
from shared.settings import articles_alias
from tests.pipeline import ES_URL, new_prefix

pytestmark = [pytest.mark.elasticsearch]

ADMIN = ApiKey("k" * 64, "redaksi", "admin")
DOC = {"id": "art1", "url": "https://suarablora.example/a?utm_source=x", "canonical_url": "https://suarablora.example/a",
       "source": "suarablora.example", "title": "Banjir di Blora", "body": "Banjir merendam Blora."}  # fmt: skip


@pytest.fixture
def es() -> Iterator[tuple[Elasticsearch, str]]:
    client = Elasticsearch(ES_URL, request_timeout=30)
    prefix = new_prefix()
    try:
        yield client, prefix
    finally:
        client.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        client.close()


def test_remove_sweep_and_lift(es: tuple[Elasticsearch, str]) -> None:
    client, prefix = es
    alias = ensure_index(client, prefix)
    AlertIndices(prefix).ensure(client)
    audit = AuditLog(client, prefix)
    audit.ensure_index()
    removals = Removals(client, prefix, audit)
    gate = TombstoneGate.for_index(client, prefix, check_s=3600)
    gate.sweep()  # before the tombstone index exists: no tombstones
    assert not gate.any and gate.tombstoned(["art1"]) == set()
    removals.ensure_index()

    matches = AlertIndices(prefix).matches
    client.index(index=alias, id="art1", document=DOC, refresh=True)
    client.index(index=matches, id="m1:art1", document={"saved_search_id": "m1", "article_id": "art1"}, refresh=True)
    client.index(index=matches, id="m1:art2", document={"saved_search_id": "m1", "article_id": "art2"}, refresh=True)

    assert removals.remove("nope", "test article", ADMIN) is None
    tombstone = removals.remove("art1", "takedown request", ADMIN)
    assert tombstone is not None
    assert (tombstone["canonical_url"], tombstone["reason"], tombstone["removed_by"]) == (
        DOC["canonical_url"], "takedown request", "redaksi")  # fmt: skip
    assert client.count(index=alias)["count"] == 0, "gone from search at once"
    assert [h["_id"] for h in client.search(index=matches)["hits"]["hits"]] == ["m1:art2"]
    [event] = audit.list(target_id="art1")
    assert (event["action"], event["actor_name"], event["actor_id"], event["reason"]) == (
        "article.remove", "redaksi", ADMIN.id, "takedown request")  # fmt: skip
    assert removals.list()[0]["id"] == "art1"

    # A copy whose bulk passed the gate before the tombstone existed lands after the removal.
    client.index(index=alias, id="art1", document=DOC, refresh=True)
    gate.written(["art1", "art9"])
    gate.sweep()
    assert gate.any and gate.tombstoned(["art1", "art9"]) == {"art1"}
    assert client.count(index=alias)["count"] == 0, "the sweep removed it again"

    lifted = removals.lift("art1", "wrong article", ADMIN)
    assert lifted is not None and lifted["reason"] == "takedown request"
    assert removals.lift("art1", "again", ADMIN) is None
    assert client.count(index=tombstones_index(prefix))["count"] == 0
    gate.sweep()
    assert not gate.any and gate.tombstoned(["art1"]) == set()
    assert [e["action"] for e in audit.list(target_id="art1")] == ["article.restore", "article.remove"]
    assert articles_alias(prefix) == alias
