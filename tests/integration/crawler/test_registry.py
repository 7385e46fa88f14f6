"""The source registry in the real Elasticsearch: what it stores survives a new registry object
(another process), the seed file is idempotent, scheduling and outcomes round-trip, writes racing
from several clients lose nothing and admit one winner, and a SQLite registry migrates whole and
idempotently (``warta ingest migrate-registry``)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from elasticsearch import Elasticsearch
from pydantic import ValidationError

from services.ingest.crawler.migrate import SQLITE_SCHEMA, migrate_sqlite
from services.ingest.crawler.models import SourceCreate, SourceUpdate
from services.ingest.crawler.registry import (
    CrawlRecord,
    DuplicateSourceUrl,
    SourceExists,
    SourceNotFound,
    SourceRegistry,
    SourceState,
)
from tests.pipeline import ES_URL, WARTA

pytestmark = pytest.mark.elasticsearch

T = TypeVar("T")


def _record(source_id: str, at: datetime, **counts: Any) -> CrawlRecord:
    return CrawlRecord(source_id=source_id, started_at=at, finished_at=at, status="ok", **counts)


def _race(calls: list[Callable[[], T]]) -> list[T | BaseException]:
    """Run ``calls`` in threads released at the same moment; each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[T | BaseException] = [RuntimeError("not run")] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def second(index_prefix: str) -> Iterator[SourceRegistry]:
    """A second registry on the same indices through its own client (another process)."""
    es = Elasticsearch(ES_URL, request_timeout=30)
    try:
        yield SourceRegistry(es, index_prefix)
    finally:
        es.close()


def test_sources_survive_a_new_registry_and_seed_is_idempotent(
    registry: SourceRegistry, second: SourceRegistry, tmp_path: Path
) -> None:
    seed = tmp_path / "sources.yaml"
    seed.write_text(
        "sources:\n"
        "  - {id: lintasmuria-rss, type: rss, name: Lintas Muria, url: 'https://lintasmuria.example/feed/', region: Jawa Tengah}\n"
        "  - {type: sitemap, name: Pena Dewata, url: 'https://penadewata.example/sitemap_index.xml', region: Bali}\n",
        encoding="utf-8",
    )
    registry.seed_from_yaml(seed)
    second.seed_from_yaml(seed)
    assert [s.id for s in second.list_sources()] == ["lintasmuria-rss", "pena-dewata"]
    assert second.get("lintasmuria-rss").region == "Jawa Tengah"
    with pytest.raises(SourceExists):
        second.create(SourceCreate(id="lintasmuria-rss", type="rss", name="x", url="https://x.example/"))
    # A seeded URL is held: the API cannot add a second source on it.
    with pytest.raises(DuplicateSourceUrl) as caught:
        registry.create(SourceCreate(type="rss", name="Copy", url="http://www.lintasmuria.example/feed"))
    assert caught.value.existing.id == "lintasmuria-rss"


