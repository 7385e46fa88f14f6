"""StreamProcessor: the one consumer loop (arroyo ``StreamProcessor``) on kafka-python.

It owns everything a consumer does besides its work: waiting for the topic, subscribing, polling
(bounded), decoding with the topic registry's schema, the DLQ for undecodable records and the DLQ
limit, backpressure by pausing, commit-after-work through an :class:`~shared.kafka.OffsetTracker`,
the rebalance callbacks, the health beat and the metrics. The work is a
:class:`~shared.consumer.strategy.Strategy`.

Contract of one step (:meth:`StreamProcessor.step`):

1. ``strategy.poll()``: the strategy reports what finished.
2. Held messages (rejected earlier) are submitted again, in order. While the strategy rejects,
   every assigned partition is paused (after ``pause_after_s``); once it accepts, they resume.
3. ``consumer.poll()``, bounded by ``max_poll_records`` and a timeout. Each record is registered
   in the offset tracker, then decoded: an undecodable one goes to the DLQ (reason from
   :func:`~shared.consumer.dlq.dlq_reason`) and is completed at once; the rest are submitted.
4. A throttled commit of the offsets whose work, and that of every offset below, is reported.
5. Metrics and the health beat.

Delivery: at least once. An offset is committed only after the strategy reported it and every
lower offset of its partition (:class:`~shared.consumer.strategy.Outcomes`). Commits are forced on
shutdown and when partitions are revoked; a failed commit is retried at the next one.

Rebalances (kafka-python's eager protocol): on revocation the strategy is polled once and what is
done is committed (best effort, bounded by ``revoke_commit_timeout_ms``). State is kept until the
new assignment is known; then the partitions lost are forgotten by the tracker, the held messages
and the strategy. kafka-python 2.3 restarts every assigned partition, kept ones included, from its
committed offset, so records still in flight here are delivered again: the processor drops those
re-deliveries (it knows the next offset it expects per partition) instead of registering them twice.
Nothing is committed between a revocation and the next assignment.

A rebalance must finish. kafka-python 2.3.3 starts one when its view of the topic's partitions
differs from the one the group was assigned with, but only while that difference lasts: when the
next metadata response restores the view before the JoinGroup/SyncGroup exchange completes, it
never applies the new assignment (no ``on_partitions_assigned``) while fetching on as before, so
the processor would never commit again (the Java client's KAFKA-9815). The revocation callback
therefore asks the coordinator for a rejoin, which keeps the rebalance going until it completes.
And a rebalance that has not assigned partitions ``rebalance_timeout_s`` after its revocation is
recovered: first by requesting a rejoin, then, every further ``rebalance_timeout_s``, by closing
the Kafka client and subscribing a new one from ``consumer_factory`` (without one the processor
raises :class:`RebalanceStuck`, a fatal error). Each recovery is logged and counted
(``warta_consumer_rebalance_recoveries_total``). Delivery stays at least once: the partitions are
treated as revoked throughout, and the new client's re-deliveries are dropped like a rebalance's.

Metrics carry one stage name, the DLQ publisher's (``enrich`` or ``search``) unless the consumer
names its own (``stage``): the DLQ counter, the messages counter, the lag, the in-flight and the
paused gauges all agree. Two consumers of one stage's DLQ (the indexer and the alerts consumer both
write ``search.dlq``) thus keep their lag and throughput apart.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Generic, Protocol, cast

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from shared.consumer.coordinator import backoff_coordinator_lookups
from shared.consumer.dlq import DlqReason, dlq_reason
from shared.consumer.message import Message
from shared.consumer.strategy import MessageRejected, Outcomes, Strategy, T
from shared.kafka import DlqLimit, DlqPublisher, OffsetTracker, consumer_lag, wait_for_topic
from shared.metrics import CONSUMER_LAG, DLQ, IN_FLIGHT, MESSAGES, PAUSED, REBALANCE_RECOVERIES
from shared.process import beat, freeze_startup_heap
from shared.schemas import MODELS, MessageError, decode
from shared.settings import CommonSettings
from shared.topics import Topic

log = logging.getLogger(__name__)

LAG_INTERVAL_S = 5.0
CLOSE_TIMEOUT_MS = 5_000  # closing a client replaced after a stuck rebalance


class RebalanceStuck(Exception):
    """A group rebalance did not assign partitions in time and the processor cannot re-create its
    Kafka client (no ``consumer_factory``). Fatal: the process restarts from the committed offsets."""


class Stop(Protocol):
    """What the loop needs of a stop signal (:class:`shared.process.StopSignal`, ``threading.Event``)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


