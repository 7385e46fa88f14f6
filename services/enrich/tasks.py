"""The enrich task: one article in, one ``articles.enriched`` record (or one DLQ record) out.

The task returns only after Kafka acknowledged what it wrote. Its result carries the Kafka
coordinates of the raw record, so the bridge can commit that offset and nothing earlier.
Idempotent: running it twice for the same record writes the same article id twice, and every sink
downstream is keyed by that id.
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
            # One record per task, awaited at once: no point lingering for a batch.
            self.producer = make_producer(settings, linger_ms=0)
            self.dlq = DlqPublisher(settings, Stage.ENRICH, producer=self.producer)
            self.clusterer = _make_clusterer()
            self.pid = os.getpid()
        return self


def _make_clusterer() -> StoryClusterer:
    # Story state lives under the deployment's Redis prefix, like every other key.
    return redis_clusterer(settings.redis_url, ClusterSettings(redis_key_prefix=f"{settings.redis_prefix}cluster"))


SINKS = _Sinks()


@worker_process_init.connect
def _reset_sinks(**_: Any) -> None:
    SINKS.pid = None


def _result(status: str, partition: int, offset: int) -> dict[str, Any]:
    return {"status": status, "partition": partition, "offset": offset}


@app.task(bind=True, name="warta.enrich_article", max_retries=None, acks_late=True)
def enrich_article(self: Task, payload: str, topic: str, partition: int, offset: int) -> dict[str, Any]:
    """Enrich the raw article in ``payload`` (the Kafka record value, as text).

    Retries transient failures with exponential backoff up to ``max_retries``; after that, and at
    once for invalid records, it writes a DLQ record. Returns after the write is acknowledged.
    """
    sinks = SINKS.get()
    attempts = self.request.retries + 1
    t0 = time.perf_counter()
    try:
        raw = decode(RawArticle, payload)
    except MessageError as exc:
        reason = "unknown_schema" if isinstance(exc, UnknownSchemaVersion) else "invalid"
        sinks.dlq.publish(reason=reason, error=str(exc), payload=payload, source_topic=topic,  # type: ignore[union-attr]
                          partition=partition, offset=offset, attempts=attempts)  # fmt: skip
        DLQ.labels("enrich", reason).inc()
        return _result("dlq", partition, offset)
    try:
        if settings.fault_inject_delay_s:
            time.sleep(settings.fault_inject_delay_s)
        if settings.fault_inject_marker and settings.fault_inject_marker in raw.text:
            raise InjectedFault("fault injected for testing")
        enriched = enrich(raw, clusterer=sinks.clusterer)
        sinks.producer.send(
            settings.topic(Topic.ARTICLES_ENRICHED), key=raw.id.encode(), value=enriched.to_bytes()
        ).get(timeout=30)
    except KafkaError as exc:
        # Kafka unreachable says nothing about the article: retry until it is back (capped
        # backoff) rather than filling the DLQ during an outage.
        MESSAGES.labels("enrich", "retry").inc()
        log.warning("publishing failed, will retry", extra={"article_id": raw.id, "error": repr(exc)})
        raise self.retry(exc=exc, countdown=min(30.0, settings.retry_backoff_s * 2 ** min(attempts, 5))) from exc
    except (Exception, SoftTimeLimitExceeded) as exc:
        if attempts <= settings.max_retries:
            MESSAGES.labels("enrich", "retry").inc()
            log.warning("enrich failed, will retry", extra={"article_id": raw.id, "error": repr(exc)})
            raise self.retry(exc=exc, countdown=settings.retry_backoff_s * 2 ** (attempts - 1)) from exc
        sinks.dlq.publish(reason="failed", error=repr(exc), payload=payload, source_topic=topic,  # type: ignore[union-attr]
                          partition=partition, offset=offset, article_id=raw.id, attempts=attempts)  # fmt: skip
        DLQ.labels("enrich", "failed").inc()
        MESSAGES.labels("enrich", "dlq").inc()
        return _result("dlq", partition, offset)
    STAGE_SECONDS.labels("enrich").observe(time.perf_counter() - t0)
    MESSAGES.labels("enrich", "ok").inc()
    log.info("enriched", extra={"article_id": raw.id, "partition": partition, "offset": offset})
    return _result("ok", partition, offset)
