"""The runtime's reusable steps (Batch, RunInThread, Apply), alone and composed the way the indexer
will use them: batch, one bulk in flight on a helper thread, report, commit. No network."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import Any

import pytest
from kafka import TopicPartition

from shared.consumer import Apply, Batch, Message, MessageRejected, Outcomes, RunInThread, Strategy, StreamProcessor
from shared.kafka import DlqPublisher
from shared.schemas import RawArticle
from shared.topics import Stage, Topic
from tests.memory_kafka import MemoryBroker, MemoryConsumer, MemoryProducer
from tests.unit.shared.test_consumer_runtime import P0, P1, SETTINGS, TOPIC, Clock, raw

WAIT_S = 5.0


def msg(tp: TopicPartition, offset: int) -> Message[str]:
    return Message(tp, offset, None, None, f"{tp.partition}:{offset}")


class Sink(Strategy[Any]):
    """A terminal step that keeps what it gets; rejects while ``full``."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.full = False
        self.forgotten: list[set[TopicPartition]] = []
        self.joined: list[float | None] = []
        self.closed = False

    def submit(self, item: Any) -> None:
        if self.full:
            raise MessageRejected
        self.items.append(item)

    def poll(self) -> None:
        return None

    def join(self, timeout: float | None = None) -> None:
        self.joined.append(timeout)

    def close(self) -> None:
        self.closed = True

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        self.forgotten.append(set(partitions))


def offsets(batch: list[Message[str]]) -> list[int]:
    return [m.offset for m in batch]


def until(condition: Callable[[], object], action: Callable[[], object] = lambda: None) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        action()
        time.sleep(0.001)


# --- Batch -----------------------------------------------------------------------------------------


def test_batch_flushes_by_size_and_by_age() -> None:
    sink, clock = Sink(), Clock()
    batch: Batch[str] = Batch(sink, max_size=3, max_ms=500, clock=clock)
    for o in range(4):
        batch.submit(msg(P0, o))
    assert [offsets(b) for b in sink.items] == [[0, 1, 2]]
    batch.poll()
    assert len(sink.items) == 1, "the open batch is not due yet"
    clock.now += 0.5
    batch.poll()
    assert [offsets(b) for b in sink.items] == [[0, 1, 2], [3]]


def test_batch_rejects_while_a_sealed_batch_waits_and_hands_it_over_on_poll() -> None:
    sink = Sink()
    sink.full = True
    batch: Batch[str] = Batch(sink, max_size=2, max_ms=500)
    batch.submit(msg(P0, 0))
    batch.submit(msg(P0, 1))  # sealed, refused by the sink: kept
    with pytest.raises(MessageRejected):
        batch.submit(msg(P0, 2))
    sink.full = False
    batch.poll()
    batch.submit(msg(P0, 2))
    assert [offsets(b) for b in sink.items] == [[0, 1]]


def test_batch_forgets_lost_partitions_and_join_flushes_the_rest() -> None:
    sink = Sink()
    batch: Batch[str] = Batch(sink, max_size=10, max_ms=60_000)
    for m in (msg(P0, 0), msg(P1, 0), msg(P0, 1)):
        batch.submit(m)
    batch.forget({P1})
    assert sink.forgotten == [{P1}]
    batch.join(1.0)
    assert [[(m.partition, m.offset) for m in b] for b in sink.items] == [[(P0, 0), (P0, 1)]]
    assert len(sink.joined) == 1


# --- RunInThread -------------------------------------------------------------------------------------


def test_run_in_thread_keeps_one_task_in_flight_and_forwards_results_in_order() -> None:
    sink = Sink()
    gate = threading.Event()
    woken: list[int] = []

    def task(n: int, cancelled: threading.Event) -> int:
        gate.wait(WAIT_S)
        return n * 10

    step: RunInThread[int, int] = RunInThread(task, sink, on_done=lambda: woken.append(1))
    step.submit(1)
    with pytest.raises(MessageRejected):
        step.submit(2)
    step.poll()
    assert sink.items == []
    gate.set()
    until(lambda: woken)
    step.submit(2)  # the finished task is collected first, so this is accepted without a poll
    assert sink.items == [(1, 10)]
    until(lambda: sink.items == [(1, 10), (2, 20)], step.poll)
    step.join(1.0)
    step.close()


