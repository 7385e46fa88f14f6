"""Kafka plumbing shared by every consumer and producer.

- :func:`make_producer` / :func:`make_consumer`: the one place client settings live
  (acks=all, auto-commit off, bounded fetches).
- :class:`OffsetTracker`: commit only contiguous completed offsets per partition (arroyo-style).
- :class:`DlqPublisher` and :class:`DlqLimit`: the DLQ and the guard against a bad deploy that
  would send everything there.
- :func:`ensure_topics`: explicit partition counts, created idempotently.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from shared.schemas import DlqRecord, payload_text, utcnow
from shared.settings import CommonSettings
from shared.topics import TOPIC_SPECS, Stage, Topic

log = logging.getLogger(__name__)


def make_producer(settings: CommonSettings, **overrides: Any) -> KafkaProducer:
    """A producer whose ``send(...).get()`` returns only after all in-sync replicas have the write."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "acks": "all",
        "linger_ms": 5,
        "retries": 10,
        "retry_backoff_ms": 200,
        "request_timeout_ms": 15_000,
        "max_block_ms": 15_000,
        "max_request_size": 4 * 1024 * 1024,
        # kafka-python backs off reconnects exponentially up to 30 s by default: after a broker
        # restart a client could wait that long before it even tries again.
        "reconnect_backoff_max_ms": 2000,
        "client_id": "warta",
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(settings: CommonSettings, group_id: str | None, /, **overrides: Any) -> KafkaConsumer:
    """A consumer with auto-commit off: callers commit through :class:`OffsetTracker`.
    ``group_id=None`` gives a consumer without a group, for readers that assign partitions."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "group_id": f"{settings.topic_prefix}{group_id}" if group_id else None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 500,
        "max_poll_interval_ms": 300_000,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        "reconnect_backoff_max_ms": 2000,
        "client_id": f"warta-{group_id or 'reader'}",
        # Topics created just before a consumer starts (or by a setup job racing it) are noticed
        # within seconds instead of the default five minutes.
        "metadata_max_age_ms": 10_000,
    }
    config.update(overrides)
    return KafkaConsumer(**config)


def wait_for_topic(consumer: KafkaConsumer, topic: str, stop: Any, timeout_s: float = 120.0) -> None:
    """Block until the consumer's own metadata knows ``topic``'s partitions, then return.

    Subscribing before that leaves a group member with no partitions until a later rebalance
    (minutes with kafka-python). Returns early if ``stop`` is set; raises TimeoutError after
    ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while not stop.is_set():
        if consumer.partitions_for_topic(topic):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} has no partitions; create it with `warta stack init`")
        stop.wait(0.5)


def ensure_topics(
    settings: CommonSettings, partitions: int = 3, replication: int = 1, timeout_s: float = 30.0
) -> list[str]:
    """Create every registered topic (idempotent). Returns the physical names."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","), client_id="warta-admin")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(spec.topic),
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs={"retention.ms": str(spec.retention_ms)},
            )
            for spec in TOPIC_SPECS
            if settings.topic(spec.topic) not in existing
        ]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        return [settings.topic(spec.topic) for spec in TOPIC_SPECS]
    finally:
        admin.close()


def delete_topics(settings: CommonSettings) -> None:
    """Delete every registered topic under the settings' prefix (tests clean up with this)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","), client_id="warta-admin")
    try:
        existing = set(admin.list_topics())
        names = [settings.topic(spec.topic) for spec in TOPIC_SPECS if settings.topic(spec.topic) in existing]
        if names:
            admin.delete_topics(names)
    finally:
        admin.close()


@dataclass
class _PartitionState:
    pending: deque[int] = field(default_factory=deque)
    done: set[int] = field(default_factory=set)
    committed: int | None = None


