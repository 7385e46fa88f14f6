"""Fixtures for crawler integration tests: the demo sites in-process on free ports, real Redis
under a unique key prefix, a temporary registry and an in-memory publisher."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ingest.crawler.registry import SourceRegistry
from services.ingest.crawler.state import RedisKeyValue
from services.ingest.demo_sites import DemoWeb, start_demo_sites
from services.ingest.settings import IngestSettings
from shared.schemas import RawArticle

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
def crawl_env(tmp_path: Path, demo_web: DemoWeb) -> Iterator[tuple[IngestSettings, SourceRegistry, RedisKeyValue]]:
    prefix = f"test-crawler-{uuid.uuid4().hex[:10]}:"
    settings = IngestSettings(
        env="test",
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        ingest_data_dir=tmp_path,
        crawl_allow_hosts=demo_web.allow_hosts,
        crawl_min_delay_s=0.0,
        crawl_per_host_concurrency=4,
        crawl_workers=4,
        crawl_read_timeout_s=3.0,
        crawl_connect_timeout_s=2.0,
        crawl_max_retry_wait_s=2.0,
        crawl_default_min_interval_s=60.0,
    )
    registry = SourceRegistry(settings.registry_path)
    kv = RedisKeyValue.from_url(REDIS_URL)
    try:
        yield settings, registry, kv
    finally:
        kv.delete_prefix(prefix)
        kv.close()
