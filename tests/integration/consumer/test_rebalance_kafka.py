"""Group rebalances of the consumer runtime (shared/consumer) on the real Kafka.

A rebalance must finish: while one is in progress (partitions revoked, none assigned back) the
processor commits nothing. Two ways it could stay unfinished, made deterministic here:

- kafka-python 2.3.3 starts a rebalance when its metadata view of the topic differs from the one
  the group was assigned with, and forgets it when the next metadata response restores the view
  before the join completes: the JoinGroup/SyncGroup exchange ends ("Elected group leader"), the
  new assignment is never applied, and the processor never commits again. The processor keeps
  such a rebalance going until it completes.
- whatever else leaves a rebalance without an assignment (here: a client that never reports one)
  is recovered after ``rebalance_timeout_s``: a rejoin, then a new Kafka client, each counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from shared.consumer import Apply, Message, Outcomes, StreamProcessor
from shared.kafka import DlqPublisher, make_consumer
from shared.schemas import RawArticle
from shared.topics import Stage, Topic
from tests.memory_kafka import MemoryProducer
from tests.pipeline import KAFKA, Namespace

pytestmark = [pytest.mark.kafka]

GROUP = "rebalance-test"


def raw(n: int) -> bytes:
    return RawArticle(id=f"a{n:04d}", url=f"https://berita.example/{n}", canonical_url=f"https://berita.example/{n}",
                      title=f"Berita {n}", source="berita.example", ingested_at=datetime(2025, 1, 1, tzinfo=UTC),
                      text="Isi berita.").to_bytes()  # fmt: skip


def recoveries(action: str) -> float:
    value = REGISTRY.get_sample_value(
        "warta_consumer_rebalance_recoveries_total", {"stage": "enrich", "action": action}
    )
    return value or 0.0


class Rig:
    """A processor on the namespace's ``articles.raw`` whose work is done at once; the test steps it."""

    def __init__(self, ns: Namespace, consumer: KafkaConsumer, **options: Any) -> None:
        self.ns = ns
        self.topic = ns.settings.topic(Topic.ARTICLES_RAW)
        self.consumer = consumer
        self.processed: list[tuple[int, int]] = []
        self.on_poll: Callable[[], None] | None = None  # run in the strategy's poll (also in the revocation callback)

        def strategy(outcomes: Outcomes) -> Apply[Message[RawArticle]]:
            rig = self

            class Work(Apply[Message[RawArticle]]):
                def poll(self) -> None:
                    if rig.on_poll is not None:
                        rig.on_poll()

            def work(message: Message[RawArticle]) -> None:
                self.processed.append((message.partition.partition, message.offset))
                outcomes.done(message)

            return Work(work)

        self.processor: StreamProcessor[RawArticle] = StreamProcessor(
            consumer, Topic.ARTICLES_RAW, ns.settings, strategy,
            DlqPublisher(ns.settings, Stage.ENRICH, producer=MemoryProducer()),  # type: ignore[arg-type]
            commit_interval_s=0.0, poll_timeout_ms=50, **options,
        )  # fmt: skip
        self.stop = threading.Event()

    def step_until(self, predicate: Callable[[], bool], timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {message}"
            self.processor.step()

    def assigned(self) -> bool:
        return len(self.processor._consumer.assignment()) == 3 and not self.processor._revoked

    def produce(self, partition: int, value: bytes) -> int:
        producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
        try:
            return int(producer.send(self.topic, value=value, partition=partition).get(30).offset)
        finally:
            producer.close()

    def committed(self, partition: int) -> int | None:
        reader = KafkaConsumer(bootstrap_servers=KAFKA, group_id=f"{self.ns.prefix}{GROUP}", enable_auto_commit=False)
        try:
            return reader.committed(TopicPartition(self.topic, partition))  # type: ignore[no-any-return]
        finally:
            reader.close()

    def close(self) -> None:
        self.processor.close()


@pytest.fixture
def rigs(namespace: Namespace):  # type: ignore[no-untyped-def]
    made: list[Rig] = []

    def make(consumer: KafkaConsumer | None = None, **options: Any) -> Rig:
        rig = Rig(namespace, consumer or make_consumer(namespace.settings, GROUP, max_poll_records=10), **options)
        made.append(rig)
        assert rig.processor.subscribe(rig.stop)
        return rig

    yield make
    for rig in made:
        rig.close()


def test_a_rebalance_whose_metadata_difference_vanishes_mid_join_still_completes(rigs) -> None:  # type: ignore[no-untyped-def]
    rig: Rig = rigs(rebalance_timeout_s=600.0)  # no recovery: the rebalance itself must complete
    rig.step_until(rig.assigned, 30, "the first assignment")
    coordinator = rig.consumer._coordinator
    view = coordinator._metadata_snapshot
    assert coordinator._assignment_snapshot == view

    def metadata_restored_during_revocation() -> None:
        # The revocation callback commits, which runs the network loop: the next metadata response
        # arrives there and restores the view; the callback outlasts the poll's 50 ms, so the
        # JoinGroup it is followed by completes in a later poll.
        if rig.processor._revoked:
            rig.on_poll = None
            coordinator._metadata_snapshot = view
            time.sleep(0.2)

    rig.on_poll = metadata_restored_during_revocation
    coordinator._metadata_snapshot = {rig.topic: set()}  # a metadata response without the topic's partitions
    rig.step_until(lambda: rig.on_poll is None, 10, "the rebalance to begin")

    offset = rig.produce(1, raw(1))
    rig.step_until(lambda: rig.committed(1) == offset + 1, 15, "the record committed")
    assert rig.processed == [(1, offset)]
    assert rig.assigned()
    assert recoveries("rejoin") == recoveries("recreate") == 0


class Deaf(ConsumerRebalanceListener):  # type: ignore[misc]
    """A rebalance listener that passes on revocations and the first assignment only: to the
    processor, every later rebalance of this client never completes."""

    def __init__(self, listener: Any) -> None:
        self.listener = listener
        self.assignments = 0

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self.listener.on_partitions_revoked(revoked)

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self.assignments += 1
        if self.assignments == 1:
            self.listener.on_partitions_assigned(assigned)


def test_a_rebalance_that_never_completes_is_recovered_and_the_work_committed_once(rigs, namespace) -> None:  # type: ignore[no-untyped-def]
    consumer = make_consumer(namespace.settings, GROUP, max_poll_records=10)
    subscribe = consumer.subscribe
    consumer.subscribe = lambda topics, *, listener: subscribe(topics, listener=Deaf(listener))  # type: ignore[method-assign]
    replacements: list[KafkaConsumer] = []

    def replacement() -> KafkaConsumer:
        replacements.append(make_consumer(namespace.settings, GROUP, max_poll_records=10))
        return replacements[-1]

    before = {action: recoveries(action) for action in ("rejoin", "recreate")}
    rig: Rig = rigs(consumer, consumer_factory=replacement, rebalance_timeout_s=3.0)
    rig.step_until(rig.assigned, 30, "the first assignment")
    first = rig.produce(0, raw(0))
    rig.step_until(lambda: rig.committed(0) == first + 1, 15, "the first record committed")

    def rejoin_begun() -> bool:
        # A rebalance this client never reports as complete. Asked again until it begins: a request
        # made while the client's own join is still settling can be cleared by that join.
        if not rig.processor._revoked:
            consumer._coordinator.request_rejoin()
        return bool(rig.processor._revoked)

    rig.step_until(rejoin_begun, 30, "the rebalance to begin")
    second = rig.produce(0, raw(2))
    rig.step_until(lambda: (0, second) in rig.processed, 2, "the record processed")
    assert rig.committed(0) == first + 1, "nothing is committed while the rebalance is unfinished"

    # The rejoin's revocation may commit what is done; its assignment never reaches the processor.
    rig.step_until(lambda: recoveries("recreate") == before["recreate"] + 1, 15, "a new client")
    assert recoveries("rejoin") == before["rejoin"] + 1, "first a rejoin"
    rig.step_until(lambda: rig.committed(0) == second + 1, 15, "the record committed after the recovery")
    assert len(replacements) == 1 and rig.processor._consumer is replacements[0]
    assert consumer._closed, "the stuck client left the group"
    rig.step_until(rig.assigned, 10, "the new client's assignment")
    third = rig.produce(2, raw(3))
    rig.step_until(lambda: rig.committed(2) == third + 1, 15, "work after the recovery committed")
    assert rig.processed == [(0, first), (0, second), (2, third)], "each record processed once"
