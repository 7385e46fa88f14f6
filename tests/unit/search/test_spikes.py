"""The spike detector (services/search/alerts/spikes.py), pure: a burst of syndicated copies of
one release is one story and never a spike, a planted spike is found, the sensitivity levels are
monotone, a past spike does not hide the next one, and windows follow Asia/Jakarta."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from services.search.alerts.spikes import (
    SENSITIVITIES,
    SENSITIVITY,
    WINDOWS,
    ZONE,
    baseline,
    detect,
    judge,
    news_level,
    spike_key,
    threshold,
    window_index,
    window_start,
)

# A quiet hour: 0 to 3 stories at this hour on the previous 14 days.
HISTORY = [1, 0, 2, 1, 1, 0, 3, 1, 2, 1, 0, 1, 2, 1]


def story_count(articles: list[tuple[str, str]]) -> int:
    """Distinct stories among (article id, story id) pairs: what the run loop's cardinality counts."""
    return len({story for _, story in articles})


def test_a_syndication_burst_is_one_story_and_no_spike() -> None:
    ordinary = [(f"a{n}", f"s{n}") for n in range(2)]
    burst = [(f"copy{n}", "release-1") for n in range(60)]  # one release carried by 60 outlets
    window = ordinary + burst
    assert story_count(window) == 3
    assert not detect(HISTORY, story_count(window)).spike
    # counted by articles, the same hour would have alerted: why the detector counts stories
    assert detect(HISTORY, len(window)).spike


def test_a_planted_spike_is_detected() -> None:
    verdict = detect(HISTORY, 12)
    assert verdict.spike and verdict.threshold is not None and verdict.threshold <= 12
    assert verdict.p_value is not None and verdict.p_value < 1e-4
    assert not detect(HISTORY, 3).spike


@pytest.mark.parametrize("window", WINDOWS)
def test_sensitivity_is_monotone(window: str) -> None:
    rng = random.Random(18)
    for _ in range(80):
        mean = rng.choice([0.3, 1, 4, 15, 60])
        history = [max(0, round(rng.gauss(mean, (mean + 1) ** 0.5 * rng.uniform(0.5, 2)))) for _ in range(14)]
        base = baseline(history)
        assert base is not None
        limits = [threshold(base, SENSITIVITY[window][level]) for level in SENSITIVITIES]  # type: ignore[index]
        assert limits[0] >= limits[1] >= limits[2], (history, limits)
        for count in range(0, limits[0] + 3):
            flags = [detect(history, count, level, window).spike for level in SENSITIVITIES]  # type: ignore[arg-type]
            assert flags == sorted(flags), (history, count, flags)  # low => medium => high


def test_a_past_spike_does_not_hide_the_next() -> None:
    with_spike = [*HISTORY[:-1], 40]
    assert detect(with_spike, 12).spike
    base = baseline(with_spike)
    assert base is not None and base.mean < 2


def test_too_little_history_is_no_verdict() -> None:
    verdict = detect([0, 0, 1], 50)
    assert not verdict.spike and verdict.threshold is None
    # windows before the data begins are unknown (None), not zeros
    counts = {100: 30}
    assert not judge(lambda i: counts.get(i) if i >= 95 else None, 100, "day").spike
    assert judge(lambda i: counts.get(i, 1), 100, "day").spike


def test_judge_pools_the_dispersion_over_the_hours_of_the_day() -> None:
    rng = random.Random(3)
    # a bursty monitor: every hour swings between 0 and 6 stories; a steady one has 3 every hour
    counts = [rng.choice([0, 2, 4, 6]) for _ in range(24 * 15)]
    bursty = judge(lambda i: counts[i] if i >= 0 else None, 24 * 14 + 5, "hour")
    steady = [3] * (24 * 15)
    calm = judge(lambda i: steady[i] if i >= 0 else None, 24 * 14 + 5, "hour")
    assert bursty.threshold is not None and calm.threshold is not None
    assert bursty.threshold > calm.threshold


def test_a_busy_news_day_raises_the_hours_baseline_and_a_quiet_one_lowers_it() -> None:
    # 4 stories every hour for four weeks; today the hours before the judged one had 12 (a news
    # day), 4 (as usual) or 0 (a quiet Sunday)
    index = 24 * 29 + 14

    def verdict(recent: int, count: int) -> tuple[bool, float | None]:
        v = judge(lambda i: None if i < 0 else (recent if index - 6 <= i < index else count if i == index else 4),
                  index, "hour")  # fmt: skip
        return v.spike, v.baseline

    usual, busy, quiet = verdict(4, 11), verdict(12, 11), verdict(0, 11)
    assert usual[0] and not busy[0], (usual, busy)  # 11 stories: a spike on a usual day, not on a news day
    assert quiet[1] is not None and usual[1] is not None and busy[1] is not None
    assert quiet[1] < usual[1] == 4.0 < busy[1]
    # a spike an hour ago counts at most 3 x its usual count + 2: it does not hide the next one
    assert news_level([60, 4, 4, 4, 4, 4], [[4] * 28] * 6) < news_level([14, 14, 4, 4, 4, 4], [[4] * 28] * 6)
    assert news_level([None] * 6, [[4] * 28] * 6) == 1.0  # nothing known: as usual


def test_windows_follow_jakarta_time() -> None:
    at = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 00:30 WIB on 2 March
    assert window_start("hour", at) == datetime(2026, 3, 2, 0, 0, tzinfo=ZONE)
    assert window_start("day", at) == datetime(2026, 3, 2, 0, 0, tzinfo=ZONE)
    day = window_index("day", window_start("day", at))
    assert window_index("day", datetime(2026, 3, 2, 23, 59, tzinfo=ZONE)) == day
    assert window_index("day", datetime(2026, 3, 1, 23, 59, tzinfo=ZONE)) == day - 1
    assert window_index("hour", datetime(2026, 3, 2, 1, 0, tzinfo=ZONE)) == window_index("hour", at) + 1


def test_the_spike_key_is_one_per_monitor_and_window() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)
    assert spike_key("m1", "hour", start) == spike_key("m1", "hour", start.astimezone(UTC))
    assert len({spike_key("m1", "hour", start), spike_key("m2", "hour", start), spike_key("m1", "day", start),
                spike_key("m1", "hour", start.replace(hour=10))}) == 4  # fmt: skip
