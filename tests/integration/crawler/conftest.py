"""Fixtures for crawler integration tests: the demo sites in-process on free ports, real Redis
under a unique key prefix, a registry in the real Elasticsearch under a unique index prefix (its
indices deleted after the test) and an in-memory publisher. Tests using ``registry`` or
``crawl_env`` carry the ``elasticsearch`` marker."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from services.ingest.crawler.registry import SourceRegistry
from services.ingest.crawler.state import RedisKeyValue
from services.ingest.demo_sites import DemoWeb, start_demo_sites
from services.ingest.settings import IngestSettings
from shared.schemas import RawArticle
from tests.pipeline import ES_URL, new_prefix

REDIS_URL = os.environ.get("WARTA_REDIS_URL", "redis://127.0.0.1:6379/0")


class FakePublisher:
    """Records published articles; optionally fails for URLs containing ``fail_on``."""

    def __init__(self) -> None:
        self.articles: list[RawArticle] = []
        self.fail_on: str | None = None
        self._lock = threading.Lock()

    def publish(self, article: RawArticle) -> None:
        if self.fail_on and self.fail_on in article.url:
            raise RuntimeError("broker unavailable")
        with self._lock:
            self.articles.append(article)


@pytest.fixture(scope="module")
def demo_web() -> Iterator[DemoWeb]:
    web = start_demo_sites("127.0.0.1", 0, slow_delay_s=1.0)
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture
def es() -> Iterator[Elasticsearch]:
    client = Elasticsearch(ES_URL, request_timeout=30)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def index_prefix(es: Elasticsearch) -> Iterator[str]:
    """A fresh index prefix; its indices are deleted after the test."""
    prefix = new_prefix()
    try:
        yield prefix
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")


@pytest.fixture
def registry(es: Elasticsearch, index_prefix: str) -> SourceRegistry:
    """An empty registry in the real Elasticsearch, under the test's own index prefix."""
    return SourceRegistry(es, index_prefix)


@pytest.fixture
def crawl_env(
    demo_web: DemoWeb, registry: SourceRegistry, index_prefix: str
) -> Iterator[tuple[IngestSettings, SourceRegistry, RedisKeyValue]]:
    prefix = f"test-crawler-{uuid.uuid4().hex[:10]}:"
    settings = IngestSettings(
        env="test",
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        es_url=ES_URL,
        index_prefix=index_prefix,
        crawl_allow_hosts=demo_web.allow_hosts,
        crawl_min_delay_s=0.0,
        crawl_per_host_concurrency=4,
        crawl_workers=4,
        crawl_read_timeout_s=3.0,
        crawl_connect_timeout_s=2.0,
        crawl_max_retry_wait_s=2.0,
        crawl_default_min_interval_s=60.0,
    )
    kv = RedisKeyValue.from_url(REDIS_URL)
    try:
        yield settings, registry, kv
    finally:
        kv.delete_prefix(prefix)
        kv.close()
