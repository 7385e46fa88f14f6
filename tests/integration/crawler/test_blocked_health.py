"""Blocked and paywalled sources, crawled for real: each case of the demo sites (services/ingest/
demo_sites/blocked.py) through the real crawler, Redis and registry, then the health state, its
reason code, the gauges, and the health API the Sources page reads."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI
from prometheus_client import REGISTRY

from services.ingest.crawler.health import source_health
from services.ingest.crawler.models import SourceCreate
from services.ingest.crawler.runner import Crawler
from services.ingest.demo_sites import blocked
from services.ingest.demo_sites.blocked import blocked_sources
from services.ingest.sources_api import get_registry, get_settings, sources_router
from tests.integration.crawler.conftest import FakePublisher
from tests.integration.crawler.test_sources_api import ApiClient

pytestmark = [pytest.mark.redis, pytest.mark.elasticsearch]


def _create(registry, demo_web, case: str):  # type: ignore[no-untyped-def]
    spec = next(s for s in blocked_sources(demo_web.base_urls["kabarserayu"]) if s["id"] == f"kasus-{case}")
    return registry.create(SourceCreate.model_validate(spec))


def _gauge(name: str, source_id: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"source_id": source_id})


@pytest.mark.parametrize(
    ("case", "status", "code", "outcome"),
    [
        ("tantangan", "blocked", "blocked_challenge", ("failed", "blocked_challenge")),
        ("terlarang", "blocked", "blocked_http_403", ("failed", "http_403")),
        ("js", "blocked", "blocked_js_shell", ("failed", "blocked_js_shell")),
        ("persetujuan", "blocked", "blocked_consent", ("failed", "blocked_consent")),
        ("premium", "paywalled", "paywalled", ("skipped", "paywalled")),
    ],
)
def test_each_case_gets_its_state_and_nothing_is_published(demo_web, crawl_env, case, status, code, outcome) -> None:  # type: ignore[no-untyped-def]
    settings, registry, kv = crawl_env
    source = _create(registry, demo_web, case)
    publisher = FakePublisher()
    with Crawler(settings, registry, publisher, kv=kv) as crawler:
        record = crawler.crawl(source)
    assert publisher.articles == []
    kind, reason = outcome
    counts = record.failed if kind == "failed" else record.skipped
    # The 403 feed fails discovery once; every other case fetched each of the six articles.
    assert counts[reason] == (1 if case == "terlarang" else 6), (record.failed, record.skipped)

    health = source_health(registry, source.id, settings)
    assert (health.status, health.reason.code) == (status, code), health.reason
    assert health.blocked == (status == "blocked") and health.paywalled == (status == "paywalled")
    assert health.blocked_since == record.started_at
    assert _gauge(f"warta_crawl_source_{status}", source.id) == 1.0
    other = "paywalled" if status == "blocked" else "blocked"
    assert _gauge(f"warta_crawl_source_{other}", source.id) == 0.0


def test_a_rate_limit_is_a_block_only_when_it_persists(demo_web, crawl_env) -> None:  # type: ignore[no-untyped-def]
    """Every article answers HTTP 429: one crawl like that is a burst (the source is failing, not
    blocked); the second in a row makes it ``blocked_http_429``. Nothing is published."""
    settings, registry, kv = crawl_env
    settings = settings.model_copy(update={"crawl_max_retries": 0})
    source = _create(registry, demo_web, "dibatasi")
    publisher = FakePublisher()
    with Crawler(settings, registry, publisher, kv=kv) as crawler:
        first = crawler.crawl(source)
        assert first.failed["http_429"] + first.failed["host_backoff"] == 6, first.failed
        assert first.failed["http_429"] >= 1
        assert source_health(registry, source.id, settings).status != "blocked"
        crawler.crawl(registry.get(source.id))
    assert publisher.articles == []
    health = source_health(registry, source.id, settings)
    assert (health.status, health.reason.code) == ("blocked", "blocked_http_429"), health.reason
    assert _gauge("warta_crawl_source_blocked", source.id) == 1.0


def test_shrinking_pages_become_blocked_after_a_few(demo_web, crawl_env) -> None:  # type: ignore[no-untyped-def]
    settings, registry, kv = crawl_env
    settings = settings.model_copy(update={"crawl_workers": 1})  # pages in feed order: a known streak
    source = _create(registry, demo_web, "menyusut")
    base = demo_web.base_urls["kabarserayu"]
    publisher = FakePublisher()
    try:
        with Crawler(settings, registry, publisher, kv=kv) as crawler:
            first = crawler.crawl(source)
            assert first.published == 6  # the usual length is learned from these
            assert source_health(registry, source.id, settings).status == "ok"

            assert httpx.post(f"{base}/kasus/menyusut/susut").status_code == 204
            second = crawler.crawl(registry.get(source.id))
        # Six new pages, each a one-line stub: the first two are published (a short brief is no
        # block), from the third on they are blocked.
        assert (second.published, second.failed["blocked_short_text"]) == (2, 4), second.failed
        assert len(publisher.articles) == 8
        health = source_health(registry, source.id, settings)
        assert (health.status, health.reason.code) == ("blocked", "blocked_short_text")
        assert health.blocked_pages == 4
    finally:
        httpx.delete(f"{base}/kasus/menyusut/susut")


def test_health_api_shows_the_blocked_state(demo_web, crawl_env) -> None:  # type: ignore[no-untyped-def]
    """``GET /v1/sources/{id}/health``, which the Sources page renders, carries the state, the
    reason code (translated by the web app) and when it started."""
    settings, registry, kv = crawl_env
    source = _create(registry, demo_web, "tantangan")
    with Crawler(settings, registry, FakePublisher(), kv=kv) as crawler:
        crawler.crawl(source)
    app = FastAPI()
    app.include_router(sources_router)
    app.dependency_overrides[get_registry] = lambda: registry
    app.dependency_overrides[get_settings] = lambda: settings
    r = ApiClient(app).get(f"/v1/sources/{source.id}/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["reason"]["code"], body["blocked"]) == ("blocked", "blocked_challenge", True)
    assert body["blocked_since"] and body["blocked_pages"] == 6
    assert "allow WartaBot" in body["reason"]["message"]


def test_the_yaml_lists_every_case_for_the_default_ports() -> None:
    """``sources-blocked.yaml`` (for ``WARTA_SOURCES_SEED_FILE`` on a demo stack) is the cases'
    source list at Kabar Serayu's default port, case for case."""
    path = Path(blocked.__file__).with_name("sources-blocked.yaml")
    listed = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    assert listed == blocked_sources("http://127.0.0.1:8102")
