"""The indexer: ``articles.enriched`` -> Elasticsearch -> ``articles.indexed``, a strategy on the
consumer runtime (:mod:`shared.consumer`), which polls, decodes, pauses and commits.

Contract:

- Each article is projected onto its Elasticsearch document on the consumer thread, then batched:
  up to ``batch_size`` articles, or whatever arrived within ``batch_max_ms``. A batch is
  bulk-written to the ``articles`` alias on the bulk thread, then announced on the announce
  thread: one bulk in flight, while the consumer thread polls, decodes and projects the next
  batch and the previous one is announced. Batches are reported in order. No refresh is forced.
- Documents have ``_id`` = article id and external version = ingest time in ms (``external_gte``):
  re-delivery is idempotent and an older copy never overwrites a newer one.
- Monthly layout (``WARTA_ES_INDEX_PERIOD=month``, services/search/index.py): each article goes to
  its month's write alias (``require_alias``; a missing month is created, also after retention
  dropped it). Before each bulk, one ``ids`` query on the read alias finds copies of the batch's
  articles in other months (a re-crawl changed the publication date): they are deleted in the
  same bulk, with the new copy's version (``external_gte``), unless one is newer, and then the
  article is done as a ``duplicate``, like a 409. Of several copies of one article in a batch only
  the newest is written.
- Removed articles stay removed: before each bulk the batch's ids are looked up among the
  tombstones (:class:`~services.search.tombstones.TombstoneGate`: one ``mget`` per batch, none
  while there are no tombstones at all); a tombstoned article is not written and not announced,
  and its message is done (``tombstoned``, logged). A lookup that fails is retried like a bulk.
  Ids written are handed to the gate, whose watcher removes any that a concurrent removal
  tombstoned after the lookup.
- Per item: 2xx is done (``ok``); 409, a newer copy is already indexed, is done (``duplicate``);
  any other 4xx goes to ``search.dlq`` (``rejected``), never retried; 5xx is retried
  ``max_item_retries`` times, then the DLQ; 429 is retried. A request that fails as a whole
  (unreachable, timed out, 429, 5xx) is retried whole. Retries back off exponentially up to
  ``backoff_max_s``, without limit: meanwhile the next batch waits, and after
  :data:`PAUSE_AFTER_S` the runtime pauses the partitions.
- Then one :class:`~shared.schemas.IndexedArticle` per done item (duplicates too: a re-delivery
  must reach the alerts consumer, which dedupes) goes to ``articles.indexed``, keyed by article
  id, and its ack (acks=all) is awaited, retried through a Kafka outage. Only then is the batch
  reported, so an offset is committed only once its article is in Elasticsearch and announced:
  the alerts consumer misses no indexed article (at least once).
- Shutdown (the strategy's join): the bulk in flight finishes its current attempt; a batch that
  would need a retry is abandoned, unreported, so it stays uncommitted and is re-delivered.
- Fatal (the process stops; the batch stays uncommitted): a bulk request refused as a whole with
  a 4xx other than 429, a Kafka error that no retry can fix (authorization, an invalid topic), a
  failed DLQ write and :class:`~shared.kafka.DlqRatioExceeded`.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import Elasticsearch
from elasticsearch.exceptions import ApiError
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer
from kafka import KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from services.search.index import (
    Layout,
    ensure_index,
    ensure_month,
    month_alias,
    month_of,
    parse_index_name,
    to_document,
)
from services.search.settings import SearchSettings
from services.search.tombstones import TombstoneGate
from shared.consumer import Apply, Batch, Consumer, Message, Outcomes, RunInThread, Strategy, StreamProcessor
from shared.consumer.processor import Stop
from shared.kafka import DlqPublisher, classify_kafka_error, make_consumer, make_producer
from shared.metrics import FRESHNESS, STAGE_SECONDS
from shared.schemas import EnrichedArticle, IndexedArticle
from shared.topics import Stage, Topic

log = logging.getLogger(__name__)

# How long the next batch waits for the bulk in flight before the partitions are paused. Pausing
# drops what kafka-python prefetched, so pausing at every batch (a bulk of 500 takes 0.15-0.3 s
# here) would re-fetch it each time; a retrying bulk (an outage, a 429) lasts longer than this.
PAUSE_AFTER_S = 1.0
FIRST_BACKOFF_S = 0.2
ACK_TIMEOUT_S = 30.0
GC_THRESHOLD = 10_000
STAGE = Stage.SEARCH.value


def make_es(settings: SearchSettings) -> Elasticsearch:
    return Elasticsearch(settings.es_hosts, request_timeout=settings.request_timeout_s, retry_on_timeout=False, max_retries=0,
                         serializers={"application/x-ndjson": _OrjsonNdjson(), "application/json": OrjsonSerializer()})  # fmt: skip


class _OrjsonNdjson(NdjsonSerializer, OrjsonSerializer):
    """Bulk bodies encoded with orjson (about 15x faster per document than the json module)."""


def wait_for_index(es: Elasticsearch, settings: SearchSettings, stop: Stop) -> bool:
    """Ensure the index and its alias exist, retrying while Elasticsearch is not ready. Blocks;
    False if ``stop`` was set first."""
    return until_es_ready(lambda: ensure_index(es, settings.index_prefix, Layout.of(settings)), settings, stop)


def until_es_ready(setup: Callable[[], object], settings: SearchSettings, stop: Stop) -> bool:
    """Run ``setup`` until Elasticsearch accepts it, backing off while it is not ready. Blocks;
    False if ``stop`` was set first."""
    delay = FIRST_BACKOFF_S
    while not stop.is_set():
        try:
            setup()
            return True
        except (ESConnectionError, ConnectionTimeout, ApiError) as exc:
            log.warning("Elasticsearch not ready", extra={"error": repr(exc)})
            stop.wait(delay)
            delay = min(delay * 2, settings.backoff_max_s)
    return False


def run(settings: SearchSettings, stop: Stop) -> None:
    """The ``warta search indexer`` process: wait for the index, then consume until ``stop`` is set.
    Blocks; raises the fatal errors of the module docstring."""
    # Up to five batches of articles are alive at once (polled, open, sealed, indexing,
    # announcing), so with the default threshold (700) most collections walk objects still in use.
    # Measured on a backlog: CPU per article down by about a fifth.
    gc.set_threshold(GC_THRESHOLD, 10, 10)
    es = make_es(settings)
    try:
        if not wait_for_index(es, settings, stop):
            return
        consumer = partial(make_consumer, settings, "search-indexer", max_poll_records=settings.batch_size)
        make_processor(settings, es, consumer(), make_producer(settings), consumer_factory=consumer).run(stop)
    finally:
        es.close()


def make_processor(
    settings: SearchSettings,
    es: Elasticsearch,
    consumer: Consumer,
    producer: KafkaProducer,
    *,
    pause_after_s: float = PAUSE_AFTER_S,
    clock: Callable[[], float] = time.monotonic,
    tombstones: TombstoneGate | None = None,
    consumer_factory: Callable[[], Consumer] | None = None,
) -> StreamProcessor[EnrichedArticle]:
    """The indexer's consumer. ``producer`` writes both ``articles.indexed`` and ``search.dlq``; the
    processor closes it (through the DLQ publisher) when it stops. ``tombstones`` defaults to the
    gate on the namespace's tombstone index; the indexer starts and closes it."""
    gate = tombstones or TombstoneGate.for_index(es, settings.index_prefix, settings.tombstone_check_s)
    return StreamProcessor(
        consumer,
        Topic.ARTICLES_ENRICHED,
        settings,
        lambda outcomes: Indexer(outcomes, settings, es, producer, gate),
        DlqPublisher(settings, Stage.SEARCH, producer=producer),
        commit_interval_s=0.0,  # one commit per finished batch
        max_poll_records=settings.batch_size,
        poll_timeout_ms=50,
        pause_after_s=pause_after_s,
        consumer_factory=consumer_factory,  # replaces the client after a stuck rebalance
        clock=clock,
    )


