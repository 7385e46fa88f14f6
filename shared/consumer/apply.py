"""The last step of a pipeline: a function run on the consumer thread for each item."""

from __future__ import annotations

from collections.abc import Callable, Collection

from kafka import TopicPartition

from shared.consumer.strategy import Strategy, TIn


class Apply(Strategy[TIn]):
    """Call ``function(item)`` on every submitted item, synchronously on the consumer thread.
    The function reports outcomes (usually through :class:`~shared.consumer.strategy.Outcomes`);
    whatever it raises propagates to the processor. Never rejects; holds nothing, so
    ``forget``/``join``/``close`` have nothing to do."""

    def __init__(self, function: Callable[[TIn], None]) -> None:
        self._function = function

    def submit(self, item: TIn) -> None:
        self._function(item)

    def poll(self) -> None:
        return None

    def join(self, timeout: float | None = None) -> None:
        return None

    def close(self) -> None:
        return None

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        return None
