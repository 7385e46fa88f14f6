"""RunInThread: run a blocking task on helper threads while the consumer keeps polling (arroyo
``RunTaskInThreads``), e.g. the indexer's one bulk request in flight."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Generic, TypeVar

from kafka import TopicPartition

from shared.consumer.strategy import MessageRejected, Strategy, TIn

TOut = TypeVar("TOut")
log = logging.getLogger(__name__)


class RunInThread(Strategy[TIn], Generic[TIn, TOut]):
    """Run ``task(item, cancelled)`` on a helper thread for every submitted item, at most
    ``max_in_flight`` at a time, and submit ``(item, result)`` to ``next_step`` on the consumer
    thread, in submission order.

    - :meth:`submit` raises :class:`MessageRejected` while ``max_in_flight`` tasks are unfinished.
    - The task owns its retries and per-item failures and returns their outcome; an exception it
      raises is fatal, re-raised from :meth:`poll` or :meth:`join`.
    - ``cancelled`` is set when the consumer gives up on the task (join timed out, or close):
      a long task should check it between attempts (``cancelled.wait(backoff)`` both sleeps and
      wakes on it); its result is then discarded and its items re-delivered later.
    - ``on_done`` (usually :meth:`Outcomes.wakeup`) is called from the helper thread when a task
      finishes, so a processor waiting on backpressure hands over the next item at once.
    - Results of lost partitions are still submitted; the processor ignores their reports.
    """

    def __init__(
        self,
        task: Callable[[TIn, threading.Event], TOut],
        next_step: Strategy[tuple[TIn, TOut]],
        *,
        max_in_flight: int = 1,
        on_done: Callable[[], None] | None = None,
        name: str = "task",
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._task = task
        self._next = next_step
        self._max_in_flight = max_in_flight
        self._on_done = on_done
        self._executor = ThreadPoolExecutor(max_in_flight, thread_name_prefix=name)
        self._queue: deque[tuple[TIn, Future[TOut]]] = deque()
        self._cancelled = threading.Event()
        self._closed = False

    def submit(self, item: TIn) -> None:
        if self._closed:
            raise RuntimeError("submit after close")
        if len(self._queue) >= self._max_in_flight:
            self._forward_finished()  # a finished task not collected yet must not cause a pause
            if len(self._queue) >= self._max_in_flight:
                raise MessageRejected
        future = self._executor.submit(self._task, item, self._cancelled)
        if self._on_done is not None:
            on_done = self._on_done
            future.add_done_callback(lambda _: on_done())
        self._queue.append((item, future))

    def poll(self) -> None:
        self._forward_finished()
        self._next.poll()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue:
            item, future = self._queue[0]
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                result = future.result(remaining)
            except FutureTimeout:
                log.warning("gave up waiting for tasks at shutdown", extra={"count": len(self._queue)})
                self._cancelled.set()
                break
            try:
                self._next.submit((item, result))
            except MessageRejected:
                log.warning("next step refused a result at shutdown", extra={"count": len(self._queue)})
                break
            self._queue.popleft()
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        self._next.join(remaining)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cancelled.set()
        self._queue.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._next.close()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        # A running task cannot be recalled; its reports for lost partitions are ignored.
        self._next.forget(partitions)

    def _forward_finished(self) -> None:
        while self._queue and self._queue[0][1].done():
            item, future = self._queue[0]
            result = future.result()  # re-raises the task's exception: fatal, see the class docstring
            try:
                self._next.submit((item, result))
            except MessageRejected:
                return  # stays at the head, offered again on the next poll
            self._queue.popleft()
