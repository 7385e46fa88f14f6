"""The consumer runtime (shared/consumer) driven by an in-memory Kafka: commit only after the work,
the DLQ and its limit, backpressure, rebalances, shutdown. No network."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any, get_args

import orjson
import pytest
from kafka import TopicPartition
from prometheus_client import REGISTRY

from shared import contracts
from shared.consumer import Message, MessageRejected, Outcomes, RebalanceStuck, Strategy, StreamProcessor, dlq_reason
from shared.consumer.dlq import DlqReason
from shared.kafka import DlqLimit, DlqPublisher, DlqRatioExceeded
from shared.schemas import DlqRecord, InvalidMessage, RawArticle, UnknownSchemaVersion, decode
from shared.settings import CommonSettings
from shared.topics import Stage, Topic
from tests.memory_kafka import MemoryBroker, MemoryConsumer, MemoryProducer

SETTINGS = CommonSettings(topic_prefix="unit-", health_file=None)
TOPIC = SETTINGS.topic(Topic.ARTICLES_RAW)
DLQ_TOPIC = SETTINGS.topic(Topic.ENRICH_DLQ)
P0, P1, P2 = (TopicPartition(TOPIC, p) for p in range(3))


def raw(n: int, **changes: Any) -> bytes:
    article = RawArticle(
        id=f"a{n:04d}",
        url=f"https://berita.example/{n}",
        canonical_url=f"https://berita.example/{n}",
        title=f"Berita {n}",
        source="berita.example",
        ingested_at=datetime(2025, 1, 1, tzinfo=UTC),
        text="Isi berita.",
    )
    return article.model_copy(update=changes).to_bytes() if changes else article.to_bytes()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder(Strategy[Message[RawArticle]]):
    """A strategy whose work the test finishes by hand (``finish``); rejects past ``capacity``."""

    def __init__(self, outcomes: Outcomes, capacity: int | None = None) -> None:
        self.outcomes = outcomes
        self.capacity = capacity
        self.submitted: list[Message[RawArticle]] = []
        self.in_flight: list[Message[RawArticle]] = []
        self.finish_on_poll: list[Message[RawArticle]] = []  # reported in the next poll()
        self.on_poll: Callable[[], None] | None = None
        self.polls = 0
        self.forgotten: list[set[TopicPartition]] = []
        self.calls: list[str] = []
        self.finish_on_join = False

    def submit(self, item: Message[RawArticle]) -> None:
        if self.capacity is not None and len(self.in_flight) >= self.capacity:
            raise MessageRejected
        self.submitted.append(item)
        self.in_flight.append(item)

    def poll(self) -> None:
        self.polls += 1
        if self.on_poll is not None:
            self.on_poll()
        todo, self.finish_on_poll = self.finish_on_poll, []
        self.finish(*todo)

    def finish(self, *messages: Message[RawArticle]) -> None:
        for m in messages:
            self.in_flight.remove(m)
            self.outcomes.done(m)

    def get(self, tp: TopicPartition, offset: int) -> Message[RawArticle]:
        return next(m for m in self.in_flight if m.partition == tp and m.offset == offset)

    def join(self, timeout: float | None = None) -> None:
        self.calls.append("join")
        if self.finish_on_join:
            self.finish(*self.in_flight)

    def close(self) -> None:
        self.calls.append("close")

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        self.forgotten.append(set(partitions))
        self.in_flight = [m for m in self.in_flight if m.partition not in partitions]


class Harness:
    def __init__(
        self, partitions: int = 1, capacity: int | None = None, subscribe: bool = True, **options: Any
    ) -> None:
        self.broker = MemoryBroker()
        self.broker.create_topic(TOPIC, partitions)
        self.consumer = MemoryConsumer(self.broker)
        self.producer = MemoryProducer()
        self.clock = Clock()
        self.strategy: Recorder | None = None
        options.setdefault("commit_interval_s", 0.0)
        options.setdefault("clock", self.clock)

        def factory(outcomes: Outcomes) -> Recorder:
            self.strategy = Recorder(outcomes, capacity)
            return self.strategy

        self.processor: StreamProcessor[RawArticle] = StreamProcessor(
            self.consumer,
            Topic.ARTICLES_RAW,
            SETTINGS,
            factory,
            DlqPublisher(SETTINGS, Stage.ENRICH, producer=self.producer),
            **options,
        )
        if subscribe:
            assert self.processor.subscribe(threading.Event())

    @property
    def work(self) -> Recorder:
        assert self.strategy is not None
        return self.strategy

    def produce(self, tp: TopicPartition, *values: bytes) -> None:
        for v in values:
            self.broker.produce(tp, v)

    def dlq_records(self) -> list[DlqRecord]:
        assert all(topic == DLQ_TOPIC for topic, _, _ in self.producer.sent)
        return [decode(DlqRecord, value) for _, _, value in self.producer.sent]

    def committed(self) -> dict[TopicPartition, int]:
        return dict(self.broker.committed)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class StopWhen:
    """A stop signal that is set once ``condition()`` holds."""

    def __init__(self, condition: Callable[[], object]) -> None:
        self.condition = condition

    def is_set(self) -> bool:
        return bool(self.condition())

    def wait(self, timeout: float) -> bool:
        return self.is_set()


# --- commit after the work -----------------------------------------------------------------------


def test_an_offset_is_committed_only_once_it_and_every_lower_offset_are_done() -> None:
    h = Harness()
    h.produce(P0, *(raw(i) for i in range(5)))
    h.processor.step()
    assert [m.offset for m in h.work.submitted] == [0, 1, 2, 3, 4]
    assert h.consumer.commits == [], "nothing is done yet"

    h.work.finish(h.work.get(P0, 1), h.work.get(P0, 3))
    h.processor.step()
    assert h.consumer.commits == [], "offset 0 is not done: nothing may be committed"

    h.work.finish(h.work.get(P0, 0))
    h.processor.step()
    assert h.consumer.commits == [{P0: 2}]  # 0 and 1; not 3, because 2 is still in flight

    h.work.finish(h.work.get(P0, 2), h.work.get(P0, 4))
    h.processor.step()
    assert h.consumer.commits == [{P0: 2}, {P0: 5}]


def test_commits_are_throttled_in_normal_running() -> None:
    h = Harness(commit_interval_s=1.0)
    h.produce(P0, raw(0), raw(1))
    h.processor.step()
    h.work.finish(*h.work.in_flight)
    h.processor.step()
    assert h.consumer.commits == []
    h.clock.now += 1.0
    h.processor.step()
    assert h.consumer.commits == [{P0: 2}]


def test_a_failed_commit_is_retried_at_the_next_commit() -> None:
    h = Harness()
    h.produce(P0, raw(0))
    h.processor.step()
    h.work.finish(*h.work.in_flight)
    h.consumer.fail_commits = 1
    h.processor.step()
    assert h.committed() == {}
    h.processor.step()  # nothing new was completed: the failed position must still be committed
    assert h.committed() == {P0: 1}


def test_reports_must_come_from_the_consumer_thread() -> None:
    h = Harness()
    h.produce(P0, raw(0))
    h.processor.step()
    errors: list[BaseException] = []

    def report() -> None:
        try:
            h.work.finish(h.work.get(P0, 0))
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=report)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)


# --- poison messages and the DLQ -------------------------------------------------------------------


def test_poison_messages_go_to_the_dlq_and_the_partition_moves_on() -> None:
    h = Harness()
    unknown = orjson.loads(raw(2))
    unknown["schema_version"] = 99
    invalid = orjson.loads(raw(4))
    del invalid["title"]
    h.produce(P0, raw(0), b"\xff not json", orjson.dumps(unknown), raw(3), orjson.dumps(invalid), raw(5))
    before = sample("warta_dlq_total", stage="enrich", reason="unknown_schema")

    h.processor.step()
    assert [m.offset for m in h.work.submitted] == [0, 3, 5]
    assert [m.payload.id for m in h.work.submitted] == ["a0000", "a0003", "a0005"]
    records = h.dlq_records()
    assert [(r.reason, r.source_offset) for r in records] == [("invalid", 1), ("unknown_schema", 2), ("invalid", 4)]
    assert all(r.stage == "enrich" and r.source_topic == TOPIC and r.source_partition == 0 for r in records)
    assert records[0].payload == b"\xff not json".decode("latin-1"), "the original value is kept verbatim"
    assert "title" in records[2].error
    assert sample("warta_dlq_total", stage="enrich", reason="unknown_schema") == before + 1

    h.work.finish(*h.work.in_flight)
    h.processor.step()
    assert h.committed() == {P0: 6}, "the poison records do not stall the partition"


def test_every_contract_example_is_either_consumed_or_sent_to_the_dlq() -> None:
    h = Harness()
    valid, invalid = contracts.examples("articles.raw"), contracts.examples("articles.raw", valid=False)
    h.produce(P0, *(f.read_bytes() for f in valid + invalid))
    h.processor.step()
    assert len(h.work.submitted) == len(valid)
    assert [r.source_offset for r in h.dlq_records()] == list(range(len(valid), len(valid) + len(invalid)))


def test_a_strategy_sends_a_message_to_the_dlq_through_its_handle() -> None:
    h = Harness()
    h.produce(P0, raw(0), raw(1))
    h.processor.step()
    rejected = h.work.get(P0, 0)
    h.work.in_flight.remove(rejected)
    h.work.outcomes.dlq(rejected, "rejected", "400: mapper_parsing_exception", attempts=2)
    h.work.finish(h.work.get(P0, 1))
    h.processor.step()
    (record,) = h.dlq_records()
    assert (record.reason, record.article_id, record.attempts, record.source_offset) == ("rejected", "a0000", 2, 0)
    assert orjson.loads(record.payload)["id"] == "a0000"
    assert h.committed() == {P0: 2}


def test_the_dlq_limit_stops_the_consumer_before_publishing() -> None:
    h = Harness(dlq_limit=DlqLimit(max_ratio=0.5, window=10, min_records=4))
    h.produce(P0, *(b"garbage" for _ in range(10)))
    with pytest.raises(DlqRatioExceeded):
        h.processor.step()
    assert len(h.producer.sent) == 3, "the record that tripped the limit is not published"


def test_the_dlq_limit_counts_what_strategies_send_and_run_stops() -> None:
    h = Harness(subscribe=False, dlq_limit=DlqLimit(max_ratio=0.5, window=10, min_records=4))
    h.produce(P0, *(raw(i) for i in range(6)))

    def reject_everything() -> None:
        for m in list(h.work.in_flight):
            h.work.in_flight.remove(m)
            h.work.outcomes.dlq(m, "rejected", "400")

    h.work.on_poll = reject_everything
    with pytest.raises(DlqRatioExceeded):
        h.processor.run(threading.Event())
    assert len(h.producer.sent) == 3
    assert h.committed() == {P0: 3}, "what reached the DLQ is committed; the rest is read again"
    assert h.consumer.closed and h.producer.closed
    assert h.work.calls == ["close"], "after an error the strategy is closed, not joined"


def test_the_dlq_limit_comes_from_settings() -> None:
    settings = CommonSettings(topic_prefix="unit-", dlq_max_ratio=0.2)
    processor: StreamProcessor[RawArticle] = StreamProcessor(
        MemoryConsumer(MemoryBroker()),
        Topic.ARTICLES_RAW,
        settings,
        lambda outcomes: Recorder(outcomes),
        DlqPublisher(settings, Stage.ENRICH, producer=MemoryProducer()),
    )
    assert processor.dlq_limit.max_ratio == 0.2


def test_one_dlq_classification_and_the_reasons_match_the_schema() -> None:
    assert dlq_reason(UnknownSchemaVersion("RawArticle", 7)) == "unknown_schema"
    assert dlq_reason(InvalidMessage("not JSON")) == "invalid"
    assert set(get_args(DlqReason)) == set(get_args(DlqRecord.model_fields["reason"].annotation))


# --- backpressure ------------------------------------------------------------------------------------


def test_backpressure_pauses_and_resumes_without_losing_or_reordering_records() -> None:
    h = Harness(partitions=3, capacity=5, max_poll_records=8)
    for tp in (P0, P1, P2):
        h.produce(tp, *(raw(100 * tp.partition + i) for i in range(20)))
    was_paused = False
    for _ in range(200):
        polls_before = len(h.consumer.polls)
        records_before = sum(h.consumer.positions.values())
        h.processor.step()
        if h.processor.paused:
            was_paused = True
            assert h.consumer.paused() == h.consumer.assignment(), "every assigned partition is paused"
            assert len(h.consumer.polls) == polls_before + 1, "a paused consumer keeps polling"
        else:
            assert h.consumer.paused() == set()
        if len(h.work.submitted) == 60 and not h.work.in_flight:
            break
        if records_before == sum(h.consumer.positions.values()):
            h.work.finish(*h.work.in_flight[:2])  # nothing new was read: downstream frees some room
    h.processor.step()
    assert was_paused
    assert not h.processor.paused
    for tp in (P0, P1, P2):
        assert [m.offset for m in h.work.submitted if m.partition == tp] == list(range(20)), tp
    assert h.committed() == {P0: 20, P1: 20, P2: 20}


def test_paused_polls_are_short_and_resume_on_the_first_accepted_submit() -> None:
    h = Harness(capacity=1, poll_timeout_ms=100, backpressure_poll_ms=10)
    h.produce(P0, raw(0), raw(1), raw(2))
    h.processor.step()
    assert h.processor.paused and h.consumer.polls == [100]
    h.processor.step()
    assert h.consumer.polls == [100, 10], "while paused the loop polls briefly, to retry the held message soon"
    h.work.finish(*h.work.in_flight)
    h.processor.step()
    assert h.processor.paused, "offset 1 was accepted, offset 2 is held now"
    h.work.finish(*h.work.in_flight)
    h.processor.step()
    assert not h.processor.paused and h.consumer.paused() == set()
    assert [m.offset for m in h.work.submitted] == [0, 1, 2]
    assert sample("warta_partitions_paused", stage="enrich") == 0


def test_a_short_rejection_is_waited_out_without_pausing() -> None:
    h = Harness(capacity=1, pause_after_s=1.0, backpressure_poll_ms=1)
    h.produce(P0, raw(0), raw(1))
    h.processor.step()
    polls = len(h.consumer.polls)
    h.processor.step()
    assert not h.processor.paused
    assert len(h.consumer.polls) == polls, "no records are polled while a message waits"
    h.work.finish(*h.work.in_flight)
    h.work.outcomes.wakeup()
    h.processor.step()
    assert [m.offset for m in h.work.submitted] == [0, 1] and not h.processor.paused
    h.produce(P0, raw(2))
    h.processor.step()
    h.clock.now += 1.0
    h.processor.step()
    assert h.processor.paused, "a rejection that lasts pauses the partitions"


# --- rebalancing ---------------------------------------------------------------------------------------


def test_a_rebalance_in_the_middle_of_the_work() -> None:
    h = Harness(partitions=2, commit_interval_s=60.0)
    h.produce(P0, *(raw(i) for i in range(6)))
    h.produce(P1, *(raw(100 + i) for i in range(6)))
    h.processor.step()
    assert len(h.work.in_flight) == 12
    h.work.finish(*(h.work.get(P0, o) for o in (0, 1, 2)))
    late_p1, lost_p1, lost_p1_bad = h.work.get(P1, 0), h.work.get(P1, 1), h.work.get(P1, 2)
    polls = h.work.polls

    def finish_during_revocation() -> None:
        if h.work.polls == polls + 2:  # +1 is the step's own poll, +2 the revocation's
            h.work.finish(late_p1)

    h.work.on_poll = finish_during_revocation
    assert h.consumer.commits == [], "throttled: nothing committed before the rebalance"

    h.consumer.rebalance({P0})  # P1 moves to another member
    h.processor.step()
    assert h.consumer.commits[0] == {P0: 3, P1: 1}, "done offsets are committed on revocation"
    assert h.work.forgotten == [{P1}], "the lost partition is forgotten, the kept one is not"
    assert sorted(m.offset for m in h.work.in_flight) == [3, 4, 5]
    assert [m.offset for m in h.work.submitted if m.partition == P0] == list(range(6)), (
        "records re-delivered from the committed offset are not submitted twice"
    )

    h.work.finish(*h.work.in_flight)
    # A report for the lost partition is ignored: committing it could move the new owner's
    # position back (and the in-memory consumer refuses commits for unassigned partitions).
    h.work.outcomes.done(lost_p1)
    h.work.outcomes.dlq(lost_p1_bad, "rejected", "400")
    assert h.producer.sent == [], "nor is a lost partition's record sent to the DLQ: its new owner decides"
    h.produce(P0, raw(6))
    h.processor.step()
    h.work.finish(*h.work.in_flight)
    h.processor.close()
    assert h.committed() == {P0: 7, P1: 1}


def test_a_kept_partition_keeps_working_after_a_rebalance() -> None:
    h = Harness(partitions=2)
    h.produce(P0, raw(0), raw(1))
    h.processor.step()
    h.work.finish(h.work.get(P0, 0))
    h.consumer.rebalance({P0, P1})  # e.g. a member joined and left: nothing lost
    h.processor.step()
    assert h.work.forgotten == []
    h.produce(P0, raw(2))
    h.processor.step()
    assert [m.offset for m in h.work.submitted] == [0, 1, 2]
    h.work.finish(*h.work.in_flight)
    h.processor.step()
    assert h.committed() == {P0: 3}


def test_a_rebalance_while_paused_drops_held_messages_of_lost_partitions_and_keeps_the_pause() -> None:
    h = Harness(partitions=2, capacity=1)
    h.produce(P0, raw(0), raw(1))
    h.produce(P1, raw(100), raw(101))
    h.processor.step()
    assert h.processor.paused
    h.consumer.rebalance({P0})
    h.processor.step()
    assert h.consumer.paused() == {P0}, "a new assignment starts unpaused: the processor pauses it again"
    h.work.finish(*h.work.in_flight)
    for _ in range(3):
        h.processor.step()
        h.work.finish(*h.work.in_flight)
    h.processor.step()
    assert [(m.partition.partition, m.offset) for m in h.work.submitted] == [(0, 0), (0, 1)]
    assert not h.processor.paused
    assert h.committed() == {P0: 2}


def test_an_error_in_a_rebalance_callback_is_raised_not_swallowed() -> None:
    h = Harness(partitions=2)
    h.produce(P0, raw(0))
    h.processor.step()

    def broken() -> None:
        raise ValueError("bug in the strategy")

    polls = h.work.polls
    h.work.on_poll = lambda: broken() if h.work.polls == polls + 2 else None  # the revocation's poll
    h.consumer.rebalance({P0})
    with pytest.raises(ValueError, match="bug in the strategy"):
        h.processor.step()


# --- shutdown and metrics ------------------------------------------------------------------------------


def test_shutdown_forces_a_final_commit_of_what_is_done() -> None:
    h = Harness(commit_interval_s=60.0)
    h.produce(P0, raw(0), raw(1), raw(2))
    h.processor.step()
    h.work.finish(h.work.get(P0, 0), h.work.get(P0, 1))
    h.processor.step()
    assert h.consumer.commits == []
    h.processor.close()
    assert h.committed() == {P0: 2}, "offset 2 was never reported: it is not committed"
    assert h.work.calls == ["join", "close"]
    assert h.consumer.closed and h.producer.closed
    h.processor.close()  # idempotent
    assert h.work.calls == ["join", "close"]


def test_run_loops_until_stopped_then_joins_and_commits() -> None:
    h = Harness(subscribe=False, commit_interval_s=60.0)
    h.produce(P0, raw(0), raw(1), raw(2))
    h.work.finish_on_join = True  # join finishes what was submitted
    h.processor.run(StopWhen(lambda: len(h.work.submitted) == 3))
    assert h.work.calls == ["join", "close"]
    assert h.committed() == {P0: 3}
    assert h.consumer.closed and h.producer.closed


def test_metrics_and_dlq_records_name_the_same_stage() -> None:
    h = Harness()
    h.produce(P0, raw(0), b"{}")
    done_before = sample("warta_messages_total", stage="enrich", outcome="done")
    dlq_before = sample("warta_messages_total", stage="enrich", outcome="dlq")
    h.processor.step()
    h.work.finish(*h.work.in_flight)
    h.processor.step()
    assert {r.stage for r in h.dlq_records()} == {h.processor.stage} == {"enrich"}
    assert sample("warta_messages_total", stage="enrich", outcome="done") == done_before + 1
    assert sample("warta_messages_total", stage="enrich", outcome="dlq") == dlq_before + 1
    assert REGISTRY.get_sample_value("warta_consumer_lag", {"stage": "enrich", "partition": "0"}) == 0
    assert sample("warta_in_flight", stage="enrich") == 0


def test_a_rebalance_that_never_assigns_stops_a_processor_that_cannot_replace_its_client() -> None:
    h = Harness(partitions=2, rebalance_timeout_s=20.0)
    h.produce(P0, raw(0))
    h.processor.step()
    h.work.finish(*h.work.in_flight)
    stopped = sample("warta_consumer_rebalance_recoveries_total", stage="enrich", action="stop")
    h.consumer.listener.on_partitions_revoked({P0, P1})  # and no assignment ever follows
    assert h.committed() == {P0: 1}, "what was done is committed on revocation"
    h.clock.now += 19.9
    h.processor.step()
    h.clock.now += 0.1
    with pytest.raises(RebalanceStuck, match="20 s"):
        h.processor.step()
    assert sample("warta_consumer_rebalance_recoveries_total", stage="enrich", action="stop") == stopped + 1
