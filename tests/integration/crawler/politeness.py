"""Checks of per-host politeness on the demo sites' request log (each site is one host)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping

from services.ingest.demo_sites.sites import LoggedRequest

# A request's start is logged when the site's handler runs, so two requests sent exactly `delay`
# apart can be logged up to the loopback delivery jitter closer (measured: a few milliseconds).
JITTER_S = 0.05


def spacing_violations(
    log: Iterable[LoggedRequest],
    delay_s: float,
    per_site_delay_s: Mapping[str, float] | None = None,
    jitter_s: float = JITTER_S,
) -> list[str]:
    """Consecutive requests to one site that started closer than its delay (minus ``jitter_s``)."""
    starts: dict[str, list[LoggedRequest]] = defaultdict(list)
    for request in log:
        starts[request.site].append(request)
    problems = []
    for site, requests in starts.items():
        delay = (per_site_delay_s or {}).get(site, delay_s)
        requests.sort(key=lambda r: r.started)
        for before, after in itertools.pairwise(requests):
            gap = after.started - before.started
            if gap < delay - jitter_s:
                problems.append(f"{site}: {before.path} -> {after.path} {gap:.3f}s apart (delay {delay}s)")
    return problems


def concurrency_violations(log: Iterable[LoggedRequest], limit: int) -> list[str]:
    """Moments when more than ``limit`` requests to one site were being handled at once."""
    events: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for request in log:
        events[request.site] += [(request.started, 1, request.path), (request.ended, -1, request.path)]
    problems = []
    for site, timeline in events.items():
        active = 0
        for at, step, path in sorted(timeline, key=lambda e: (e[0], e[1])):  # ends before starts on ties
            active += step
            if active > limit:
                problems.append(f"{site}: {active} requests in flight at {at:.3f} ({path})")
    return problems
