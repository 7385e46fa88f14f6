"""Host leases and shared per-host spacing on a real Redis (services/ingest/crawler/leases.py)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from prometheus_client import REGISTRY

from services.ingest.crawler.fetcher import Fetcher, FetchError
from services.ingest.crawler.leases import HostLeases, HostSpacing, host_key
from services.ingest.crawler.models import SourceCreate
from services.ingest.crawler.registry import SourceRegistry
from services.ingest.crawler.runner import Crawler
from services.ingest.crawler.state import RedisKeyValue
from services.ingest.demo_sites import DemoWeb
from services.ingest.demo_sites.manifest import demo_sources
from services.ingest.settings import IngestSettings
from tests.integration.crawler.conftest import REDIS_URL, FakePublisher
from tests.integration.crawler.politeness import spacing_violations

pytestmark = pytest.mark.redis

HOST = "berita.example:443"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    prefix = f"test-leases-{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


def _counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_host_key_is_the_gates_host_and_port() -> None:
    assert host_key("https://Berita.Example/a?b=1") == HOST
    assert host_key("http://berita.example./a") == "berita.example:80"
    assert host_key("http://127.0.0.1:8102/feed/") == "127.0.0.1:8102"


def test_take_refuse_release_and_retake(client: redis.Redis, prefix: str) -> None:
    a, b = HostLeases(client, prefix, 10.0), HostLeases(client, prefix, 10.0)
    assert a.crawler_id != b.crawler_id and a.crawler_id.count(":") == 2
    assert a.pin(HOST)
    assert not b.pin(HOST)
    assert b.ensure(HOST) == "host_busy"
    assert a.holder(HOST) == a.crawler_id
    assert 0 < client.pttl(a.lease_key(HOST)) <= 10_000
    # Two crawls of the host's sources in one process share the lease; the last one releases it.
    assert a.pin(HOST)
    a.unpin(HOST)
    assert a.holder(HOST) == a.crawler_id and a.ensure(HOST) is None
    a.unpin(HOST)
    assert a.holder(HOST) is None and not a.holds(HOST)
    takeovers = _counter("warta_crawl_host_lease_takeovers_total")
    assert b.pin(HOST)
    assert _counter("warta_crawl_host_lease_takeovers_total") == takeovers  # a clean handoff
    b.unpin(HOST)


def test_renewal_extends_only_own_lease(client: redis.Redis, prefix: str) -> None:
    a = HostLeases(client, prefix, 10.0)
    assert a.pin(HOST)
    client.pexpire(a.lease_key(HOST), 200)
    a.renew_all()
    assert client.pttl(a.lease_key(HOST)) > 1000
    assert a.holds(HOST)
    # Another crawler's value under the key (ours expired and it took it): renewal is refused,
    # the lease counts as lost at once and its value is left alone.
    losses = _counter("warta_crawl_host_lease_losses_total")
    client.set(a.lease_key(HOST), "other:1:x", px=5000)
    a.renew_all()
    assert not a.holds(HOST)
    assert a.ensure(HOST) == "lease_lost"
    assert _counter("warta_crawl_host_lease_losses_total") == losses + 1
    assert client.get(a.lease_key(HOST)) == b"other:1:x"
    a.renew_all()  # a lost lease is counted once, and never renewed
    assert _counter("warta_crawl_host_lease_losses_total") == losses + 1
    # Releasing compares the token: another crawler's lease stays.
    a.unpin(HOST)
    assert client.get(a.lease_key(HOST)) == b"other:1:x"


def test_expired_lease_is_lost_locally_and_taken_over(client: redis.Redis, prefix: str) -> None:
    a, b = HostLeases(client, prefix, 0.5), HostLeases(client, prefix, 10.0)
    assert a.pin(HOST)  # no heartbeat: a crawler that stalled or died
    while client.exists(a.lease_key(HOST)):
        time.sleep(0.05)
    # Its local deadline was set before Redis started the TTL, so it ended no later.
    assert not a.holds(HOST)
    assert a.ensure(HOST) == "lease_lost"
    takeovers = _counter("warta_crawl_host_lease_takeovers_total")
    assert b.pin(HOST)
    assert _counter("warta_crawl_host_lease_takeovers_total") == takeovers + 1
    assert b.holder(HOST) == b.crawler_id
    a.unpin(HOST)  # the stalled crawler wakes up: its release must not free b's lease
    assert b.holder(HOST) == b.crawler_id
    b.unpin(HOST)


def test_heartbeat_keeps_leases_and_close_releases_them(client: redis.Redis, prefix: str) -> None:
    a, b = HostLeases(client, prefix, 1.0), HostLeases(client, prefix, 1.0)
    a.start()
    try:
        assert a.pin(HOST)
        deadline = time.monotonic() + 3.0  # three TTLs
        while time.monotonic() < deadline:
            assert not b.pin(HOST)
            assert a.holds(HOST)
            time.sleep(0.1)
    finally:
        a.close()
    assert a.holder(HOST) is None
    assert b.pin(HOST)
    b.unpin(HOST)


def test_lease_taken_for_one_request_is_released_when_idle(client: redis.Redis, prefix: str) -> None:
    a, b = HostLeases(client, prefix, 1.0), HostLeases(client, prefix, 1.0)
    other = "cdn.example:443"
    assert a.ensure(other) is None  # e.g. a redirect to another host: taken on the way
    assert b.ensure(other) == "host_busy"
    time.sleep(0.4)
    a.renew_all()
    assert a.holder(other) is None
    assert b.ensure(other) is None
    b.close()
    assert b.holder(other) is None


def test_spacing_only_moves_forward(client: redis.Redis, prefix: str) -> None:
    spacing = HostSpacing(client, prefix)
    assert spacing.get(HOST) == (None, None)
    now = time.time()
    spacing.record_start(HOST, now + 1.0)
    spacing.record_start(HOST, now)
    spacing.block(HOST, now + 30.0)
    last, blocked = spacing.get(HOST)
    assert last == pytest.approx(now + 1.0, abs=0.002)
    assert blocked == pytest.approx(now + 30.0, abs=0.002)
    assert 60_000 < client.pttl(f"{prefix}host-blocked:{HOST}") <= 91_000


def _fetcher(settings: IngestSettings, client: redis.Redis, prefix: str, leases: HostLeases) -> Fetcher:
    return Fetcher(settings, leases=leases, spacing=HostSpacing(client, prefix))


def test_fetcher_stops_at_once_when_its_lease_is_lost(demo_web: DemoWeb, client: redis.Redis, prefix: str) -> None:
    settings = IngestSettings(env="test", crawl_allow_hosts=demo_web.allow_hosts, crawl_min_delay_s=0.0)
    base = demo_web.base_urls["kabarserayu"]
    host = host_key(base)
    leases = HostLeases(client, prefix, 10.0)
    with _fetcher(settings, client, prefix, leases) as fetcher:
        assert leases.pin(host)
        assert fetcher.fetch(f"{base}/sitemap.xml", accept="xml").status == 200
        client.set(leases.lease_key(host), "other:1:x", px=5000)  # expired and taken meanwhile
        leases.renew_all()
        requests_before = len(demo_web.stats.requests_log())
        with pytest.raises(FetchError) as refused:
            fetcher.fetch(f"{base}/berita/", accept="html")
        assert refused.value.reason == "lease_lost"
        assert len(demo_web.stats.requests_log()) == requests_before  # nothing was sent
        leases.unpin(host)
        # Not this crawler's host: another one holds it.
        with pytest.raises(FetchError) as busy:
            fetcher.fetch(f"{base}/berita/", accept="html")
        assert busy.value.reason == "host_busy"


def test_spacing_and_crawl_delay_hold_across_a_handoff(demo_web: DemoWeb, client: redis.Redis, prefix: str) -> None:
    settings = IngestSettings(env="test", crawl_allow_hosts=demo_web.allow_hosts, crawl_min_delay_s=0.4)
    base = demo_web.base_urls["lintasmuria"]
    host = host_key(base)
    a, b = HostLeases(client, prefix, 10.0), HostLeases(client, prefix, 10.0)
    with _fetcher(settings, client, prefix, a) as first, _fetcher(settings, client, prefix, b) as second:
        assert a.pin(host)
        first.fetch(f"{base}/feed/", accept="xml")
        a.unpin(host)
        assert b.pin(host)
        second.fetch(f"{base}/wp-sitemap.xml", accept="xml")  # its robots.txt first, then this
        b.unpin(host)
    log = [r for r in demo_web.stats.requests_log() if r.site == "lintasmuria"][-4:]
    assert [r.path for r in log] == ["/robots.txt", "/feed/", "/robots.txt", "/wp-sitemap.xml"]
    # Each process's own gate knows nothing of the other's requests: only Redis spaced them.
    assert spacing_violations(log, 0.4) == []


@pytest.mark.elasticsearch
def test_a_crawl_that_lost_its_lease_is_due_again_without_back_off(
    demo_web: DemoWeb,
    crawl_env: tuple[IngestSettings, SourceRegistry, RedisKeyValue],
    client: redis.Redis,
) -> None:
    settings, registry, kv = crawl_env
    prefix = settings.crawl_redis_prefix
    (spec,) = [s for s in demo_sources(demo_web.base_urls) if s["id"] == "penadewata-sitemap"]
    source = registry.create(SourceCreate.model_validate(spec))
    host = host_key(source.url)
    leases = HostLeases(client, prefix, 10.0)
    assert leases.pin(host)
    client.set(leases.lease_key(host), "other:1:x", px=5000)
    leases.renew_all()
    requests_before = len(demo_web.stats.requests_log())
    crawler = Crawler(settings, registry, FakePublisher(), kv=kv, leases=leases, spacing=HostSpacing(client, prefix))
    with crawler:
        record = crawler.crawl(source)
    assert record.failed == Counter({"lease_lost": 1})
    assert len(demo_web.stats.requests_log()) == requests_before
    state = registry.state(source.id)
    assert state.consecutive_failures == 0
    assert state.next_crawl_at is not None and state.next_crawl_at <= record.finished_at
