"""The indexer: ``articles.enriched`` -> Elasticsearch, in batches, committing after the bulk.

One bulk request is in flight on a helper thread while the consumer thread polls and decodes the
next batch, so Elasticsearch and the decoding overlap; a batch is finished (retried, matched,
committed) before the next one is sent.

Per-item outcomes of a bulk request are classified:
- 2xx, or a 409 version conflict (a newer copy is already indexed): done;
- 400-class mapping/validation errors: the DLQ (``search.dlq``), never retried;
- 429 and 5xx: retried with exponential backoff. While retrying, the partitions are paused and the
  consumer keeps polling, so it stays in its group.
Documents are written with ``_id`` = article id and external version = ingest time in ms, so
re-delivery is idempotent and an older copy never overwrites a newer one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import Elasticsearch
from elasticsearch.exceptions import ApiError
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from services.search.index import ensure_index, to_document
from services.search.settings import SearchSettings
from shared.kafka import DlqLimit, DlqPublisher, consumer_lag, make_consumer, wait_for_topic
from shared.metrics import CONSUMER_LAG, DLQ, FRESHNESS, MESSAGES, PAUSED, STAGE_SECONDS
from shared.process import beat, freeze_startup_heap
from shared.schemas import EnrichedArticle, MessageError, UnknownSchemaVersion, decode
from shared.topics import Stage, Topic

log = logging.getLogger(__name__)


@dataclass
class Pending:
    tp: TopicPartition
    offset: int
    value: bytes | None
    article: EnrichedArticle | None = None
    attempts: int = 0


@dataclass
class _Flight:
    """A batch whose bulk request was sent and whose offsets are not committed yet."""

    batch: list[Pending]
    todo: list[Pending]
    now: datetime
    sent: Future[Any] | None
    started: float


def make_es(settings: SearchSettings) -> Elasticsearch:
    return Elasticsearch(settings.es_url, request_timeout=settings.request_timeout_s, retry_on_timeout=False, max_retries=0,
                         serializers={"application/x-ndjson": _OrjsonNdjson(), "application/json": OrjsonSerializer()})  # fmt: skip


class _OrjsonNdjson(NdjsonSerializer, OrjsonSerializer):
    """Bulk bodies encoded with orjson (about 15x faster per document than the json module)."""


class Indexer:
    def __init__(
        self,
        settings: SearchSettings,
        es: Elasticsearch | None = None,
        consumer: KafkaConsumer | None = None,
        on_indexed: Callable[[list[str]], object] | None = None,
    ) -> None:
        self.settings = settings
        self.es = es or make_es(settings)
        self.topic = settings.topic(Topic.ARTICLES_ENRICHED)
        self.consumer = consumer or make_consumer(settings, "search-indexer", max_poll_records=settings.batch_size)
        self.dlq = DlqPublisher(settings, Stage.SEARCH)
        self.dlq_limit = DlqLimit()
        self.alias = settings.alias
        self.batch: list[Pending] = []
        self.batch_started = 0.0
        self.on_indexed = on_indexed
        self._last_lag = 0.0
        self._stop: Any = None
        self._indexed: list[str] = []
        self._flight: _Flight | None = None
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="bulk")
        # Called once the index exists (e.g. to start the webhook dispatcher).
        self.on_ready: Callable[[], object] | None = None

    def run(self, stop: Any) -> None:
        self._stop = stop
        self._wait_for_index(stop)
        if self.on_ready is not None:
            self.on_ready()
        wait_for_topic(self.consumer, self.topic, stop)
        self.consumer.subscribe([self.topic], listener=_Listener(self))
        freeze_startup_heap()
        log.info("indexer started", extra={"topic": self.topic})
        try:
            while not stop.is_set():
                self.step()
            self.flush()
            self.finish()
        finally:
            self._sender.shutdown(wait=True)
            self.consumer.close(autocommit=False)
            self.dlq.close()
            log.info("indexer stopped")

    def _wait_for_index(self, stop: Any) -> None:
        delay = 0.5
        while not stop.is_set():
            try:
                ensure_index(self.es, self.settings.index_prefix)
                return
            except (ESConnectionError, ConnectionTimeout, ApiError) as exc:
                log.warning("Elasticsearch not ready", extra={"error": repr(exc)})
                stop.wait(delay)
                delay = min(delay * 2, self.settings.backoff_max_s)

    def step(self) -> None:
        room = self.settings.batch_size - len(self.batch)
        records = self.consumer.poll(timeout_ms=50, max_records=max(room, 1))
        for tp, recs in records.items():
            for r in recs:
                if not self.batch:
                    self.batch_started = time.monotonic()
                self.batch.append(Pending(tp, r.offset, r.value))
        age_ms = (time.monotonic() - self.batch_started) * 1000 if self.batch else 0
        if len(self.batch) >= self.settings.batch_size or (self.batch and age_ms >= self.settings.batch_max_ms):
            self.flush()
        elif self._flight is not None and (self._flight.sent is None or self._flight.sent.done()):
            self.finish()
        now = time.monotonic()
        if now - self._last_lag >= 5.0:
            self._last_lag = now
            for tp, lag in consumer_lag(self.consumer).items():
                CONSUMER_LAG.labels("index", str(tp.partition)).set(lag)
        beat(self.settings.health_file)

    # --- flushing ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Decode the batch and send it to Elasticsearch on the helper thread, after finishing the
        batch in flight. So this thread polls and decodes batch N+1 while Elasticsearch indexes
        batch N; at most one bulk is in flight and offsets are committed in order."""
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        t0 = time.perf_counter()
        todo = []
        for p in batch:
            try:
                p.article = decode(EnrichedArticle, p.value or b"")
                todo.append(p)
            except MessageError as exc:
                reason = "unknown_schema" if isinstance(exc, UnknownSchemaVersion) else "invalid"
                self._to_dlq(p, reason, str(exc))
        now = datetime.now(UTC)
        ops = self._operations(todo, now)
        self.finish()
        sent = self._sender.submit(self._send, ops) if todo else None
        self._flight = _Flight(batch, todo, now, sent, t0)

    def finish(self) -> None:
        """Complete the batch in flight: retry what failed until every item is done or in the DLQ,
        run the post-index hook, then commit its offsets."""
        flight, self._flight = self._flight, None
        if flight is None:
            return
        todo = self._outcomes(flight.todo, flight.sent.result(), flight.now) if flight.sent else []
        delay = 0.2
        paused = False
        while True:
            if not todo and self._after_index():
                break
            if self._stop is not None and self._stop.is_set():
                # Shutting down during an outage: leave the batch uncommitted; it is re-delivered.
                log.warning("stopping with an unindexed batch; not committing it", extra={"count": len(todo)})
                return
            if not paused:
                self.consumer.pause(*self.consumer.assignment())
                PAUSED.labels("index").set(1)
                paused = True
            log.warning("retrying items after backoff", extra={"count": len(todo), "duration_ms": int(delay * 1000)})
            # Poll while waiting: keeps group membership; paused partitions return nothing.
            self.consumer.poll(timeout_ms=int(delay * 1000))
            beat(self.settings.health_file)
            delay = min(delay * 2, self.settings.backoff_max_s)
            if todo:
                now = datetime.now(UTC)
                todo = self._outcomes(todo, self._send(self._operations(todo, now)), now)
        if paused:
            self.consumer.resume(*self.consumer.assignment())
            PAUSED.labels("index").set(0)
        self._commit(flight.batch)
        STAGE_SECONDS.labels("index").observe(time.perf_counter() - flight.started)

    def _after_index(self) -> bool:
        """Run the post-index hook (saved-search matching) on what this batch indexed. False means
        it failed and must be retried before the batch may be committed."""
        if not self._indexed or self.on_indexed is None:
            self._indexed = []
            return True
        try:
            self.on_indexed(self._indexed)
        except Exception as exc:
            log.warning("post-index hook failed; will retry", extra={"error": repr(exc)})
            return False
        self._indexed = []
        return True

    def _operations(self, items: list[Pending], now: datetime) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        indexed_at = now.isoformat()
        for p in items:
            assert p.article is not None
            version = int(p.article.ingested_at.timestamp() * 1000)
            ops.append(
                {
                    "index": {
                        "_index": self.alias,
                        "_id": p.article.id,
                        "version": version,
                        "version_type": "external_gte",
                    }
                }
            )
            ops.append(to_document(p.article, indexed_at))
        return ops

    def _send(self, ops: list[dict[str, Any]]) -> Any:
        """One bulk request (run on the helper thread). None means the whole request failed in a
        retriable way (unreachable, 429, 5xx)."""
        try:
            return self.es.bulk(operations=ops, refresh=False)
        except (ESConnectionError, ConnectionTimeout) as exc:
            log.warning("Elasticsearch unreachable", extra={"error": repr(exc)})
        except ApiError as exc:
            if exc.meta.status != 429 and exc.meta.status < 500:
                raise
            log.warning("bulk rejected", extra={"error": f"{exc.meta.status}"})
        return None

    def _outcomes(self, items: list[Pending], resp: Any, now: datetime) -> list[Pending]:
        """Classify each item's outcome of a bulk response. Returns the items to retry."""
        if resp is None:
            return items
        retry: list[Pending] = []
        for p, result in zip(items, resp["items"], strict=True):
            assert p.article is not None
            outcome = result["index"]
            status = outcome.get("status", 500)
            if status < 300 or status == 409:
                self._indexed.append(p.article.id)
                MESSAGES.labels("index", "duplicate" if status == 409 else "ok").inc()
                FRESHNESS.observe(max(0.0, (now - p.article.ingested_at).total_seconds()))
                self.dlq_limit.record(False)
            elif status == 429 or (status >= 500 and p.attempts < self.settings.max_item_retries):
                p.attempts += status >= 500
                retry.append(p)
            else:
                self._to_dlq(p, "rejected", f"{status}: {outcome.get('error')}")
        return retry

    def _to_dlq(self, p: Pending, reason: str, error: str) -> None:
        self.dlq.publish(reason=reason, error=error, payload=p.value, source_topic=p.tp.topic, partition=p.tp.partition,
                         offset=p.offset, article_id=p.article.id if p.article else None, attempts=p.attempts + 1)  # fmt: skip
        DLQ.labels("search", reason).inc()
        MESSAGES.labels("index", "dlq").inc()
        self.dlq_limit.record(True)

    def _commit(self, batch: list[Pending]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for p in batch:
            cur = offsets.get(p.tp)
            if cur is None or p.offset + 1 > cur.offset:
                offsets[p.tp] = OffsetAndMetadata(p.offset + 1, "", -1)
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            log.warning("commit failed; the batch will be re-delivered and re-indexed", extra={"error": repr(exc)})


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python is untyped
    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer

    def on_partitions_revoked(self, revoked):  # type: ignore[no-untyped-def]
        # Nothing to do here. The batch stays: it is indexed and committed by the next flush
        # (flushing here would run a bulk with backoff inside poll() and could outlast the
        # rebalance). It must not be dropped either: kafka-python keeps the fetch position of a
        # partition that is assigned again, so dropped records would be skipped. If a partition
        # moved, its new owner re-reads from the last commit; indexing a record twice is idempotent.
        return None

    def on_partitions_assigned(self, assigned):  # type: ignore[no-untyped-def]
        return None
