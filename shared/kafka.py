"""Kafka plumbing shared by every consumer and producer.

- :func:`make_producer` / :func:`make_consumer`: the one place client settings live
  (acks=all, auto-commit off, bounded fetches).
- :class:`OffsetTracker`: commit only contiguous completed offsets per partition (arroyo-style).
- :class:`DlqPublisher` and :class:`DlqLimit`: the DLQ and the guard against a bad deploy that
  would send everything there.
- :func:`ensure_topics`: explicit partition counts, created idempotently.
- :func:`classify_kafka_error` and :func:`check_record_size`: the one place that decides whether a
  failed write can ever succeed (see "Kafka errors" below).

Kafka errors
------------
A failed write is one of three kinds (:class:`KafkaErrorKind`):

- ``RECORD``: this record can never be written (over ``message.max.bytes``, an invalid record).
  Retrying cannot help: the record goes to the DLQ (enrich) or the client gets a 4xx (ingest).
- ``DEPLOYMENT``: no record can be written until an operator acts (authorization, authentication,
  an invalid topic, an unsupported setting). Enrich sends the record to the DLQ at once (the
  :class:`DlqLimit` then stops a bridge whose every record fails); ingest answers 503, since the
  article itself is fine and a client should send it again later.
- ``RETRIABLE``: everything else (an outage, a leader election, a timeout). Retried, but never
  without bound.

The permanent kinds are explicit lists, not kafka-python's ``retriable`` attribute: that attribute
is False for the ``KafkaError`` base class and for outage errors such as ``BrokerNotAvailableError``
and ``CorruptRecordError`` (retriable in the Java client), so trusting it would send good records
to the DLQ during a broker restart. An unknown error is therefore retriable; the retry bound is
what stops it.

Sizes: producers refuse a record over :data:`~shared.limits.KAFKA_MESSAGE_MAX_BYTES`
(``max_request_size``); the broker and every topic Warta creates accept
:data:`BROKER_MESSAGE_MAX_BYTES`, a little more (see there).
"""

from __future__ import annotations

import enum
import hashlib
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.structs import OffsetAndMetadata

from shared.limits import KAFKA_MESSAGE_MAX_BYTES, encoded_size
from shared.schemas import DlqRecord, payload_text, utcnow
from shared.settings import CommonSettings
from shared.topics import TOPIC_SPECS, Stage, Topic

log = logging.getLogger(__name__)

# What a record batch adds around one record: the v2 batch header (61 bytes, including the 12-byte
# offset and length prefix) plus the most a record's own framing can take (21 bytes of varints and
# attributes). kafka-python counts both in the size it checks against ``max_request_size``
# (:func:`record_size`); a client that counts fewer bytes still stays under the broker's limit.
KAFKA_BATCH_OVERHEAD_BYTES = 61 + 21
# The broker's ``message.max.bytes`` and each Warta topic's ``max.message.bytes``. Kafka compares
# it with the whole record batch, so it sits one batch overhead above the producers' limit: a
# record that passed a producer's size check is never refused by the broker for its size.
BROKER_MESSAGE_MAX_BYTES = KAFKA_MESSAGE_MAX_BYTES + KAFKA_BATCH_OVERHEAD_BYTES


class KafkaErrorKind(enum.StrEnum):
    """What a failed write means; see the module docstring."""

    RETRIABLE = "retriable"
    RECORD = "record"
    DEPLOYMENT = "deployment"

    @property
    def permanent(self) -> bool:
        return self is not KafkaErrorKind.RETRIABLE


class RecordTooLarge(ValueError):
    """A record over the producer limit, found before sending it. ``str()`` names both sizes."""

    def __init__(self, size: int, limit: int = KAFKA_MESSAGE_MAX_BYTES, what: str = "record") -> None:
        super().__init__(
            f"the {what} is {size:,} bytes as a Kafka record, over the limit of {limit:,} bytes "
            "(KAFKA_MESSAGE_MAX_BYTES, the producers' max_request_size)"
        )
        self.size = size
        self.limit = limit


