"""The Kafka -> Celery bridge: the enrich stage's strategy on the consumer runtime.

:class:`EnrichDispatch` takes the decoded ``articles.raw`` messages that
:class:`~shared.consumer.StreamProcessor` submits (the runtime polls, sends undecodable records to
the DLQ, pauses, commits and follows rebalances) and hands them to Celery in tasks of up to
``task_batch_size`` records: what arrived since the last dispatch, so a quiet stream gets tasks of
one. A message is reported done only when its task answered that Kafka acknowledged the message's
output (the enriched article or a DLQ record); the runtime commits an offset once it and every
offset below it are reported. An article is in at most one task at a time: a later record of an
article in flight waits for it, which keeps per-article order.

Backpressure: :meth:`EnrichDispatch.submit` raises ``MessageRejected`` (the runtime pauses the
partitions) once ``max_in_flight`` records are held or ``max_queue_length`` tasks are queued in
Redis, counting the tasks sent or about to be sent since the queue length was last read (once a
second); it accepts again below 80% of both.

Results are read through Celery's result backend: one ``mget`` of the result keys of every task in
flight per ``result_poll_interval_s``, decoded by the backend (``decode_result``), never waiting.
The bridge keeps a Redis client of its own for what Celery has no API for: the Redis ``run_id``, the
length of the queue (kombu's list ``<redis_prefix><queue>``) and the superseded mark.

How lost and failed tasks are recovered is described once, in ``protocol.py``.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery, states
from kafka import TopicPartition
from pydantic import ValidationError

from services.enrich.protocol import TASK_NAME, EnrichBatch, EnrichResult, RawRecord
from services.enrich.settings import EnrichSettings
from shared.consumer import Message, MessageRejected, Outcomes, Strategy
from shared.metrics import CELERY_QUEUE, MESSAGES
from shared.redis_clients import redis_client as connect_redis
from shared.schemas import RawArticle
from shared.topics import Stage

log = logging.getLogger(__name__)

# Records taken from Kafka per poll (the runtime's ``max_poll_records``), and so the most records
# the runtime holds while the bridge rejects them.
POLL_BATCH = 200
# Backpressure lifts below this share of both bounds.
RESUME_RATIO = 0.8
CHECK_INTERVAL_S = 1.0  # Redis run id, queue length, overdue tasks
STAGE = Stage.ENRICH.value


@dataclass(eq=False)
class _Record:
    message: Message[RawArticle]
    task_id: str = ""
    dispatches: int = 0

    @property
    def article_id(self) -> str:
        return self.message.payload.id


@dataclass(eq=False)
class _Task:
    records: list[_Record]
    alive_at: float  # when it was sent or last showed a sign of life; -inf: overdue now
    state: str | None = None  # its last unfinished state (a RETRY names its attempt)


@dataclass
class _Queue:
    """The Celery queue as the bridge last saw it."""

    length: int = 0  # LLEN at the last check
    sent_since: int = 0  # tasks sent since then
    run_id: str | None = None


class EnrichDispatch(Strategy[Message[RawArticle]]):
    """Dispatch raw articles to Celery and report each once its task answered for it.

    Every method runs on the consumer thread and none blocks for long: Redis calls are bounded by
    the clients' socket timeouts, a dispatch by Celery's publish retry policy, and reporting a
    message to the DLQ by the DLQ producer's ack (up to 30 s). ``poll`` raises only what reporting
    raises (``DlqRatioExceeded``, a DLQ write failure), which stops the consumer.
    """

    def __init__(
        self,
        outcomes: Outcomes,
        settings: EnrichSettings,
        app: Celery,
        *,
        redis_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outcomes = outcomes
        self._settings = settings
        self._app = app
        self._redis = redis_client or connect_redis(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._clock = clock
        self._queue_key = f"{settings.redis_prefix}{settings.queue}"
        self._in_flight: dict[str, _Record] = {}  # article id -> its one record in a task (or ready)
        self._waiting: dict[str, deque[_Record]] = {}  # article id -> its later records, in order
        self._ready: list[_Record] = []  # in flight, not sent yet
        self._tasks: dict[str, _Task] = {}  # Celery task id -> the task
        self._queue = _Queue()
        self._full = False
        self._last_check = self._last_results = float("-inf")
        self._closed = False

    # --- the strategy ------------------------------------------------------------------------

    def submit(self, item: Message[RawArticle]) -> None:
        if self._is_full():
            raise MessageRejected
        record = _Record(item)
        if record.article_id in self._in_flight:
            self._waiting.setdefault(record.article_id, deque()).append(record)
        else:
            self._in_flight[record.article_id] = record
            self._ready.append(record)

    def poll(self) -> None:
        now = self._clock()
        if now - self._last_check >= CHECK_INTERVAL_S:
            self._last_check = now
            self._check_redis()
            for task_id, task in list(self._tasks.items()):
                if now - task.alive_at > self._settings.redispatch_after_s:
                    log.warning("task result overdue: re-dispatching", extra={"count": len(task.records)})
                    self._redispatch(task_id)
        if now - self._last_results >= self._settings.result_poll_interval_s:
            self._last_results = now  # throttled: one read for every task in flight, not one per step
            self._collect()
        ready, self._ready = self._ready, []
        size = self._settings.task_batch_size
        for k in range(0, len(ready), size):
            self._send(ready[k : k + size])

    def join(self, timeout: float | None = None) -> None:
        """One last read of the results. Does not wait: the records of tasks still running are not
        committed, so they are read again after a restart (and their sinks are idempotent)."""
        self._collect()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._redis.close()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        lost = set(partitions)
        for article_id, record in list(self._in_flight.items()):
            if record.message.partition in lost:
                del self._in_flight[article_id]
        for article_id, queue in list(self._waiting.items()):
            kept = deque(r for r in queue if r.message.partition not in lost)
            if kept:
                self._waiting[article_id] = kept
            else:
                del self._waiting[article_id]
        self._ready = [r for r in self._ready if r.message.partition not in lost]
        for article_id in list(self._waiting):
            self._next_of(article_id)  # a record of a kept partition behind a lost one
        for task_id, task in list(self._tasks.items()):
            if all(r.message.partition in lost for r in task.records):
                del self._tasks[task_id]  # its result, if any, concerns nobody here now

    # --- dispatch ----------------------------------------------------------------------------

    def _is_full(self) -> bool:
        held = len(self._in_flight) + sum(len(q) for q in self._waiting.values())
        tasks = (
            self._queue.length + self._queue.sent_since + math.ceil(len(self._ready) / self._settings.task_batch_size)
        )
        ratio = RESUME_RATIO if self._full else 1.0
        self._full = held >= ratio * self._settings.max_in_flight or tasks >= ratio * self._settings.max_queue_length
        return self._full

    def _send(self, records: list[_Record]) -> None:
        task_id = uuid.uuid4().hex
        task = _Task(records, alive_at=self._clock())
        self._tasks[task_id] = task
        for record in records:
            record.task_id = task_id
        batch = EnrichBatch(
            topic=records[0].message.partition.topic,
            records=[RawRecord(payload=r.message.payload_text, partition=r.message.partition.partition,
                               offset=r.message.offset) for r in records],
        )  # fmt: skip
        try:
            self._app.send_task(TASK_NAME, args=[batch.to_celery()], task_id=task_id, queue=self._settings.queue)
        except Exception as exc:  # e.g. Redis unreachable: overdue now, so sent again at the next check
            task.alive_at = float("-inf")
            log.warning("dispatch failed", extra={"count": len(records), "error": repr(exc)})
            return
        self._queue.sent_since += 1
        for record in records:
            record.dispatches += 1
            MESSAGES.labels(STAGE, "dispatched" if record.dispatches == 1 else "redispatched").inc()

    def _redispatch(self, task_id: str) -> None:
        """Send the task's records again under a new id, after marking the old id superseded so that
        a retry chain of it still running stops (protocol.py, path 2)."""
        records = self._current(task_id, self._tasks.pop(task_id))
        if not records:
            return
        try:
            self._redis.set(self._settings.superseded_key(task_id), 1, ex=self._settings.superseded_ttl_s)
        except redis.RedisError as exc:  # best effort: the old chain's result is ignored anyway
            log.warning("cannot mark a task superseded", extra={"task_id": task_id, "error": repr(exc)})
        self._send(records)

    def _check_redis(self) -> None:
        try:
            run_id = str(self._redis.info("server").get("run_id"))
            length = int(self._redis.llen(self._queue_key))
        except redis.RedisError as exc:
            log.warning("redis unavailable", extra={"error": repr(exc)})
            return
        self._queue.length, self._queue.sent_since = length, 0
        CELERY_QUEUE.set(length)
        if self._queue.run_id is not None and run_id != self._queue.run_id:
            log.warning("redis restarted: re-dispatching every in-flight task", extra={"count": len(self._tasks)})
            for task_id in list(self._tasks):
                self._redispatch(task_id)
        self._queue.run_id = run_id

    # --- results -----------------------------------------------------------------------------

    def _collect(self) -> None:
        """Read the state of every task in flight with one ``mget``; settle the finished ones."""
        if not self._tasks:
            return
        backend = self._app.backend
        ids = list(self._tasks)
        try:
            values = backend.mget([backend.get_key_for_task(task_id) for task_id in ids])
        except Exception as exc:  # Redis unavailable: read again at the next interval
            log.warning("cannot read task results", extra={"error": repr(exc)})
            return
        now = self._clock()
        finished = []
        for task_id, value in zip(ids, values, strict=True):
            if value is None:
                continue  # queued, running, or lost (the overdue check decides)
            task = self._tasks[task_id]
            try:
                meta = backend.decode_result(value)
            except Exception as exc:  # unreadable: no verdict on its records
                meta = {"status": states.FAILURE, "result": exc}
            if meta["status"] not in states.READY_STATES:
                # A retry chain at work writes a new RETRY state on every attempt: a sign of life.
                state = f"{meta['status']}:{meta.get('result')!r}"
                if state != task.state:
                    task.state, task.alive_at = state, now
                continue
            del self._tasks[task_id]
            finished.append(task_id)
            self._settle(task_id, task, meta)
        for task_id in finished:
            try:
                backend.forget(task_id)
            except Exception:
                pass  # it expires anyway (result_expires)

    def _settle(self, task_id: str, task: _Task, meta: dict[str, Any]) -> None:
        records = self._current(task_id, task)
        if meta["status"] != states.SUCCESS:
            self._failed(task, records, _error_text(meta.get("result")))
            return
        try:
            answers = EnrichResult.model_validate(meta["result"]).by_coordinates()
        except ValidationError as exc:
            self._failed(task, records, f"invalid task result: {exc}")
            return
        unanswered = []
        for record in records:
            status = answers.get((record.message.partition.partition, record.message.offset))
            if status is None:
                unanswered.append(record)
                continue
            self._release(record)
            if status == "ok":
                self._outcomes.done(record.message)
            else:  # the worker wrote the DLQ record (and counted it)
                self._outcomes.done(record.message, to_dlq=True)
        if unanswered:
            self._failed(task, unanswered, "the task's result does not answer for this record")

    def _failed(self, task: _Task, records: list[_Record], error: str) -> None:
        """Protocol.py, path 3: records of a task that failed are tried again one per task; the
        record of a task of one goes to the DLQ."""
        if len(task.records) > 1:
            log.warning("task failed: its records are tried again one per task", extra={"count": len(records)})
            for record in records:
                self._send([record])
            return
        for record in records:
            self._release(record)
            self._outcomes.dlq(record.message, "failed", error[:2000], attempts=record.dispatches)

    # --- per-article order -------------------------------------------------------------------

    def _current(self, task_id: str, task: _Task) -> list[_Record]:
        """The task's records it is still responsible for: not dispatched again since under another
        id, and of a partition this consumer still owns."""
        return [r for r in task.records if r.task_id == task_id and self._in_flight.get(r.article_id) is r]

    def _release(self, record: _Record) -> None:
        """The record is answered: the next record of its article, if any, becomes ready."""
        del self._in_flight[record.article_id]
        self._next_of(record.article_id)

    def _next_of(self, article_id: str) -> None:
        queue = self._waiting.get(article_id)
        if article_id in self._in_flight or not queue:
            return
        successor = queue.popleft()
        if not queue:
            del self._waiting[article_id]
        self._in_flight[article_id] = successor
        self._ready.append(successor)


def _error_text(result: object) -> str:
    """The error of a failed task as the backend decoded it (an exception instance)."""
    if isinstance(result, BaseException):
        return f"{type(result).__name__}: {result}"
    return str(result)