def test_a_task_error_is_fatal_and_raised_on_the_consumer_thread() -> None:
    def task(n: int, cancelled: threading.Event) -> int:
        raise RuntimeError("Elasticsearch said 400 to the whole request")

    step: RunInThread[int, int] = RunInThread(task, Sink())
    step.submit(1)
    with pytest.raises(RuntimeError, match="400"):
        until(lambda: False, step.poll)
    step.close()


def test_join_gives_up_after_its_timeout_and_cancels_the_task() -> None:
    sink = Sink()
    seen_cancel = threading.Event()

    def task(n: int, cancelled: threading.Event) -> int:
        cancelled.wait(WAIT_S)  # an outage: retrying until told to stop
        seen_cancel.set()
        return n

    step: RunInThread[int, int] = RunInThread(task, sink)
    step.submit(1)
    started = time.monotonic()
    step.join(0.05)
    assert time.monotonic() - started < 1.0
    assert seen_cancel.wait(1.0)
    assert sink.items == [], "an unfinished task's result is not reported"
    step.close()


def test_apply_runs_on_the_caller() -> None:
    seen: list[int] = []
    apply: Apply[int] = Apply(seen.append)
    apply.submit(3)
    assert seen == [3]


# --- composed like the indexer -------------------------------------------------------------------------


class Bulk:
    """A fake Elasticsearch bulk: blocks until released, then answers per item."""

    def __init__(self) -> None:
        self.release = threading.Semaphore(0)
        self.sent: list[list[int]] = []
        self.rejected: set[int] = set()

    def __call__(self, batch: list[Message[RawArticle]], cancelled: threading.Event) -> list[int]:
        self.sent.append([m.offset for m in batch])
        assert self.release.acquire(timeout=WAIT_S)
        return [400 if m.offset in self.rejected else 201 for m in batch]


def test_batch_then_one_bulk_in_flight_then_commit() -> None:
    broker = MemoryBroker()
    broker.create_topic(TOPIC, 1)
    for i in range(10):
        broker.produce(P0, raw(i))
    consumer = MemoryConsumer(broker)
    bulk = Bulk()
    bulk.rejected = {5}

    def indexer(outcomes: Outcomes) -> Strategy[Message[RawArticle]]:
        def finish(sent: tuple[list[Message[RawArticle]], list[int]]) -> None:
            for m, status in zip(*sent, strict=True):
                if status < 300:
                    outcomes.done(m, "ok")
                else:
                    outcomes.dlq(m, "rejected", f"{status}: mapper_parsing_exception")

        write = RunInThread(bulk, Apply(finish), on_done=outcomes.wakeup, name="bulk")
        return Batch(write, max_size=4, max_ms=60_000)

    producer = MemoryProducer()
    processor: StreamProcessor[RawArticle] = StreamProcessor(
        consumer,
        Topic.ARTICLES_RAW,
        SETTINGS,
        indexer,
        DlqPublisher(SETTINGS, Stage.SEARCH, producer=producer),
        commit_interval_s=0.0,
        max_poll_records=10,
        pause_after_s=60.0,  # wait for the bulk rather than pause: no re-fetch per batch
        backpressure_poll_ms=1,
    )
    assert processor.subscribe(threading.Event())
    processor.step()
    until(lambda: bulk.sent == [[0, 1, 2, 3]])
    for _ in range(5):
        processor.step()
    assert bulk.sent == [[0, 1, 2, 3]], "one bulk in flight: batch 2 waits, sealed"
    assert consumer.commits == [], "nothing is committed before the bulk answered"
    assert not processor.paused and consumer.polls == [100], "waited for the bulk instead of polling"

    bulk.release.release()
    until(lambda: len(bulk.sent) == 2, processor.step)
    assert consumer.commits[-1] == {P0: 4}
    bulk.release.release()
    until(lambda: consumer.commits[-1] == {P0: 8}, processor.step)
    assert [r[1] for r in producer.sent] == [b"a0005"], "the rejected document went to the DLQ"

    bulk.release.release()  # the last two, flushed by the shutdown's join
    processor.close()
    assert bulk.sent == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert broker.committed == {P0: 10}
