"""The processing-strategy protocol (arroyo ``ProcessingStrategy``) and the handle through which a
strategy reports outcomes to the :class:`~shared.consumer.processor.StreamProcessor`.

Every method of a strategy is called on the consumer thread, one at a time. A strategy that works
on other threads (see :class:`~shared.consumer.run_in_thread.RunInThread`) hands results back to
the consumer thread in :meth:`Strategy.poll` or :meth:`Strategy.join`, and reports them there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from typing import Any, Generic, Protocol, TypeVar

from kafka import TopicPartition

from shared.consumer.dlq import DlqReason
from shared.consumer.message import Message

TIn = TypeVar("TIn")
T = TypeVar("T")


class MessageRejected(Exception):
    """Raised by :meth:`Strategy.submit` when the strategy cannot take the item now (downstream is
    full). The caller keeps the item and submits it again later; the strategy recorded nothing of it.
    The processor answers by pausing its partitions until a submit is accepted (arroyo)."""


class Outcomes(Protocol):
    """How a strategy reports what became of a message; implemented by the processor.

    Report every submitted message exactly once, with :meth:`done` or :meth:`dlq`, and only once
    the work it stands for is durable: the processor commits an offset when it and every offset
    below it are reported. A message never reported is never committed, so it is re-delivered
    after a restart or a rebalance. Reports for a partition this consumer no longer owns are
    ignored. Call both from the consumer thread only (from submit, poll or join).
    """

    def done(self, message: Message[Any], outcome: str = "done", *, to_dlq: bool = False) -> None:
        """The work for ``message`` is durable. ``outcome`` labels the messages counter (a small
        fixed set per stage, e.g. ``ok``/``duplicate``). ``to_dlq=True`` says another process
        already wrote its DLQ record (an enrich worker): it counts towards the DLQ limit and is not
        published again. May raise :class:`~shared.kafka.DlqRatioExceeded` (after completing it)."""
        ...

    def dlq(self, message: Message[Any], reason: DlqReason, error: str, *, attempts: int = 1) -> None:
        """Send ``message`` to the stage's DLQ, then complete it. Blocks until Kafka acknowledged
        the DLQ record (up to 30 s). Raises :class:`~shared.kafka.DlqRatioExceeded` *instead of*
        publishing when the DLQ limit trips (the message stays uncommitted and is re-read after
        the fix), and the producer's error when the DLQ cannot be written."""
        ...

    def wakeup(self) -> None:
        """Tell the processor that downstream made progress (e.g. a task finished), so a step
        waiting on backpressure retries now. Thread-safe, never blocks, idempotent."""
        ...


class Strategy(ABC, Generic[TIn]):
    """A step of processing (arroyo ``ProcessingStrategy``): the processor submits decoded
    :class:`Message` s to the first step; a step submits its results to the next.

    One long-lived strategy serves every assignment: across a rebalance it keeps its state and is
    told which partitions were lost (:meth:`forget`), because work in flight for partitions this
    consumer keeps must not be redone.

    Shutdown is :meth:`join` (finish what was submitted, bounded) then :meth:`close` (release
    resources). After an error the processor calls :meth:`close` alone: unfinished work is
    abandoned, never reported, so it is re-delivered. (Arroyo's ``close`` only refuses new
    messages and its ``terminate`` abandons; here ``close`` does both, so four methods suffice.)
    """

    @abstractmethod
    def submit(self, item: TIn) -> None:
        """Take ``item``. Raises :class:`MessageRejected` when full, having recorded nothing.
        Must not block for long (it runs between polls); may raise a fatal error, which stops
        the consumer. Returning does not mean the work is done: that is reported through
        :class:`Outcomes`."""

    @abstractmethod
    def poll(self) -> None:
        """Do scheduled work and report what finished (called every step, and once when partitions
        are revoked). Must not block for long. An exception here is fatal for the consumer."""

    @abstractmethod
    def join(self, timeout: float | None = None) -> None:
        """Finish everything submitted (flush partial batches, wait for work in flight) and report
        it, giving up after ``timeout`` seconds. Blocks up to ``timeout``. Called once, at shutdown;
        nothing is submitted after it."""

    @abstractmethod
    def close(self) -> None:
        """Release resources (threads, clients) and abandon unfinished work. Does not block; idempotent."""

    @abstractmethod
    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Drop everything held for ``partitions``: another consumer owns them now and re-reads them
        from the last commit. Work already running may still finish; its reports are ignored."""


# Builds the first step of a consumer, given the handle it reports through.
StrategyFactory = Callable[[Outcomes], Strategy[Message[T]]]