# This record can never be written, however often it is tried.
_RECORD_ERRORS: tuple[type[BaseException], ...] = (
    RecordTooLarge,
    kafka_errors.MessageSizeTooLargeError,  # the producer's own check, or the broker's (RecordTooLarge)
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidRecordError,
    kafka_errors.InvalidTimestampError,
)
# No record can be written until an operator changes something.
_DEPLOYMENT_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.AuthorizationError,  # topic, cluster, group, transactional id, delegation token
    kafka_errors.SaslAuthenticationFailedError,
    kafka_errors.UnsupportedSaslMechanismError,
    kafka_errors.IllegalSaslStateError,
    kafka_errors.InvalidTopicError,
    kafka_errors.InvalidRequiredAcksError,
    kafka_errors.UnsupportedVersionError,
    kafka_errors.UnsupportedForMessageFormatError,
    kafka_errors.UnsupportedCompressionTypeError,
    kafka_errors.UnsupportedCodecError,
    kafka_errors.KafkaConfigurationError,
    kafka_errors.IncompatibleBrokerVersion,
)


def classify_kafka_error(exc: BaseException) -> KafkaErrorKind:
    """The kind of a failed Kafka write. Pure; never raises. Anything not known to be permanent
    (including non-Kafka exceptions such as a time limit) is ``RETRIABLE``."""
    if isinstance(exc, _RECORD_ERRORS):
        return KafkaErrorKind.RECORD
    if isinstance(exc, _DEPLOYMENT_ERRORS):
        return KafkaErrorKind.DEPLOYMENT
    return KafkaErrorKind.RETRIABLE


def record_size(key: bytes | None, value: bytes | None) -> int:
    """The size a producer checks against ``max_request_size`` for this record: an upper bound of
    the record batch that carries it alone (kafka-python's own estimate)."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, []))


def check_record_size(key: bytes | None, value: bytes | None, what: str = "record") -> int:
    """Return :func:`record_size`, or raise :class:`RecordTooLarge` if a producer would refuse it
    (:data:`~shared.limits.KAFKA_MESSAGE_MAX_BYTES`). Cheap: arithmetic on the lengths."""
    size = record_size(key, value)
    if size > KAFKA_MESSAGE_MAX_BYTES:
        raise RecordTooLarge(size, KAFKA_MESSAGE_MAX_BYTES, what)
    return size


def make_producer(settings: CommonSettings, **overrides: Any) -> KafkaProducer:
    """A producer whose ``send(...).get()`` returns only after all in-sync replicas have the write."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "acks": "all",
        # Retries after a leader change or a lost response never write a record twice, nor out of
        # order (the broker drops a batch it already has from this producer and sequence number).
        "enable_idempotence": True,
        "linger_ms": 5,
        "retries": 10,
        "retry_backoff_ms": 200,
        "request_timeout_ms": 15_000,
        "max_block_ms": 15_000,
        # The one size limit (shared/limits.py): the broker accepts a little more, so a record
        # refused for its size is refused here, with the size, before it travels.
        "max_request_size": KAFKA_MESSAGE_MAX_BYTES,
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


def replication_configs(replication: int) -> dict[str, str]:
    """Topic configs for ``replication`` replicas: with three, an acks=all write is acknowledged
    once two replicas have it (``min.insync.replicas=2``), so one broker may die without losing an
    acknowledged record or refusing writes. With one, the broker's default."""
    if replication <= 1:
        return {}
    return {"min.insync.replicas": str(max(1, min(2, replication - 1)))}


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
                # Explicit, so a cluster whose default differs still takes Warta's largest record.
                topic_configs={
                    "retention.ms": str(spec.retention_ms),
                    "max.message.bytes": str(BROKER_MESSAGE_MAX_BYTES),
                    **replication_configs(replication),
                },
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
    """Writes :class:`DlqRecord` messages to a stage's DLQ topic and waits for the ack.

    A DLQ record always fits in Kafka: when the original payload would make it larger than
    ``max_record_bytes``, the payload is cut (at a character boundary) and the error text ends with
    ``[payload truncated: kept K of N bytes, sha256 <hex of all N bytes>]``. Such a record can no
    longer be replayed as is; the digest identifies the original. A non-payload part too large
    to fit (only a forged article id can be) is cut as well.
    """

    def __init__(
        self,
        settings: CommonSettings,
        stage: Stage,
        producer: KafkaProducer | None = None,
        max_record_bytes: int = KAFKA_MESSAGE_MAX_BYTES,
    ) -> None:
        self.stage = stage
        self.topic = settings.topic(stage.dlq)
        self.max_record_bytes = max_record_bytes
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
        """Write one DLQ record and wait for Kafka's ack (blocks up to ``timeout_s``). Raises
        KafkaError if Kafka did not acknowledge it; never fails because of the record's size."""
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
        record, key, value = fit_dlq_record(record, key, self.max_record_bytes)
        self._producer.send(self.topic, key=key, value=value).get(timeout=timeout_s)
        log.warning("sent to DLQ", extra={"article_id": article_id, "stage": self.stage.value, "error": error[:300]})
        return record

    def close(self) -> None:
        self._producer.close(timeout=5)