class Record(Protocol):
    """The fields of a kafka-python ``ConsumerRecord`` the processor reads."""

    @property
    def offset(self) -> int: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


class Consumer(Protocol):
    """The subset of ``kafka.KafkaConsumer`` the processor uses (an in-memory consumer in tests).
    :func:`shared.kafka.consumer_lag` also calls ``position`` and the fetcher's ``end_offsets``."""

    def subscribe(self, topics: list[str], *, listener: Any) -> None: ...

    def partitions_for_topic(self, topic: str) -> set[int] | None: ...

    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[TopicPartition, Sequence[Record]]: ...

    def assignment(self) -> set[TopicPartition]: ...

    def pause(self, *partitions: TopicPartition) -> None: ...

    def resume(self, *partitions: TopicPartition) -> None: ...

    def paused(self) -> set[TopicPartition]: ...

    def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata], timeout_ms: int | None = None) -> None: ...

    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None: ...


class StreamProcessor(Generic[T]):
    """Consume ``topic`` and hand its decoded messages to the strategy ``strategy_factory`` builds.

    The processor is the strategy's :class:`~shared.consumer.strategy.Outcomes`: the factory gets
    it as the handle to report through. Everything runs on the thread that calls
    :meth:`subscribe`/:meth:`run`; only :meth:`wakeup` may be called from another. :meth:`run`
    takes ownership of ``consumer`` and ``dlq`` and closes them. The stage named in metrics is
    ``stage``, by default the DLQ publisher's.

    Parameters besides the obvious:

    - ``dlq_limit``: defaults to ``DlqLimit(max_ratio=settings.dlq_max_ratio)``.
    - ``commit_interval_s``: commit throttle; 0 commits in every step that has something new.
    - ``max_poll_records``: records per poll (default: the consumer's own ``max_poll_records``);
      it also bounds the messages held while the strategy rejects.
    - ``poll_timeout_ms``: the longest an idle poll blocks.
    - ``backpressure_poll_ms``: the poll (or, before pausing, the wait) while the strategy rejects.
    - ``pause_after_s``: how long a rejection is waited out before pausing. Pausing is not free
      in kafka-python: it drops the data it prefetched for the partition, re-fetched on resume,
      so a consumer that is briefly full at every batch (the indexer waiting for its bulk) is
      better off waiting; the wait ends as soon as the strategy calls :meth:`wakeup`. Nothing is
      polled meanwhile, so rebalance callbacks wait too: keep it to a second or two. 0 (the
      default) pauses at the first rejection.
    - ``join_timeout_s``: bounds the strategy's join at shutdown.
    - ``commit_timeout_ms`` / ``revoke_commit_timeout_ms``: bound one commit (kafka-python's
      default is to retry until it succeeds), in normal running and in the revocation callback.
    - ``consumer_factory``: builds a replacement for ``consumer`` (same settings) when a rebalance
      is stuck; see the module docstring. ``rebalance_timeout_s`` (default
      ``settings.rebalance_timeout_s``): how long a rebalance may take before it is recovered.
    """

    def __init__(
        self,
        consumer: Consumer,
        topic: Topic,
        settings: CommonSettings,
        strategy_factory: Callable[[Outcomes], Strategy[Message[T]]],
        dlq: DlqPublisher,
        *,
        stage: str | None = None,
        dlq_limit: DlqLimit | None = None,
        commit_interval_s: float = 1.0,
        max_poll_records: int | None = None,
        poll_timeout_ms: int = 100,
        backpressure_poll_ms: int = 10,
        pause_after_s: float = 0.0,
        join_timeout_s: float = 30.0,
        commit_timeout_ms: int = 10_000,
        revoke_commit_timeout_ms: int = 5_000,
        consumer_factory: Callable[[], Consumer] | None = None,
        rebalance_timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if topic.value not in MODELS:
            raise ValueError(f"no schema registered for topic {topic.value}")
        self._consumer = consumer
        backoff_coordinator_lookups(consumer)  # kafka-python retries a dead coordinator in a tight loop
        self._topic = settings.topic(topic)
        self._model: Any = MODELS[topic.value]  # decode() is typed by model; T is the caller's promise
        self._settings = settings
        self._dlq = dlq
        self._stage = stage or dlq.stage.value
        self._dlq_limit = dlq_limit if dlq_limit is not None else DlqLimit(max_ratio=settings.dlq_max_ratio)
        self._commit_interval_s = commit_interval_s
        self._max_poll_records = max_poll_records
        self._poll_timeout_ms = poll_timeout_ms
        self._backpressure_poll_ms = backpressure_poll_ms
        self._pause_after_s = pause_after_s
        self._join_timeout_s = join_timeout_s
        self._commit_timeout_ms = commit_timeout_ms
        self._revoke_commit_timeout_ms = revoke_commit_timeout_ms
        self._consumer_factory = consumer_factory
        self._rebalance_timeout_s = (
            rebalance_timeout_s if rebalance_timeout_s is not None else settings.rebalance_timeout_s
        )
        self._clock = clock

        self._tracker = OffsetTracker()
        self._expected: dict[TopicPartition, int] = {}  # next offset per owned partition
        self._uncommitted: dict[TopicPartition, OffsetAndMetadata] = {}  # taken from the tracker, not committed yet
        self._held: deque[Message[T]] = deque()  # polled, not accepted by the strategy yet (at most one poll's worth)
        self._paused = False
        self._rejected_since: float | None = None
        self._revoked: set[TopicPartition] = set()  # revoked in a rebalance still in progress
        self._rebalance_since: float | None = None  # when the rebalance in progress (or its last recovery) began
        self._recoveries = 0  # of the rebalance in progress
        self._callback_error: Exception | None = None
        self._progress = threading.Event()
        self._owner: int | None = None
        self._last_commit = clock()
        self._last_lag = float("-inf")
        self._closed = False
        self._strategy = strategy_factory(self)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def stage(self) -> str:
        return self._stage

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def dlq_limit(self) -> DlqLimit:
        return self._dlq_limit

    def run(self, stop: Stop) -> None:
        """Subscribe, loop until ``stop.is_set()``, then shut down gracefully (:meth:`close`).

        Blocks. Raises what a step raises (:class:`~shared.kafka.DlqRatioExceeded`, a strategy's
        fatal error, a DLQ write failure) and TimeoutError if the topic never appears; before
        raising it closes the strategy without joining it, commits what was reported done and
        closes the consumer and the DLQ producer.
        """
        try:
            if self.subscribe(stop):
                freeze_startup_heap()
                while not stop.is_set():
                    self.step()
        except BaseException:
            self._abandon()
            raise
        self.close()

    def subscribe(self, stop: Stop) -> bool:
        """Wait until the topic exists (up to 120 s; TimeoutError after), then subscribe with the
        rebalance listener. Binds the processor to the calling thread. False if ``stop`` was set."""
        self._owner = threading.get_ident()
        wait_for_topic(self._consumer, self._topic, stop)
        if stop.is_set():
            return False
        self._consumer.subscribe([self._topic], listener=_Listener(self, self._consumer))
        log.info("consumer started", extra={"topic": self._topic, "stage": self._stage})
        return True

    def close(self) -> None:
        """Graceful shutdown: join the strategy (up to ``join_timeout_s``), close it, commit every
        reported offset (forced), close the consumer and the DLQ producer. Blocks; idempotent.
        Raises what the strategy's join raises, after committing and closing."""
        if self._closed:
            return
        self._closed = True
        try:
            try:
                self._strategy.join(self._join_timeout_s)
            finally:
                self._strategy.close()
                self._commit_now(self._commit_timeout_ms)
        finally:
            self._close_clients()

    def _abandon(self) -> None:
        """Shutdown after an error: the strategy's unfinished work is dropped (re-delivered later);
        what it reported is durable, so it is still committed, best effort."""
        if self._closed:
            return
        self._closed = True
        try:
            self._strategy.close()
            self._commit_now(self._commit_timeout_ms)
        except Exception:
            log.exception("cleanup after an error failed")
        finally:
            self._close_clients()

    def _close_clients(self) -> None:
        try:
            self._consumer.close(autocommit=False)
        finally:
            self._dlq.close()
            log.info("consumer stopped", extra={"topic": self._topic, "stage": self._stage})

    # --- the loop ----------------------------------------------------------------------------

    def step(self) -> None:
        """One iteration (see the module docstring). Blocks at most about ``poll_timeout_ms``
        plus a commit (``commit_timeout_ms``), a lag measurement (every 5 s, bounded) and the
        DLQ writes of undecodable records. Raises fatal errors only."""
        self._progress.clear()  # before polling the strategy, so a wakeup after it is not lost
        self._strategy.poll()
        self._submit_held()
        if self._held and not self._paused:
            # Rejected, not paused yet: wait for the strategy's progress rather than poll records
            # nobody can take. Bounded, and cut short by wakeup().
            self._progress.wait(self._backpressure_poll_ms / 1000)
        else:
            timeout_ms = self._backpressure_poll_ms if self._held else self._poll_timeout_ms
            records = self._consumer.poll(timeout_ms=timeout_ms, max_records=self._max_poll_records)
            self._raise_callback_error()
            if records:
                self._intake(records)
                self._submit_held()
        self._check_rebalance()
        self._commit()
        self._report()
        beat(self._settings.health_file)

    def _intake(self, records: Mapping[TopicPartition, Sequence[Record]]) -> None:
        for tp, batch in records.items():
            for record in batch:
                if record.offset < self._expected.get(tp, -1):
                    continue  # re-delivered after a rebalance; the first delivery is still in flight here
                self._expected[tp] = record.offset + 1
                self._tracker.add(tp, record.offset)
                try:
                    payload = decode(self._model, record.value or b"")
                except MessageError as exc:
                    self._publish(tp, record.offset, record.value, dlq_reason(exc), str(exc), None, 1)
                    continue
                self._held.append(Message(tp, record.offset, record.key, record.value, cast(T, payload)))

    def _submit_held(self) -> None:
        while self._held:
            try:
                self._strategy.submit(self._held[0])
            except MessageRejected:
                now = self._clock()
                if self._rejected_since is None:
                    self._rejected_since = now
                if not self._paused and now - self._rejected_since >= self._pause_after_s:
                    self._pause()
                return
            self._held.popleft()
        self._rejected_since = None
        if self._paused:
            self._resume()

    def _pause(self) -> None:
        assigned = self._consumer.assignment()
        if assigned:
            self._consumer.pause(*assigned)
        self._paused = True
        PAUSED.labels(self._stage).set(1)
        log.info("paused: the strategy is full", extra={"stage": self._stage, "count": len(self._held)})

    def _resume(self) -> None:
        paused = self._consumer.paused()
        if paused:
            self._consumer.resume(*paused)
        self._paused = False
        PAUSED.labels(self._stage).set(0)
        log.info("resumed", extra={"stage": self._stage})

    def _report(self) -> None:
        IN_FLIGHT.labels(self._stage).set(self._tracker.in_flight())
        now = self._clock()
        if now - self._last_lag >= LAG_INTERVAL_S:
            self._last_lag = now
            for tp, lag in consumer_lag(self._consumer).items():
                CONSUMER_LAG.labels(self._stage, str(tp.partition)).set(lag)

    # --- outcomes (called by the strategy, on this thread) -----------------------------------

    def done(self, message: Message[Any], outcome: str = "done", *, to_dlq: bool = False) -> None:
        self._check_thread()
        if message.partition not in self._expected:
            return  # a partition this consumer lost: its new owner re-reads it
        self._tracker.complete(message.partition, message.offset)
        MESSAGES.labels(self._stage, outcome).inc()
        self._dlq_limit.record(to_dlq)

    def dlq(self, message: Message[Any], reason: DlqReason, error: str, *, attempts: int = 1) -> None:
        self._check_thread()
        if message.partition not in self._expected:
            return
        self._publish(message.partition, message.offset, message.value, reason, error, message.article_id, attempts)

    def wakeup(self) -> None:
        self._progress.set()

    def _publish(
        self,
        tp: TopicPartition,
        offset: int,
        value: bytes | None,
        reason: DlqReason,
        error: str,
        article_id: str | None,
        attempts: int,
    ) -> None:
        # The limit first: when it trips, the record is neither published nor committed, so it is
        # consumed again once the bad deploy is fixed.
        self._dlq_limit.record(True)
        self._dlq.publish(reason=reason, error=error, payload=value, source_topic=tp.topic, partition=tp.partition,
                          offset=offset, article_id=article_id, attempts=attempts)  # fmt: skip
        DLQ.labels(self._stage, reason).inc()
        MESSAGES.labels(self._stage, "dlq").inc()
        self._tracker.complete(tp, offset)

    def _check_thread(self) -> None:
        if self._owner is not None and threading.get_ident() != self._owner:
            raise RuntimeError("outcomes must be reported on the consumer thread (from the strategy's poll)")

    # --- commits -----------------------------------------------------------------------------

    def _commit(self) -> None:
        if self._revoked:
            return  # mid-rebalance: the revocation committed; the generation is changing
        now = self._clock()
        if now - self._last_commit < self._commit_interval_s:
            return
        self._last_commit = now
        self._commit_now(self._commit_timeout_ms)

    def _commit_now(self, timeout_ms: int) -> None:
        """Commit everything reported and not committed yet. A failure is logged and the offsets are
        kept for the next commit (the tracker hands each position out only once)."""
        self._uncommitted.update(self._tracker.committable())
        if not self._uncommitted:
            return
        offsets = dict(self._uncommitted)
        try:
            self._consumer.commit(offsets, timeout_ms=timeout_ms)
        except KafkaError as exc:
            # E.g. the group is rebalancing; partitions that move are re-read by their next owner.
            log.warning("commit failed; retried at the next commit", extra={"error": repr(exc)})
            return
        self._uncommitted.clear()

    # --- rebalancing (called inside consumer.poll) ---------------------------------------------

    def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Make kafka-python finish this rebalance even if the metadata difference that started it
        # is gone before the join completes (the module docstring). The coordinator clears the
        # request when the join completes, so it causes no extra rebalance.
        _request_rejoin(self._consumer)
        if self._rebalance_since is None:
            self._rebalance_since = self._clock()
        if not revoked:
            return  # the first join of the group
        self._revoked |= revoked
        # Report what finished and commit it, so the next owner redoes as little as possible.
        self._strategy.poll()
        self._commit_now(self._revoke_commit_timeout_ms)

    def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        lost, self._revoked = self._revoked - assigned, set()
        self._rebalance_since, self._recoveries = None, 0
        if lost:
            self._forget(lost)
        if self._paused and assigned:
            self._consumer.pause(*assigned)  # a new assignment starts unpaused
        log.info("partitions assigned", extra={"stage": self._stage, "count": len(assigned)})

    def _check_rebalance(self) -> None:
        """Recover a rebalance that has not assigned partitions within ``rebalance_timeout_s``."""
        if self._rebalance_since is None or self._clock() - self._rebalance_since < self._rebalance_timeout_s:
            return
        self._rebalance_since = self._clock()  # the next recovery, if needed, one timeout later
        self._recoveries += 1
        extra = {"stage": self._stage, "count": len(self._revoked), "attempt": self._recoveries}
        if self._recoveries == 1 and _request_rejoin(self._consumer):
            action = "rejoin"
        elif self._consumer_factory is not None:
            action = "recreate"
        else:
            REBALANCE_RECOVERIES.labels(self._stage, "stop").inc()
            log.error("rebalance stuck; no way to re-create the consumer: stopping", extra=extra)
            raise RebalanceStuck(f"no partitions assigned {self._rebalance_timeout_s:g} s after a rebalance began")
        REBALANCE_RECOVERIES.labels(self._stage, action).inc()
        log.warning(f"rebalance stuck: recovering ({action})", extra=extra)
        if action == "recreate":
            self._recreate_consumer()

    def _recreate_consumer(self) -> None:
        """Replace the Kafka client: build a new one, let the old one commit what is done (best
        effort) and leave the group, then subscribe the new one (it joins as a new member). A
        failure to build the new one is logged and retried at the next recovery."""
        assert self._consumer_factory is not None
        try:
            consumer = self._consumer_factory()
        except Exception:
            log.exception("re-creating the consumer failed; retried later", extra={"stage": self._stage})
            return
        try:
            self._commit_now(self._revoke_commit_timeout_ms)  # a failure is logged; the offsets are kept
            self._consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)
        except Exception:
            log.exception("closing the replaced consumer failed", extra={"stage": self._stage})
        # The new client starts unpaused; _on_assigned pauses what it gets while the strategy is full.
        self._consumer = consumer
        backoff_coordinator_lookups(consumer)
        consumer.subscribe([self._topic], listener=_Listener(self, consumer))

    def _forget(self, lost: Collection[TopicPartition]) -> None:
        self._tracker.forget(lost)
        for tp in lost:
            self._expected.pop(tp, None)
            self._uncommitted.pop(tp, None)
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self._stage, str(tp.partition))
        self._held = deque(m for m in self._held if m.partition not in lost)
        self._strategy.forget(lost)
        log.info("forgot lost partitions", extra={"stage": self._stage, "count": len(lost)})

    def _raise_callback_error(self) -> None:
        if self._callback_error is not None:
            exc, self._callback_error = self._callback_error, None
            raise exc

    def _callback(self, callback: Callable[[set[TopicPartition]], None], partitions: set[TopicPartition]) -> None:
        # kafka-python logs and swallows a listener's exceptions; keep the first for step() to raise.
        try:
            callback(partitions)
        except Exception as exc:
            log.exception("rebalance callback failed")
            if self._callback_error is None:
                self._callback_error = exc


def _request_rejoin(consumer: Consumer) -> bool:
    """Ask a kafka-python consumer's group coordinator to (re)join the group at the next poll. False
    for a consumer without one (an in-memory consumer, a consumer without a group)."""
    coordinator = getattr(consumer, "_coordinator", None)
    request_rejoin = getattr(coordinator, "request_rejoin", None)
    if request_rejoin is None or getattr(coordinator, "group_id", None) is None:
        return False
    request_rejoin()
    return True


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python is untyped
    def __init__(self, processor: StreamProcessor[Any], consumer: Consumer) -> None:
        self._processor = processor
        self._consumer = consumer

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        if self._consumer is self._processor._consumer:  # not a client replaced after a stuck rebalance
            self._processor._callback(self._processor._on_revoked, set(revoked))

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        if self._consumer is self._processor._consumer:
            self._processor._callback(self._processor._on_assigned, set(assigned))
