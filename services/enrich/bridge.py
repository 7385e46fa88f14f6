"""The Kafka -> Celery bridge.

Consumes ``articles.raw`` and dispatches Celery tasks of up to ``task_batch_size`` records each
(what one poll returned, so a quiet stream gets tasks of one). An offset is committed only when the
task for it, and every task for the offsets below it, has reported that its output is acknowledged
by Kafka (the enriched record or a DLQ record). An article is in at most one task at a time: a later
record of an article in flight waits for it, which keeps per-article order.

Nothing is lost when Redis loses tasks: a task with no sign of life for ``redispatch_after_s``, or
every in-flight task when Redis restarts (its run id changes), is dispatched again from the
bridge's memory of the uncommitted records; if the bridge itself dies, the records are re-consumed
from the committed offsets. Duplicate work is harmless because every sink is keyed by the article id.

Re-dispatch never multiplies work. A task that is retrying (a Kafka outage, a failing record) is
alive, not lost: each retry writes a new RETRY state (it names the attempt), and the bridge counts
every change of that state as a sign of life, so a retry chain is not dispatched again however long
its bounded retries last. When the bridge does dispatch records again (no sign of life, or a Redis
restart), the new task gets a new id and the old id is marked superseded in Redis
(``EnrichSettings.superseded_key``) first: a retry of the old task that still runs somewhere sees
the mark and stops without writing, so at most one chain works on a record beyond an attempt that
was already running. The old task's result, if any, is ignored.

Backpressure: past ``max_in_flight`` tasks or ``max_queue_length`` queued in Redis the bridge pauses
its partitions (it keeps polling, so it stays in the group) and resumes below 80% of both.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import redis
from celery import Celery
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError

from services.enrich.settings import EnrichSettings
from shared.kafka import DlqLimit, DlqPublisher, OffsetTracker, consumer_lag, make_consumer, wait_for_topic
from shared.metrics import CELERY_QUEUE, CONSUMER_LAG, DLQ, IN_FLIGHT, MESSAGES, PAUSED
from shared.process import beat, freeze_startup_heap
from shared.schemas import MessageError, RawArticle, UnknownSchemaVersion, decode, payload_text
from shared.topics import Stage, Topic

log = logging.getLogger(__name__)
TASK_NAME = "warta.enrich_articles"
# Records taken from Kafka per poll: the most the Celery queue can overshoot its bound by.
POLL_BATCH = 200


@dataclass
class InFlight:
    tp: TopicPartition
    offset: int
    article_id: str
    payload: str
    dispatched_at: float = 0.0
    dispatches: int = 0
    task_id: str = ""


@dataclass
class _Waiting:
    records: deque[InFlight] = field(default_factory=deque)


class Bridge:
    def __init__(self, settings: EnrichSettings, app: Celery, consumer: KafkaConsumer | None = None) -> None:
        self.settings = settings
        self.app = app
        self.topic = settings.topic(Topic.ARTICLES_RAW)
        self.consumer = consumer or make_consumer(settings, "enrich-bridge", max_poll_records=POLL_BATCH)
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        self.queue_key = f"{settings.redis_prefix}{settings.queue}"
        self.dlq = DlqPublisher(settings, Stage.ENRICH)
        self.dlq_limit = DlqLimit(max_ratio=settings.dlq_max_ratio)
        self.tracker = OffsetTracker()
        self.in_flight: dict[str, InFlight] = {}  # article id -> the one record being enriched
        self.waiting: dict[str, deque[InFlight]] = {}  # same article, later offsets: dispatched in order
        self.tasks: dict[str, list[InFlight]] = {}  # Celery task id -> its records
        # Celery task id -> (hash of the last non-final state seen, when it changed): a sign of life.
        self._progress: dict[str, tuple[int, float]] = {}
        self._ready: list[InFlight] = []  # in flight, not dispatched yet (sent at the end of a step)
        self.paused = False
        self._redis_run_id: str | None = None
        self._last_commit = self._last_checks = self._last_lag = self._last_results = 0.0
        self._queue_length = 0
        # Tasks sent since the last LLEN: the queue length is read once a second, but a poll can
        # dispatch POLL_BATCH tasks every step, so backpressure counts them until the next read.
        self._sent_since_llen = 0
        self._revoked: set[TopicPartition] = set()  # revoked in a rebalance still in progress

    # --- lifecycle ---------------------------------------------------------------------------

    def run(self, stop: Any) -> None:
        """Loop until ``stop.is_set()``; then commit what is done and close. May raise
        DlqRatioExceeded (a bad deploy): the process exits without committing further."""
        wait_for_topic(self.consumer, self.topic, stop)
        self.consumer.subscribe([self.topic], listener=_Listener(self))
        freeze_startup_heap()
        log.info("bridge started", extra={"topic": self.topic})
        try:
            while not stop.is_set():
                self.step()
        finally:
            self._collect_results()
            self._commit(force=True)
            self.consumer.close(autocommit=False)
            self.dlq.close()
            log.info("bridge stopped")

    def step(self) -> None:
        now = time.monotonic()
        if now - self._last_checks >= 1.0:
            self._last_checks = now
            self._check_redis()
            self._redispatch_stale(now)
        if now - self._last_results >= self.settings.result_poll_interval_s:
            # Throttled: one MGET over every in-flight task, not one per poll of a busy topic.
            self._last_results = now
            self._collect_results()
        self._commit()
        self._backpressure()
        batch = self.consumer.poll(timeout_ms=100, max_records=POLL_BATCH, update_offsets=True)
        for tp, records in batch.items():
            for record in records:
                self._accept(tp, record.offset, record.value)
        self._dispatch_ready()
        if now - self._last_lag >= 5.0:
            self._last_lag = now
            for tp, lag in consumer_lag(self.consumer).items():
                CONSUMER_LAG.labels("bridge", str(tp.partition)).set(lag)
        IN_FLIGHT.labels("bridge").set(self.tracker.in_flight())
        beat(self.settings.health_file)

    # --- intake --------------------------------------------------------------------------------

    def _accept(self, tp: TopicPartition, offset: int, value: bytes | None) -> None:
        self.tracker.add(tp, offset)
        payload = payload_text(value)
        try:
            raw = decode(RawArticle, value or b"")
        except MessageError as exc:
            reason = "unknown_schema" if isinstance(exc, UnknownSchemaVersion) else "invalid"
            self.dlq.publish(reason=reason, error=str(exc), payload=payload, source_topic=tp.topic,
                             partition=tp.partition, offset=offset)  # fmt: skip
            DLQ.labels("enrich", reason).inc()
            self._complete(tp, offset, to_dlq=True)
            return
        item = InFlight(tp, offset, raw.id, payload)
        if raw.id in self.in_flight:
            # Keep per-article order and never have one article in two tasks.
            self.waiting.setdefault(raw.id, deque()).append(item)
            return
        self.in_flight[raw.id] = item
        self._ready.append(item)

    def _dispatch_ready(self) -> None:
        # Skip records whose partition was revoked since they were accepted.
        ready, self._ready = [i for i in self._ready if self.in_flight.get(i.article_id) is i], []
        size = self.settings.task_batch_size
        for k in range(0, len(ready), size):
            self._dispatch(ready[k : k + size])

    def _dispatch(self, items: list[InFlight]) -> None:
        task_id = uuid.uuid4().hex
        self.tasks[task_id] = items
        for item in items:
            item.task_id = task_id
        try:
            self.app.send_task(
                TASK_NAME,
                args=[items[0].tp.topic, [[i.payload, i.tp.partition, i.offset] for i in items]],
                task_id=task_id,
                queue=self.settings.queue,
            )
        except Exception as exc:  # Redis unreachable: the stale check dispatches it again within 1 s
            for item in items:
                item.dispatched_at = float("-inf")
            log.warning("dispatch failed", extra={"count": len(items), "error": repr(exc)})
            return
        now = time.monotonic()
        for item in items:
            item.dispatched_at = now
            item.dispatches += 1
            MESSAGES.labels("bridge", "dispatched" if item.dispatches == 1 else "redispatched").inc()
        self._sent_since_llen += 1

    # --- completion ----------------------------------------------------------------------------

    def _collect_results(self) -> None:
        if not self.tasks:
            return
        ids = list(self.tasks)
        keys = [self.app.backend.get_key_for_task(i) for i in ids]
        try:
            values = self.redis.mget(keys)
        except redis.RedisError as exc:
            log.warning("cannot read task results", extra={"error": repr(exc)})
            return
        read = []
        now = time.monotonic()
        for task_id, key, raw_meta in zip(ids, keys, values, strict=True):
            meta = json.loads(raw_meta) if raw_meta is not None else {}
            status = meta.get("status")
            if status not in ("SUCCESS", "FAILURE"):
                # Not done. A RETRY state that changed since the last look is a retry chain at work.
                if raw_meta is not None:
                    seen = hash(raw_meta)
                    if self._progress.get(task_id, (None, 0.0))[0] != seen:
                        self._progress[task_id] = (seen, now)
                continue
            read.append(key)
            items = [i for i in self._pop_task(task_id) if self._current(i, task_id)]
            if status == "SUCCESS":
                outcomes = {(r["partition"], r["offset"]): r["status"] for r in meta["result"]["items"]}
                unanswered = []
                for item in items:
                    outcome = outcomes.get((item.tp.partition, item.offset))
                    if outcome is None:
                        unanswered.append(item)  # never expected; dispatched again rather than lost
                    else:
                        self._finish(item, to_dlq=outcome == "dlq")
                if unanswered:
                    log.warning("task result misses records: re-dispatching", extra={"count": len(unanswered)})
                    self._dispatch(unanswered)
            elif len(items) > 1:
                # Only a hard time limit or a crash in the task's own error handling gets here, and
                # it may be one record's fault: each record is tried again in a task of its own.
                for item in items:
                    self._dispatch([item])
            else:
                for item in items:
                    result = meta.get("result") or {}
                    self.dlq.publish(reason="failed", error=str(result.get("exc_message") or result)[:2000],
                                     payload=item.payload, source_topic=item.tp.topic, partition=item.tp.partition,
                                     offset=item.offset, article_id=item.article_id, attempts=item.dispatches)  # fmt: skip
                    DLQ.labels("enrich", "failed").inc()
                    self._finish(item, to_dlq=True)
        if read:
            try:
                self.redis.delete(*read)
            except redis.RedisError:
                pass  # they expire anyway (result_expires)

    def _pop_task(self, task_id: str) -> list[InFlight]:
        self._progress.pop(task_id, None)
        return self.tasks.pop(task_id)

    def _current(self, item: InFlight, task_id: str) -> bool:
        """Is this task still the one responsible for the record? (Not if the record was dispatched
        again since, or its partition was revoked.)"""
        return self.in_flight.get(item.article_id) is item and item.task_id == task_id

    def _finish(self, item: InFlight, to_dlq: bool) -> None:
        del self.in_flight[item.article_id]
        self._complete(item.tp, item.offset, to_dlq)
        queue = self.waiting.get(item.article_id)
        if queue:
            successor = queue.popleft()
            if not queue:
                del self.waiting[item.article_id]
            self.in_flight[successor.article_id] = successor
            self._ready.append(successor)

    def _complete(self, tp: TopicPartition, offset: int, to_dlq: bool) -> None:
        self.tracker.complete(tp, offset)
        MESSAGES.labels("bridge", "dlq" if to_dlq else "done").inc()
        self.dlq_limit.record(to_dlq)

    def _commit(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_commit < self.settings.commit_interval_s:
            return
        self._last_commit = now
        offsets = self.tracker.committable()
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The partitions moved to another member, which re-processes from the last commit.
            log.warning("commit failed", extra={"error": repr(exc)})

    # --- failure recovery ----------------------------------------------------------------------

    def _check_redis(self) -> None:
        try:
            info = self.redis.info("server")
            self._queue_length = int(self.redis.llen(self.queue_key))
            self._sent_since_llen = 0
        except redis.RedisError as exc:
            log.warning("redis unavailable", extra={"error": repr(exc)})
            return
        CELERY_QUEUE.set(self._queue_length)
        run_id = str(info.get("run_id"))
        if self._redis_run_id is not None and run_id != self._redis_run_id:
            log.warning("redis restarted: re-dispatching every in-flight task", extra={"count": len(self.tasks)})
            for task_id in list(self.tasks):
                self._redispatch(task_id)
        self._redis_run_id = run_id

    def _redispatch_stale(self, now: float) -> None:
        for task_id, items in list(self.tasks.items()):
            alive_at = max(items[0].dispatched_at, self._progress.get(task_id, (None, float("-inf")))[1])
            if now - alive_at > self.settings.redispatch_after_s:
                log.warning("task result overdue: re-dispatching", extra={"count": len(items)})
                self._redispatch(task_id)

    def _redispatch(self, task_id: str) -> None:
        """Dispatch the task's records again under a new id, after marking the old id superseded
        so that a retry chain of it still running stops (see the module docstring)."""
        items = [i for i in self._pop_task(task_id) if self._current(i, task_id)]
        if not items:
            return
        try:
            self.redis.set(self.settings.superseded_key(task_id), 1, ex=self.settings.superseded_ttl_s)
        except redis.RedisError as exc:  # best effort: the old chain's result is ignored anyway
            log.warning("cannot mark a task superseded", extra={"task_id": task_id, "error": repr(exc)})
        self._dispatch(items)

    def _backpressure(self) -> None:
        in_flight = len(self.in_flight) + sum(len(q) for q in self.waiting.values())
        queued = self._queue_length + self._sent_since_llen  # an upper bound until the next LLEN
        full = in_flight >= self.settings.max_in_flight or queued >= self.settings.max_queue_length
        relaxed = in_flight < 0.8 * self.settings.max_in_flight and queued < 0.8 * self.settings.max_queue_length
        assignment = self.consumer.assignment()
        if full and not self.paused and assignment:
            self.consumer.pause(*assignment)
            self.paused = True
            log.info("paused: downstream is full", extra={"count": in_flight})
        elif self.paused and relaxed:
            self.consumer.resume(*assignment)
            self.paused = False
            log.info("resumed")
        PAUSED.labels("bridge").set(1 if self.paused else 0)

    # --- rebalancing ---------------------------------------------------------------------------

    def on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Called inside poll(), before the group rejoins: commit what is done so the next owner
        # re-dispatches as little as possible (bounded, best effort: whatever this misses is
        # dispatched again, and sinks are keyed by article id). State is kept until the new
        # assignment is known: kafka-python keeps the fetch position of a partition that is
        # assigned again, so forgetting its in-flight records would let later commits skip them.
        self._collect_results()
        offsets = self.tracker.committable()
        if offsets:
            try:
                self.consumer.commit(offsets, timeout_ms=5000)
            except Exception as exc:  # best effort, see above
                log.warning("commit on revocation failed", extra={"error": repr(exc)})
        self._revoked |= revoked

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        lost, self._revoked = self._revoked - assigned, set()
        if lost:
            self._forget(lost)
        if self.paused and assigned:
            self.consumer.pause(*assigned)

    def _forget(self, lost: set[TopicPartition]) -> None:
        """Drop the state of partitions another member owns now; it re-reads from the last commit."""
        self.tracker.forget(lost)
        for article_id, item in list(self.in_flight.items()):
            if item.tp in lost:
                del self.in_flight[article_id]
        for article_id, queue in list(self.waiting.items()):
            kept = deque(i for i in queue if i.tp not in lost)
            if kept:
                self.waiting[article_id] = kept
            else:
                del self.waiting[article_id]


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python is untyped
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    def on_partitions_revoked(self, revoked):  # type: ignore[no-untyped-def]
        self.bridge.on_revoked(set(revoked))

    def on_partitions_assigned(self, assigned):  # type: ignore[no-untyped-def]
        self.bridge.on_assigned(set(assigned))
