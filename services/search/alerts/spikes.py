"""Spike alerts: a monitor with a ``spike`` setting alerts when its **story** count in an hour or a
day is far above its own baseline. Documented in ``docs/alerts.md`` (Spike alerts).

Two halves:

- **The detector** (pure, no I/O): :func:`judge` takes a monitor's story counts per window and
  says whether one window is a spike: its baseline is the same hour (or the day) on the previous
  :data:`BASELINE_DAYS` days (28 for an hour, 14 for a day), without the values that are themselves
  spikes (median and MAD decide, so a past spike cannot hide the next one); for an hour, scaled by
  the **news level** of the preceding hours (:func:`news_level`: a busy news day or a quiet Sunday
  moves every hour of it, which 28 days of one hour cannot know); the count is judged by its upper tail probability
  under a negative binomial with that mean and an over-dispersion pooled over the 24 hours of the
  day (:func:`dispersion`; a Poisson when there is none), plus a minimum number of stories and a
  minimum ratio to the baseline (:func:`detect`, :data:`SENSITIVITY`). Why this and not median +
  MAD: most monitors see 0 to 3 stories in an hour, where the MAD is 0 and a median cannot tell
  0.2 from 0.9 stories an hour; a count model handles small counts exactly and news-cycle variance
  through the dispersion. The thresholds of each window and sensitivity were chosen on a generated
  tuning stream by ``make eval-alerts`` (``evals/eval_alerts.py``).
- **The run loop** (:class:`SpikeChecker`, a thread of ``warta search alerts``): every
  ``interval_s`` it counts, for every enabled monitor with a ``spike`` setting and a webhook or a
  chat channel, the
  distinct ``story_id`` of its matching articles per window by ``published_at`` (one
  ``date_histogram`` with a ``cardinality`` per monitor, in one ``_msearch``), judges the current
  window (partial: the count only grows, so crossing the threshold early is final) and the previous
  one (late arrivals), and for a spike creates one delivery per channel of the monitor (its signed
  webhook, and its digest chat channel ``channels.chat_webhook_url`` as a Slack-compatible text
  message) whose id is derived from the monitor, the window and the channel: the dispatcher sends
  it like any other delivery, and the same spike is never announced twice on a channel, whatever
  the number of runs or processes. A burst of syndicated copies
  of one release is one story, so it never makes a spike by itself.

Windows follow Asia/Jakarta (WIB, UTC+7, no daylight saving): an hour is a clock hour, a day runs
from 00:00 to 24:00 WIB.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from elasticsearch import ApiError, ConflictError, Elasticsearch

from services.search.alerts.store import AlertIndices, now_utc
from services.search.query import parse, to_es_query

log = logging.getLogger(__name__)

Window = Literal["hour", "day"]
# Where a spike alert goes: the monitor's signed webhook (webhook_url) and its digest chat channel
# (channels.chat_webhook_url, a Slack-compatible incoming webhook).
Channel = Literal["webhook", "chat"]
Sensitivity = Literal["low", "medium", "high"]
WINDOWS: tuple[Window, ...] = ("hour", "day")
SENSITIVITIES: tuple[Sensitivity, ...] = ("low", "medium", "high")
ZONE = ZoneInfo("Asia/Jakarta")
# Days of history of the baseline: 28 for an hour (28 values of one clock hour, not 14: mostly 0 to 5
# stories, they estimate its mean poorly), 14 for a day. Chosen on the tuning stream of
# `make eval-alerts` (evals/results/alerts-sweep.json).
BASELINE_DAYS: dict[Window, int] = {"hour": 28, "day": 14}
# The news level of an hour (news_level): the LEVEL_HOURS hours before it, against their own
# baselines, shrunk toward 1 by LEVEL_PRIOR stories of "as usual"; an hour counts at most
# LEVEL_CAP x its baseline + 2 (a spike an hour ago does not raise the next hours' baselines much),
# and the level stays within LEVEL_RANGE. Chosen on the tuning stream, like BASELINE_DAYS.
LEVEL_HOURS = 6
LEVEL_PRIOR = 30.0
LEVEL_CAP = 3.0
LEVEL_RANGE = (0.3, 3.0)
# Fewer windows of history than this (a new index): no judgement, rather than a baseline of zeros.
MIN_HISTORY = 7
# A baseline is never below this many stories per window: two weeks of silence say "rare", not "never".
MIN_RATE = 0.1
# Representative articles (one per story, the largest stories first) sent with a spike.
SAMPLE_STORIES = 5
# A history value this many robust standard deviations above the median is a past spike, left out
# of the baseline.
REJECT_Z = 3.5
# phi = 2: a variance of twice the squared mean, burstier than any monitor generated or seen.
MAX_DISPERSION = 2.0
# cardinality is exact (to within rounding) below its precision threshold.
PRECISION = 3000


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A count is a spike when its upper tail probability is at most ``alpha``, it has at least
    ``min_stories`` stories and it is at least ``min_ratio`` times the baseline mean."""

    alpha: float
    min_stories: int
    min_ratio: float


