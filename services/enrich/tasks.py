"""The enrich task: a batch of raw records in; for each, one ``articles.enriched`` record (or one
DLQ record) out.

The task returns only after Kafka acknowledged what it wrote. Its result carries the Kafka
coordinates of every raw record, so the bridge can commit those offsets and nothing earlier.
Idempotent: running it twice for the same records writes the same article ids twice, and every
sink downstream is keyed by that id.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from kafka.errors import KafkaError

from services.enrich.celery_app import app, settings
from services.enrich.cluster import ClusterSettings, StoryClusterer, redis_clusterer
from services.enrich.enrichment import enrich
from shared.kafka import DlqPublisher, make_producer
from shared.metrics import DLQ, MESSAGES, STAGE_SECONDS
from shared.schemas import MessageError, RawArticle, UnknownSchemaVersion, decode
from shared.topics import Stage, Topic

log = logging.getLogger(__name__)


class InjectedFault(RuntimeError):
    """Raised by the fault-injection hook (tests and chaos runs only)."""


class _Sinks:
    """Per-process Kafka producer and clusterer, created lazily after the pool forks (kafka-python
    producers are not fork-safe)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.producer: Any = None
        self.dlq: DlqPublisher | None = None
        self.clusterer: Any = None

    def get(self) -> _Sinks:
        if self.pid != os.getpid():
            # A task sends its records at once and then awaits them: no point lingering.
            self.producer = make_producer(settings, linger_ms=0)
            self.dlq = DlqPublisher(settings, Stage.ENRICH, producer=self.producer)
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


def _result(status: str, partition: int, offset: int) -> dict[str, Any]:
    return {"status": status, "partition": partition, "offset": offset}


@app.task(bind=True, name="warta.enrich_articles", max_retries=None, acks_late=True)  # type: ignore[untyped-decorator]
def enrich_articles(
    self: Task, topic: str, items: list[list[Any]], done: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Enrich a batch of raw records, ``items`` = ``[payload, partition, offset]`` each (the Kafka
    record value as text and its coordinates).

    One task carries several records so that Celery's per-task cost (broker round trips, the pool's
    hand-over, the result) and the Kafka produce request are shared. Every record is written (the
    enriched article, or a DLQ record for an invalid one) and the task returns after Kafka
    acknowledged all of them; its result lists each record's coordinates and outcome, so the bridge
    commits exactly what is done. A record that failed is retried with backoff, alone with the other
    failures of the batch (``done`` carries the outcomes so far); an article failing for a reason
    other than Kafka goes to the DLQ after ``max_retries`` attempts. Idempotent: the same record
    written twice is the same article id, and every sink downstream is keyed by it.
    """
    sinks = SINKS.get()
    attempts = self.request.retries + 1
    results = list(done or [])
    topic_out = settings.topic(Topic.ARTICLES_ENRICHED)
    ready: list[tuple[list[Any], str, bytes, float]] = []
    retry: list[list[Any]] = []
    backoff = 0.0
    for item in items:
        payload, partition, offset = item
        t0 = time.perf_counter()
        try:
            raw = decode(RawArticle, payload)
        except MessageError as exc:
            reason = "unknown_schema" if isinstance(exc, UnknownSchemaVersion) else "invalid"
            sinks.dlq.publish(reason=reason, error=str(exc), payload=payload, source_topic=topic,  # type: ignore[union-attr]
                              partition=partition, offset=offset, attempts=attempts)  # fmt: skip
            DLQ.labels("enrich", reason).inc()
            results.append(_result("dlq", partition, offset))
            continue
        try:
            if settings.fault_inject_delay_s:
                time.sleep(settings.fault_inject_delay_s)
            if settings.fault_inject_marker and settings.fault_inject_marker in raw.text:
                raise InjectedFault("fault injected for testing")
            enriched = enrich(raw, clusterer=sinks.clusterer).to_bytes()
        except (Exception, SoftTimeLimitExceeded) as exc:
            if attempts <= settings.max_retries:
                backoff = max(backoff, settings.retry_backoff_s * 2 ** (attempts - 1))
                _retrying(item, raw.id, exc, retry)
                continue
            sinks.dlq.publish(reason="failed", error=repr(exc), payload=payload, source_topic=topic,  # type: ignore[union-attr]
                              partition=partition, offset=offset, article_id=raw.id, attempts=attempts)  # fmt: skip
            DLQ.labels("enrich", "failed").inc()
            MESSAGES.labels("enrich", "dlq").inc()
            results.append(_result("dlq", partition, offset))
            continue
        ready.append((item, raw.id, enriched, t0))
    # Sent together, so that they share produce requests; then every acknowledgement is awaited.
    sent = []
    for item, article_id, value, t0 in ready:
        try:
            sent.append((item, article_id, sinks.producer.send(topic_out, key=article_id.encode(), value=value), t0))
        except KafkaError as exc:
            # Kafka unreachable says nothing about the article: retry until it is back (capped
            # backoff) rather than filling the DLQ during an outage.
            backoff = max(backoff, _kafka_backoff(attempts))
            _retrying(item, article_id, exc, retry)
    for i, (item, article_id, future, t0) in enumerate(sent):
        try:
            future.get(timeout=30)
        except KafkaError as exc:
            backoff = max(backoff, _kafka_backoff(attempts))
            _retrying(item, article_id, exc, retry)
            continue
        except SoftTimeLimitExceeded as exc:  # Kafka too slow: retry whatever is not acknowledged yet
            backoff = max(backoff, _kafka_backoff(attempts))
            for later, later_id, *_ in sent[i:]:
                _retrying(later, later_id, exc, retry)
            break
        STAGE_SECONDS.labels("enrich").observe(time.perf_counter() - t0)
        MESSAGES.labels("enrich", "ok").inc()
        log.info("enriched", extra={"article_id": article_id, "partition": item[1], "offset": item[2]})
        results.append(_result("ok", item[1], item[2]))
    if retry:
        raise self.retry(args=(topic, retry), kwargs={"done": results}, countdown=backoff)
    return {"items": results}


def _kafka_backoff(attempts: int) -> float:
    return float(min(30.0, settings.retry_backoff_s * 2 ** min(attempts, 5)))


def _retrying(item: list[Any], article_id: str, exc: BaseException, retry: list[list[Any]]) -> None:
    MESSAGES.labels("enrich", "retry").inc()
    log.warning("enrich failed, will retry", extra={"article_id": article_id, "error": repr(exc)})
    retry.append(item)
