"""The enrich task: a batch of raw records in; for each, one ``articles.enriched`` record (or one
DLQ record) out.

The task returns only after Kafka acknowledged what it wrote. Its result carries the Kafka
coordinates of every raw record, so the bridge can commit those offsets and nothing earlier.
Idempotent: running it twice for the same records writes the same article ids twice, and every
sink downstream is keyed by that id.

Each kind of failure has one treatment, and none is retried without bound:

- a record that does not decode: the DLQ at once (``invalid`` or ``unknown_schema``);
- an enriched record over the Kafka limit: the DLQ at once (``invalid``, the error names the size
  and the limit). It is never sent, so the broker never sees it;
- a permanent Kafka error (:func:`shared.kafka.classify_kafka_error`): the DLQ at once, ``invalid``
  when Kafka refuses the record itself, ``failed`` for a deployment problem such as authorization;
- a retriable Kafka error (an outage): retried with backoff doubling up to
  ``kafka_backoff_cap_s``, for at most ``kafka_retry_window_s`` after the chain's first failure,
  then the DLQ (``failed``, with the last error);
- enrichment raising (a bug, the soft time limit): retried ``max_retries`` times, then the DLQ.

The argument and the result are the models of ``protocol.py``, which also describes how the stage
recovers as a whole: a retry reports its attempt in the RETRY state (the bridge's sign of life), a
retry of a chain the bridge superseded stops without writing, and when a record can reach neither
its topic nor the DLQ after its retries the task raises and the bridge settles the FAILURE.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, NoReturn

import redis
from celery import Task
from celery.exceptions import Ignore, SoftTimeLimitExceeded
from celery.signals import worker_process_init
from kafka.errors import KafkaError

from services.enrich.celery_app import app, settings
from services.enrich.cluster import ClusterSettings, StoryClusterer, redis_clusterer
from services.enrich.enrichment import enrich
from services.enrich.protocol import TASK_NAME, EnrichBatch, EnrichResult, RawRecord, RecordOutcome, Status
from shared.consumer import dlq_reason
from shared.kafka import (
    DlqPublisher,
    KafkaErrorKind,
    RecordTooLarge,
    check_record_size,
    classify_kafka_error,
    make_producer,
)
from shared.metrics import DLQ, MESSAGES, STAGE_SECONDS
from shared.redis_clients import redis_client
from shared.schemas import MessageError, RawArticle, decode
from shared.topics import Stage, Topic

log = logging.getLogger(__name__)

# Celery's own bound on retries: a backstop only, far above what ``max_retries`` and
# ``kafka_retry_window_s`` allow; reaching it fails the task, and the bridge takes over.
MAX_TASK_RETRIES = 10_000


class InjectedFault(RuntimeError):
    """Raised by the fault-injection hook (tests and chaos runs only)."""


class RetryLater(Exception):
    """What a retrying run reports as its RETRY state: the attempt and the last error. The text
    differs on every attempt, which is how the bridge tells a live chain from a lost one."""


class _Sinks:
    """Per-process Kafka producer, Redis client and clusterer, created lazily after the pool forks
    (kafka-python producers are not fork-safe)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.producer: Any = None
        self.dlq: DlqPublisher | None = None
        self.redis: Any = None
        self.clusterer: Any = None

    def get(self) -> _Sinks:
        if self.pid != os.getpid():
            # A task sends its records at once and then awaits them: no point lingering.
            self.producer = make_producer(settings, linger_ms=0)
            self.dlq = DlqPublisher(settings, Stage.ENRICH, producer=self.producer)
            self.redis = redis_client(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
            self.clusterer = _make_clusterer()
            self.pid = os.getpid()
        return self


def _make_clusterer() -> StoryClusterer:
    # Story state lives under the deployment's Redis prefix, like every other key.
    return redis_clusterer(settings.redis_url, ClusterSettings(redis_key_prefix=f"{settings.redis_prefix}cluster"))


SINKS = _Sinks()


@worker_process_init.connect  # type: ignore[untyped-decorator]  # Celery is untyped
def _reset_sinks(**_: Any) -> None:
    SINKS.pid = None


class _Run:
    """One run of the task: the outcomes so far, the records to retry and the backoff. Local to
    the run (Celery task instances are shared, so no per-run state lives on them)."""

    def __init__(self, sinks: _Sinks, batch: EnrichBatch, attempts: int) -> None:
        self.sinks = sinks
        self.topic = batch.topic
        self.attempts = attempts
        self.now = _now()
        # Wall-clock time of the chain's first failure (this run's start on a first run).
        self.since = batch.retrying_since if batch.retrying_since is not None else self.now
        self.results = list(batch.done)
        self.retry: list[RawRecord] = []
        self.backoff = 0.0
        self.last_error = ""

    @property
    def window_over(self) -> bool:
        return self.now - self.since >= settings.kafka_retry_window_s

    def retry_later(self, item: RawRecord, article_id: str | None, exc: BaseException, backoff: float) -> None:
        MESSAGES.labels("enrich", "retry").inc()
        log.warning("enrich failed, will retry",
                    extra={"article_id": article_id, "attempt": self.attempts, "error": repr(exc)})  # fmt: skip
        self.retry.append(item)
        self.backoff = max(self.backoff, backoff)
        self.last_error = repr(exc)[:500]

    def answer(self, item: RawRecord, status: Status) -> None:
        self.results.append(RecordOutcome(status=status, partition=item.partition, offset=item.offset))

    def dead_letter(self, item: RawRecord, reason: str, error: str, article_id: str | None = None) -> None:
        """Send the record to the DLQ. A retriable Kafka error doing so retries the record while
        its window lasts; after it, or for a permanent error, the exception propagates."""
        try:
            self.sinks.dlq.publish(reason=reason, error=error, payload=item.payload, source_topic=self.topic,  # type: ignore[union-attr]
                                   partition=item.partition, offset=item.offset, article_id=article_id,
                                   attempts=self.attempts)  # fmt: skip
        except KafkaError as exc:
            if classify_kafka_error(exc) is KafkaErrorKind.RETRIABLE and not self.window_over:
                self.retry_later(item, article_id, exc, _kafka_backoff(self.attempts))
                return
            raise
        DLQ.labels("enrich", reason).inc()
        MESSAGES.labels("enrich", "dlq").inc()
        self.answer(item, "dlq")

    def write_failed(self, item: RawRecord, article_id: str, exc: BaseException) -> None:
        """The enriched record was not written: to the DLQ if it never can be, or once the retry
        window is over; retried otherwise."""
        kind = classify_kafka_error(exc)
        if kind is KafkaErrorKind.RETRIABLE:
            if not self.window_over:
                self.retry_later(item, article_id, exc, _kafka_backoff(self.attempts))
                return
            error = (f"Kafka did not accept the enriched record within {settings.kafka_retry_window_s:.0f} s "
                     f"({self.attempts} attempts): {exc!r}")  # fmt: skip
            self.dead_letter(item, "failed", error, article_id)
            return
        # Permanent: the record's own fault ("invalid") or the deployment's ("failed").
        error = f"not written to Kafka, permanent {kind.value} error ({type(exc).__name__}): {exc}"
        self.dead_letter(item, "invalid" if kind is KafkaErrorKind.RECORD else "failed", error, article_id)


@app.task(bind=True, name=TASK_NAME, max_retries=MAX_TASK_RETRIES, acks_late=True)  # type: ignore[untyped-decorator]
def enrich_articles(self: Task, batch: dict[str, Any]) -> dict[str, Any]:
    """Enrich a batch of raw records: ``batch`` is an :class:`~services.enrich.protocol.EnrichBatch`
    as JSON primitives, validated here (a batch that does not validate fails the task).

    One task carries several records so that Celery's per-task cost (broker round trips, the pool's
    hand-over, the result) and the Kafka produce request are shared. Every record is written (the
    enriched article, or a DLQ record) and the task returns after Kafka acknowledged all of them;
    its result, an :class:`~services.enrich.protocol.EnrichResult`, gives each record's coordinates
    and outcome, so the bridge commits exactly what is done. Records that failed are retried
    together (a new run of the same task id whose batch carries the outcomes so far and the chain's
    first failure) within the bounds in the module docstring. Raises Ignore (no result) in a retry
    run of a superseded chain, and KafkaError when a record can reach neither its topic nor the DLQ.
    Idempotent: the same record written twice is the same article id, and every sink downstream is
    keyed by it.
    """
    request = EnrichBatch.model_validate(batch)
    sinks = SINKS.get()
    attempts = self.request.retries + 1
    if attempts > 1 and _superseded(sinks, self.request.id):
        _stop_superseded(self.request.id, request.records)
    run = _Run(sinks, request, attempts)
    topic_out = settings.topic(Topic.ARTICLES_ENRICHED)
    ready: list[tuple[RawRecord, str, bytes, bytes, float]] = []
    for item in request.records:
        t0 = time.perf_counter()
        try:
            raw = decode(RawArticle, item.payload)
        except MessageError as exc:
            run.dead_letter(item, dlq_reason(exc), str(exc))
            continue
        try:
            if settings.fault_inject_delay_s:
                time.sleep(settings.fault_inject_delay_s)
            if settings.fault_inject_marker and settings.fault_inject_marker in raw.text:
                raise InjectedFault("fault injected for testing")
            enriched = enrich(raw, clusterer=sinks.clusterer).to_bytes()
        except (Exception, SoftTimeLimitExceeded) as exc:
            if attempts <= settings.max_retries:
                run.retry_later(item, raw.id, exc, settings.retry_backoff_s * 2 ** (attempts - 1))
            else:
                run.dead_letter(item, "failed", repr(exc), raw.id)
            continue
        key = raw.id.encode()
        try:
            # Checked here rather than left to the producer: the DLQ record then names both sizes.
            check_record_size(key, enriched, what="enriched article")
        except RecordTooLarge as exc:
            run.write_failed(item, raw.id, exc)
            continue
        ready.append((item, raw.id, key, enriched, t0))
    # Sent together, so that they share produce requests; then every acknowledgement is awaited.
    sent = []
    for item, article_id, key, value, t0 in ready:
        try:
            sent.append((item, article_id, sinks.producer.send(topic_out, key=key, value=value), t0))
        except KafkaError as exc:
            run.write_failed(item, article_id, exc)
    for i, (item, article_id, future, t0) in enumerate(sent):
        try:
            future.get(timeout=30)
        except KafkaError as exc:
            run.write_failed(item, article_id, exc)
            continue
        except SoftTimeLimitExceeded as exc:  # Kafka too slow: whatever is not acknowledged yet
            for later, later_id, *_ in sent[i:]:
                run.write_failed(later, later_id, exc)
            break
        STAGE_SECONDS.labels("enrich").observe(time.perf_counter() - t0)
        MESSAGES.labels("enrich", "ok").inc()
        log.info("enriched", extra={"article_id": article_id, "partition": item.partition, "offset": item.offset})
        run.answer(item, "ok")
    if run.retry:
        if _superseded(sinks, self.request.id):
            _stop_superseded(self.request.id, run.retry)
        again = EnrichBatch(topic=request.topic, records=run.retry, done=run.results, retrying_since=run.since)
        raise self.retry(
            args=(again.to_celery(),),
            kwargs={},
            countdown=run.backoff,
            exc=RetryLater(f"attempt {attempts} left {len(run.retry)} record(s) to retry: {run.last_error}"),
        )
    return EnrichResult(items=run.results).to_celery()


def _now() -> float:
    """Wall-clock time: the retry window spans runs, possibly on different machines."""
    return time.time()


def _kafka_backoff(attempts: int) -> float:
    return float(min(settings.kafka_backoff_cap_s, settings.retry_backoff_s * 2 ** min(attempts, 5)))


def _superseded(sinks: _Sinks, task_id: str | None) -> bool:
    """Has the bridge dispatched this task's records again under another id? Only asked on the
    retry path; if Redis cannot answer, the chain goes on (the bridge ignores its result anyway)."""
    if not task_id:
        return False
    try:
        return bool(sinks.redis.exists(settings.superseded_key(task_id)))
    except redis.RedisError as exc:
        log.warning("cannot check whether the task was superseded", extra={"error": repr(exc)})
        return False


def _stop_superseded(task_id: str | None, items: list[RawRecord]) -> NoReturn:
    MESSAGES.labels("enrich", "superseded").inc(len(items))
    log.info("task superseded by a re-dispatch: its retry chain stops", extra={"task_id": task_id, "count": len(items)})
    raise Ignore()