# Chosen by `make eval-alerts` on its tuning stream (evals/results/alerts.json "chosen"), for each
# window separately (a day of counts is not 24 hours of them: its tail is calibrated apart):
# medium, the default, has the highest recall of large spikes with under 0.8 false alerts per
# monitor and week; low the highest under 0.25 among those flagging nothing medium does not; high
# the highest under 2 among those flagging everything medium does. So the levels are monotone.
SENSITIVITY: dict[Window, dict[Sensitivity, Thresholds]] = {
    "hour": {
        "low": Thresholds(alpha=1.5e-2, min_stories=5, min_ratio=4.0),
        "medium": Thresholds(alpha=1.5e-2, min_stories=5, min_ratio=2.5),
        "high": Thresholds(alpha=5e-2, min_stories=5, min_ratio=2.5),
    },
    "day": {
        "low": Thresholds(alpha=1e-1, min_stories=8, min_ratio=2.0),
        "medium": Thresholds(alpha=1e-1, min_stories=8, min_ratio=1.5),
        "high": Thresholds(alpha=1e-1, min_stories=8, min_ratio=1.5),
    },
}


@dataclass(frozen=True, slots=True)
class Baseline:
    mean: float
    variance: float
    samples: int


@dataclass(frozen=True, slots=True)
class Verdict:
    spike: bool
    count: int
    threshold: int | None  # the smallest count that would be a spike; None: too little history
    baseline: float | None
    p_value: float | None  # P(X >= count) under the baseline


def baseline(history: Sequence[int], dispersion: float | None = None, level: float = 1.0) -> Baseline | None:
    """The mean and variance of ``history`` without its own spikes: values more than
    :data:`REJECT_Z` robust standard deviations above the median (the larger of 1.4826 MAD and the
    Poisson sqrt(max(median, 1))) are left out, at most a third of them. A median and a MAD, not a
    first fit, decide what is left out, so a large past spike cannot mask itself by inflating the
    variance; one last week does not hide the next one for two weeks. With a ``dispersion`` phi
    (see :func:`dispersion`) the variance is mean + phi mean^2, else the history's own. None if
    fewer than :data:`MIN_HISTORY` windows. ``level`` (see :func:`news_level`) scales the mean
    (and the history's own variance with its square)."""
    kept = _kept(history)
    if kept is None:
        return None
    mean, variance = _fit(kept)
    if level != 1.0:
        mean, variance = max(mean * level, MIN_RATE), variance * level * level
    if dispersion is not None:
        variance = mean + dispersion * mean * mean
    return Baseline(mean, variance, len(history))


def dispersion(series: Sequence[Sequence[int]]) -> float | None:
    """The over-dispersion phi (variance = mean + phi mean^2) shared by several histories, e.g. the
    24 hours of the day of one monitor: a method-of-moments estimate over all of them, each without
    its spikes. Fourteen values of one hour, mostly 0 to 3, say little about how bursty a monitor
    is; the 24 hours together say much more. None if no series has enough history."""
    excess = weight = 0.0
    for values in series:
        kept = _kept(values)
        if kept is None:
            continue
        mean, variance = _fit(kept)
        excess += variance - mean
        weight += mean * mean
    if weight == 0:
        return None
    return min(max(excess / weight, 0.0), MAX_DISPERSION)


