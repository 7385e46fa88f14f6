"""Backfill (issue 19, part 4) on the demo sites with their history: real Elasticsearch for the
jobs, real Redis for the seen-URL memory, a fake publisher. A backfill to a date publishes exactly
the articles dated on or after it, each once, also when the runner is replaced half-way; a live
crawl still runs while a backfill is pending; the API answers 202/404/409/422 and shows progress."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from fastapi import FastAPI

from services.ingest.crawler.backfill import LEASE, BackfillRunner, BackfillStore
from services.ingest.crawler.models import SourceCreate
from services.ingest.crawler.registry import SourceRegistry
from services.ingest.crawler.runner import Crawler
from services.ingest.crawler.state import RedisKeyValue
from services.ingest.demo_sites import DemoWeb, start_demo_sites
from services.ingest.demo_sites.content import load_site, with_history
from services.ingest.demo_sites.feed_sites import feed_variant_articles, feed_variant_sources, radartimur_path
from services.ingest.demo_sites.sites import PATHS
from services.ingest.settings import IngestSettings
from services.ingest.sources_api import get_backfills, get_registry, get_settings, sources_router
from tests.integration.crawler.conftest import REDIS_URL, FakePublisher
from tests.pipeline import ES_URL

pytestmark = [pytest.mark.redis, pytest.mark.elasticsearch]

SINCE = date(2024, 3, 1)


@pytest.fixture(scope="module")
def history_web() -> Iterator[DemoWeb]:
    web = start_demo_sites("127.0.0.1", 0, slow_delay_s=0.2, history=True)
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture
def env(history_web: DemoWeb) -> Iterator[dict[str, Any]]:
    prefix = f"test-backfill-{uuid.uuid4().hex[:10]}-"
    settings = IngestSettings(
        env="test", redis_url=REDIS_URL, redis_prefix=prefix, index_prefix=prefix, es_url=ES_URL,
        crawl_allow_hosts=history_web.allow_hosts, crawl_min_delay_s=0.0,
        crawl_per_host_concurrency=4, crawl_workers=4, crawl_read_timeout_s=3.0, crawl_connect_timeout_s=2.0,
        crawl_max_retry_wait_s=2.0, crawl_wp_per_page=5,
    )  # fmt: skip
    es = Elasticsearch(ES_URL, request_timeout=30)
    store = BackfillStore(es, prefix)
    registry = SourceRegistry(es, prefix)
    kv = RedisKeyValue.from_url(REDIS_URL)
    try:
        yield {"settings": settings, "store": store, "registry": registry, "kv": kv, "web": history_web}
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        es.close()
        kv.delete_prefix(prefix)
        kv.close()


def _source(env: dict[str, Any], key: str, type_: str, path: str, **extra: Any) -> Any:
    url = env["web"].base_urls[key] + path
    return env["registry"].create(
        SourceCreate(id=f"{key}-{type_}", type=type_, name=f"{key} {type_}", url=url, **extra)
    )


def _expected(env: dict[str, Any], key: str, since: date) -> set[str]:
    """Every article of the site (live and history) published on or after ``since`` (UTC)."""
    base = env["web"].base_urls[key]
    limit = datetime(since.year, since.month, since.day, tzinfo=UTC)
    return {base + PATHS[key](a) for a in with_history(load_site(key)).articles if a.published >= limit}


def _run_to_end(runner: BackfillRunner, crawler: Crawler, max_steps: int = 200) -> int:
    steps = 0
    while runner.step(crawler, budget_s=0.0):
        steps += 1
        assert steps < max_steps
    return steps


@pytest.mark.parametrize(
    ("key", "type_", "path"),
    [("penadewata", "sitemap", "/sitemap_index.xml"), ("lintasmuria", "wordpress", "/"), ("kabarserayu", "listing", "/berita/")],
)  # fmt: skip
def test_backfill_publishes_exactly_the_articles_since_the_date_once(
    env: dict[str, Any], key: str, type_: str, path: str
) -> None:
    source = _source(env, key, type_, path)
    publisher = FakePublisher()
    now = datetime.now(UTC)
    job, created = env["store"].request(source, SINCE, now)
    assert created and job.state == "queued"
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        runner = BackfillRunner(env["store"], env["registry"])
        steps = _run_to_end(runner, crawler)
    urls = [a.canonical_url or a.url for a in publisher.articles]
    expected = _expected(env, key, SINCE)
    history_since = {u for u in expected if "/arsip-" in u or "arsip-" in u}
    assert len(history_since) >= 5, "the demo history must reach back past the date"
    assert Counter(urls).most_common(1)[0][1] == 1, "an article was published twice"
    assert set(urls) == expected, (sorted(set(urls) ^ expected), steps)
    done = env["store"].get(source.id).job
    assert done.state == "done", done
    assert done.published == len(expected)
    assert done.cursor is None and done.finished_at is not None
    assert done.oldest_reached is not None and done.oldest_reached.date() >= SINCE
    assert done.oldest_reached.date() < SINCE + timedelta(days=13)
    assert done.pages_walked >= 2
    if type_ == "sitemap":  # the archive sitemaps of months before ``since`` are skipped by lastmod
        paths = env["web"].stats.paths
        assert paths[f"penadewata/sitemap-arsip-{SINCE:%Y-%m}.xml"] >= 1
        assert paths["penadewata/sitemap-arsip-2024-01.xml"] == 0


def test_backfill_resumes_in_a_new_runner_without_duplicates(env: dict[str, Any]) -> None:
    source = _source(env, "lintasmuria", "wordpress", "/")
    publisher = FakePublisher()
    env["store"].request(source, SINCE, datetime.now(UTC))
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        first = BackfillRunner(env["store"], env["registry"], owner="crawler-a")
        assert first.step(crawler, budget_s=0.0)
        assert first.step(crawler, budget_s=0.0)
    middle = env["store"].get(source.id).job
    assert middle.state == "running" and middle.cursor == {"page": 3}, middle
    assert 0 < len(publisher.articles) < len(_expected(env, "lintasmuria", SINCE))
    # A new process: its own crawler and runner, the same Redis and Elasticsearch.
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        second = BackfillRunner(env["store"], env["registry"], owner="crawler-b")
        _run_to_end(second, crawler)
    urls = [a.canonical_url or a.url for a in publisher.articles]
    assert Counter(urls).most_common(1)[0][1] == 1
    assert set(urls) == _expected(env, "lintasmuria", SINCE)
    assert env["store"].get(source.id).job.state == "done"


def test_backfill_skips_what_the_live_crawl_published(env: dict[str, Any]) -> None:
    source = _source(env, "lintasmuria", "wordpress", "/")
    feed = _source(env, "lintasmuria", "rss", "/feed/")  # the feed holds the live articles only
    publisher = FakePublisher()
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        live = crawler.crawl(feed)
        assert live.published == len(load_site("lintasmuria").articles)
        env["store"].request(source, SINCE, datetime.now(UTC))
        _run_to_end(BackfillRunner(env["store"], env["registry"]), crawler)
    job = env["store"].get(source.id).job
    assert job.skipped_seen == live.published
    urls = [a.canonical_url or a.url for a in publisher.articles]
    assert Counter(urls).most_common(1)[0][1] == 1
    assert set(urls) == _expected(env, "lintasmuria", SINCE)


def test_rss_backfill_says_the_feed_is_all_there_is(env: dict[str, Any]) -> None:
    source = _source(env, "lintasmuria", "rss", "/feed/")
    publisher = FakePublisher()
    env["store"].request(source, SINCE, datetime.now(UTC))
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        _run_to_end(BackfillRunner(env["store"], env["registry"]), crawler)
    job = env["store"].get(source.id).job
    live = len(load_site("lintasmuria").articles)
    assert job.state == "done" and job.limited == f"feed only holds {live} recent items"
    assert job.published == live == len(publisher.articles)


@pytest.mark.parametrize("source_id", ["radartimur-merauke", "radartimur-biak"])
def test_wordpress_without_rest_api_is_walked_through_its_sitemap(env: dict[str, Any], source_id: str) -> None:
    """The REST API answers 403 (merauke) or an HTML page (biak): the backfill walks
    ``wp-sitemap.xml`` instead, says so, and publishes every post since the date once."""
    spec = next(s for s in feed_variant_sources(env["web"].base_urls) if s["id"] == source_id)
    source = env["registry"].create(SourceCreate.model_validate(spec))
    publisher = FakePublisher()
    env["store"].request(source, SINCE, datetime.now(UTC))
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        _run_to_end(BackfillRunner(env["store"], env["registry"]), crawler)
    job = env["store"].get(source.id).job
    assert job.state == "done", job
    assert job.limited and job.limited.startswith("walked through wp-sitemap.xml"), job.limited
    base = env["web"].base_urls["radartimur"]
    expected = {base + radartimur_path(a) for a in feed_variant_articles(env["web"].base_urls, source_id)}
    urls = [a.canonical_url or a.url for a in publisher.articles]
    assert expected and Counter(urls) == Counter(expected), urls
    assert job.published == len(expected)


def test_live_crawl_runs_while_a_backfill_is_pending(env: dict[str, Any]) -> None:
    """The run_crawler loop crawls the due sources and walks the backfill in between."""
    from services.ingest.crawler.runner import run_crawler

    wp = _source(env, "lintasmuria", "wordpress", "/")
    _source(env, "penadewata", "sitemap", "/sitemap_index.xml")
    env["store"].request(wp, SINCE, datetime.now(UTC))
    publisher = FakePublisher()
    stop = threading.Event()
    settings = env["settings"].model_copy(update={"crawl_tick_s": 0.05})
    thread = threading.Thread(target=run_crawler, args=(settings, publisher, stop), daemon=True)
    thread.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while datetime.now(UTC) < deadline:
            job = env["store"].get(wp.id).job
            if job.state == "done" and env["registry"].runs("penadewata-sitemap", 1):
                break
            stop.wait(0.2)
    finally:
        stop.set()
        thread.join(30)
    assert env["store"].get(wp.id).job.state == "done"
    assert env["registry"].runs("penadewata-sitemap", 1), "the live crawl did not run"
    urls = [a.canonical_url or a.url for a in publisher.articles]
    assert Counter(urls).most_common(1)[0][1] == 1
    assert _expected(env, "lintasmuria", SINCE) <= set(urls)


# --- the API --------------------------------------------------------------------------------------


def _call(app: FastAPI, method: str, url: str) -> httpx.Response:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest.test") as http:
            return await http.request(method, url)

    return asyncio.run(call())


def test_backfill_api(env: dict[str, Any]) -> None:
    source = _source(env, "lintasmuria", "wordpress", "/")
    app = FastAPI()
    app.include_router(sources_router)
    app.dependency_overrides[get_registry] = lambda: env["registry"]
    app.dependency_overrides[get_settings] = lambda: env["settings"]
    app.dependency_overrides[get_backfills] = lambda: env["store"]
    base = f"/v1/sources/{source.id}/backfill"

    assert _call(app, "GET", base).status_code == 404
    assert _call(app, "POST", "/v1/sources/nope/backfill?since=2024-03-01").status_code == 404
    future = (datetime.now(UTC) + timedelta(days=2)).date()
    for bad in ("2024-13-01", "kemarin", future.isoformat(), "2015-01-01"):
        resp = _call(app, "POST", f"{base}?since={bad}")
        assert resp.status_code == 422, (bad, resp.text)
        assert "since" in resp.json()["detail"][0]["loc"]
    assert _call(app, "POST", base).status_code == 422

    first = _call(app, "POST", f"{base}?since=2024-03-01")
    assert first.status_code == 202, first.text
    assert first.json() | {"requested_at": None, "updated_at": None} == first.json() | {
        "state": "queued", "since": "2024-03-01", "created": True, "published": 0, "requested_at": None,
        "updated_at": None, "source_id": source.id,
    }  # fmt: skip
    again = _call(app, "POST", f"{base}?since=2024-03-01")
    assert again.status_code == 202 and again.json()["created"] is False
    assert again.json()["requested_at"] == first.json()["requested_at"]
    other = _call(app, "POST", f"{base}?since=2024-04-01")
    assert other.status_code == 409 and other.json()["detail"]["code"] == "backfill_running"

    publisher = FakePublisher()
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        BackfillRunner(env["store"], env["registry"]).step(crawler, budget_s=0.0)
    progress = _call(app, "GET", base).json()
    assert progress["state"] == "running" and progress["pages_walked"] == 1
    assert progress["published"] == len(publisher.articles) > 0
    assert progress["position"] == "page 2"

    cancelled = _call(app, "DELETE", base)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        assert BackfillRunner(env["store"], env["registry"]).step(crawler, budget_s=0.0) is False
    renewed = _call(app, "POST", f"{base}?since=2024-04-01")
    assert renewed.status_code == 202 and renewed.json()["created"] is True


def test_a_job_held_by_a_dead_crawler_is_taken_over_after_its_lease(env: dict[str, Any]) -> None:
    source = _source(env, "penadewata", "sitemap", "/sitemap_index.xml")
    env["store"].request(source, SINCE, datetime.now(UTC))
    dead = BackfillRunner(env["store"], env["registry"], owner="dead")
    held = dead._claim(env["store"].runnable(datetime.now(UTC))[0])  # claimed, then the process died
    assert held is not None and held.job.owner == "dead"
    publisher = FakePublisher()
    with Crawler(env["settings"], env["registry"], publisher, kv=env["kv"]) as crawler:
        assert BackfillRunner(env["store"], env["registry"], owner="alive").step(crawler, budget_s=0.0) is False
        later = BackfillRunner(
            env["store"], env["registry"], owner="alive", now=lambda: datetime.now(UTC) + LEASE + timedelta(seconds=1)
        )
        _run_to_end(later, crawler)
    job = env["store"].get(source.id).job
    assert job.state == "done" and job.owner is None
    urls = [a.canonical_url or a.url for a in publisher.articles]
    assert Counter(urls).most_common(1)[0][1] == 1
    assert set(urls) == _expected(env, "penadewata", SINCE)
