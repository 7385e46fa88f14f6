"""Extraction in worker processes with a CPU-time limit per page: how the ingest API runs
:func:`~services.ingest.extract.extract` for pushed HTML.

Why not in the request's thread: extraction is CPU-bound and its cost depends on the markup, not
only on its size. On this project's 2-core machine real article pages take 0.05-2 s, but crafted
link-heavy markup costs 6-10 µs per byte and grows faster than linearly (1 MiB: 8 s, 2 MiB: 12 s).
A thread cannot be stopped, holds the GIL meanwhile, and the API's thread pool would run up to
40 of them at once. Here:

- each page runs in a child process that stops itself after ``cpu_limit_s`` of CPU time
  (``ITIMER_PROF``): :class:`ExtractionTooSlow`. A child that was interrupted exits (the state of
  the libraries it was in is not trusted) and is replaced; children are forked from a
  ``forkserver`` that has the extractor imported, so a replacement costs milliseconds;
- the parent kills a child that has not answered within ``wall_limit_s`` (a backstop for a stuck
  child or a starved machine): :class:`ExtractionTooSlow` too;
- at most ``workers`` pages are extracted at once per pool, whatever the number of requests;
  :meth:`ExtractionPool.extract` blocks until a worker is free;
- a batch shares a :class:`CpuBudget`: each page's limit is the smaller of ``cpu_limit_s`` and
  what is left of the budget, and once it is spent the remaining pages are refused
  (:class:`ExtractionBudgetSpent`) without being started. Pages extracted at the same time may
  overshoot it by at most ``(workers - 1) * cpu_limit_s``.

Thread-safe. Processes start on first use; :meth:`ExtractionPool.close` ends them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from services.ingest.extract.model import ExtractedArticle

log = logging.getLogger(__name__)

_PRELOAD = ["services.ingest.extract"]


class ExtractionTooSlow(Exception):
    """The page needed more than the CPU-time (or wall-clock) limit."""

    def __init__(self, limit_s: float, kind: str = "CPU time") -> None:
        super().__init__(f"extraction needed more than {limit_s:g} s of {kind}")
        self.limit_s = limit_s


class ExtractionBudgetSpent(ExtractionTooSlow):
    """The batch's CPU budget for extraction is spent: the page was stopped, or not started."""

    def __init__(self, budget_s: float) -> None:
        Exception.__init__(
            self, f"this batch's extraction budget of {budget_s:g} s of CPU time is spent; push it in another request"
        )
        self.limit_s = budget_s


class ExtractionFailed(Exception):
    """The extractor raised, or its worker process died."""


class CpuBudget:
    """CPU seconds that several extractions (one batch) may spend together. Thread-safe."""

    def __init__(self, total_s: float) -> None:
        self.total_s = total_s
        self._spent = 0.0
        self._lock = threading.Lock()

    def remaining(self) -> float:
        with self._lock:
            return self.total_s - self._spent

    def spend(self, seconds: float) -> None:
        with self._lock:
            self._spent += seconds


class _CpuLimit(BaseException):
    # BaseException: the libraries' own ``except Exception`` blocks must not swallow it.
    pass


def _on_cpu_limit(signum: int, frame: Any) -> None:
    raise _CpuLimit


def _serve(conn: Connection) -> None:
    """The child's loop: receive ``(html, url, cpu_limit_s)``, answer ``(status, value, cpu_s)``:
    ``("ok", article, ...)``, ``("error", text, ...)`` or ``("too_slow", None, ...)``; after a
    ``too_slow`` answer the child exits."""
    from services.ingest.extract import extract
    from shared.logs import configure_logging

    # The child writes to the API's stderr: in its format, and only what matters there.
    configure_logging("ingest-extract", level="WARNING", fmt=os.environ.get("WARTA_LOG_FORMAT", "json"))
    signal.signal(signal.SIGPROF, _on_cpu_limit)
    while True:
        try:
            html, url, cpu_limit_s = conn.recv()
        except (EOFError, OSError):
            return
        start = time.process_time()
        try:
            # Re-fires every 50 ms of CPU until disarmed, in case a library swallows the first one.
            signal.setitimer(signal.ITIMER_PROF, cpu_limit_s, 0.05)
            try:
                reply: tuple[str, Any] = ("ok", extract(html, url))
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except _CpuLimit:
            signal.setitimer(signal.ITIMER_PROF, 0)
            conn.send(("too_slow", None, time.process_time() - start))
            return
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        conn.send((*reply, time.process_time() - start))


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True, name="warta-extract")
        self.process.start()
        child.close()

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class ExtractionPool:
    """Up to ``workers`` extraction processes; see the module docstring."""

    def __init__(self, workers: int = 2, cpu_limit_s: float = 5.0, wall_limit_s: float | None = None) -> None:
        self.workers = workers
        self.cpu_limit_s = cpu_limit_s
        # Generous: the CPU limit is the real bound; this one only catches a child that cannot run.
        self.wall_limit_s = wall_limit_s if wall_limit_s is not None else max(30.0, 6 * cpu_limit_s)
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(_PRELOAD)
        self._slots = threading.BoundedSemaphore(workers)
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def extract(self, html: str, url: str, budget: CpuBudget | None = None) -> ExtractedArticle:
        """Extract ``html`` in a worker process. Blocks until a worker is free and it is done.
        Raises :class:`ExtractionTooSlow` (:class:`ExtractionBudgetSpent` when ``budget`` ran
        out), :class:`ExtractionFailed`, or RuntimeError once closed."""
        with self._slots:
            limit = self.cpu_limit_s
            if budget is not None:
                limit = min(limit, budget.remaining())
                if limit <= 0.01:
                    raise ExtractionBudgetSpent(budget.total_s)
            worker = self._take()
            t0 = time.monotonic()
            try:
                worker.conn.send((html, url, limit))
                if not worker.conn.poll(self.wall_limit_s):
                    self._discard(worker)
                    if budget is not None:
                        budget.spend(limit)
                    log.warning("extraction worker killed after the wall-clock limit", extra={"url": url})
                    raise ExtractionTooSlow(self.wall_limit_s, "wall-clock time")
                status, value, cpu_s = worker.conn.recv()
            except (EOFError, OSError) as exc:
                self._discard(worker)
                raise ExtractionFailed(f"the extraction worker died: {exc!r}") from exc
            if budget is not None:
                budget.spend(cpu_s)
            if status == "too_slow":
                self._discard(worker)  # it exits by itself
                log.info(
                    "extraction stopped at the CPU limit",
                    extra={"url": url, "duration_ms": int((time.monotonic() - t0) * 1000)},
                )
                if limit < self.cpu_limit_s and budget is not None:
                    raise ExtractionBudgetSpent(budget.total_s)
                raise ExtractionTooSlow(self.cpu_limit_s)
            self._idle.put(worker)
            if status == "error":
                raise ExtractionFailed(str(value))
            assert isinstance(value, ExtractedArticle)
            return value

    def _take(self) -> _Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker.alive():
                return worker
            self._discard(worker)
        with self._lock:
            if self._closed:
                raise RuntimeError("extraction pool is closed")
            worker = _Worker(self._ctx)
            self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.kill()

    def close(self) -> None:
        """End every worker process (in-flight calls fail with ExtractionFailed). Idempotent."""
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.kill()
