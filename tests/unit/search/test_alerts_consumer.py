"""The alerts consumer (services/search/alerts) on the consumer runtime, driven by an in-memory Kafka
and a fake store: matches recorded once however often an article is announced, a saved search that
Elasticsearch rejects marked failing and skipped while the others match, commit only after the
matches and deliveries are recorded, retries while Elasticsearch is unavailable. No network.

The fake store evaluates a saved search as one word that must be in the article's text; a query
containing ``tolak`` is rejected (400) with its chunk, ``dalam`` makes the whole ``_msearch``
refused (as a body Elasticsearch cannot parse), ``rusak`` fails with a 500.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import TopicPartition
from prometheus_client import REGISTRY

from services.search.alerts.consumer import make_processor
from services.search.alerts.matching import (
    CHUNK_SIZE,
    AlertMatcher,
    ChunkResult,
    Monitor,
    SearchRejected,
    Unavailable,
    pack,
    short_error,
)
from services.search.alerts.store import QUERY_STATE_RESET
from services.search.settings import AlertsSettings
from shared.kafka import DlqPublisher
from shared.schemas import DlqRecord, IndexedArticle, decode
from shared.topics import Stage, Topic
from tests.memory_kafka import MemoryBroker, MemoryConsumer, MemoryProducer

SETTINGS = AlertsSettings(topic_prefix="unit-", index_prefix="unit-", health_file=None, alerts_batch_size=4,
                          alerts_batch_max_ms=10, backoff_max_s=0.01)  # fmt: skip
TOPIC = SETTINGS.topic(Topic.ARTICLES_INDEXED)
DLQ_TOPIC = SETTINGS.topic(Topic.SEARCH_DLQ)
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
WAIT_S = 5.0
T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)

TEXTS = {
    "a0": "banjir rob di pesisir Blora",
    "a1": "harga pasar naik menjelang lebaran",
    "a2": "banjir bandang dan harga pasar",
    "a3": "festival budaya di alun-alun",
    "a4": "tanggul jebol, banjir meluas",
}


class WallClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class FakeStore:
    """An in-memory :class:`~services.search.alerts.matching.AlertBackend`. Documents become
    visible to search only through ``refresh``; ``gate`` holds ``create_matches``; ``outages``
    raises Unavailable from the next searches."""

    def __init__(self) -> None:
        self.saved: dict[str, dict[str, Any]] = {}
        self.indexed: set[str] = set()
        self.searchable: set[str] = set()
        self.matches: dict[str, dict[str, Any]] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.requests: list[list[list[str]]] = []  # saved search ids per chunk, per request
        self.refreshes: list[list[str]] = []
        self.visibility_checks = 0
        self.state_writes: list[tuple[str, str | None]] = []
        self.outages = 0
        self.gate = threading.Event()
        self.gate.set()
        self.fail_deliveries_once = False
        self.edits = 0
        self.reads = 0
        self.state_requests = 0
        self.visible_writes: list[bool] = []

    def add(self, saved_id: str, query: str, webhook: bool = False, **fields: Any) -> None:
        self.edits += 1
        self.saved[saved_id] = {"id": saved_id, "name": saved_id, "query": query, "enabled": True,
                                "webhook_url": "https://hooks.example/x" if webhook else None,
                                "updated_at": f"{self.edits:06d}", **QUERY_STATE_RESET, **fields}  # fmt: skip

    def edit(self, saved_id: str, query: str) -> None:
        """What SavedSearchStore.update does to the query: a new updated_at, the state reset."""
        self.edits += 1
        self.saved[saved_id].update(query=query, updated_at=f"{self.edits:06d}", **QUERY_STATE_RESET)

    # --- AlertBackend ---

    def saved_searches(self) -> list[dict[str, Any]]:
        self.reads += 1
        return [dict(s) for s in self.saved.values()]

    def saved_searches_version(self) -> tuple[int, str | None]:
        return len(self.saved), max((s["updated_at"] for s in self.saved.values()), default=None)

    def all_visible(self, articles: Sequence[IndexedArticle]) -> bool:
        self.visibility_checks += 1
        return {a.id for a in articles} <= self.searchable

    def refresh(self, indices: Sequence[str]) -> None:
        self.refreshes.append(list(indices))
        self.searchable |= self.indexed

    def search(self, chunks: Sequence[Sequence[Monitor]], ids: Sequence[str]) -> list[ChunkResult]:
        self.requests.append([[m.id for m in c] for c in chunks])
        if self.outages:
            self.outages -= 1
            raise Unavailable("search: ConnectionError")
        if any("dalam" in m.query for c in chunks for m in c):
            raise SearchRejected(400, {"type": "x_content_parse_exception", "caused_by": {
                "reason": "The nested depth of the query exceeds [indices.query.bool.max_nested_depth]"}})  # fmt: skip
        results = []
        for chunk in chunks:
            if any("tolak" in m.query for m in chunk):
                results.append(ChunkResult(status=400, error={"type": "search_phase_execution_exception",
                                                              "reason": "failed to create query: maxClauseCount is set to 4096"}))  # fmt: skip
            elif any("rusak" in m.query for m in chunk):
                results.append(ChunkResult(status=500, error={"type": "null_pointer_exception"}))
            else:
                result = ChunkResult()
                for m in chunk:
                    for i in ids:
                        if i in self.searchable and m.query in TEXTS[i].split():
                            result.hits.setdefault(m.id, []).append(i)
                results.append(result)
        return results

    def article_fields(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {i: {"title": TEXTS[i], "url": f"https://berita.example/{i}"} for i in ids if i in self.indexed}

    def existing_matches(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(s, a) for s, a in pairs if f"{s}:{a}" in self.matches}

    def delivered(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        held = {(d["saved_search_id"], a) for d in self.deliveries.values() for a in d["article_ids"]}
        return set(pairs) & held

    def create_deliveries(self, deliveries: list[dict[str, Any]]) -> None:
        for d in deliveries:
            self.deliveries.setdefault(d["id"], d)
        if self.fail_deliveries_once:  # a crash right after the deliveries were written
            self.fail_deliveries_once = False
            raise Unavailable("recording matches: ConnectionError")

    def create_matches(self, matches: list[dict[str, Any]], visible: bool) -> int:
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        before = len(self.matches)
        for m in matches:
            self.matches.setdefault(f"{m['saved_search_id']}:{m['article_id']}", m)
        self.visible_writes.append(visible)
        return len(self.matches) - before

    def record_query_states(self, states: list[tuple[Monitor, str | None]], at: str) -> None:
        self.state_requests += 1
        for monitor, error in states:
            saved = self.saved.get(monitor.id)
            if saved is None or saved["query"] != monitor.query:
                continue
            if error is None:
                state: dict[str, Any] = {"query_status": "ok", "query_error": None, "query_failed_at": None}
            else:
                since = saved["query_failed_at"] if saved["query_status"] == "failing" else None
                state = {"query_status": "failing", "query_error": error, "query_failed_at": since or at}
            if all(saved.get(k) == v for k, v in state.items()):
                continue
            saved.update(state)
            self.state_writes.append((monitor.id, error))

    # --- for the tests ---

    def matched(self) -> set[tuple[str, str]]:
        return {(m["saved_search_id"], m["article_id"]) for m in self.matches.values()}

    def searched(self, saved_id: str) -> int:
        return sum(saved_id in chunk for request in self.requests for chunk in request)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


HARNESSES: list[Harness] = []


@pytest.fixture(autouse=True)
def _close_harnesses() -> Iterator[None]:
    """Stop every consumer a test started: a batch retrying in its helper thread stops with it."""
    yield
    while HARNESSES:
        HARNESSES.pop().processor.close()


class Harness:
    def __init__(self, partitions: int = 1, **changes: Any) -> None:
        HARNESSES.append(self)
        self.settings = SETTINGS.model_copy(update=changes) if changes else SETTINGS
        self.broker = MemoryBroker()
        self.broker.create_topic(TOPIC, partitions)
        self.consumer = MemoryConsumer(self.broker)
        self.producer = MemoryProducer()
        self.store = FakeStore()
        self.clock = Clock()
        self.wall = WallClock()
        self.woken = 0
        self.matcher = AlertMatcher(self.store, retry_failing_s=60.0, clock=self.clock, wall_clock=self.wall)
        dlq = DlqPublisher(self.settings, Stage.SEARCH, producer=self.producer)  # type: ignore[arg-type]
        self.processor = make_processor(self.settings, self.consumer, self.matcher, dlq,  # type: ignore[arg-type]
                                        on_recorded=self._wake, clock=self.clock)  # fmt: skip
        assert self.processor.subscribe(threading.Event())
        self.offsets: dict[TopicPartition, int] = {}

    def _wake(self) -> None:
        self.woken += 1

    def announce(self, *ids: str, tp: TopicPartition = P0, indexed_at: datetime | None = None) -> None:
        """What the indexer does: the documents are written (not yet searchable), then announced."""
        for i in ids:
            self.store.indexed.add(i)
            record = IndexedArticle(id=i, index="unit-articles-v1", indexed_at=indexed_at or self.wall.now,
                                    ingested_at=T0 - timedelta(seconds=5))  # fmt: skip
            self.broker.produce(tp, record.to_bytes(), i.encode())
            self.offsets[tp] = self.offsets.get(tp, 0) + 1

    def step_until(self, condition: Callable[[], object], message: str = "condition") -> None:
        deadline = time.monotonic() + WAIT_S
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {message}"
            self.processor.step()
            time.sleep(0.001)

    def steps(self, n: int = 20) -> None:
        for _ in range(n):
            self.processor.step()
            time.sleep(0.001)

    def drain(self) -> None:
        """Step until everything announced is committed."""
        self.step_until(lambda: all(self.broker.committed.get(tp) == n for tp, n in self.offsets.items()),
                        "everything committed")  # fmt: skip


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- matching and idempotence ------------------------------------------------------------------------


def test_matches_and_deliveries_are_recorded_once_however_often_an_article_is_announced() -> None:
    h = Harness()
    h.store.add("banjir", "banjir", webhook=True)
    h.store.add("pasar", "pasar")
    h.store.add("festival", "festival", webhook=True)
    h.announce("a0", "a1", "a2")
    h.drain()
    assert h.store.matched() == {("banjir", "a0"), ("banjir", "a2"), ("pasar", "a1"), ("pasar", "a2")}
    [delivery] = h.store.deliveries.values()
    assert delivery["saved_search_id"] == "banjir" and delivery["article_ids"] == ["a0", "a2"]
    assert delivery["status"] == "pending" and delivery["attempts"] == 0
    assert h.woken == 1, "the dispatcher is woken when deliveries were created"
    assert h.store.matches["banjir:a0"]["title"] == TEXTS["a0"]
    assert h.store.refreshes == [["unit-articles-v1"]], "one refresh for the batch, of the index written to"
    assert h.store.visible_writes == [True], "matches a webhook announces are searchable at once"

    # The indexer announces at least once: a re-delivery (alone, or with a new article) records
    # nothing twice, and a new article gets its own delivery.
    h.announce("a2", "a0")
    h.announce("a4", "a2", "a4")
    h.drain()
    assert len(h.store.matches) == 5 and ("banjir", "a4") in h.store.matched()
    assert sorted(d["article_ids"] for d in h.store.deliveries.values()) == [["a0", "a2"], ["a4"]]
    assert h.woken == 2
    assert h.consumer.commits[-1] == {P0: 8}
    h.announce("a1")  # only the monitor without a webhook matches: no forced refresh of the matches
    h.drain()
    assert ("pasar", "a1") in h.store.matched() and h.store.visible_writes[-1] is False


def test_a_batch_is_committed_only_after_its_matches_and_deliveries_are_recorded() -> None:
    h = Harness()
    h.store.add("banjir", "banjir", webhook=True)
    h.store.gate.clear()
    h.announce("a0", "a4")
    h.step_until(lambda: h.store.deliveries, "the delivery")
    h.steps(30)
    assert h.consumer.commits == [], "nothing may be committed before the matches are recorded"
    h.store.gate.set()
    h.step_until(lambda: h.consumer.commits, "the commit")
    assert h.consumer.commits == [{P0: 2}]
    assert h.store.matched() == {("banjir", "a0"), ("banjir", "a4")}


def test_a_crash_between_the_delivery_and_the_matches_loses_nothing_and_duplicates_nothing() -> None:
    h = Harness()
    h.store.add("banjir", "banjir", webhook=True)
    h.store.fail_deliveries_once = True  # the delivery is written, the matches are not
    h.announce("a0", "a2")
    h.drain()
    assert h.store.matched() == {("banjir", "a0"), ("banjir", "a2")}
    assert [d["article_ids"] for d in h.store.deliveries.values()] == [["a0", "a2"]]

    # Even when the retried batch is cut differently (after a restart), the delivery that already
    # holds an article is not repeated.
    h2 = Harness()
    h2.store.add("banjir", "banjir", webhook=True)
    h2.store.fail_deliveries_once = True
    h2.announce("a0", "a2")
    h2.step_until(lambda: h2.store.deliveries, "the first delivery")
    h2.store.matches.clear()
    h2.drain()
    h2.announce("a2", "a4")  # a2 again, now batched with a4
    h2.drain()
    assert sorted(d["article_ids"] for d in h2.store.deliveries.values()) == [["a0", "a2"], ["a4"]]


def test_articles_are_made_searchable_once_per_batch_and_not_again_when_they_are() -> None:
    h = Harness()
    h.store.add("banjir", "banjir")
    h.announce("a0")
    h.wall.now += timedelta(seconds=1)  # the batch is matched a second after the indexing
    h.drain()
    assert len(h.store.refreshes) == 1 and h.store.visibility_checks == 0
    # Announced again (a duplicate), indexed before the last refresh started, and visible: checked,
    # not refreshed.
    h.announce("a0", indexed_at=T0)
    h.drain()
    assert len(h.store.refreshes) == 1 and h.store.visibility_checks == 1
    # Said to be indexed before the refresh but not visible (the clocks disagree): refreshed all
    # the same, and matched.
    h.announce("a4", indexed_at=T0)
    h.drain()
    assert len(h.store.refreshes) == 2 and h.store.visibility_checks == 2
    assert ("banjir", "a4") in h.store.matched()
    # Indexed after the last refresh started: refreshed without a check.
    h.wall.now += timedelta(seconds=1)
    h.announce("a2")
    h.drain()
    assert len(h.store.refreshes) == 3 and h.store.visibility_checks == 2


# --- failing saved searches ------------------------------------------------------------------------


def test_a_rejected_saved_search_is_marked_failing_skipped_and_recovers_after_an_edit() -> None:
    h = Harness()
    h.store.add("banjir", "banjir", webhook=True)
    h.store.add("buruk", "tolak OR banjir")
    h.store.add("pasar", "pasar")
    h.announce("a0", "a1", "a2")
    h.drain()
    # The others match as if the bad one were not there, and the batch is committed.
    assert h.store.matched() == {("banjir", "a0"), ("banjir", "a2"), ("pasar", "a1"), ("pasar", "a2")}
    bad = h.store.saved["buruk"]
    assert bad["query_status"] == "failing"
    assert bad["query_error"] == short_error(400, "maxClauseCount") and "Elasticsearch" in bad["query_error"]
    assert bad["query_failed_at"] == T0.isoformat()
    assert "maxClauseCount" not in bad["query_error"], "no Elasticsearch internals in the message"
    assert h.store.saved["banjir"]["query_status"] == "ok" and h.store.saved["pasar"]["query_status"] == "ok"
    assert sample("warta_alert_monitors", status="failing") == 1

    # Next batches skip it (not even a request) until it is due again, run alone.
    searched = h.store.searched("buruk")
    h.announce("a4")
    h.drain()
    assert h.store.searched("buruk") == searched and ("banjir", "a4") in h.store.matched()
    h.clock.now += 61
    h.wall.now += timedelta(seconds=61)
    h.announce("a3")
    h.drain()
    assert h.store.requests[-1] == [["buruk"]], "a failing saved search is retried alone"
    assert h.store.saved["buruk"]["query_failed_at"] == T0.isoformat(), "failing since the first rejection"
    assert h.store.state_writes.count(("buruk", bad["query_error"])) == 1, "an unchanged state is not rewritten"

    # An edit resets the state (SavedSearchStore.update), and the very next batch finds it ok.
    assert h.store.reads == 1, "the saved searches are read again only when one changed"
    h.store.edit("buruk", "festival")
    h.announce("a3")
    h.drain()
    assert h.store.saved["buruk"]["query_status"] == "ok" and h.store.saved["buruk"]["query_error"] is None
    assert ("buruk", "a3") in h.store.matched()
    assert sample("warta_alert_monitors", status="failing") == 0


def test_a_saved_search_that_makes_the_whole_msearch_refused_is_isolated() -> None:
    h = Harness()
    for n in range(7):
        h.store.add(f"ok{n}", "banjir")
    h.store.add("dalam", "dalam OR banjir")
    h.announce("a0", "a4")
    h.drain()
    assert {s for s, _ in h.store.matched()} == {f"ok{n}" for n in range(7)}
    assert h.store.saved["dalam"]["query_status"] == "failing"
    assert "nests too deeply" in h.store.saved["dalam"]["query_error"]
    assert len(h.store.requests) <= 2 * 3 + 1, "halving finds the culprit in a logarithmic number of requests"


def test_a_5xx_is_retried_then_pinned_on_the_saved_search_only_if_others_succeed() -> None:
    h = Harness()
    h.store.add("banjir", "banjir")
    h.store.add("rusak", "rusak OR pasar")
    h.announce("a0")
    h.drain()
    attempts = [r for r in h.store.requests if any("rusak" in c for c in r)]
    assert len(attempts) >= 3, "a 5xx is first taken for Elasticsearch's trouble and the batch retried"
    assert h.store.saved["rusak"]["query_status"] == "failing"
    assert h.store.saved["rusak"]["query_error"] == "Elasticsearch failed to run the query (HTTP 500)"
    assert ("banjir", "a0") in h.store.matched()

    # A 5xx for every search is Elasticsearch failing, not the saved searches: never pinned on one.
    alone = Harness()
    alone.store.add("rusak", "rusak")
    alone.announce("a0")
    alone.steps(200)
    assert alone.store.saved["rusak"]["query_status"] is None
    assert alone.consumer.commits == []


def test_elasticsearch_unavailable_retries_the_batch_without_committing() -> None:
    h = Harness()
    h.store.add("banjir", "banjir")
    h.store.outages = 3
    h.announce("a0")
    h.drain()
    assert len(h.store.requests) == 4 and h.store.matched() == {("banjir", "a0")}
    assert h.store.saved["banjir"]["query_status"] == "ok", "an outage marks nobody failing"


# --- the runtime's side ------------------------------------------------------------------------------


def test_an_invalid_record_goes_to_the_search_dlq_and_the_metrics_say_alerts() -> None:
    h = Harness()
    h.store.add("banjir", "banjir")
    before = sample("warta_messages_total", stage="alerts", outcome="ok")
    dlq_before = sample("warta_dlq_total", stage="alerts", reason="unknown_schema")
    h.broker.produce(P0, b'{"schema_version": 9, "id": "a0"}', b"a0")
    h.offsets[P0] = 1
    h.announce("a0")
    h.drain()
    [(topic, _, value)] = h.producer.sent
    record = decode(DlqRecord, value)
    assert topic == DLQ_TOPIC and record.stage == "search" and record.reason == "unknown_schema"
    assert record.source_topic == TOPIC
    assert sample("warta_dlq_total", stage="alerts", reason="unknown_schema") == dlq_before + 1
    assert sample("warta_messages_total", stage="alerts", outcome="ok") == before + 1
    assert sample("warta_alert_match_seconds_count") >= 1


# --- pure helpers ----------------------------------------------------------------------------------


def test_chunks_keep_the_order() -> None:
    from services.search.query import parse, to_es_query

    monitors = [Monitor(f"m{i}", "banjir", to_es_query(parse("banjir")), False) for i in range(2 * CHUNK_SIZE + 1)]
    chunks = pack(monitors)
    assert [len(c) for c in chunks] == [CHUNK_SIZE, CHUNK_SIZE, 1]
    assert [m for c in chunks for m in c] == monitors


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (400, {"caused_by": {"reason": "exceeds [indices.query.bool.max_nested_depth]"}}, "nests too deeply"),
        (400, "failed to create query: maxClauseCount is set to 16384", "too many terms"),
        (400, {"type": "parsing_exception", "reason": "[x] unknown field"}, "rejected the query (HTTP 400)"),
        (500, {"type": "null_pointer_exception"}, "failed to run the query (HTTP 500)"),
    ],
)
def test_the_stored_error_is_short_and_free_of_internals(status: int, error: Any, expected: str) -> None:
    message = short_error(status, error)
    assert expected in message and "exception" not in message and "[" not in message


def test_batches_grow_while_the_consumer_is_busy_and_stay_short_while_traffic_is_steady() -> None:
    from services.search.alerts.consumer import AdaptiveBatch
    from shared.consumer import Apply, Message

    clock = Clock()
    sealed: list[int] = []
    batch: AdaptiveBatch = AdaptiveBatch(Apply(lambda b: sealed.append(len(b))), max_size=50, max_ms=500,  # type: ignore[arg-type]
                                         busy_ms=3000, busy_size=10, clock=clock)  # fmt: skip
    record = IndexedArticle(id="a", index="i", indexed_at=T0, ingested_at=T0)

    def arrive(n: int, after_s: float) -> None:
        for _ in range(n):
            batch.submit(Message(P0, 0, None, None, record))
        clock.now += after_s
        batch.poll()

    arrive(3, 0.5)  # steady: sealed after 0.5 s
    assert sealed == [3]
    arrive(12, 0.5)  # a burst: sealed after 0.5 s, and the consumer is now busy
    assert sealed == [3, 12]
    arrive(20, 0.5)
    assert sealed == [3, 12], "while busy a batch may grow for longer"
    arrive(20, 2.5)
    assert sealed == [3, 12, 40]
    arrive(5, 3.0)  # still busy after a batch of 40: the long window, then back to short ones
    arrive(2, 0.5)
    assert sealed == [3, 12, 40, 5, 2]


def test_the_process_is_part_of_make_up_warta_status_and_the_cli(tmp_path: Any) -> None:
    from shared import status
    from shared.cli import COMMANDS
    from shared.stack import manager
    from shared.stack.infra import Paths
    from shared.topics import Topic as T

    assert COMMANDS[("search", "alerts")] == ("services.search.cli", "alerts")
    s = manager.StackSettings(dir=tmp_path / ".stack")
    [alerts] = [c for c in manager.components(s, Paths(tmp_path / ".stack")) if c.name == "search-alerts"]
    assert alerts.kind == "warta" and alerts.port == s.metrics_base_port + 4
    assert set(manager.SECRETS["search-alerts"]) == {"WARTA_WEBHOOK_SECRET"}
    assert "search-indexer" not in manager.SECRETS, "the indexer sends no webhooks any more"
    assert status.GROUPS["search-alerts"] == T.ARTICLES_INDEXED and "search-alerts" in status.METRIC_COMPONENTS


def test_a_large_batch_waits_for_the_index_own_refresh_before_forcing_one() -> None:
    h = Harness()
    h.store.add("banjir", "banjir")
    sleeps: list[float] = []

    def periodic_refresh(seconds: float) -> None:  # the index refreshes itself during the 2nd wait
        sleeps.append(seconds)
        h.clock.now += seconds
        if len(sleeps) == 2:
            h.store.searchable |= h.store.indexed

    h.matcher.patient_size, h.matcher._sleep = 3, periodic_refresh
    h.announce("a0", "a2", "a4")
    h.drain()
    assert h.store.refreshes == [] and len(sleeps) == 2, "no forced refresh: the index's own one came"
    assert {a for _, a in h.store.matched()} == {"a0", "a2", "a4"}

    # The index's refresh does not come in time: forced, after refresh_wait_s.
    h.wall.now += timedelta(seconds=5)
    h.matcher._sleep = lambda seconds: setattr(h.clock, "now", h.clock.now + seconds)
    h.store.add("pasar", "pasar")
    h.announce("a1", "a3", "a2")
    h.drain()
    assert len(h.store.refreshes) == 1 and ("pasar", "a1") in h.store.matched()

    # A small batch (steady traffic) does not wait: the latency matters more.
    h.wall.now += timedelta(seconds=5)
    h.matcher._sleep = lambda seconds: pytest.fail("a small batch must not wait")
    h.announce("a4")
    h.store.indexed.add("a4")
    h.drain()
    assert len(h.store.refreshes) == 2
