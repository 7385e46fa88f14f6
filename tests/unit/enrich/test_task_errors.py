"""The enrich task's treatment of each failure (services/enrich/tasks.py), with fake sinks: a record
too large for Kafka and a permanent Kafka error go to the DLQ at once, an outage is retried within
a bounded window, and a retry of a superseded chain writes nothing. The task is called as Celery
calls it: with the protocol's argument as JSON primitives (services/enrich/protocol.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from celery.exceptions import Ignore
from kafka import errors as E
from pydantic import ValidationError

from services.enrich import tasks
from services.enrich.protocol import EnrichBatch
from shared.limits import KAFKA_MESSAGE_MAX_BYTES
from shared.schemas import RawArticle, utcnow

TOPIC = "articles.raw"
settings = tasks.settings


def _raw(article_id: str) -> str:
    raw = RawArticle(
        id=article_id, url=f"https://berita.example/{article_id}", canonical_url=f"https://berita.example/{article_id}",
        title="Banjir di Kudus", source="berita.example", text="Isi berita.", ingested_at=utcnow(),
    )  # fmt: skip
    return raw.to_bytes().decode()


class _Future:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def get(self, timeout: float) -> None:
        if self.error is not None:
            raise self.error


@dataclass
class FakeProducer:
    """``errors`` maps an article id to the exception its write fails with (at the ack)."""

    errors: dict[str, BaseException] = field(default_factory=dict)
    sent: list[tuple[bytes, bytes]] = field(default_factory=list)

    def send(self, topic: str, key: bytes, value: bytes) -> _Future:
        self.sent.append((key, value))
        return _Future(self.errors.get(key.decode()))


@dataclass
class FakeDlq:
    records: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None

    def publish(self, **record: Any) -> None:
        if self.error is not None:
            raise self.error
        self.records.append(record)


@dataclass
class FakeRedis:
    keys: set[str] = field(default_factory=set)

    def exists(self, key: str) -> int:
        return int(key in self.keys)


@dataclass
class Enriched:
    value: bytes

    def to_bytes(self) -> bytes:
        return self.value


class RetryRequested(Exception):
    def __init__(self, args: Any, kwargs: dict[str, Any], countdown: float, exc: BaseException) -> None:
        super().__init__("retry")
        self.task_args, self.kwargs, self.countdown, self.exc = args, kwargs, countdown, exc

    @property
    def batch(self) -> dict[str, Any]:
        """The retry's one argument, as Celery will send it."""
        (batch,) = self.task_args
        assert self.kwargs == {}
        assert json.loads(json.dumps(batch)) == batch, "Celery gets JSON primitives"
        EnrichBatch.model_validate(batch)
        return batch  # type: ignore[no-any-return]


def batch(items: list[list[Any]], **chain: Any) -> dict[str, Any]:
    """The task's argument for ``items`` = ``[payload, partition, offset]`` each (a first run, or a
    retry run with ``done`` and ``retrying_since``)."""
    records = [{"payload": payload, "partition": partition, "offset": offset} for payload, partition, offset in items]
    return EnrichBatch.model_validate({"topic": TOPIC, "records": records, **chain}).to_celery()


def offsets(batch: dict[str, Any]) -> list[int]:
    return [record["offset"] for record in batch["records"]]


