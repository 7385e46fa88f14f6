"""Fixtures shared by the search tests against the real Elasticsearch: a client, and a fresh
index prefix whose indices are deleted afterwards. A test module may define its own to differ."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from tests.pipeline import ES_URL, new_prefix


@pytest.fixture
def es() -> Iterator[Elasticsearch]:
    client = Elasticsearch(ES_URL, request_timeout=60)
    yield client
    client.close()


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    p = new_prefix()
    yield p
    es.options(ignore_status=404).indices.delete(index=f"{p}*", expand_wildcards="all")