def test_bad_seed_names_the_field(registry: SourceRegistry, tmp_path: Path) -> None:
    seed = tmp_path / "bad.yaml"
    seed.write_text("- {type: rss, name: x, url: 'gopher://x'}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="url"):
        registry.seed_from_yaml(seed)
    assert registry.list_sources() == []


def test_update_due_and_record(registry: SourceRegistry) -> None:
    registry.create(SourceCreate(id="s1", type="rss", name="S1", url="https://a.example/feed/"))
    assert [s.id for s in registry.due()] == ["s1"]
    now = datetime.now(UTC)
    record = CrawlRecord(
        source_id="s1",
        started_at=now,
        finished_at=now,
        status="partial",
        discovered=5,
        fetched=4,
        published=3,
        skipped=Counter({"seen": 1}),
        failed=Counter({"http_404": 1}),
        error_code="http_404",
    )
    registry.record_crawl(
        record,
        SourceState(next_crawl_at=now + timedelta(hours=1), last_success_at=now, cursor="etag-1"),
        [("a1", now - timedelta(hours=2)), ("a2", now - timedelta(hours=1))],
    )
    assert registry.due() == []
    assert registry.next_due_at() == now + timedelta(hours=1)
    assert registry.state("s1").cursor == "etag-1"
    registry.request_crawl("s1")
    assert [s.id for s in registry.due()] == ["s1"]
    counters = registry.counters("s1")
    assert counters["published"] == 3 and counters["failed"] == {"http_404": 1} and counters["skipped"] == {"seen": 1}
    [run] = registry.runs("s1")
    assert (run.failed, run.error_code, run.started_at) == (Counter({"http_404": 1}), "http_404", now)
    assert registry.article_times("s1") == [now - timedelta(hours=2), now - timedelta(hours=1)]
    registry.update("s1", SourceUpdate(enabled=False))
    assert registry.due() == []
    assert registry.list_sources(enabled=True) == []
    with pytest.raises(SourceNotFound):
        registry.update("nope", SourceUpdate(name="x"))
    with pytest.raises(SourceNotFound):
        registry.record_crawl(_record("nope", now), SourceState())


def test_changing_a_url_moves_its_claim(registry: SourceRegistry) -> None:
    registry.create(SourceCreate(id="s1", type="rss", name="S1", url="https://a.example/feed/"))
    registry.create(SourceCreate(id="s2", type="rss", name="S2", url="https://b.example/feed/"))
    with pytest.raises(DuplicateSourceUrl):
        registry.update("s2", SourceUpdate(url="https://a.example/feed"))
    registry.update("s1", SourceUpdate(url="https://c.example/feed/"))
    # The old URL is free again, the new one is taken.
    registry.update("s2", SourceUpdate(url="https://a.example/feed"))
    with pytest.raises(DuplicateSourceUrl) as caught:
        registry.create(SourceCreate(type="rss", name="S3", url="https://c.example/feed"))
    assert caught.value.existing.id == "s1"
    assert registry.find_by_url("https://www.a.example/feed/").id == "s2"  # type: ignore[union-attr]


def test_due_returns_the_most_overdue_first_and_is_bounded(registry: SourceRegistry) -> None:
    now = datetime.now(UTC)
    for i in range(5):
        registry.create(SourceCreate(id=f"s{i}", type="rss", name=f"S{i}", url=f"https://{i}.example/feed/"))
        registry.claim(f"s{i}", now - timedelta(minutes=i))
    assert [s.id for s in registry.due(now=now, limit=3)] == ["s4", "s3", "s2"]
    assert [s.id for s in registry.due(now=now - timedelta(minutes=2, seconds=30))] == ["s4", "s3"]


def test_concurrent_creates_of_one_url_admit_exactly_one(registry: SourceRegistry, second: SourceRegistry) -> None:
    for attempt in range(5):
        url = f"https://race{attempt}.example/feed/"
        a = SourceCreate(id=f"a{attempt}", type="rss", name="A", url=url)
        b = SourceCreate(id=f"b{attempt}", type="rss", name="B", url=f"{url}?utm_source=x")
        results = _race([lambda a=a: registry.create(a), lambda b=b: second.create(b)])  # type: ignore[misc]
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], DuplicateSourceUrl), lost
        assert lost[0].existing.id == won[0].id
    assert len(registry.list_sources()) == 5