def _kept(history: Sequence[int]) -> list[int] | None:
    n = len(history)
    if n < MIN_HISTORY:
        return None
    ordered = sorted(history)
    median = _median(ordered)
    scale = max(1.4826 * _median(sorted(abs(x - median) for x in ordered)), math.sqrt(max(median, 1.0)))
    kept = [x for x in ordered if x <= median + REJECT_Z * scale]
    return ordered[: max(len(kept), n - n // 3)]


def _fit(values: Sequence[int]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    variance = sum((x - mean) ** 2 for x in values) / max(1, len(values) - 1)
    return max(mean, MIN_RATE), variance


def _median(ordered: Sequence[float]) -> float:
    n = len(ordered)
    return float(ordered[n // 2]) if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def threshold(base: Baseline, limits: Thresholds) -> int:
    """The smallest count that is a spike against ``base``. Pure; monotone: a stricter ``limits``
    (smaller alpha, more stories, larger ratio) never gives a smaller threshold."""
    lowest = max(limits.min_stories, math.ceil(limits.min_ratio * base.mean - 1e-9))
    alpha = limits.alpha
    tails = _upper_tails(base.mean, base.variance)
    for x in range(lowest, len(tails)):
        if tails[x] <= alpha:
            return x
    return max(lowest, len(tails))


def detect(history: Sequence[int], count: int, sensitivity: Sensitivity = "medium", window: Window = "hour",
           phi: float | None = None, level: float = 1.0) -> Verdict:  # fmt: skip
    """Whether ``count`` stories in a ``window`` is a spike given ``history``, the counts of the
    same window on the previous days (any order), the monitor's over-dispersion ``phi`` (None:
    from ``history`` alone) and the news ``level`` of the day (:func:`news_level`; 1: usual). Pure."""
    base = baseline(history, phi, level)
    if base is None:
        return Verdict(False, count, None, None, None)
    limit = threshold(base, SENSITIVITY[window][sensitivity])
    return Verdict(count >= limit, count, limit, round(base.mean, 3), tail_probability(count, base))


def tail_probability(count: int, base: Baseline) -> float:
    """P(X >= count) for X negative binomial with the baseline's mean and variance (Poisson when
    the variance does not exceed the mean)."""
    tails = _upper_tails(base.mean, base.variance)
    return tails[count] if count < len(tails) else 0.0


@functools.lru_cache(maxsize=4096)
def _upper_tails(mean: float, variance: float) -> tuple[float, ...]:
    """P(X >= k) for k = 0 .. K, where P(X >= K) is negligible (< 1e-15), summed from the top so
    that the small tails keep their precision."""
    overdispersed = variance > mean * 1.05
    if overdispersed:
        r = mean * mean / (variance - mean)
        log_q = math.log(mean / (r + mean))  # the failure probability's log, per NB(r, p) trial
        log_p = math.log(r / (r + mean))
        sd = math.sqrt(variance)

        def log_pmf(k: int) -> float:
            return math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1) + r * log_p + k * log_q
    else:
        sd = math.sqrt(mean)
        log_mean = math.log(mean)

        def log_pmf(k: int) -> float:
            return k * log_mean - mean - math.lgamma(k + 1)

    top = int(mean + 40 * sd + 30)
    pmf = [math.exp(log_pmf(k)) for k in range(top + 1)]
    tails = [0.0] * (top + 2)
    for k in range(top, -1, -1):
        tails[k] = tails[k + 1] + pmf[k]
    return tuple(tails[: top + 1])


# --- windows -------------------------------------------------------------------------------------


def judge(count_at: Callable[[int], int | None], index: int, window: Window,
          sensitivity: Sensitivity = "medium") -> Verdict:  # fmt: skip
    """The verdict on window number ``index`` (hours or days since any fixed origin, in
    Asia/Jakarta), given ``count_at(i)``, the story count of window ``i`` (None: unknown, before the
    data begins). The baseline is the same hour (or the day) on the previous :data:`BASELINE_DAYS`
    days; for an hour, the dispersion is pooled over the 24 hours of the day and the mean scaled by
    the news level of the :data:`LEVEL_HOURS` hours before (:func:`news_level`). Pure."""
    per_day = 24 if window == "hour" else 1
    days = BASELINE_DAYS[window]

    def days_before(i: int) -> list[int]:
        return [v for v in (count_at(i - d * per_day) for d in range(days, 0, -1)) if v is not None]

    count = count_at(index) or 0
    if window == "day":
        return detect(days_before(index), count, sensitivity, window)
    histories = [days_before(index - o) for o in range(max(24, LEVEL_HOURS + 1))]
    phi = dispersion(histories[:24])
    level = news_level([count_at(index - o) for o in range(1, LEVEL_HOURS + 1)], histories[1 : LEVEL_HOURS + 1])
    return detect(histories[0], count, sensitivity, window, phi, level)


def news_level(counts: Sequence[int | None], histories: Sequence[Sequence[int]]) -> float:
    """How busy the news is, from ``counts``, the story counts of the hours just before the judged
    one (None: unknown), against ``histories``, the same hours on the previous days: (observed +
    :data:`LEVEL_PRIOR`) / (usual + :data:`LEVEL_PRIOR`), each hour counting at most
    :data:`LEVEL_CAP` x its usual count + 2, within :data:`LEVEL_RANGE`. A day when everything is
    in the news (or a quiet Sunday) raises (lowers) every hour's baseline, so a news cycle is not
    a string of spikes and a weekend spike is not missed; the shrinkage keeps a few stories at
    night from moving it much. Pure."""
    observed = usual = 0.0
    for count, history in zip(counts, histories, strict=True):
        kept = _kept(history) if count is not None else None
        if count is None or kept is None:
            continue
        mean = sum(kept) / len(kept)  # not floored at MIN_RATE: silent hours are silent as usual
        usual += mean
        observed += min(count, LEVEL_CAP * mean + 2)
    low, high = LEVEL_RANGE
    return min(max((observed + LEVEL_PRIOR) / (usual + LEVEL_PRIOR), low), high)


def window_index(window: Window, start: datetime) -> int:
    """The number of the window starting at ``start``: hours, or Asia/Jakarta days, since 1970."""
    seconds = int(start.timestamp()) + (7 * 3600 if window == "day" else 0)  # WIB is UTC+7, no DST
    return seconds // (3600 if window == "hour" else 86400)


def window_start(window: Window, at: datetime) -> datetime:
    """The start of the ``window`` holding ``at``, in Asia/Jakarta."""
    local = at.astimezone(ZONE)
    if window == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def window_step(window: Window) -> timedelta:
    return timedelta(hours=1) if window == "hour" else timedelta(days=1)


def spike_key(saved_id: str, window: Window, start: datetime, channel: Channel = "webhook") -> str:
    """The delivery id of a spike on a channel: one per monitor, window and channel, whoever finds
    it and however often. The webhook's is the id it always had."""
    token = f"{saved_id}:spike:{window}:{start.astimezone(ZONE).isoformat()}"
    if channel != "webhook":
        token += f":{channel}"
    return hashlib.sha256(token.encode()).hexdigest()[:24]


# --- the run loop --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpikeMonitor:
    id: str
    team: str
    window: Window
    sensitivity: Sensitivity
    es_query: dict[str, Any]
    channels: tuple[Channel, ...] = ("webhook",)


def spike_channels(saved: dict[str, Any]) -> tuple[Channel, ...]:
    """The channels a monitor's spike alerts go to: its webhook and its chat channel, if set."""
    chat = (saved.get("channels") or {}).get("chat_webhook_url")
    on: tuple[tuple[Channel, bool], ...] = (("webhook", bool(saved.get("webhook_url"))), ("chat", bool(chat)))
    return tuple(name for name, set_ in on if set_)


@dataclass(frozen=True, slots=True)
class Spike:
    """A spike found by a run; ``asdict`` of it (less ``saved_search_id``) is the ``spike`` of the
    delivery and of the webhook payload."""

    saved_search_id: str
    window: Window
    start: str
    end: str
    stories: int
    articles: int
    baseline: float
    threshold: int
    sensitivity: Sensitivity
    p_value: float


class SpikeChecker:
    """Finds spikes and records one delivery per monitor, window and channel (webhook, chat).
    :meth:`check` blocks on Elasticsearch and raises its errors; it is idempotent (delivery ids are
    derived from the monitor, the window and the channel, written with ``create``). Safe in several
    processes at once.

    ``start`` runs :meth:`check` on a thread every ``interval_s``, calling ``on_recorded`` (the
    dispatcher's ``wake``) when it created deliveries."""

    def __init__(self, es: Elasticsearch, prefix: str, alias: str, *, interval_s: float = 60.0,
                 on_recorded: Callable[[], None] | None = None, clock: Callable[[], datetime] = now_utc) -> None:  # fmt: skip
        self.es = es
        self.alias = alias
        self.idx = AlertIndices(prefix)
        self.interval_s = interval_s
        self.on_recorded = on_recorded
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spikes", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception as exc:  # Elasticsearch unavailable: the next run judges the same windows
                log.warning("spike check failed", extra={"error": repr(exc)[:500]})

    def monitors(self) -> list[SpikeMonitor]:
        """The enabled monitors with a ``spike`` setting and a webhook or a chat channel, their
        queries compiled."""
        resp = self.es.options(ignore_status=404).search(
            index=self.idx.saved, size=10_000,
            query={"bool": {"filter": [{"exists": {"field": "spike.window"}}, {"term": {"enabled": True}}]}},
        )  # fmt: skip
        out = []
        for h in resp.get("hits", {}).get("hits", []):
            s = h["_source"]
            channels = spike_channels(s)
            if not channels:
                continue
            try:
                es_query = to_es_query(parse(s["query"]))
            except ValueError:
                continue  # stored before a grammar change; the matcher logs it
            spike = s["spike"]
            out.append(SpikeMonitor(s["id"], s.get("team") or "default", spike["window"],
                                    spike.get("sensitivity") or "medium", es_query, channels))  # fmt: skip
        return out

    def check(self, now: datetime | None = None) -> list[Spike]:
        """Judge the current and the previous window of every spike monitor; record a delivery for
        each spike not recorded before. Returns the spikes found (recorded now or earlier)."""
        now = now or self.clock()
        monitors = self.monitors()
        if not monitors:
            return []
        data_since = self._data_since()
        spikes: list[Spike] = []
        for part in range(0, len(monitors), 50):
            chunk = monitors[part : part + 50]
            body: list[dict[str, Any]] = []
            for m in chunk:
                body += [{"index": self.alias}, self._histogram(m, now)]
            answers = self.es.msearch(searches=body)["responses"]
            for m, answer in zip(chunk, answers, strict=True):
                if "error" in answer:
                    log.warning(
                        "spike count failed", extra={"saved_search_id": m.id, "error": str(answer["error"])[:300]}
                    )
                    continue
                counts = {b["key"]: (int(b["stories"]["value"]), int(b["doc_count"]))
                          for b in answer["aggregations"]["h"]["buckets"]}  # fmt: skip
                spikes += self._judge(m, counts, now, data_since)
        created = 0
        for spike in spikes:
            created += self._record(spike, next(m for m in monitors if m.id == spike.saved_search_id))
        if created and self.on_recorded is not None:
            self.on_recorded()
        return spikes

    def _data_since(self) -> datetime | None:
        """When the index's articles begin: baseline windows before it are not zeros, just unknown."""
        resp = self.es.search(index=self.alias, size=0, aggs={"first": {"min": {"field": "published_at"}}})
        value = resp["aggregations"]["first"].get("value")
        return None if value is None else datetime.fromtimestamp(value / 1000, ZONE)

    def _histogram(self, m: SpikeMonitor, now: datetime) -> dict[str, Any]:
        step = window_step(m.window)
        current = window_start(m.window, now)
        # the previous window's baseline, and for an hour the 23 hours before each of its days (the
        # dispersion; the news level needs LEVEL_HOURS of them)
        before = timedelta(hours=max(23, LEVEL_HOURS)) if m.window == "hour" else step * 0
        first = current - step - timedelta(days=BASELINE_DAYS[m.window]) - before
        return {
            "size": 0,
            "track_total_hits": False,
            "query": {"bool": {"filter": [m.es_query, {"range": {"published_at": {
                "gte": first.isoformat(), "lt": (current + step).isoformat()}}}]}},
            "aggs": {"h": {
                "date_histogram": {"field": "published_at", "calendar_interval": "1h" if m.window == "hour" else "1d",
                                   "time_zone": "Asia/Jakarta", "min_doc_count": 1},
                "aggs": {"stories": {"cardinality": {"field": "story_id", "precision_threshold": PRECISION}}},
            }},
        }  # fmt: skip

    def _judge(self, m: SpikeMonitor, counts: dict[int, tuple[int, int]], now: datetime,
               data_since: datetime | None) -> list[Spike]:  # fmt: skip
        step = window_step(m.window)
        current = window_start(m.window, now)
        by_index = {window_index(m.window, datetime.fromtimestamp(k / 1000, ZONE)): v for k, v in counts.items()}
        first = None if data_since is None else window_index(m.window, window_start(m.window, data_since))

        def count_at(i: int) -> int | None:
            return None if first is not None and i < first else by_index.get(i, (0, 0))[0]

        found = []
        for start in (current - step, current):
            index = window_index(m.window, start)
            verdict = judge(count_at, index, m.window, m.sensitivity)
            if verdict.spike and verdict.threshold is not None and verdict.baseline is not None:
                found.append(Spike(m.id, m.window, start.isoformat(), (start + step).isoformat(), verdict.count,
                                   by_index.get(index, (0, 0))[1], verdict.baseline, verdict.threshold,
                                   m.sensitivity, float(f"{verdict.p_value or 0.0:.3g}")))  # fmt: skip
        return found

    def _sample(self, m: SpikeMonitor, spike: Spike) -> list[str]:
        """One article per story of the window, the stories with most copies first."""
        resp = self.es.search(index=self.alias, size=0, query={"bool": {"filter": [m.es_query, {"range": {
            "published_at": {"gte": spike.start, "lt": spike.end}}}]}}, aggs={"s": {
            "terms": {"field": "story_id", "size": SAMPLE_STORIES},
            "aggs": {"first": {"top_hits": {"size": 1, "sort": [{"published_at": "asc"}], "_source": False}}}}})  # fmt: skip
        return [b["first"]["hits"]["hits"][0]["_id"] for b in resp["aggregations"]["s"]["buckets"]]

    def _record(self, spike: Spike, m: SpikeMonitor) -> int:
        """Create the spike's delivery on each of the monitor's channels unless it exists. Returns
        how many were created."""
        start = datetime.fromisoformat(spike.start)
        ids = {channel: spike_key(spike.saved_search_id, spike.window, start, channel) for channel in m.channels}
        missing = [c for c, i in ids.items()
                   if not self.es.options(ignore_status=404).exists(index=self.idx.deliveries, id=i)]  # fmt: skip
        if not missing:
            return 0  # found again by a later run: no second sample query either
        at = self.clock().isoformat()
        details = {k: v for k, v in asdict(spike).items() if k != "saved_search_id"}
        sample = self._sample(m, spike)
        created = 0
        for channel in missing:
            doc = {"id": ids[channel], "saved_search_id": spike.saved_search_id, "team": m.team, "kind": "spike",
                   "channel": channel, "article_ids": sample, "spike": details, "status": "pending", "attempts": 0,
                   "created_at": at, "next_attempt_at": at, "log": []}  # fmt: skip
            try:
                # refresh: the dispatcher finds deliveries by searching
                self.es.create(index=self.idx.deliveries, id=ids[channel], document=doc, refresh=True)
            except ConflictError:
                continue  # another process recorded it first
            except ApiError:
                raise
            created += 1
            log.info("spike", extra={"saved_search_id": spike.saved_search_id, "count": spike.stories,
                                     "channel": channel})  # fmt: skip
        return created


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
