"""Bounded, exponential backoff of kafka-python's group-coordinator lookups.

kafka-python 2.3.3 backs off a coordinator lookup only when the lookup itself fails. When the
broker that coordinates a group dies, the surviving brokers keep naming it as the coordinator
until the controller fences it (about ten seconds), so every lookup *succeeds*; the client finds
the named node still in its reconnect backoff, marks the coordinator dead at once and looks it up
again. No setting bounds that loop (``retry_backoff_ms`` applies to failed lookups,
``reconnect_backoff_ms`` to connection attempts): on the cluster stack a consumer whose
coordinator was killed sent about a thousand lookups a second, each logging two lines, and kept
a core busy until Kafka moved the group.

:func:`backoff_coordinator_lookups` bounds it: after the coordinator is marked dead, the next
lookup waits ``initial_s``, doubling with every further death up to ``max_s``; a lookup asked for
sooner fails at once with the retriable ``NodeNotReadyError``, which kafka-python's own loops
(the consumer's, the heartbeat thread's, an asynchronous commit's) answer by waiting
``retry_backoff_ms`` without sending anything. A coordinator that stayed alive for ``reset_s``
before dying starts the sequence again from ``initial_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from kafka.errors import NodeNotReadyError
from kafka.future import Future

INITIAL_S = 0.1
MAX_S = 1.0
RESET_S = 10.0


class CoordinatorBackoff:
    """The backoff state of one kafka-python group coordinator. Thread-safe: the consumer thread
    and kafka-python's heartbeat thread both look the coordinator up."""

    def __init__(
        self,
        initial_s: float = INITIAL_S,
        max_s: float = MAX_S,
        reset_s: float = RESET_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self.reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._delay = 0.0  # the wait after the last death; 0: no death yet (or reset)
        self._not_before = float("-inf")
        self._found_at = float("-inf")
        self.lookups = 0  # lookups sent to a broker
        self.deferred = 0  # lookups refused during a backoff

    def found(self) -> None:
        """A lookup named a coordinator."""
        with self._lock:
            self._found_at = self._clock()

    def dead(self) -> None:
        """The coordinator was marked dead: the next lookup waits longer than the last one did."""
        with self._lock:
            now = self._clock()
            if self._delay and now - self._found_at >= self.reset_s:
                self._delay = 0.0  # it lived a while: a new failure, not the same one again
            self._delay = min(self.max_s, self._delay * 2 if self._delay else self.initial_s)
            self._not_before = now + self._delay

    def allow(self) -> bool:
        """Whether a lookup may be sent now (counts the answer)."""
        with self._lock:
            if self._clock() < self._not_before:
                self.deferred += 1
                return False
            self.lookups += 1
            return True

    @property
    def delay_s(self) -> float:
        return self._delay


def backoff_coordinator_lookups(consumer: Any, backoff: CoordinatorBackoff | None = None) -> CoordinatorBackoff | None:
    """Install ``backoff`` (a new :class:`CoordinatorBackoff` by default) on a kafka-python
    consumer's group coordinator and return it; None for a consumer without one (no group, or not
    a kafka-python consumer). Idempotent per consumer: a second call returns the installed state.
    Never raises."""
    coordinator: Any = getattr(consumer, "_coordinator", None)
    installed = getattr(coordinator, "_warta_backoff", None)
    if isinstance(installed, CoordinatorBackoff):
        return installed
    lookup = getattr(coordinator, "lookup_coordinator", None)
    mark_dead = getattr(coordinator, "coordinator_dead", None)
    if lookup is None or mark_dead is None or getattr(coordinator, "group_id", None) is None:
        return None
    state = backoff or CoordinatorBackoff()

    def coordinator_dead(error: Any) -> None:
        if coordinator.coordinator_id is not None:  # already unknown: not a new death
            state.dead()
        mark_dead(error)

    def lookup_coordinator() -> Future:
        # A lookup already in flight is shared, as kafka-python does.
        if coordinator._find_coordinator_future is None and not state.allow():
            return Future().failure(NodeNotReadyError("group coordinator lookup backing off"))
        future = lookup()
        future.add_callback(lambda _: state.found())
        return future

    coordinator.coordinator_dead = coordinator_dead
    coordinator.lookup_coordinator = lookup_coordinator
    coordinator._warta_backoff = state
    return state