@dataclass(slots=True, eq=False)
class Prepared:
    """An article with its bulk action and document, projected on the consumer thread (while the
    bulk in flight waits for Elasticsearch). The document's ``indexed_at`` is set at each attempt."""

    article: EnrichedArticle
    action: dict[str, Any]
    document: dict[str, Any]
    month: str | None = None  # the monthly layout: the month the article is filed under

    @property
    def id(self) -> str:
        return self.article.id  # read by Message.article_id for DLQ records


@dataclass(slots=True)
class _Item:
    message: Message[Prepared]
    attempts: int = 0  # item-level 5xx so far
    status: int = 0
    index: str = ""
    indexed_at: datetime | None = None
    error: str = ""


@dataclass(slots=True)
class Written:
    """What a bulk did with its batch: every item is indexed, rejected or skipped as tombstoned."""

    indexed: list[_Item]
    rejected: list[_Item]
    started: float
    tombstoned: list[_Item]


PreparedBatch = list[Message[Prepared]]
Indexed = tuple[PreparedBatch, Written | None]  # a batch and what its bulk did (None: abandoned)


class Indexer(Strategy[Message[EnrichedArticle]]):
    """Project (consumer thread) -> batch -> bulk (bulk thread) -> announce (announce thread) ->
    report (consumer thread). One batch per helper thread: batch N is announced while batch N+1 is
    indexed and batch N+2 fills; results are reported in order.

    Holds at most an open batch, a sealed one, one in each helper thread, and the projection of a
    rejected message. ``es`` is used from the bulk thread (and by the tombstone gate's watcher
    thread; the client is thread-safe), ``producer`` from the announce
    thread (and by the DLQ publisher on the consumer thread; kafka-python's producer is
    thread-safe)."""

    def __init__(
        self,
        outcomes: Outcomes,
        settings: SearchSettings,
        es: Elasticsearch,
        producer: KafkaProducer,
        tombstones: TombstoneGate,
    ) -> None:
        self._outcomes = outcomes
        self._tombstones = tombstones
        tombstones.start()
        self._settings = settings
        self._es = es
        self._producer = producer
        self._alias = settings.alias
        self._layout = Layout.of(settings)
        self._months: set[str] = set()  # months whose write alias is known to exist (monthly layout)
        self._topic = settings.topic(Topic.ARTICLES_INDEXED)
        self._stopping = threading.Event()  # set by join/close: a failed attempt is not retried
        self._abandoned = False  # a batch was given up at shutdown: later ones are not tried
        self._projected: tuple[Message[EnrichedArticle], Message[Prepared]] | None = None
        announce: RunInThread[Indexed, Written | None] = RunInThread(
            self._announce, Apply(self._finish), on_done=outcomes.wakeup, name="announce"
        )
        bulk: RunInThread[PreparedBatch, Written | None] = RunInThread(
            self._bulk, announce, on_done=outcomes.wakeup, name="bulk"
        )
        self._steps = Batch(bulk, max_size=settings.batch_size, max_ms=settings.batch_max_ms)

    def submit(self, item: Message[EnrichedArticle]) -> None:
        # A rejected message is submitted again, unchanged: its projection is kept for that.
        if self._projected is None or self._projected[0] is not item:
            self._projected = (item, self._project(item))
        self._steps.submit(self._projected[1])
        self._projected = None

    def poll(self) -> None:
        self._steps.poll()

    def join(self, timeout: float | None = None) -> None:
        # Shutdown must not wait out an outage: the batch that fails now is left uncommitted.
        self._stopping.set()
        self._steps.join(timeout)
        if not self._abandoned:  # not in an outage: shutdown must not wait one out
            self._tombstones.sweep()  # what the last batches wrote, before the watcher stops

    def close(self) -> None:
        self._stopping.set()
        self._steps.close()
        self._tombstones.close()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        self._steps.forget(partitions)

    # --- the consumer thread ---------------------------------------------------------------------

    def _project(self, message: Message[EnrichedArticle]) -> Message[Prepared]:
        article = message.payload
        version = int(article.ingested_at.timestamp() * 1000)
        action = {"index": {"_index": self._alias, "_id": article.id, "version": version, "version_type": "external_gte"}}  # fmt: skip
        month = None
        if self._layout.period == "month":
            month = month_of(article.published_at, article.ingested_at)
            # require_alias: a month whose index is gone (retention) fails, rather than being
            # auto-created as an index without the mapping.
            action["index"] |= {"_index": month_alias(self._settings.index_prefix, month), "require_alias": True}
        prepared = Prepared(article, action, to_document(article, indexed_at=""), month)
        return Message(message.partition, message.offset, message.key, message.value, prepared)

    def _finish(self, sent: tuple[Indexed, Written | None]) -> None:
        written = sent[1]
        if written is None:
            return  # abandoned at shutdown: unreported, so re-delivered
        for item in written.indexed:
            assert item.indexed_at is not None
            FRESHNESS.observe(max(0.0, (item.indexed_at - item.message.payload.article.ingested_at).total_seconds()))
            self._outcomes.done(item.message, "duplicate" if item.status == 409 else "ok")
        for item in written.rejected:
            self._outcomes.dlq(item.message, "rejected", item.error, attempts=item.attempts + 1)
        for item in written.tombstoned:
            log.info("tombstoned article not indexed", extra={"article_id": item.message.payload.id,
                                                             "offset": item.message.offset})  # fmt: skip
            self._outcomes.done(item.message, "tombstoned")
        STAGE_SECONDS.labels(STAGE).observe(time.perf_counter() - written.started)

    # --- the helper threads ----------------------------------------------------------------------

    def _bulk(self, batch: PreparedBatch, cancelled: threading.Event) -> Written | None:
        """Index ``batch`` until every item is indexed or rejected. None: given up at shutdown."""
        if self._abandoned:
            return None  # an earlier batch was given up at shutdown: this one could not be committed
        started = time.perf_counter()
        todo = [_Item(m) for m in batch]
        indexed: list[_Item] = []
        rejected: list[_Item] = []
        delay = min(FIRST_BACKOFF_S, self._settings.backoff_max_s)
        while (dead := self._tombstones.tombstoned([i.message.payload.id for i in todo])) is None:
            if not self._back_off(delay, cancelled, "retrying the tombstone lookup", len(todo)):
                return None
            delay = min(delay * 2, self._settings.backoff_max_s)
        tombstoned = [i for i in todo if i.message.payload.id in dead] if dead else []
        if tombstoned:
            todo = [i for i in todo if i.message.payload.id not in dead]
        while todo:
            todo = self._attempt(todo, indexed, rejected)
            if todo and not self._back_off(delay, cancelled, "retrying items after backoff", len(todo)):
                return None
            delay = min(delay * 2, self._settings.backoff_max_s)
        self._tombstones.written([i.message.payload.id for i in indexed])
        return Written(indexed, rejected, started, tombstoned)

    def _attempt(self, todo: list[_Item], indexed: list[_Item], rejected: list[_Item]) -> list[_Item]:
        """One bulk request for ``todo``: sorts its items into ``indexed`` and ``rejected`` and
        returns those to retry. In the monthly layout, each article's copies in other months'
        indices (its publication date changed) are deleted in the same request, unless one is
        newer: then the article is a duplicate, not written."""
        now = datetime.now(UTC)
        indexed_at = now.isoformat()
        stale: dict[str, list[tuple[str, int]]] = {}
        latest: dict[str, _Item] = {}  # the monthly layout: the newest item of each article in todo
        if self._layout.period == "month":
            for item in todo:
                held = latest.setdefault(item.message.payload.id, item)
                if item.message.payload.action["index"]["version"] > held.message.payload.action["index"]["version"]:
                    latest[item.message.payload.id] = item
            try:
                self._ensure_months(todo)
                stale = self._other_months(todo)
            except (ESConnectionError, ConnectionTimeout) as exc:
                log.warning("Elasticsearch unreachable", extra={"error": repr(exc)})
                return todo
            except ApiError as exc:
                if exc.meta.status != 429 and exc.meta.status < 500:
                    raise
                log.warning("month lookup rejected", extra={"error": f"{exc.meta.status}"})
                return todo
        ops: list[dict[str, Any]] = []
        sent: list[tuple[_Item, int]] = []  # each item with its number of operations
        for item in todo:
            prepared = item.message.payload
            version = prepared.action["index"]["version"]
            copies = stale.get(prepared.id, [])
            newer = next((index for index, v in copies if v > version), None)
            if latest and latest[prepared.id] is not item:  # the batch has a newer copy (maybe another month)
                newer = month_alias(self._settings.index_prefix, latest[prepared.id].message.payload.month or "")
            if newer is not None:  # a newer copy is filed under another month
                item.status, item.index, item.indexed_at = 409, newer, now
                indexed.append(item)
                continue
            prepared.document["indexed_at"] = indexed_at
            ops += (prepared.action, prepared.document)
            ops += ({"delete": {"_index": index, "_id": prepared.id, "version": version,
                                "version_type": "external_gte"}} for index, _ in copies)  # fmt: skip
            sent.append((item, 1 + len(copies)))
        if not sent:
            return []
        response = self._send(ops)
        if response is None:
            return [item for item, _ in sent]
        retry: list[_Item] = []
        results = iter(response["items"])
        for item, n in sent:
            outcome = next(results)["index"]
            status = outcome.get("status", 500)
            failed = [d for d in (next(results)["delete"] for _ in range(n - 1)) if d.get("status", 500) not in (200, 404, 409)]  # fmt: skip
            if failed and (status < 300 or status == 409):  # written, but the old month's copy is left
                status, outcome = failed[0].get("status", 500), {"error": failed[0].get("error")}
            if status < 300 or status == 409:
                item.status, item.index, item.indexed_at = status, outcome.get("_index") or self._alias, now
                indexed.append(item)
            elif status == 429 or (status >= 500 and item.attempts < self._settings.max_item_retries):
                item.attempts += status >= 500
                retry.append(item)
            elif status == 404 and item.message.payload.month and item.attempts < self._settings.max_item_retries:
                # The month's write alias is gone (its index was dropped): create it again.
                self._months.discard(item.message.payload.month)
                item.attempts += 1
                retry.append(item)
            else:
                item.error = f"{status}: {outcome.get('error')}"
                rejected.append(item)
        return retry

    def _ensure_months(self, todo: list[_Item]) -> None:
        for month in {i.message.payload.month for i in todo} - self._months:
            assert month is not None
            ensure_month(self._es, self._settings.index_prefix, month, self._layout)
            self._months.add(month)

    def _other_months(self, todo: list[_Item]) -> dict[str, list[tuple[str, int]]]:
        """The copies of ``todo``'s articles filed under another month (or in an index of another
        layout), as ``(index, version)`` by article id: one ids query on the read alias. Near real
        time: a copy written within the last refresh interval is not seen."""
        month = {i.message.payload.id: i.message.payload.month for i in todo}
        resp = self._es.search(index=self._alias, query={"ids": {"values": list(month)}}, source=False,
                               version=True, size=min(10_000, 2 * len(month)), track_total_hits=False)  # fmt: skip
        copies: dict[str, list[tuple[str, int]]] = {}
        for hit in resp["hits"]["hits"]:
            parsed = parse_index_name(hit["_index"])
            if parsed is None or parsed[1] != month[hit["_id"]]:
                copies.setdefault(hit["_id"], []).append((hit["_index"], int(hit["_version"])))
        return copies

    def _send(self, ops: list[dict[str, Any]]) -> Any:
        """One bulk request. None means it failed as a whole in a retriable way."""
        try:
            return self._es.bulk(operations=ops, refresh=False)
        except (ESConnectionError, ConnectionTimeout) as exc:
            log.warning("Elasticsearch unreachable", extra={"error": repr(exc)})
        except ApiError as exc:
            if exc.meta.status != 429 and exc.meta.status < 500:
                raise
            log.warning("bulk rejected", extra={"error": f"{exc.meta.status}"})
        return None

    def _announce(self, bulk: Indexed, cancelled: threading.Event) -> Written | None:
        """Write one ``articles.indexed`` record per indexed item and wait for the acks, retrying
        through a Kafka outage. None: given up at shutdown (or the bulk was)."""
        written = bulk[1]
        if written is None or self._abandoned:
            return None
        records = [(i.message.payload.id.encode(), self._indexed_record(i)) for i in written.indexed]
        delay = min(FIRST_BACKOFF_S, self._settings.backoff_max_s)
        while records:
            records = self._publish(records)
            if records and not self._back_off(delay, cancelled, "retrying articles.indexed", len(records)):
                return None
            delay = min(delay * 2, self._settings.backoff_max_s)
        return written

    def _indexed_record(self, item: _Item) -> bytes:
        prepared = item.message.payload
        assert item.indexed_at is not None
        return IndexedArticle(id=prepared.id, index=item.index, indexed_at=item.indexed_at,
                              ingested_at=prepared.article.ingested_at,
                              story_id=prepared.document["story_id"]).to_bytes()  # fmt: skip

    def _publish(self, records: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """Write ``records`` to ``articles.indexed`` and wait for the acks. Returns those Kafka did
        not acknowledge (to retry); raises the errors no retry can fix."""
        sent = []
        failed: list[tuple[bytes, bytes]] = []
        error: KafkaError | None = None
        for n, (key, value) in enumerate(records):
            try:
                sent.append(((key, value), self._producer.send(self._topic, key=key, value=value)))
            except KafkaError as exc:  # e.g. no metadata within max_block_ms: the rest would wait too
                error, failed = exc, records[n:]
                break
        for record, future in sent:
            try:
                future.get(timeout=ACK_TIMEOUT_S)
            except KafkaError as exc:
                error = exc
                failed.append(record)
        if error is not None:
            if classify_kafka_error(error).permanent:
                raise error
            log.warning("articles.indexed not acknowledged", extra={"count": len(failed), "error": repr(error)})
        return failed

    def _back_off(self, delay: float, cancelled: threading.Event, what: str, count: int) -> bool:
        """Wait before a retry. False, and the batch is abandoned, when the indexer is stopping."""
        if not (self._stopping.is_set() or cancelled.is_set()):
            log.warning(what, extra={"count": count, "duration_ms": int(delay * 1000)})
            self._stopping.wait(delay)  # join and close set it; cut short then
        if self._stopping.is_set() or cancelled.is_set():
            log.warning("stopping with an unindexed batch; not committing it", extra={"count": count})
            self._abandoned = True
            return False
        return True
