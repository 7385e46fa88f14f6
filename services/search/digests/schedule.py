"""Schedule math: the periods a digest covers. Pure.

A schedule's *boundaries* are the instants at its local ``time`` on each day (daily) or on its
``weekday`` (weekly), in its time zone. The digest sent at a boundary covers the period from the
boundary before it up to it, half-open: ``[start, end)``. The key of a digest is the monitor and the
end of its period, so it is the same whichever process computes it, whenever.

Local times are resolved by :mod:`zoneinfo` (``fold=0``): in a zone with daylight saving, a time
that occurs twice is the first one, and a time that does not exist (the spring-forward gap) falls
an hour later. Asia/Jakarta, Makassar and Jayapura have no daylight saving.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from services.search.digests.config import WEEKDAYS, Schedule


@dataclass(frozen=True)
class Period:
    """The half-open span ``[start, end)`` a digest covers, in UTC."""

    start: datetime
    end: datetime


def boundary_on(day: date, schedule: Schedule) -> datetime:
    """The instant (UTC) of the schedule's time on the local calendar ``day``."""
    hour, minute = schedule.hour_minute
    local = datetime.combine(day, dtime(hour, minute), tzinfo=ZoneInfo(schedule.timezone))
    return local.astimezone(UTC)


def _is_day(day: date, schedule: Schedule) -> bool:
    return schedule.frequency == "daily" or WEEKDAYS[day.weekday()] == schedule.weekday


def latest_boundary(schedule: Schedule, now: datetime) -> datetime:
    """The last boundary at or before ``now`` (aware)."""
    today = now.astimezone(ZoneInfo(schedule.timezone)).date()
    for back in range(0, 16):
        day = today - timedelta(days=back)
        if _is_day(day, schedule):
            at = boundary_on(day, schedule)
            if at <= now:
                return at
    raise AssertionError("a schedule has a boundary every 7 days")


def next_boundary(schedule: Schedule, now: datetime) -> datetime:
    """The first boundary after ``now`` (aware): when the next digest is due."""
    today = now.astimezone(ZoneInfo(schedule.timezone)).date()
    for ahead in range(-1, 16):
        day = today + timedelta(days=ahead)
        if _is_day(day, schedule):
            at = boundary_on(day, schedule)
            if at > now:
                return at
    raise AssertionError("a schedule has a boundary every 7 days")


def period_ending(schedule: Schedule, end: datetime) -> Period:
    """The period that ends at the boundary ``end``: it starts at the boundary before."""
    return Period(latest_boundary(schedule, end - timedelta(microseconds=1)), end)


def due_period(schedule: Schedule, now: datetime, since: datetime) -> Period | None:
    """The period whose digest is due at ``now``: the one ending at the latest boundary, provided
    that boundary came after ``since`` (when the schedule was set: the first digest is at the
    first boundary after it). Only the latest period is ever due: a scheduler that was down
    through several boundaries sends the last one late and skips the older ones."""
    end = latest_boundary(schedule, now)
    if end <= since:
        return None
    return period_ending(schedule, end)


def digest_key(saved_id: str, period: Period) -> str:
    """The idempotency key of a monitor's digest for ``period``: the monitor and the period's end."""
    return f"{saved_id}:{period.end.astimezone(UTC):%Y%m%dT%H%MZ}"
