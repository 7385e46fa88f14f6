"""The small indices on one node: no replica (a replica could never be assigned, and the index
would stay yellow), green at once. tests/cluster has the same indices on three nodes."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from tests.pipeline import ES_URL, new_prefix
from tests.small_indices import create_every_small_index

pytestmark = pytest.mark.elasticsearch


def test_small_indices_are_green_without_a_replica_on_one_node() -> None:
    prefix = new_prefix()
    es = Elasticsearch(ES_URL, request_timeout=30)
    try:
        create_every_small_index(es, prefix)
        names = sorted(es.indices.get(index=f"{prefix}*"))
        assert len(names) >= 12, names
        health = es.cluster.health(index=f"{prefix}*", wait_for_status="green", timeout="30s")
        assert health["status"] == "green" and not health["timed_out"]
        for name in names:
            index = es.indices.get_settings(index=name)[name]["settings"]["index"]
            assert (index["auto_expand_replicas"], index["number_of_replicas"]) == ("0-1", "0"), name
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        es.close()