# Room left for JSON encoders that escape a few characters differently from orjson.
_DLQ_SLACK_BYTES = 1024


def truncate_encoded(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose JSON encoding (:func:`~shared.limits.encoded_size`)
    is at most ``limit`` bytes; ``text`` itself when it fits. Cuts between code points. Linear in
    ``len(text)``: JSON escapes each code point on its own, so sizes of pieces add up."""
    size = encoded_size(text)
    if size <= limit:
        return text
    lo, lo_size, hi = 0, 0, len(text)  # text[:lo] fits (lo_size bytes), text[:hi] does not
    guess = len(text) * limit // size  # right for text that escapes evenly
    while lo + 1 < hi:
        mid = guess if lo < guess < hi else (lo + hi) // 2
        guess = -1
        mid_size = lo_size + encoded_size(text[lo:mid])
        if mid_size <= limit:
            lo, lo_size = mid, mid_size
        else:
            hi = mid
    return text[:lo]


def fit_dlq_record(record: DlqRecord, key: bytes, limit: int) -> tuple[DlqRecord, bytes, bytes]:
    """``(record, key, value)`` with ``record_size(key, value) <= limit``: unchanged if it fits,
    else with the payload cut and its size and sha256 noted in ``error`` (see :class:`DlqPublisher`).
    Pure; never raises for a ``limit`` of a few KiB or more."""
    value = record.to_bytes()
    if record_size(key, value) <= limit:
        return record, key, value
    original = record.payload.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(original).hexdigest()
    if len(key) > 256:  # only a forged article id gets here; keep the key small and stable
        key = hashlib.sha256(key).hexdigest().encode()
    if record.article_id is not None and len(record.article_id) > 256:
        record = record.model_copy(update={"article_id": record.article_id[:256]})

    def note(kept_bytes: int) -> str:
        return f" [payload truncated: kept {kept_bytes:,} of {len(original):,} bytes, sha256 {digest}]"

    # Room is measured with the longest note (kept = all of it); the real note is never longer.
    widest = record.model_copy(update={"error": record.error + note(len(original)), "payload": ""})
    room = limit - record_size(key, widest.to_bytes())
    for slack in (_DLQ_SLACK_BYTES, 16 * _DLQ_SLACK_BYTES):
        if room - slack < 0:
            break
        kept = truncate_encoded(record.payload, room - slack)
        cut = record.model_copy(update={"error": record.error + note(_utf8_len(kept)), "payload": kept})
        value = cut.to_bytes()
        if record_size(key, value) <= limit:
            return cut, key, value
    raise ValueError(f"a DLQ record without its payload does not fit in {limit:,} bytes")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


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
    "BROKER_MESSAGE_MAX_BYTES",
    "DlqLimit",
    "DlqPublisher",
    "DlqRatioExceeded",
    "KafkaErrorKind",
    "OffsetTracker",
    "RecordTooLarge",
    "Topic",
    "check_record_size",
    "classify_kafka_error",
    "consumer_lag",
    "delete_topics",
    "ensure_topics",
    "fit_dlq_record",
    "make_consumer",
    "make_producer",
    "record_size",
    "truncate_encoded",
]
