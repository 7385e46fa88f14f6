"""The crawler process loop: seeded from YAML, crawls due sources, stops on the event."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from services.ingest.crawler.registry import SourceRegistry
from services.ingest.crawler.runner import run_crawler
from services.ingest.crawler.state import RedisKeyValue
from services.ingest.demo_sites import DemoWeb
from services.ingest.demo_sites.manifest import demo_sources, expected_articles
from services.ingest.settings import IngestSettings
from tests.integration.crawler.conftest import FakePublisher

pytestmark = [pytest.mark.redis, pytest.mark.elasticsearch]


def test_run_crawler_seeds_crawls_and_stops(
    demo_web: DemoWeb, crawl_env: tuple[IngestSettings, SourceRegistry, RedisKeyValue], tmp_path: Path
) -> None:
    settings, registry, _kv = crawl_env
    seed = tmp_path / "sources.yaml"
    seed.write_text(yaml.safe_dump({"sources": demo_sources(demo_web.base_urls)}), encoding="utf-8")
    settings = settings.model_copy(update={"sources_seed_file": seed, "crawl_tick_s": 0.1, "crawl_parallel_sources": 2})
    publisher = FakePublisher()
    stop = threading.Event()
    thread = threading.Thread(target=run_crawler, args=(settings, publisher, stop), daemon=True)
    thread.start()
    expected = {e.url for e in expected_articles(demo_web.base_urls)}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and {a.canonical_url for a in publisher.articles} != expected:
        time.sleep(0.2)
    # "Crawl now" through the registry (what POST /v1/sources/{id}/crawl does) is picked up.
    runs_before = len(registry.runs("lintasmuria-rss"))
    registry.request_crawl("lintasmuria-rss")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(registry.runs("lintasmuria-rss")) == runs_before:
        time.sleep(0.1)
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()
    counts = Counter(a.canonical_url for a in publisher.articles)
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    assert len(registry.runs("lintasmuria-rss")) > runs_before
    for source in registry.list_sources():
        state = registry.state(source.id)
        assert state.last_crawl_at is not None, source.id
        assert state.next_crawl_at is not None and state.next_crawl_at > state.last_crawl_at
