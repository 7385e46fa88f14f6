"""An in-memory Kafka for unit tests of consumers: a broker, a consumer implementing the subset of
``kafka.KafkaConsumer`` that :class:`shared.consumer.StreamProcessor` uses, and a producer for
:class:`shared.kafka.DlqPublisher`. No sockets.

It follows kafka-python 2.3's group behaviour where consumers depend on it:
- a rebalance calls ``on_partitions_revoked`` with the whole old assignment, then gives every
  assigned partition a fresh state: position from the committed offset, not paused;
- a listener's exceptions are logged and swallowed;
- paused partitions return nothing from ``poll``.
It is stricter than Kafka in one place: committing a partition that is not assigned raises
AssertionError, so a test fails if a consumer commits for a partition it lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata

log = logging.getLogger(__name__)


@dataclass
class MemoryBroker:
    logs: dict[TopicPartition, list[ConsumerRecord]] = field(default_factory=dict)
    committed: dict[TopicPartition, int] = field(default_factory=dict)

    def create_topic(self, topic: str, partitions: int = 3) -> list[TopicPartition]:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        for tp in tps:
            self.logs.setdefault(tp, [])
        return tps

    def produce(self, tp: TopicPartition, value: bytes | None, key: bytes | None = None) -> int:
        log_ = self.logs[tp]
        offset = len(log_)
        log_.append(ConsumerRecord(tp.topic, tp.partition, -1, offset, 0, 0, key, value, [], None, 0, 0, 0))
        return offset

    def partitions(self, topic: str) -> set[int]:
        return {tp.partition for tp in self.logs if tp.topic == topic}


class MemoryConsumer:
    def __init__(self, broker: MemoryBroker, max_poll_records: int = 500) -> None:
        self.broker = broker
        self.max_poll_records = max_poll_records
        self.listener: Any = None
        self.topics: list[str] = []
        self.assigned: set[TopicPartition] = set()
        self.positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._next_assignment: set[TopicPartition] | None = None
        self.commits: list[dict[TopicPartition, int]] = []
        self.fail_commits = 0  # the next N commits raise CommitFailedError
        self.polls: list[int] = []  # timeout_ms of every poll
        self.closed = False
        self._fetcher = self  # shared.kafka.consumer_lag asks the fetcher for end offsets

    # --- group membership ---

    def subscribe(self, topics: list[str], listener: Any = None) -> None:
        self.topics = list(topics)
        self.listener = listener
        self._next_assignment = {tp for tp in self.broker.logs if tp.topic in self.topics}

    def rebalance(self, assignment: Iterable[TopicPartition]) -> None:
        """Run a rebalance inside the next poll, ending with ``assignment``."""
        self._next_assignment = set(assignment)

    def _join(self) -> None:
        new, self._next_assignment = self._next_assignment, None
        assert new is not None
        self._call("on_partitions_revoked", set(self.assigned))
        self.assigned = new
        self._paused = set()
        self.positions = {tp: self.broker.committed.get(tp, 0) for tp in new}
        self._call("on_partitions_assigned", set(new))

    def _call(self, name: str, partitions: set[TopicPartition]) -> None:
        if self.listener is None:
            return
        try:
            getattr(self.listener, name)(partitions)
        except Exception:  # as kafka-python does
            log.exception("listener %s failed", name)

    # --- consuming ---

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.broker.partitions(topic) or None

    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None, update_offsets: bool = True
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        assert not self.closed
        self.polls.append(timeout_ms)
        if self._next_assignment is not None:
            self._join()
        budget = max_records or self.max_poll_records
        out: dict[TopicPartition, list[ConsumerRecord]] = {}
        for tp in sorted(self.assigned):
            if tp in self._paused or budget <= 0:
                continue
            pos = self.positions[tp]
            records = self.broker.logs[tp][pos : pos + budget]
            if records:
                out[tp] = records
                self.positions[tp] = pos + len(records)
                budget -= len(records)
        return out

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def pause(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            assert tp in self.assigned, f"pausing {tp}, which is not assigned"
            self._paused.add(tp)

    def resume(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self._paused.discard(tp)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata], timeout_ms: int | None = None) -> None:
        assert not self.closed
        if self.fail_commits:
            self.fail_commits -= 1
            raise CommitFailedError("injected")
        for tp, om in offsets.items():
            assert isinstance(om, OffsetAndMetadata)
            assert tp in self.assigned, f"commit for {tp}, which is not assigned"
        self.commits.append({tp: om.offset for tp, om in offsets.items()})
        self.broker.committed.update({tp: om.offset for tp, om in offsets.items()})

    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None:
        assert not autocommit, "consumers commit explicitly"
        self.closed = True

    # --- lag (shared.kafka.consumer_lag) ---

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int:
        return self.positions[tp]

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None = None) -> dict[TopicPartition, int]:
        return {tp: len(self.broker.logs[tp]) for tp in partitions}


class _Sent:
    def get(self, timeout: float | None = None) -> None:
        return None


class MemoryProducer:
    """Enough of ``KafkaProducer`` for :class:`shared.kafka.DlqPublisher`: keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        self.closed = False

    def send(self, topic: str, key: bytes | None = None, value: bytes = b"") -> _Sent:
        self.sent.append((topic, key, value))
        return _Sent()

    def close(self, timeout: float | None = None) -> None:
        self.closed = True