@dataclass
class World:
    producer: FakeProducer
    dlq: FakeDlq
    redis: FakeRedis
    sizes: dict[str, int]  # article id -> size of its enriched record (default small)
    clock: list[float]

    def run(self, items: list[list[Any]], retries: int = 0, task_id: str = "task-1", **chain: Any) -> Any:
        return self.run_batch(batch(items, **chain), retries, task_id)

    def run_batch(self, argument: dict[str, Any], retries: int = 0, task_id: str = "task-1") -> Any:
        tasks.enrich_articles.push_request(id=task_id, retries=retries)
        try:
            result = tasks.enrich_articles.run(argument)
        finally:
            tasks.enrich_articles.pop_request()
        assert json.loads(json.dumps(result)) == result, "the result is JSON primitives"
        return result


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    w = World(FakeProducer(), FakeDlq(), FakeRedis(), {}, [1_000_000.0])
    monkeypatch.setattr(tasks.SINKS, "pid", os.getpid())
    monkeypatch.setattr(tasks.SINKS, "producer", w.producer)
    monkeypatch.setattr(tasks.SINKS, "dlq", w.dlq)
    monkeypatch.setattr(tasks.SINKS, "redis", w.redis, raising=False)  # (raising: to run on older code too)
    monkeypatch.setattr(tasks.SINKS, "clusterer", None)

    def enrich(raw: RawArticle, clusterer: Any = None) -> Enriched:
        return Enriched(b"x" * w.sizes.get(raw.id, 1000))

    def retry(args: Any = None, kwargs: Any = None, countdown: float = 0, exc: Any = None, **_: Any) -> Exception:
        return RetryRequested(args, kwargs, countdown, exc)

    monkeypatch.setattr(tasks, "enrich", enrich)
    monkeypatch.setattr(tasks.enrich_articles, "retry", retry)
    monkeypatch.setattr(tasks, "_now", lambda: w.clock[0], raising=False)
    yield w


def test_an_enriched_record_over_the_limit_goes_to_the_dlq_without_being_sent(world: World) -> None:
    world.sizes["big"] = 1_600_000
    result = world.run([[_raw("big"), 0, 5], [_raw("ok"), 0, 6]])
    assert [k for k, _ in world.producer.sent] == [b"ok"]  # the broker never sees the big one
    assert result["items"] == [
        {"status": "dlq", "partition": 0, "offset": 5},
        {"status": "ok", "partition": 0, "offset": 6},
    ]
    (record,) = world.dlq.records
    assert record["reason"] == "invalid" and record["article_id"] == "big"
    assert f"{KAFKA_MESSAGE_MAX_BYTES:,} bytes" in record["error"] and "1,600," in record["error"]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (E.MessageSizeTooLargeError("RecordTooLarge"), "invalid"),
        (E.InvalidRecordError(), "invalid"),
        (E.TopicAuthorizationFailedError(), "failed"),
    ],
)
def test_a_permanent_kafka_error_goes_to_the_dlq_at_once(world: World, error: BaseException, reason: str) -> None:
    world.producer.errors["a1"] = error
    result = world.run([[_raw("a1"), 2, 9]])  # no retry: the task returns
    assert result["items"] == [{"status": "dlq", "partition": 2, "offset": 9}]
    (record,) = world.dlq.records
    assert record["reason"] == reason and type(error).__name__ in record["error"]
    assert record["attempts"] == 1


def test_an_outage_is_retried_and_reports_its_attempt(world: World) -> None:
    world.producer.errors["a1"] = E.KafkaTimeoutError("no ack")
    with pytest.raises(RetryRequested) as raised:
        world.run([[_raw("a1"), 0, 1], [_raw("a2"), 0, 2]])
    retry = raised.value
    assert offsets(retry.batch) == [1]  # only what failed
    assert retry.batch["done"] == [{"status": "ok", "partition": 0, "offset": 2}]
    assert retry.batch["retrying_since"] == world.clock[0]
    assert 0 < retry.countdown <= settings.kafka_backoff_cap_s
    assert "attempt 1" in str(retry.exc)
    assert world.dlq.records == []


def test_an_outage_longer_than_the_window_sends_the_record_to_the_dlq(world: World) -> None:
    world.producer.errors["a1"] = E.KafkaTimeoutError("no ack")
    since = world.clock[0] - settings.kafka_retry_window_s - 1
    result = world.run([[_raw("a1"), 0, 1]], retries=40, retrying_since=since, done=[])
    assert result["items"] == [{"status": "dlq", "partition": 0, "offset": 1}]
    (record,) = world.dlq.records
    assert record["reason"] == "failed" and "KafkaTimeoutError" in record["error"]
    assert f"{settings.kafka_retry_window_s:.0f} s" in record["error"] and record["attempts"] == 41