def test_concurrent_creates_of_one_id_admit_exactly_one(registry: SourceRegistry, second: SourceRegistry) -> None:
    results = _race(
        [
            lambda: registry.create(SourceCreate(id="same", type="rss", name="A", url="https://one.example/feed/")),
            lambda: second.create(SourceCreate(id="same", type="rss", name="B", url="https://two.example/feed/")),
        ]
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1, results
    assert [type(r) for r in results if isinstance(r, BaseException)] == [SourceExists]
    # The loser's URL is free again.
    winner = registry.get("same")
    free = "https://two.example/feed/" if winner.name == "A" else "https://one.example/feed/"
    assert registry.create(SourceCreate(id="other", type="rss", name="C", url=free)).id == "other"


def test_concurrent_record_crawl_and_updates_lose_no_write(registry: SourceRegistry, second: SourceRegistry) -> None:
    ids = [f"s{i}" for i in range(4)]
    for sid in ids:
        registry.create(SourceCreate(id=sid, type="rss", name=sid, url=f"https://{sid}.example/feed/"))
    now = datetime.now(UTC)
    rounds = 5

    def crawls(reg: SourceRegistry, sid: str) -> Callable[[], None]:
        def run() -> None:
            for n in range(rounds):
                reg.record_crawl(
                    _record(sid, now, published=1, skipped=Counter({"seen": 2})),
                    SourceState(next_crawl_at=now + timedelta(hours=1), last_crawl_at=now),
                    [(f"{sid}-{n}", now - timedelta(minutes=n))],
                )

        return run

    def edits(reg: SourceRegistry, sid: str) -> Callable[[], None]:
        def run() -> None:
            for n in range(rounds):
                reg.update(sid, SourceUpdate(region=f"region {n}"))

        return run

    # Two clients record crawls of every source while a third edits the same documents.
    calls = [crawls(registry if i % 2 else second, sid) for i, sid in enumerate(ids)]
    calls += [crawls(second if i % 2 else registry, sid) for i, sid in enumerate(ids)]
    calls += [edits(registry, sid) for sid in ids]
    assert [r for r in _race(calls) if isinstance(r, BaseException)] == []
    for sid in ids:
        counters = registry.counters(sid)
        assert (counters["crawls"], counters["published"], counters["skipped"]) == (
            2 * rounds,
            2 * rounds,
            {"seen": 4 * rounds},
        )
        assert len(registry.runs(sid, limit=100)) == 2 * rounds
        assert len(registry.article_times(sid)) == rounds
        assert registry.get(sid).region == f"region {rounds - 1}"


def test_try_claim_admits_one_crawler(registry: SourceRegistry, second: SourceRegistry) -> None:
    registry.create(SourceCreate(id="s1", type="rss", name="S1", url="https://a.example/feed/"))
    until = datetime.now(UTC) + timedelta(minutes=15)
    results = _race([lambda: registry.try_claim("s1", until), lambda: second.try_claim("s1", until)])
    assert sorted(results) == [False, True]  # type: ignore[type-var]
    assert registry.state("s1").next_crawl_at == until
    assert registry.due() == [] and not registry.try_claim("s1", until)


def test_articles_per_day_use_the_zone(registry: SourceRegistry) -> None:
    registry.create(SourceCreate(id="s1", type="rss", name="S1", url="https://a.example/feed/"))
    old = datetime(2020, 1, 1, tzinfo=UTC)
    # 2024-06-09 23:30 and 2024-06-10 00:30 in Jakarta: one UTC day, two Jakarta days.
    for at, article in (
        (datetime(2024, 6, 9, 16, 30, tzinfo=UTC), "a1"),
        (datetime(2024, 6, 9, 17, 30, tzinfo=UTC), "a2"),
    ):
        registry.record_crawl(_record("s1", at), SourceState(), [(article, old)])
    now = datetime(2024, 6, 10, 5, 0, tzinfo=UTC)
    assert registry.discoveries_per_day("s1", days=2, zone=ZoneInfo("Asia/Jakarta"), now=now) == [
        (date(2024, 6, 9), 1),
        (date(2024, 6, 10), 1),
    ]
    assert registry.discoveries_per_day("s1", days=2, zone=UTC, now=now) == [
        (date(2024, 6, 9), 2),
        (date(2024, 6, 10), 0),
    ]


# --- migration from SQLite ---------------------------------------------------------------------


def _sqlite_registry(path: Path) -> None:
    """A registry file as the SQLite registry wrote it: two sources, runs, counters, times."""
    db = sqlite3.connect(path)
    db.executescript(SQLITE_SCHEMA)
    t = "2024-06-01T00:00:00+00:00"
    db.executemany(
        "INSERT INTO sources (id, type, name, url, language, region, include_patterns, enabled, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'id', ?, ?, ?, ?, ?)",
        [
            (
                "lintasmuria-rss",
                "rss",
                "Lintas Muria",
                "https://lintasmuria.example/feed/",
                "Jawa Tengah",
                '["^/20"]',
                1,
                t,
                t,
            ),
            ("pena-dewata", "sitemap", "Pena Dewata", "https://penadewata.example/sitemap.xml", None, "[]", 0, t, t),
        ],
    )
    db.execute(
        "INSERT INTO source_state (source_id, interval_s, next_crawl_at, last_crawl_at, last_success_at,"
        " consecutive_failures, cursor, last_status, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("lintasmuria-rss", 600.0, "2024-06-02T00:10:00+00:00", "2024-06-02T00:00:00+00:00",
         "2024-06-01T12:00:00+00:00", 2, "etag-7", "failed", "timeout: https://lintasmuria.example/feed/"),
    )  # fmt: skip
    db.execute("INSERT INTO source_state (source_id, next_crawl_at) VALUES ('pena-dewata', ?)", (t,))
    for i, status in enumerate(["ok", "failed", "failed"]):
        at = f"2024-06-0{i + 1}T00:00:00+00:00"
        db.execute(
            "INSERT INTO crawl_runs (source_id, started_at, finished_at, status, discovered, fetched, published,"
            " skipped, failed, requests, error, error_code) VALUES ('lintasmuria-rss', ?, ?, ?, 3, 2, ?, ?, ?, 4, ?, ?)",
            (at, at, status, 2 if status == "ok" else 0, '{"seen": 1}', "{}" if status == "ok" else '{"timeout": 1}',
             None if status == "ok" else "timeout", None if status == "ok" else "timeout"),
        )  # fmt: skip
    db.executemany(
        "INSERT INTO source_counters (source_id, kind, reason, count) VALUES ('lintasmuria-rss', ?, ?, ?)",
        [("crawls", "", 3), ("published", "", 2), ("skipped", "seen", 3), ("failed", "timeout", 2)],
    )
    db.executemany(
        "INSERT INTO article_times (source_id, article_id, published_at) VALUES ('lintasmuria-rss', ?, ?)",
        [("a1", "2024-05-31T08:00:00+00:00"), ("a2", "2024-05-31T20:00:00+00:00")],
    )
    db.executemany(
        "INSERT INTO article_discoveries (source_id, article_id, discovered_at) VALUES ('lintasmuria-rss', ?, ?)",
        [("a1", "2024-06-01T00:00:00+00:00"), ("a2", "2024-06-01T00:00:00+00:00")],
    )
    db.commit()
    db.close()


