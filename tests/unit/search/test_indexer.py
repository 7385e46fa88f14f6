"""The indexer strategy (services/search/indexer.py) on the consumer runtime, driven by an in-memory
Kafka and a fake Elasticsearch: commit only after the bulk and after ``articles.indexed`` acknowledged
it, per-item outcomes, retries while paused, shutdown in an outage. No network."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as ESConnectionError
from elasticsearch.exceptions import ApiError
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError, TopicAuthorizationFailedError
from prometheus_client import REGISTRY

from services.search.indexer import PAUSE_AFTER_S, make_processor
from services.search.settings import SearchSettings
from services.search.tombstones import TombstoneGate
from shared.contracts import examples
from shared.schemas import DlqRecord, EnrichedArticle, IndexedArticle, decode
from shared.topics import Topic
from tests.memory_kafka import MemoryBroker, MemoryConsumer, MemoryProducer

SETTINGS = SearchSettings(topic_prefix="unit-", index_prefix="unit-", health_file=None, batch_size=4,
                          batch_max_ms=10, backoff_max_s=0.01, max_item_retries=2)  # fmt: skip
TOPIC = SETTINGS.topic(Topic.ARTICLES_ENRICHED)
INDEXED_TOPIC = SETTINGS.topic(Topic.ARTICLES_INDEXED)
DLQ_TOPIC = SETTINGS.topic(Topic.SEARCH_DLQ)
INDEX = "unit-articles-v1"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
WAIT_S = 5.0
EXAMPLE = decode(EnrichedArticle, examples("articles.enriched")[0].read_bytes())
INGESTED = datetime(2025, 5, 5, 3, 0, 1, tzinfo=UTC)


def article(n: int) -> EnrichedArticle:
    return EXAMPLE.model_copy(update={"id": f"a{n:04d}", "ingested_at": INGESTED + timedelta(seconds=n)})


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "es.invalid", 9200))
    return ApiError(f"{status}", meta, {"error": {"type": "es_rejected_execution_exception"}})


Answer = Callable[[list[str]], list[int]] | Exception


class FakeEs:
    """``bulk()`` of an Elasticsearch client: answers from ``script`` (one entry per request: an
    exception to raise, or ids -> per-item statuses), then 201 for everything. Blocks while
    ``gate`` is clear. ``count()`` and ``mget()`` answer from ``tombstones`` (the tombstone index),
    raising the exceptions in ``lookup_errors`` first."""

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.requests: list[list[str]] = []
        self.refresh: list[object] = []
        self.operations: list[list[dict[str, Any]]] = []
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.tombstones: set[str] = set()
        self.lookups: list[list[str]] = []
        self.lookup_errors: list[Exception] = []
        self.counts = 0

    def count(self, *, index: str) -> dict[str, Any]:
        self.counts += 1
        if self.lookup_errors:
            raise self.lookup_errors.pop(0)
        return {"count": len(self.tombstones)}

    def mget(self, *, index: str, ids: list[str], source: object = None) -> dict[str, Any]:
        if self.lookup_errors:
            raise self.lookup_errors.pop(0)
        self.lookups.append(list(ids))
        return {"docs": [{"_index": index, "_id": i, "found": i in self.tombstones} for i in ids]}

    def bulk(self, *, operations: list[dict[str, Any]], refresh: object = None) -> dict[str, Any]:
        self.calls += 1
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        ids = [op["index"]["_id"] for op in operations[::2]]
        self.requests.append(ids)
        self.refresh.append(refresh)
        self.operations.append(operations)
        answer = self.script.pop(0) if self.script else (lambda ids: [201] * len(ids))
        if isinstance(answer, Exception):
            raise answer
        statuses = answer(ids)
        items = []
        for i, s in zip(ids, statuses, strict=True):
            item: dict[str, Any] = {"_index": INDEX, "_id": i, "status": s}
            if s >= 300:
                item["error"] = {"type": "mapper_parsing_exception" if s == 400 else "x", "reason": "r"}
            items.append({"index": item})
        return {"errors": any(s >= 300 for s in statuses), "items": items}

    def attempts_of(self, article_id: str) -> int:
        return sum(article_id in r for r in self.requests)


class Sent:
    def __init__(self, producer: Producer, error: Exception | None) -> None:
        self.producer, self.error = producer, error

    def get(self, timeout: float | None = None) -> None:
        assert self.producer.acks.wait(WAIT_S), "the test never acknowledged"
        if self.error is not None:
            raise self.error


class Producer(MemoryProducer):
    """A producer whose acks wait for ``acks`` and whose next ``failures`` records fail."""

    def __init__(self) -> None:
        super().__init__()
        self.acks = threading.Event()
        self.acks.set()
        self.failures: list[Exception] = []

    def send(self, topic: str, key: bytes | None = None, value: bytes = b"") -> Sent:  # type: ignore[override]
        if topic == INDEXED_TOPIC and self.failures:
            return Sent(self, self.failures.pop(0))
        super().send(topic, key=key, value=value)
        return Sent(self, None)

    def records(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        return [(k, v) for t, k, v in self.sent if t == topic]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, partitions: int = 1, **changes: Any) -> None:
        self.settings = SETTINGS.model_copy(update=changes) if changes else SETTINGS
        self.broker = MemoryBroker()
        self.broker.create_topic(TOPIC, partitions)
        self.consumer = MemoryConsumer(self.broker)
        self.es = FakeEs()
        self.producer = Producer()
        self.clock = Clock()
        # The watcher sweeps once at start, then never on its own: tests call sweep().
        self.removed: list[str] = []
        self.tombstones = TombstoneGate(self.es, "unit-warta-article-tombstones", self.removed.extend, check_s=3600)  # type: ignore[arg-type]
        self.processor = make_processor(self.settings, self.es, self.consumer, self.producer, clock=self.clock,  # type: ignore[arg-type]
                                        tombstones=self.tombstones)  # fmt: skip
        assert self.processor.subscribe(threading.Event())

    def produce(self, tp: TopicPartition, *numbers: int) -> None:
        for n in numbers:
            a = article(n)
            self.broker.produce(tp, a.to_bytes(), a.id.encode())

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

    def indexed(self) -> list[IndexedArticle]:
        return [decode(IndexedArticle, v) for _, v in self.producer.records(INDEXED_TOPIC)]

    def dlq(self) -> list[DlqRecord]:
        return [decode(DlqRecord, v) for _, v in self.producer.records(DLQ_TOPIC)]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- commit after the work ---------------------------------------------------------------------------


def test_a_batch_is_committed_only_after_its_bulk_and_its_indexed_records_are_acknowledged() -> None:
    h = Harness()
    h.produce(P0, 0, 1, 2, 3)
    h.es.gate.clear()
    h.producer.acks.clear()
    h.step_until(lambda: h.es.calls == 1, "the bulk request")
    h.steps()
    assert h.consumer.commits == [], "nothing may be committed while the bulk is in flight"

    h.es.gate.set()
    h.step_until(lambda: len(h.producer.records(INDEXED_TOPIC)) == 4, "the indexed records")
    h.steps()
    assert h.consumer.commits == [], "nothing may be committed before articles.indexed acknowledged"

    h.producer.acks.set()
    h.step_until(lambda: h.consumer.commits, "the commit")
    assert h.consumer.commits == [{P0: 4}]
    assert h.es.requests == [["a0000", "a0001", "a0002", "a0003"]]
    assert h.es.refresh == [False], "the indexing path forces no refresh"
    action = h.es.operations[0][0]["index"]
    assert action == {"_index": "unit-articles", "_id": "a0000", "version": int(INGESTED.timestamp() * 1000),
                      "version_type": "external_gte"}  # fmt: skip


def test_a_batch_is_announced_while_the_next_one_is_indexed_and_commits_stay_in_order() -> None:
    h = Harness()
    h.producer.acks.clear()
    h.produce(P0, *range(12))
    h.step_until(lambda: h.es.calls == 2, "the second bulk, while the first batch awaits its acks")
    h.steps()
    assert h.es.calls == 2, "one batch announcing and one indexed: the third waits"
    assert h.consumer.commits == [], "no batch is acknowledged yet"
    h.producer.acks.set()
    h.step_until(lambda: h.broker.committed.get(P0) == 12, "all committed")
    assert h.es.calls == 3
    assert [c[P0] for c in h.consumer.commits] == sorted(c[P0] for c in h.consumer.commits)


def test_articles_indexed_gets_one_record_per_indexed_article() -> None:
    h = Harness()
    h.produce(P0, 0, 1, 2, 3, 4, 5)
    h.step_until(lambda: h.broker.committed.get(P0) == 6, "everything committed")
    keys = [k for k, _ in h.producer.records(INDEXED_TOPIC)]
    assert keys == [f"a{n:04d}".encode() for n in range(6)]
    records = h.indexed()
    for n, record in enumerate(records):
        assert record.id == f"a{n:04d}"
        assert record.index == INDEX, "the concrete index behind the alias"
        assert record.ingested_at == INGESTED + timedelta(seconds=n)
        assert record.story_id == EXAMPLE.story_id
        assert record.indexed_at >= record.ingested_at
    document = h.es.operations[0][1]
    assert document["indexed_at"] == records[0].indexed_at.isoformat(), "the document's own indexed_at"


@pytest.mark.parametrize("path", examples("articles.enriched"), ids=lambda p: p.name)
def test_contract_every_enriched_example_is_indexed_and_announced(path) -> None:  # type: ignore[no-untyped-def]
    h = Harness()
    h.broker.produce(P0, path.read_bytes())
    h.step_until(lambda: h.broker.committed.get(P0) == 1, "committed")
    [record] = h.indexed()
    example = decode(EnrichedArticle, path.read_bytes())
    assert (record.id, record.ingested_at) == (example.id, example.ingested_at)


def test_an_unclustered_article_is_announced_as_its_own_story() -> None:
    h = Harness()
    lone = article(0).model_copy(update={"story_id": None, "story_size": None})
    h.broker.produce(P0, lone.to_bytes(), lone.id.encode())
    h.step_until(lambda: h.broker.committed.get(P0) == 1, "committed")
    assert h.indexed()[0].story_id == lone.id == h.es.operations[0][1]["story_id"]


# --- per-item outcomes -------------------------------------------------------------------------------


def test_a_409_is_done_as_a_duplicate_and_still_announced() -> None:
    h = Harness()
    before = sample("warta_messages_total", stage="search", outcome="duplicate")
    h.es.script = [lambda ids: [201, 409, 201, 201]]
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed")
    assert len(h.es.requests) == 1, "a 409 is never retried"
    assert [r.id for r in h.indexed()] == ["a0000", "a0001", "a0002", "a0003"], "a re-delivery reaches alerts"
    assert sample("warta_messages_total", stage="search", outcome="duplicate") == before + 1
    assert h.dlq() == []


def test_a_400_goes_to_the_dlq_and_is_not_announced() -> None:
    h = Harness()
    h.es.script = [lambda ids: [201, 400, 201, 201]]
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed")
    [record] = h.dlq()
    assert (record.stage, record.reason, record.article_id, record.attempts) == ("search", "rejected", "a0001", 1)
    assert record.error.startswith("400: ") and "mapper_parsing_exception" in record.error
    assert decode(EnrichedArticle, record.payload) == article(1), "the original record, verbatim"
    assert (record.source_topic, record.source_partition, record.source_offset) == (TOPIC, 0, 1)
    assert [r.id for r in h.indexed()] == ["a0000", "a0002", "a0003"]
    assert len(h.es.requests) == 1, "a 400 is never retried"


def test_an_item_5xx_is_retried_a_bounded_number_of_times_then_goes_to_the_dlq() -> None:
    h = Harness()
    h.es.script = [lambda ids: [503 if i == "a0001" else 201 for i in ids]] * 5
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed")
    assert h.es.attempts_of("a0001") == 3, "the first try plus max_item_retries=2"
    assert h.es.requests[1:] == [["a0001"], ["a0001"]], "only the failed item is sent again"
    [record] = h.dlq()
    assert (record.reason, record.attempts, record.article_id) == ("rejected", 3, "a0001")
    assert record.error.startswith("503: ")


# --- transient failures: retried while paused ----------------------------------------------------------


def test_429_and_outages_are_retried_while_the_next_batch_waits_and_the_partitions_pause() -> None:
    h = Harness()
    h.es.script = [ESConnectionError("connection refused"), api_error(429), api_error(503),
                   lambda ids: [429, 201, 429, 201]]  # fmt: skip
    h.es.gate.clear()
    h.produce(P0, *range(12))
    # Batch 1 in flight, batch 2 sealed, batch 3 polled and held by the processor.
    h.step_until(lambda: h.consumer.positions.get(P0) == 12, "the next batches waiting")
    h.steps(3)
    assert not h.processor.paused, "a grace before pausing: kafka-python drops prefetched data on pause"
    h.clock.now += PAUSE_AFTER_S
    h.step_until(lambda: h.processor.paused, "paused")
    assert h.consumer.paused() == {P0}

    h.es.gate.set()
    h.step_until(lambda: len(h.es.requests) >= 5, "the retries")
    assert h.es.requests[:4] == [[f"a{n:04d}" for n in range(4)]] * 4, "a failed request is retried whole"
    assert h.es.requests[4] == ["a0000", "a0002"], "then only the items that got a 429"
    h.step_until(lambda: h.broker.committed.get(P0) == 12, "everything committed")
    assert not h.processor.paused and h.consumer.paused() == set()
    # One record per article, announced once the whole batch is done: retries announce nothing twice.
    assert [r.id for r in h.indexed()] == [f"a{n:04d}" for n in (1, 3, 0, 2, *range(4, 12))]
    assert h.dlq() == []


def test_nothing_is_committed_while_a_batch_is_retried() -> None:
    h = Harness()
    h.es.script = [ESConnectionError("down")] * 10_000
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: len(h.es.requests) >= 5, "several retries")
    h.steps()
    assert h.consumer.commits == [] and h.indexed() == []
    h.es.script = []
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed after the outage")


def test_an_articles_indexed_outage_is_retried_before_the_commit() -> None:
    h = Harness()
    h.producer.failures = [KafkaTimeoutError("no ack"), KafkaTimeoutError("no ack")]
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed")
    assert sorted(r.id for r in h.indexed()) == ["a0000", "a0001", "a0002", "a0003"]
    assert len(h.es.requests) == 1, "the documents are not indexed again, only announced again"


def test_an_articles_indexed_error_no_retry_can_fix_stops_the_consumer() -> None:
    h = Harness()
    h.producer.failures = [TopicAuthorizationFailedError("denied")]
    h.produce(P0, 0, 1, 2, 3)
    with pytest.raises(TopicAuthorizationFailedError):
        h.step_until(lambda: False)
    assert h.consumer.commits == []


def test_a_bulk_refused_as_a_whole_with_a_4xx_stops_the_consumer() -> None:
    h = Harness()
    h.es.script = [api_error(403)]
    h.produce(P0, 0, 1, 2, 3)
    with pytest.raises(ApiError):
        h.step_until(lambda: False)
    assert h.consumer.commits == [] and h.indexed() == []


# --- shutdown and rebalances -----------------------------------------------------------------------


def test_shutdown_commits_the_last_partial_batch() -> None:
    h = Harness(batch_max_ms=60_000)
    h.produce(P0, 0, 1)
    h.steps(3)
    assert h.es.requests == [], "the batch is neither full nor due"
    h.processor.close()
    assert h.es.requests == [["a0000", "a0001"]]
    assert h.broker.committed == {P0: 2} and h.consumer.closed and h.producer.closed


def test_shutdown_in_an_outage_leaves_the_batch_uncommitted_and_does_not_wait_it_out() -> None:
    h = Harness(backoff_max_s=30.0)  # a long backoff: shutdown must cut it short
    h.es.script = [ESConnectionError("down")] * 10_000
    h.produce(P0, *range(6))  # one batch retrying, the next waiting
    h.step_until(lambda: len(h.es.requests) >= 2, "a retry")
    t0 = time.monotonic()
    h.processor.close()
    assert time.monotonic() - t0 < 2.0, "shutdown waited out the outage"
    assert h.broker.committed == {} and h.consumer.commits == []
    assert h.indexed() == [] and h.dlq() == []
    assert h.consumer.closed


def test_shutdown_while_articles_indexed_is_unreachable_leaves_the_batch_uncommitted() -> None:
    h = Harness(backoff_max_s=30.0)
    h.producer.failures = [KafkaTimeoutError("no ack")] * 10_000
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: len(h.producer.failures) < 10_000 - 4, "a failed announcement")
    h.processor.close()
    assert h.broker.committed == {}


def test_a_partition_lost_while_its_bulk_is_in_flight_is_not_committed() -> None:
    h = Harness(partitions=2)
    h.es.gate.clear()
    h.produce(P0, 0, 1)
    h.produce(P1, 2, 3)
    h.step_until(lambda: h.es.calls == 1, "the bulk request")
    h.consumer.rebalance({P0})
    h.steps(2)
    h.es.gate.set()
    h.step_until(lambda: h.broker.committed.get(P0) == 2, "P0 committed")
    assert P1 not in h.broker.committed, "P1's new owner re-reads it"