def test_a_chain_of_retries_during_an_endless_outage_ends_in_the_dlq(world: World) -> None:
    """Follow one chain as Celery would run it: each retry after its countdown."""
    world.producer.errors["a1"] = E.NoBrokersAvailable()
    argument = batch([[_raw("a1"), 0, 1]])
    start = world.clock[0]
    messages = set()
    for retries in range(1000):
        try:
            result = world.run_batch(argument, retries=retries)
            break
        except RetryRequested as retry:
            argument = retry.batch
            messages.add(str(retry.exc))
            assert retry.countdown <= settings.kafka_backoff_cap_s
            world.clock[0] += retry.countdown
    else:
        pytest.fail("the retries never ended")
    assert result["items"] == [{"status": "dlq", "partition": 0, "offset": 1}]
    elapsed = world.clock[0] - start
    assert settings.kafka_retry_window_s <= elapsed <= settings.kafka_retry_window_s + settings.kafka_backoff_cap_s
    assert len(messages) == retries  # every retry reports a different state: the bridge sees it alive


def test_a_dlq_write_failing_during_an_outage_retries_the_record(world: World) -> None:
    world.producer.errors["a1"] = E.MessageSizeTooLargeError()
    world.dlq.error = E.KafkaTimeoutError("DLQ unreachable too")
    with pytest.raises(RetryRequested) as raised:
        world.run([[_raw("a1"), 0, 1]])
    assert offsets(raised.value.batch) == [1]


def test_a_dlq_write_failing_after_the_window_fails_the_task(world: World) -> None:
    world.producer.errors["a1"] = E.KafkaTimeoutError()
    world.dlq.error = E.KafkaTimeoutError("DLQ unreachable too")
    with pytest.raises(E.KafkaTimeoutError):  # the bridge's FAILURE path takes over
        world.run([[_raw("a1"), 0, 1]], retries=5, retrying_since=world.clock[0] - settings.kafka_retry_window_s)


def test_a_retry_of_a_superseded_chain_writes_nothing(world: World) -> None:
    world.redis.keys.add(settings.superseded_key("task-old"))
    with pytest.raises(Ignore):
        world.run([[_raw("a1"), 0, 1]], retries=3, task_id="task-old", retrying_since=world.clock[0], done=[])
    assert world.producer.sent == [] and world.dlq.records == []


def test_a_superseded_chain_stops_instead_of_scheduling_another_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.producer.errors["a1"] = E.KafkaTimeoutError()

    class SupersededDuringTheRun(FakeRedis):
        calls = 0

        def exists(self, key: str) -> int:
            self.calls += 1
            return int(self.calls > 1)  # not at the start of the run, but before the retry

    monkeypatch.setattr(tasks.SINKS, "redis", SupersededDuringTheRun())
    with pytest.raises(Ignore):
        world.run([[_raw("a1"), 0, 1]], retries=2, task_id="task-old", retrying_since=world.clock[0], done=[])


def test_other_records_of_a_task_are_written_when_one_is_poison(world: World) -> None:
    world.sizes["big"] = 2 * KAFKA_MESSAGE_MAX_BYTES
    world.producer.errors["denied"] = E.TopicAuthorizationFailedError()
    items = [[_raw(i), 1, n] for n, i in enumerate(["a", "big", "b", "denied", "c"])]
    result = world.run(items)
    assert {(r["offset"], r["status"]) for r in result["items"]} == {
        (0, "ok"), (1, "dlq"), (2, "ok"), (3, "dlq"), (4, "ok"),
    }  # fmt: skip


def test_an_argument_that_does_not_validate_fails_the_task_without_writing(world: World) -> None:
    """The bridge then settles the FAILURE (protocol.py, path 3)."""
    with pytest.raises(ValidationError):
        world.run_batch({"topic": TOPIC, "records": []})
    with pytest.raises(ValidationError):
        world.run_batch({"topic": TOPIC, "records": [{"payload": _raw("a1"), "partition": 0}]})
    assert world.producer.sent == [] and world.dlq.records == []
