"""The alerts consumer: ``articles.indexed`` -> saved-search matches and webhook deliveries, a
strategy on the consumer runtime (:mod:`shared.consumer`), which polls, decodes, pauses and commits.

Contract:

- Its own consumer group (``search-alerts``): it reads what the indexer announces and never slows
  the indexer down; an alerts outage only grows this group's lag (``articles.indexed`` is kept a
  day).
- Batches of up to ``alerts_batch_size`` records, or whatever arrived within
  ``alerts_batch_max_ms`` (``alerts_busy_batch_max_ms`` after a batch of :data:`BUSY_BATCH` or
  more: see :class:`AdaptiveBatch`), are matched on a helper thread (:class:`AlertMatcher`): the articles
  are made searchable, every enabled saved search is evaluated against them, and the new matches
  and their deliveries are recorded. One batch is in flight while the consumer thread polls.
- A batch is reported, so its offsets committed, only once its matches and deliveries are
  recorded. Re-delivered articles (the indexer announces at least once) record nothing twice.
- A saved search that Elasticsearch rejects is marked failing and skipped; it never holds up the
  batch. Elasticsearch unavailable (unreachable, 429, 5xx) is retried with exponential backoff up
  to ``backoff_max_s``, without limit: the next batch waits and the partitions are paused.
- An undecodable record goes to ``search.dlq`` (stage ``search``: alerts belong to the search
  service), by the runtime; metrics name the stage ``alerts``.
- The webhook dispatcher runs in this process, on its own thread, and is woken when a batch
  created deliveries.
- Shutdown: the batch in flight finishes its current attempt; one that would need a retry is
  abandoned, unreported, so it is re-delivered. Anything but :class:`Unavailable` (a refused write
  to the alert indices, a failed DLQ write, the DLQ limit) is fatal: the process stops.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from elasticsearch import Elasticsearch
from kafka import TopicPartition

from services.search.alerts.dispatcher import WebhookDispatcher
from services.search.alerts.es import EsAlertBackend
from services.search.alerts.matching import AlertMatcher, Outcome, Unavailable
from services.search.alerts.spikes import SpikeChecker
from services.search.alerts.store import AlertIndices, now_utc
from services.search.indexer import make_es, until_es_ready
from services.search.settings import AlertsSettings
from shared.consumer import Apply, Batch, Consumer, Message, Outcomes, RunInThread, Strategy, StreamProcessor
from shared.consumer.processor import Stop
from shared.kafka import DlqPublisher, make_consumer
from shared.metrics import ALERT_DELIVERIES, ALERT_MATCH_SECONDS, ALERT_MATCHES, ALERT_MONITORS, STAGE_SECONDS
from shared.schemas import IndexedArticle
from shared.ssrf import SsrfGuard
from shared.topics import Stage, Topic

log = logging.getLogger(__name__)

STAGE = "alerts"
GROUP = "search-alerts"
FIRST_BACKOFF_S = 0.2
# As the indexer's: a batch waits this long for the one in flight before the partitions pause.
PAUSE_AFTER_S = 1.0
# kafka-python 2.3 refuses a fetch response larger than receive_message_max_bytes (1,000,000 by
# default), although a fetch returns up to 1 MiB per partition: with a backlog it logs an
# InvalidReceiveError, drops the connection and fetches again. Bound the fetch and accept a frame
# that holds it.
FETCH_MAX_BYTES = 8 * 1024 * 1024
RECEIVE_MAX_BYTES = FETCH_MAX_BYTES + 1024 * 1024

IndexedBatch = list[Message[IndexedArticle]]
# A batch this large means the consumer is busy (indexing runs flat out, or a backlog is being
# caught up): the next batch may grow for alerts_busy_batch_max_ms.
BUSY_BATCH = 1000


@dataclass(slots=True)
class Matched:
    """What the helper thread did with a batch."""

    outcome: Outcome
    started: float
    finished_at: datetime


class AdaptiveBatch(Batch[IndexedArticle]):
    """:class:`~shared.consumer.Batch` whose age limit stretches while the consumer is busy.

    A batch costs Elasticsearch about the same whatever its size (one ``_msearch`` over every saved
    search, and a refresh), so after a batch of at least ``busy_size`` the next one may grow for
    ``busy_ms``: while indexing runs flat out, alerts cost it one batch every few seconds. After a
    smaller one (steady traffic) ``max_ms`` keeps the index-to-match latency short."""

    def __init__(
        self,
        next_step: Strategy[list[Message[IndexedArticle]]],
        *,
        max_size: int,
        max_ms: float,
        busy_ms: float,
        busy_size: int = BUSY_BATCH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(next_step, max_size=max_size, max_ms=max_ms, clock=clock)
        self._idle_s, self._busy_s, self._busy_size = max_ms / 1000, max(busy_ms, max_ms) / 1000, busy_size

    def _seal(self) -> None:
        size = len(self._open)
        super()._seal()
        self._max_s = self._busy_s if size >= self._busy_size else self._idle_s


class Alerts(Strategy[Message[IndexedArticle]]):
    """Batch -> match and record (on a helper thread) -> report.

    Holds at most an open batch, a sealed one and the one in flight. ``matcher`` is used from the
    helper thread only; outcomes are reported from the consumer thread. ``on_recorded`` is called
    (from the helper thread) after a batch created deliveries."""

    def __init__(
        self,
        outcomes: Outcomes,
        matcher: AlertMatcher,
        *,
        batch_size: int,
        batch_max_ms: float,
        busy_batch_max_ms: float | None = None,
        backoff_max_s: float = 30.0,
        on_recorded: Callable[[], None] | None = None,
    ) -> None:
        self._outcomes = outcomes
        self._matcher = matcher
        self._backoff_max_s = backoff_max_s
        self._on_recorded = on_recorded
        self._stopping = threading.Event()  # set by join/close: a failed attempt is not retried
        self._abandoned = False  # a batch was given up at shutdown: later ones are not tried
        work: RunInThread[IndexedBatch, Matched | None] = RunInThread(
            self._match, Apply(self._finish), on_done=outcomes.wakeup, name="match"
        )
        self._steps = AdaptiveBatch(work, max_size=batch_size, max_ms=batch_max_ms,
                                    busy_ms=busy_batch_max_ms or batch_max_ms)  # fmt: skip

    def submit(self, item: Message[IndexedArticle]) -> None:
        self._steps.submit(item)

    def poll(self) -> None:
        self._steps.poll()

    def join(self, timeout: float | None = None) -> None:
        self._stopping.set()  # shutdown must not wait out an outage
        self._steps.join(timeout)

    def close(self) -> None:
        self._stopping.set()
        self._steps.close()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        self._steps.forget(partitions)

    # --- the helper thread -----------------------------------------------------------------------

    def _match(self, batch: IndexedBatch, cancelled: threading.Event) -> Matched | None:
        """Match and record ``batch``, retrying while Elasticsearch is unavailable. None: given up
        at shutdown, nothing to report."""
        if self._abandoned:
            return None
        started = time.perf_counter()
        # An article announced twice in one batch (a re-indexed copy) is matched once.
        articles = list({m.payload.id: m.payload for m in batch}.values())
        delay = min(FIRST_BACKOFF_S, self._backoff_max_s)
        attempt = 0
        while True:
            try:
                outcome = self._matcher.process(articles, attempt)
                break
            except Unavailable as exc:
                attempt += 1
                if not (self._stopping.is_set() or cancelled.is_set()):
                    log.warning("Elasticsearch unavailable; retrying the batch",
                                extra={"count": len(articles), "error": str(exc)[:300], "duration_ms": int(delay * 1000)})  # fmt: skip
                    self._stopping.wait(delay)
                if self._stopping.is_set() or cancelled.is_set():
                    log.warning("stopping with an unmatched batch; not committing it", extra={"count": len(articles)})
                    self._abandoned = True
                    return None
                delay = min(delay * 2, self._backoff_max_s)
        if outcome.deliveries and self._on_recorded is not None:
            self._on_recorded()
        return Matched(outcome, started, now_utc())

    # --- the consumer thread ---------------------------------------------------------------------

    def _finish(self, sent: tuple[IndexedBatch, Matched | None]) -> None:
        batch, matched = sent
        if matched is None:
            return  # abandoned at shutdown: unreported, so re-delivered
        outcome = matched.outcome
        for message in batch:
            ALERT_MATCH_SECONDS.observe(max(0.0, (matched.finished_at - message.payload.indexed_at).total_seconds()))
            self._outcomes.done(message, "ok")
        ALERT_MATCHES.inc(outcome.new_matches)
        ALERT_DELIVERIES.labels("created").inc(outcome.deliveries)
        if outcome.monitors:
            ALERT_MONITORS.labels("failing").set(outcome.failing_total)
            ALERT_MONITORS.labels("ok").set(outcome.monitors - outcome.failing_total)
        STAGE_SECONDS.labels(STAGE).observe(time.perf_counter() - matched.started)
        if outcome.new_matches or outcome.failing:
            log.info("batch matched", extra={"count": outcome.articles, "matches": outcome.new_matches,
                                             "deliveries": outcome.deliveries, "failing": len(outcome.failing)})  # fmt: skip


def make_processor(
    settings: AlertsSettings,
    consumer: Consumer,
    matcher: AlertMatcher,
    dlq: DlqPublisher,
    *,
    on_recorded: Callable[[], None] | None = None,
    pause_after_s: float = PAUSE_AFTER_S,
    clock: Callable[[], float] = time.monotonic,
    consumer_factory: Callable[[], Consumer] | None = None,
) -> StreamProcessor[IndexedArticle]:
    """The alerts consumer on ``consumer``; the processor closes ``consumer`` and ``dlq``."""

    def strategy(outcomes: Outcomes) -> Alerts:
        return Alerts(outcomes, matcher, batch_size=settings.alerts_batch_size, batch_max_ms=settings.alerts_batch_max_ms,
                      busy_batch_max_ms=settings.alerts_busy_batch_max_ms, backoff_max_s=settings.backoff_max_s,
                      on_recorded=on_recorded)  # fmt: skip

    return StreamProcessor(
        consumer,
        Topic.ARTICLES_INDEXED,
        settings,
        strategy,
        dlq,
        stage=STAGE,
        commit_interval_s=0.0,  # one commit per finished batch
        max_poll_records=settings.alerts_batch_size,
        poll_timeout_ms=50,
        pause_after_s=pause_after_s,
        consumer_factory=consumer_factory,  # replaces the client after a stuck rebalance
        clock=clock,
    )


def wait_for_indices(es: Elasticsearch, settings: AlertsSettings, stop: Stop) -> bool:
    """Ensure the alert indices exist, retrying while Elasticsearch is not ready. Blocks; False if
    ``stop`` was set first."""
    return until_es_ready(lambda: AlertIndices(settings.index_prefix).ensure(es), settings, stop)


def run(settings: AlertsSettings, stop: Stop) -> None:
    """The ``warta search alerts`` process: the webhook dispatcher thread and the consumer, until
    ``stop`` is set. Blocks; raises the fatal errors of the module docstring."""
    if settings.alerts_nice:
        os.nice(settings.alerts_nice)
    es = make_es(settings)
    dispatcher: WebhookDispatcher | None = None
    spikes: SpikeChecker | None = None
    try:
        if not wait_for_indices(es, settings, stop):
            return
        guard = SsrfGuard(allow_hosts=settings.webhook_allow_list)
        dispatcher = WebhookDispatcher(es, settings.index_prefix, settings.alias, settings.webhook_secret, guard,
                                       public_url=settings.public_url)  # fmt: skip
        dispatcher.start()
        if settings.alerts_spike_interval_s > 0:  # spike alerts: a thread, deliveries through the dispatcher
            spikes = SpikeChecker(es, settings.index_prefix, settings.alias, interval_s=settings.alerts_spike_interval_s,
                                  on_recorded=dispatcher.wake)  # fmt: skip
            spikes.start()
        matcher = AlertMatcher(EsAlertBackend(es, settings.index_prefix, settings.alias),
                               retry_failing_s=settings.alerts_retry_failing_s, patient_size=BUSY_BATCH)  # fmt: skip
        consumer = partial(make_consumer, settings, GROUP, max_poll_records=settings.alerts_batch_size,
                           fetch_max_bytes=FETCH_MAX_BYTES, receive_message_max_bytes=RECEIVE_MAX_BYTES)  # fmt: skip
        make_processor(settings, consumer(), matcher, DlqPublisher(settings, Stage.SEARCH),
                       on_recorded=dispatcher.wake, consumer_factory=consumer).run(stop)  # fmt: skip
    finally:
        if spikes is not None:
            spikes.stop()
        if dispatcher is not None:
            dispatcher.stop()
        es.close()
