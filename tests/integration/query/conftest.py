"""Elasticsearch fixtures for the query-language integration tests.

Module-scoped (hypothesis runs hundreds of queries against one indexed corpus): each test module
gets its own index under a fresh test prefix, deleted afterwards. The server URL comes from
``WARTA_ES_URL`` (default http://127.0.0.1:9200), as for every other integration test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from tests.pipeline import ES_URL, new_prefix


@pytest.fixture(scope="module")
def query_es() -> Iterator[Elasticsearch]:
    """A client for the test server; fails (not skips) if the server is unreachable."""
    client = Elasticsearch(ES_URL, request_timeout=30)
    try:
        # Not ping(): the integ-test distribution does not serve GET /.
        client.cluster.health(timeout="5s")
    except Exception as error:  # any failure means "unreachable" here
        pytest.fail(f"Elasticsearch is not reachable at {ES_URL} (set WARTA_ES_URL): {error!r}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def query_index_name(query_es: Elasticsearch) -> Iterator[str]:
    """A fresh index name; the index (if created) is deleted after the module."""
    name = f"{new_prefix()}query-corpus"
    yield name
    query_es.indices.delete(index=name, ignore_unavailable=True)
