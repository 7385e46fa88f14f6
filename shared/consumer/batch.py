"""Batch: collect messages into lists by count or age (arroyo ``Reduce``, snuba's batching step)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection

from kafka import TopicPartition

from shared.consumer.message import Message
from shared.consumer.strategy import MessageRejected, Strategy, T

log = logging.getLogger(__name__)


class Batch(Strategy[Message[T]]):
    """Group messages into lists of up to ``max_size``, or of whatever arrived within ``max_ms`` of
    a list's first message, and submit each list to ``next_step`` in order.

    Bounded: one open list plus one sealed list waiting for ``next_step``. While a sealed list
    waits (``next_step`` rejected it), :meth:`submit` raises :class:`MessageRejected`, so the
    processor pauses; the list is offered again on every :meth:`poll`. The age is checked in
    :meth:`poll`, so a list is sealed at most one processor step after it is due.
    """

    def __init__(
        self,
        next_step: Strategy[list[Message[T]]],
        *,
        max_size: int,
        max_ms: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._next = next_step
        self._max_size = max_size
        self._max_s = max_ms / 1000
        self._clock = clock
        self._open: list[Message[T]] = []
        self._opened_at = 0.0
        self._sealed: list[Message[T]] | None = None  # invariant: when set, _open is empty

    def submit(self, item: Message[T]) -> None:
        if self._sealed is not None and not self._hand_over():
            raise MessageRejected
        if not self._open:
            self._opened_at = self._clock()
        self._open.append(item)
        if len(self._open) >= self._max_size:
            self._seal()
            self._hand_over()

    def poll(self) -> None:
        self._next.poll()  # first, so capacity it frees is used by the hand-over below
        if self._sealed is None and self._open and self._clock() - self._opened_at >= self._max_s:
            self._seal()
        if self._sealed is not None:
            self._hand_over()

    def join(self, timeout: float | None = None) -> None:
        """Seal the open list and hand it over, retrying while ``next_step`` is busy (bounded by
        ``timeout``), then join ``next_step`` with what is left of it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._sealed is None and self._open:
            self._seal()
        while self._sealed is not None:
            self._next.poll()
            if self._hand_over():
                break
            if deadline is not None and time.monotonic() >= deadline:
                log.warning("gave up handing over a batch at shutdown", extra={"count": len(self._sealed)})
                break
            # Shutdown only, bounded: the loop is waiting for next_step's work in flight.
            time.sleep(0.005)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        self._next.join(remaining)

    def close(self) -> None:
        self._open, self._sealed = [], None
        self._next.close()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        lost = set(partitions)
        self._open = [m for m in self._open if m.partition not in lost]
        if self._sealed is not None:
            self._sealed = [m for m in self._sealed if m.partition not in lost] or None
        self._next.forget(partitions)

    def _seal(self) -> None:
        self._sealed, self._open = self._open, []

    def _hand_over(self) -> bool:
        assert self._sealed is not None
        try:
            self._next.submit(self._sealed)
        except MessageRejected:
            return False
        self._sealed = None
        return True