class OffsetTracker:
    """Tracks in-flight offsets and yields what may be committed.

    Offsets are registered in the order they are consumed; ``complete`` may be called in any order.
    The committable position of a partition is one past the longest prefix of completed offsets, so
    an offset is never committed before every offset below it is done. Not thread-safe: call it from
    the consumer thread.
    """

    def __init__(self) -> None:
        self._parts: dict[TopicPartition, _PartitionState] = {}

    def add(self, tp: TopicPartition, offset: int) -> None:
        self._parts.setdefault(tp, _PartitionState()).pending.append(offset)

    def complete(self, tp: TopicPartition, offset: int) -> None:
        state = self._parts.get(tp)
        if state is not None:
            state.done.add(offset)

    def in_flight(self, tp: TopicPartition | None = None) -> int:
        if tp is not None:
            state = self._parts.get(tp)
            return 0 if state is None else len(state.pending) - len(state.done)
        return sum(len(s.pending) - len(s.done) for s in self._parts.values())

    def committable(self) -> dict[TopicPartition, OffsetAndMetadata]:
        """Advance every partition over its completed prefix; return the new positions only."""
        out: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, state in self._parts.items():
            advanced = None
            while state.pending and state.pending[0] in state.done:
                advanced = state.pending.popleft()
                state.done.discard(advanced)
            if advanced is not None:
                state.committed = advanced + 1
                out[tp] = OffsetAndMetadata(advanced + 1, "", -1)
        return out

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop state for partitions this consumer no longer owns (after revocation)."""
        for tp in partitions:
            self._parts.pop(tp, None)

    def partitions(self) -> list[TopicPartition]:
        return list(self._parts)


class DlqRatioExceeded(RuntimeError):
    """Too many records went to the DLQ recently: most likely a bad deploy, so stop consuming."""


class DlqLimit:
    """Sliding-window guard (arroyo ``DlqLimit``): stop when more than ``max_ratio`` of the last
    ``window`` records went to the DLQ, once at least ``min_records`` were seen."""

    def __init__(self, max_ratio: float = 0.5, window: int = 200, min_records: int = 50) -> None:
        self.max_ratio = max_ratio
        self.min_records = min_records
        self._outcomes: deque[bool] = deque(maxlen=window)

    def record(self, to_dlq: bool) -> None:
        self._outcomes.append(to_dlq)
        seen = len(self._outcomes)
        if seen >= self.min_records and self.max_ratio < 1.0:
            ratio = sum(self._outcomes) / seen
            if ratio > self.max_ratio:
                raise DlqRatioExceeded(f"{ratio:.0%} of the last {seen} records went to the DLQ")


class DlqPublisher:
    """Writes :class:`DlqRecord` messages to a stage's DLQ topic and waits for the ack."""

    def __init__(self, settings: CommonSettings, stage: Stage, producer: KafkaProducer | None = None) -> None:
        self.stage = stage
        self.topic = settings.topic(stage.dlq)
        self._producer = producer or make_producer(settings)

    def publish(
        self,
        *,
        reason: str,
        error: str,
        payload: bytes | str | None,
        source_topic: str,
        partition: int | None = None,
        offset: int | None = None,
        article_id: str | None = None,
        attempts: int = 1,
        timeout_s: float = 30.0,
    ) -> DlqRecord:
        record = DlqRecord(
            stage=self.stage.value,
            reason=reason,  # type: ignore[arg-type]
            error=error[:2000],
            attempts=attempts,
            failed_at=utcnow(),
            article_id=article_id,
            source_topic=source_topic,
            source_partition=partition,
            source_offset=offset,
            payload=payload if isinstance(payload, str) else payload_text(payload),
        )
        key = (article_id or f"{source_topic}:{partition}:{offset}").encode()
        self._producer.send(self.topic, key=key, value=record.to_bytes()).get(timeout=timeout_s)
        log.warning("sent to DLQ", extra={"article_id": article_id, "stage": self.stage.value, "error": error[:300]})
        return record

    def close(self) -> None:
        self._producer.close(timeout=5)


def consumer_lag(consumer: KafkaConsumer, timeout_ms: int = 2000) -> dict[TopicPartition, int]:
    """Lag per assigned partition (end offset minus position); cheap enough to call every few seconds.
    Returns what it could measure (nothing while Kafka is unreachable); never raises KafkaError."""
    assigned = list(consumer.assignment())
    if not assigned:
        return {}
    try:
        # Bounded: this runs inside consumer loops, which must neither stall nor die while the
        # brokers are unreachable. The public ``end_offsets`` waits up to the consumer's
        # request_timeout_ms (305 s), so call the fetcher with our own timeout (kafka-python 2.3).
        ends = consumer._fetcher.end_offsets(assigned, timeout_ms)
    except KafkaError as exc:
        log.debug("consumer lag unavailable", extra={"error": repr(exc)})
        return {}
    lag = {}
    for tp in assigned:
        try:
            pos = consumer.position(tp, timeout_ms=timeout_ms)
        except Exception:  # position unknown during a rebalance or an outage
            continue
        if pos is None:
            continue
        lag[tp] = max(0, ends.get(tp, 0) - pos)
    return lag


__all__ = [
    "DlqLimit",
    "DlqPublisher",
    "DlqRatioExceeded",
    "OffsetTracker",
    "Topic",
    "consumer_lag",
    "delete_topics",
    "ensure_topics",
    "make_consumer",
    "make_producer",
]
