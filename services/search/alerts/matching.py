"""Matching indexed articles against saved searches, and recording what is new.

:class:`AlertMatcher` holds the rules; :class:`AlertBackend` is what it needs of Elasticsearch
(:class:`~services.search.alerts.es.EsAlertBackend`; a fake in the unit tests).

For one batch of indexed articles, :meth:`AlertMatcher.process`:

1. **Makes the articles searchable.** The indexer forces no refresh, so a document is visible to
   search only after the next refresh (``refresh_interval`` 1 s, or none while the shard is search
   idle). The matcher refreshes the articles' indices once per batch, unless every article was
   indexed before its previous refresh started *and* an ``ids`` search confirms they are all
   visible: the clocks only decide whether to check, never whether to skip the refresh, so a clock
   skew between hosts costs a refresh, never a match. A large batch (the consumer is busy) first
   gives the index's own periodic refresh a moment, checking with the ``ids`` search.
2. **Evaluates every enabled saved search against the batch's ids**, in few requests: one
   ``_msearch`` whose searches each restrict to the batch's ids and carry a chunk of saved searches
   as a ``filters`` aggregation (one bucket per saved search, keyed by its id), with the matching
   article ids in a ``terms`` sub-aggregation. Each saved search is parsed as a query of its own,
   so it meets the same limits (nesting depth, clauses) as in the search API. No hits are fetched
   (about half the cost of named queries with ``matched_queries``, measured); the fields a match
   records are read once per matched article, afterwards.
3. **Isolates the saved searches Elasticsearch rejects.** A 4xx (a query past the clause limit or
   the nesting depth...) fails its whole chunk, or the whole ``_msearch`` when the body does not
   parse; the matcher halves the failing group until the culprit is alone, marks it failing
   (``query_status``, ``query_error``, ``query_failed_at`` on the saved search) and matches the
   others. A failing saved search is then run alone, at most every ``retry_failing_s``, and marked
   ok again the first time it runs without error (an edit of the query resets its state, so an edit
   is tried at the next batch). A 5xx that a chunk keeps getting while others succeed is
   isolated the same way after :data:`ISOLATE_5XX_AFTER` attempts. 429s, 5xx everywhere and
   unreachable Elasticsearch raise :class:`Unavailable`: the caller retries the whole batch.
4. **Records the matches idempotently**, deliveries first. Matches have ``_id`` = saved search id
   + article id; those that already exist (a re-delivered article) are not new. For the new ones
   of a saved search with a webhook, one delivery (id derived from its article ids) is created
   *before* the matches, unless a delivery already holds that article for that saved search (a
   crash between the two writes): so a re-delivered article never creates a second match or a
   second delivery, and a crash never loses one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from services.search.alerts.store import now_utc
from services.search.query import parse, to_es_query
from shared.schemas import IndexedArticle

log = logging.getLogger(__name__)

EsQuery = dict[str, Any]

# Saved searches per search of the _msearch: the searches of one request run in parallel, and a
# rejected saved search costs its chunk a halving.
CHUNK_SIZE = 250
# A chunk failing with a 5xx while other chunks succeed is split and its culprit marked failing
# from this attempt on; before, the whole batch is retried (a 5xx is usually Elasticsearch's state).
ISOLATE_5XX_AFTER = 3
# How often a large batch checks whether the index's own refresh made it visible.
REFRESH_CHECK_S = 0.3
# What a match records of its article (the outlet's name, when it has one, for the monitors page).
MATCH_FIELDS = ("published_at", "title", "url", "source", "outlet")
ERROR_MAX_CHARS = 300


class Unavailable(Exception):
    """Elasticsearch cannot serve the batch now (unreachable, 429, 5xx, a failed write): retry it
    later, whole. Nothing about the saved searches was concluded."""


class SearchRejected(Exception):
    """The whole ``_msearch`` was refused with a 4xx (its body does not parse: one query in it is
    too deep or otherwise invalid)."""

    def __init__(self, status: int, error: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.error = error


@dataclass(frozen=True, slots=True)
class Monitor:
    """An enabled saved search, compiled. ``status`` is its stored ``query_status``."""

    id: str
    query: str
    es_query: EsQuery
    webhook: bool
    status: str | None = None
    # The saved search document's version when read: a write conditional on it changes nothing
    # that was edited since.
    seq_no: int | None = None
    primary_term: int | None = None
    team: str = "default"  # the owning team, copied onto its matches and deliveries


@dataclass(slots=True)
class ChunkResult:
    """One search of an ``_msearch``: the matched article ids per saved search id, or the error."""

    hits: dict[str, list[str]] = field(default_factory=dict)
    status: int = 200
    error: Any = None


class AlertBackend(Protocol):
    """What :class:`AlertMatcher` needs of Elasticsearch. Every method may raise
    :class:`Unavailable`; none raises anything else for Elasticsearch's state."""

    def saved_searches(self) -> list[dict[str, Any]]:
        """Every saved search document."""
        ...

    def saved_searches_version(self) -> tuple[int, str | None]:
        """What changes whenever a saved search is created, deleted or edited (its count and latest
        ``updated_at``), cheaply; as current as :meth:`saved_searches`."""
        ...

    def all_visible(self, articles: Sequence[IndexedArticle]) -> bool:
        """Whether search sees every one of ``articles`` now (in the index it was written to)."""
        ...

    def refresh(self, indices: Sequence[str]) -> None:
        """Make everything written to ``indices`` so far visible to search."""
        ...

    def search(self, chunks: Sequence[Sequence[Monitor]], ids: Sequence[str]) -> list[ChunkResult]:
        """One search per chunk restricted to ``ids``; raises :class:`SearchRejected` when the
        request is refused whole."""
        ...

    def article_fields(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The :data:`MATCH_FIELDS` of these articles (those that still exist)."""
        ...

    def existing_matches(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (saved search id, article id) pairs already recorded as matches."""
        ...

    def delivered(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """The pairs that a delivery already holds."""
        ...

    def create_deliveries(self, deliveries: list[dict[str, Any]]) -> None:
        """Create these deliveries; one that exists (same id) is left as it is. Visible to the
        dispatcher's search on return."""
        ...

    def create_matches(self, matches: list[dict[str, Any]], visible: bool) -> int:
        """Create these matches (``_id`` = ``saved_search_id:article_id``); existing ones are left.
        Returns how many were new. ``visible``: searchable on return."""
        ...

    def record_query_states(self, states: list[tuple[Monitor, str | None]], at: str) -> None:
        """:meth:`SavedSearchStore.record_query_state` for each monitor's query (``None``: ok), in
        as few requests as possible: a first batch after an upgrade marks every saved search ok."""
        ...


@dataclass(slots=True)
class Outcome:
    """What one batch came to."""

    articles: int = 0
    monitors: int = 0
    failing: dict[str, str] = field(default_factory=dict)  # saved search id -> the error
    skipped: int = 0  # failing saved searches not retried in this batch
    failing_total: int = 0  # failing now: newly, still, or skipped
    new_matches: int = 0
    deliveries: int = 0
    refreshed: bool = False
    searches: int = 0


def short_error(status: int, error: Any) -> str:
    """What a saved search's ``query_error`` says: the cause in a sentence a monitor's owner can act
    on, without Elasticsearch's internals (those go to the log)."""
    text = str(error)
    if "max_nested_depth" in text or "nested depth" in text:
        return ("Elasticsearch rejected the query: it nests too deeply (brackets, NOT and title: inside "
                "one another); flatten it")  # fmt: skip
    if "maxClauseCount" in text or "too_many_clauses" in text or "too_many_nested_clauses" in text:
        return ("Elasticsearch rejected the query: it expands to too many terms (a wildcard next to "
                "NEAR matches too many words?); narrow it")  # fmt: skip
    if 400 <= status < 500:
        return f"Elasticsearch rejected the query (HTTP {status})"
    return f"Elasticsearch failed to run the query (HTTP {status})"


def delivery_id(saved_id: str, article_ids: Iterable[str]) -> str:
    return hashlib.sha256((saved_id + ":" + ",".join(sorted(article_ids))).encode()).hexdigest()[:24]


class AlertMatcher:
    """Matches batches of indexed articles against every enabled saved search (see the module
    docstring). Used from one thread at a time. :meth:`process` blocks on Elasticsearch; it is
    idempotent per article, and raises :class:`Unavailable` only."""

    def __init__(
        self,
        backend: AlertBackend,
        *,
        retry_failing_s: float = 60.0,
        patient_size: int = 1000,
        refresh_wait_s: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = now_utc,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.backend = backend
        self.retry_failing_s = retry_failing_s
        self.patient_size = patient_size
        self.refresh_wait_s = refresh_wait_s
        self._sleep = sleep
        self._clock = clock
        self._wall = wall_clock
        self._cached: tuple[tuple[int, str | None], list[Monitor]] | None = None  # (version, monitors)
        self._compiled: dict[str, EsQuery | None] = {}  # query text -> compiled
        self._retry_at: dict[str, float] = {}  # failing saved search id -> when to run it alone again
        self._refresh_started: datetime | None = None

    # --- saved searches ----------------------------------------------------------------------

    def monitors(self) -> list[Monitor]:
        """The enabled saved searches as they are now: read again whenever one was created, deleted
        or edited (a cheap version check per batch), so an edit applies from the next batch."""
        version = self.backend.saved_searches_version()
        if self._cached is not None and self._cached[0] == version:
            return self._cached[1]
        monitors = []
        compiled: dict[str, EsQuery | None] = {}
        for s in self.backend.saved_searches():
            if not s.get("enabled", True):
                continue
            query = str(s.get("query", ""))
            if query not in compiled:
                compiled[query] = self._compiled[query] if query in self._compiled else self._compile(query, s)
            es_query = compiled[query]
            if es_query is not None:
                monitors.append(Monitor(s["id"], query, es_query, bool(s.get("webhook_url")), s.get("query_status"),
                                        s.get("_seq_no"), s.get("_primary_term"), s.get("team") or "default"))  # fmt: skip
        self._compiled = compiled
        self._cached = (version, monitors)
        return monitors

    @staticmethod
    def _compile(query: str, saved: dict[str, Any]) -> EsQuery | None:
        try:
            return to_es_query(parse(query))
        except ValueError as exc:  # stored before a grammar change; the API refuses such queries
            log.warning("saved search no longer parses", extra={"saved_search_id": saved.get("id"), "error": repr(exc)})
            return None

    # --- one batch ---------------------------------------------------------------------------

    def process(self, articles: Sequence[IndexedArticle], attempt: int = 0) -> Outcome:
        """Match ``articles`` (distinct ids) against every enabled saved search, record the state of
        the queries, the new matches and their deliveries. ``attempt`` counts earlier tries of this
        batch that raised :class:`Unavailable`. Blocks; raises :class:`Unavailable`."""
        outcome = Outcome(articles=len(articles))
        monitors = self.monitors()
        outcome.monitors = len(monitors)
        if not articles or not monitors:
            return outcome
        ids = [a.id for a in articles]
        outcome.refreshed = self._make_visible(articles)
        now = self._clock()
        healthy = [m for m in monitors if m.status != "failing"]
        suspects = []
        for m in monitors:
            if m.status == "failing":
                if now >= self._retry_at.get(m.id, 0.0):
                    suspects.append(m)
                else:
                    outcome.skipped += 1
        run = _Run(self.backend, ids, isolate_5xx=attempt + 1 >= ISOLATE_5XX_AFTER)
        run.evaluate(healthy)
        for m in suspects:  # alone, so that a rejection costs nobody else a request
            run.evaluate([m])
        run.finish()
        hits, failing = run.hits, run.failing
        outcome.searches = run.requests
        at = self._wall().isoformat()
        retried = {m.id for m in suspects}
        states: list[tuple[Monitor, str | None]] = []
        statuses: dict[str, str] = {}
        for m in monitors:
            if m.id in failing:
                self._retry_at[m.id] = now + self.retry_failing_s
                states.append((m, failing[m.id]))
                statuses[m.id] = "failing"
            elif m.status is None or m.id in retried:  # ran without error: ok (again)
                self._retry_at.pop(m.id, None)
                states.append((m, None))
                statuses[m.id] = "ok"
        if states:
            self.backend.record_query_states(states, at)
        if statuses and self._cached is not None and self._cached[1] is monitors:
            # What was just written: the states change no version (an edit does, and resets them).
            self._cached = (self._cached[0], [replace(m, status=statuses.get(m.id, m.status)) for m in monitors])
        outcome.failing = {m.id: failing[m.id] for m in monitors if m.id in failing}
        outcome.failing_total = len(failing) + outcome.skipped
        self._record(monitors, hits, outcome, at)
        return outcome

    def _make_visible(self, articles: Sequence[IndexedArticle]) -> bool:
        """Refresh the articles' indices unless they are all visible already; True if refreshed.
        A large batch (the consumer is busy, indexing runs flat out) first waits up to
        ``refresh_wait_s`` for the index's own refresh, checking every ``REFRESH_CHECK_S``: a
        forced refresh in the middle of heavy indexing slows the indexer's bulk requests more
        than its CPU shows, and a busy batch is not in a hurry."""
        newest = max(a.indexed_at for a in articles)
        if self._refresh_started is not None and newest < self._refresh_started:
            if self.backend.all_visible(articles):
                return False
        if len(articles) >= self.patient_size:
            deadline = self._clock() + self.refresh_wait_s
            while self._clock() < deadline:
                self._sleep(REFRESH_CHECK_S)
                if self.backend.all_visible(articles):
                    return False
        started = self._wall()
        self.backend.refresh(sorted({a.index for a in articles}))
        self._refresh_started = started
        return True

    def _record(self, monitors: list[Monitor], hits: dict[str, list[str]], outcome: Outcome, at: str) -> None:
        hooked = {m.id for m in monitors if m.webhook}
        teams = {m.id: m.team for m in monitors}
        if not hits:
            return
        # Only a saved search with a webhook needs to know which of its matches are new before
        # they are written (for its delivery); the others learn it from the create itself.
        hooked_pairs = [(s, a) for s, articles in hits.items() if s in hooked for a in articles]
        existing = self.backend.existing_matches(hooked_pairs) if hooked_pairs else set()
        fresh = [pair for pair in hooked_pairs if pair not in existing]
        covered = self.backend.delivered(fresh) if fresh else set()
        new_ids: dict[str, list[str]] = {}
        for saved_id, article_id in fresh:
            if (saved_id, article_id) not in covered:
                new_ids.setdefault(saved_id, []).append(article_id)
        deliveries = [{"id": delivery_id(saved_id, ids), "saved_search_id": saved_id, "team": teams[saved_id],
                       "article_ids": sorted(ids), "status": "pending", "attempts": 0, "created_at": at, "next_attempt_at": at, "log": []}
                      for saved_id, ids in new_ids.items()]  # fmt: skip
        if deliveries:
            self.backend.create_deliveries(deliveries)
        pairs = [
            (saved_id, a) for saved_id, articles in hits.items() for a in articles if (saved_id, a) not in existing
        ]
        fields = self.backend.article_fields(sorted({a for _, a in pairs})) if pairs else {}
        matches = [{"saved_search_id": saved_id, "team": teams[saved_id], "article_id": a, "matched_at": at,
                    **{k: fields.get(a, {}).get(k) for k in MATCH_FIELDS}} for saved_id, a in pairs]  # fmt: skip
        if matches:
            # Visible to the API at once when a webhook is about to announce them; otherwise at the
            # matches index's next refresh (within a second).
            outcome.new_matches = self.backend.create_matches(matches, visible=bool(deliveries))
        outcome.deliveries = len(deliveries)


class _Run:
    """The evaluation of one batch: chunks, halving of rejected groups, the hits and the failures."""

    def __init__(self, backend: AlertBackend, ids: Sequence[str], isolate_5xx: bool) -> None:
        self.backend = backend
        self.ids = ids
        self.isolate_5xx = isolate_5xx
        self.hits: dict[str, list[str]] = {}
        self.failing: dict[str, str] = {}
        self.requests = 0
        self._succeeded = 0
        self._server_failures: dict[str, str] = {}  # concluded from a 5xx: kept only if others succeeded

    def evaluate(self, monitors: Sequence[Monitor]) -> None:
        if not monitors:
            return
        chunks = pack(monitors)
        self.requests += 1
        try:
            results = self.backend.search(chunks, self.ids)
        except SearchRejected as exc:
            self._split(monitors, exc.status, exc.error)
            return
        for chunk, result in zip(chunks, results, strict=True):
            if result.error is None:
                self._succeeded += 1
                for saved_id, hs in result.hits.items():
                    self.hits.setdefault(saved_id, []).extend(hs)
            elif 400 <= result.status < 500 and result.status not in (408, 429):
                self._split(chunk, result.status, result.error)
            elif self.isolate_5xx and result.status >= 500:
                self._split(chunk, result.status, result.error)
            else:
                raise Unavailable(f"search failed with HTTP {result.status}: {str(result.error)[:300]}")

    def _split(self, monitors: Sequence[Monitor], status: int, error: Any) -> None:
        if len(monitors) == 1:
            [m] = monitors
            log.warning("Elasticsearch rejected a saved search" if status < 500 else "a saved search failed in Elasticsearch",
                        extra={"saved_search_id": m.id, "status": status, "error": str(error)[:1000]})  # fmt: skip
            target = self.failing if status < 500 else self._server_failures
            target[m.id] = short_error(status, error)[:ERROR_MAX_CHARS]
            return
        half = len(monitors) // 2
        self.evaluate(monitors[:half])
        self.evaluate(monitors[half:])

    def finish(self) -> None:
        """Conclude: saved searches that failed with a 5xx are marked failing only if Elasticsearch
        answered other searches of this batch; otherwise it is Elasticsearch that fails."""
        if self._server_failures:
            if not self._succeeded:
                raise Unavailable("every search failed with a 5xx")
            self.failing.update(self._server_failures)


def pack(monitors: Sequence[Monitor]) -> list[list[Monitor]]:
    """Chunks of at most :data:`CHUNK_SIZE` saved searches, in order."""
    return [list(monitors[i : i + CHUNK_SIZE]) for i in range(0, len(monitors), CHUNK_SIZE)]