def _snapshot(registry: SourceRegistry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in registry.list_sources():
        out[source.id] = {
            "source": source.model_dump(),
            "state": registry.state(source.id),
            "counters": registry.counters(source.id),
            "runs": [r.as_dict() for r in registry.runs(source.id, limit=100)],
            "times": registry.article_times(source.id),
        }
    return out


def test_migrate_a_sqlite_registry_twice(registry: SourceRegistry, tmp_path: Path) -> None:
    path = tmp_path / "sources.sqlite3"
    _sqlite_registry(path)
    counts = migrate_sqlite(path, registry)
    assert (counts.sources, counts.runs, counts.articles) == (2, 3, 2)
    first = _snapshot(registry)
    assert migrate_sqlite(path, registry) == counts
    assert _snapshot(registry) == first

    source = registry.get("lintasmuria-rss")
    assert (source.region, source.include_patterns, source.enabled) == ("Jawa Tengah", ["^/20"], True)
    assert registry.get("pena-dewata").enabled is False
    state = registry.state("lintasmuria-rss")
    assert (state.interval_s, state.consecutive_failures, state.cursor, state.last_status) == (
        600.0,
        2,
        "etag-7",
        "failed",
    )
    assert state.next_crawl_at == datetime(2024, 6, 2, 0, 10, tzinfo=UTC)
    assert registry.counters("lintasmuria-rss") == {
        "crawls": 3, "discovered": 0, "fetched": 0, "published": 2, "skipped": {"seen": 3}, "failed": {"timeout": 2},
    }  # fmt: skip
    runs = registry.runs("lintasmuria-rss")
    assert [(r.status, r.error_code, r.started_at.day) for r in runs] == [
        ("failed", "timeout", 3),
        ("failed", "timeout", 2),
        ("ok", None, 1),
    ]
    assert registry.article_times("lintasmuria-rss") == [
        datetime(2024, 5, 31, 8, tzinfo=UTC),
        datetime(2024, 5, 31, 20, tzinfo=UTC),
    ]
    by_day = registry.discoveries_per_day("lintasmuria-rss", days=1, zone=UTC, now=datetime(2024, 6, 1, 12, tzinfo=UTC))
    assert by_day == [(date(2024, 6, 1), 2)]
    # The migrated URLs are held, and the next crawl numbers its run after the migrated ones.
    with pytest.raises(DuplicateSourceUrl):
        registry.create(SourceCreate(type="rss", name="Copy", url="https://lintasmuria.example/feed"))
    registry.record_crawl(_record("lintasmuria-rss", datetime(2024, 6, 4, tzinfo=UTC)), state)
    assert [r.started_at.day for r in registry.runs("lintasmuria-rss")] == [4, 3, 2, 1]


def test_migrate_registry_command(index_prefix: str, registry: SourceRegistry, tmp_path: Path) -> None:
    path = tmp_path / "sources.sqlite3"
    _sqlite_registry(path)
    env = {"WARTA_ES_URL": ES_URL, "WARTA_INDEX_PREFIX": index_prefix, "WARTA_ENV": "test", "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        done = subprocess.run([WARTA, "ingest", "migrate-registry", "--from", str(path)], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"sources": 2, "runs": 3, "articles": 2}
    assert [s.id for s in registry.list_sources()] == ["lintasmuria-rss", "pena-dewata"]
    missing = subprocess.run([WARTA, "ingest", "migrate-registry", "--from", str(tmp_path / "none.sqlite3")], env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert missing.returncode == 2 and "no SQLite registry" in missing.stderr
