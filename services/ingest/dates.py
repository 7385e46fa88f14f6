"""Dates in ingest, one module for the crawler's feeds and sitemaps and the extractor's pages.
Offsets are kept, never converted.

- Feeds, sitemaps and the WordPress API (:func:`parse_feed_date`, :func:`parse_iso`): ISO 8601,
  W3C or RFC 822 values (also with Indonesian day and month names and the zone words) that carry
  their own offset. A naive value is unknown, except where the caller knows the zone: WordPress
  ``*_gmt`` fields are UTC, an Indonesian feed's entries are WIB. A date-only value is unknown.
- Pages (:func:`parse_machine_date`, :func:`parse_human_date`, :func:`date_from_url`): structured
  data, meta tags and Indonesian human-readable dates such as ``Senin, 5 Mei 2025 14:30 WIB``,
  ``05/05/2025 - 14:30 WIB`` or ``5/5/25``, read in the page's default zone when they have none.
  The zone words map to fixed offsets (Indonesia has no daylight saving time): WIB +07:00,
  WITA +08:00, WIT +09:00.

The publication date of a page is decided by :func:`choose_published`: each signal (JSON-LD,
OpenGraph, other meta tags, dates printed in the markup, htmldate, the URL, the caller's feed or
sitemap date) votes for a calendar day; the day most signals agree on wins, structured metadata
first on a tie; the most precise value on that day is returned, in the zone the page states.

Whether a date is plausible is the one rule of :func:`shared.limits.published_at_problem`, which
the API and the crawler apply too, so a date the extractor picks is never refused or dropped later.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from shared.limits import is_plausible_published_at

WIB = timezone(timedelta(hours=7), "WIB")
WITA = timezone(timedelta(hours=8), "WITA")
WIT = timezone(timedelta(hours=9), "WIT")
ZONES = {"wib": WIB, "wita": WITA, "wit": WIT, "utc": UTC, "gmt": UTC}

MONTHS = {
    # Indonesian
    "januari": 1,
    "februari": 2,
    "pebruari": 2,
    "maret": 3,
    "april": 4,
    "mei": 5,
    "juni": 6,
    "juli": 7,
    "agustus": 8,
    "september": 9,
    "oktober": 10,
    "november": 11,
    "nopember": 11,
    "desember": 12,
    # Indonesian abbreviations
    "jan": 1,
    "feb": 2,
    "peb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "agu": 8,
    "agt": 8,
    "ags": 8,
    "agust": 8,
    "sep": 9,
    "sept": 9,
    "okt": 10,
    "nov": 11,
    "nop": 11,
    "des": 12,
    # English (regional outlets mix them in)
    "january": 1,
    "february": 2,
    "march": 3,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "october": 10,
    "december": 12,
    "aug": 8,
    "oct": 10,
    "dec": 12,
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_NAMES = r"(?:senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|ahad)"
# Each separator repetition must consume a token: a nested optional here backtracks
# exponentially on long whitespace runs.
_TIME = r"(?:\s*(?:[,|/\-–—]|pukul|jam|pkl\.?)){0,3}\s*(?P<hh>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<ss>\d{2}))?"
_ZONE = r"\s*(?P<zone>WIB|WITA|WIT|UTC|GMT)?(?P<off>[ \t]?[+-]\s?\d{1,2}(?::?\d{2})?)?"
_WORD_DATE = re.compile(
    rf"(?:{_DAY_NAMES}\s*,?\s*)?(?P<d>\d{{1,2}})\s+(?P<m>{_MONTH_RE})\.?\s+(?P<y>\d{{4}})(?:{_TIME}{_ZONE})?",
    re.IGNORECASE,
)
_NUM_DATE = re.compile(
    rf"(?<![\d/])(?P<d>\d{{1,2}})[/.\-](?P<m>\d{{1,2}})[/.\-](?P<y>\d{{4}}|\d{{2}})(?![\d/])(?:{_TIME}{_ZONE})?",
    re.IGNORECASE,
)
_URL_DATE = re.compile(r"/(?P<y>(?:19|20)\d{2})[/-](?P<m>[01]?\d)[/-](?P<d>[0-3]?\d)(?:/|-|$)")
_URL_COMPACT_DATE = re.compile(r"/(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?:/|-|_|$)")
_ISO_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def _rfc822(value: str) -> datetime | None:
    """An RFC 822 date (RSS, HTTP, some meta tags), as in ``Mon, 05 May 2025 07:30:00 GMT``."""
    try:
        return email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None


# --- feeds, sitemaps and the WordPress API ----------------------------------------------------


def parse_iso(value: str | None, *, assume_utc: bool = False) -> datetime | None:
    """ISO 8601 / W3C datetime to an aware datetime. Date-only values and naive values return None
    unless ``assume_utc`` (WordPress ``*_gmt`` fields are naive UTC)."""
    if not value:
        return None
    value = value.strip()
    if _ISO_DATE_ONLY.match(value) and not assume_utc:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC) if assume_utc else None
    return parsed


# An RFC 822 date as feeds really write it: any day name (``Sen``, ``Jum'at``) or none, Indonesian
# or English month names, a 2- or 4-digit year, ``.`` as time separator, a zone word or offset or
# nothing.
_FEED_RFC822 = re.compile(
    r"^(?:[^\W\d_][\w']*\.?\s*,?\s*)?(?P<d>\d{1,2})[\s-]+(?P<m>[^\W\d_]+)\.?[\s-]+(?P<y>\d{4}|\d{2})"
    r"\s+(?P<hh>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<ss>\d{2}))?"
    r"\s*(?:(?P<zone>[A-Za-z]{1,5})|(?P<off>[+-]\d{2}:?\d{2}))?\s*$"
)
_FEED_ZONES = {**ZONES, "z": UTC, "ut": UTC}


def _feed_rfc822(value: str) -> datetime | None:
    """:data:`_FEED_RFC822` to a datetime: aware when the value names its zone (WIB, WITA, WIT,
    UTC/GMT/UT/Z or a numeric offset), naive when it names none. ``-0000`` is UTC. None when the
    value has another shape or an unknown zone word (left to :mod:`email.utils`)."""
    match = _FEED_RFC822.match(value)
    if not match or match["m"].lower() not in MONTHS:
        return None
    tz: timezone | None = None
    if match["zone"]:
        tz = _FEED_ZONES.get(match["zone"].lower())
        if tz is None:
            return None
    elif match["off"]:
        tz = _zone(None, match["off"], UTC)
    year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
    try:
        return datetime(
            year,
            MONTHS[match["m"].lower()],
            int(match["d"]),
            int(match["hh"]),
            int(match["mi"]),
            int(match["ss"] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None


def parse_feed_date(value: str | None, default_tz: timezone | None = None) -> datetime | None:
    """A feed entry's date (RSS ``pubDate``, ``dc:date``, Atom ``published``/``updated``) to an
    aware datetime keeping the stated offset.

    Accepts ISO 8601 (also with a space for ``T``: ``2026-12-05 07:00:00+07:00``) and RFC 822 as
    feeds write it: Indonesian day and month names (``Sen, 05 Des 2026 07:00:00 WIB``), the zone
    words WIB (+07:00), WITA (+08:00) and WIT (+09:00), UTC/GMT, numeric offsets, any zone
    :mod:`email.utils` knows. A value without a zone is read in ``default_tz`` (None: the date is
    unknown); a date without a time of day is unknown. Pure; never raises.
    """
    if not value or not value.strip():
        return None
    value = " ".join(value.split())
    if _ISO_DATE_ONLY.match(value):
        return None
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _feed_rfc822(value) or _rfc822(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=default_tz) if default_tz is not None else None
    return parsed


# --- pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageDate:
    """A candidate date. ``has_time`` is False when the page gave only a day. ``zone`` is how
    the value's offset came about: ``"word"`` (the page printed WIB/WITA/WIT/UTC/GMT),
    ``"offset"`` (a numeric offset or ``Z``), ``None`` (read in the default zone)."""

    value: datetime
    has_time: bool
    zone: str | None = None


def _zone(zone: str | None, offset: str | None, default: timezone) -> timezone:
    if zone and zone.lower() in ZONES and not offset:
        return ZONES[zone.lower()]
    if offset:
        sign = -1 if "-" in offset else 1
        digits = re.sub(r"[^\d]", "", offset)
        hours, minutes = (int(digits[:-2] or 0), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    return default


def _from_match(match: re.Match[str], month: int, default_tz: timezone) -> PageDate | None:
    year = int(match["y"])
    if year < 100:
        year += 2000
    try:
        if match["hh"] is not None:
            value = datetime(
                year,
                month,
                int(match["d"]),
                int(match["hh"]),
                int(match["mi"]),
                int(match["ss"] or 0),
                tzinfo=_zone(match["zone"], match["off"], default_tz),
            )
            stated = "offset" if match["off"] else ("word" if match["zone"] else None)
            return PageDate(value, True, stated)
        return PageDate(datetime(year, month, int(match["d"]), tzinfo=default_tz), False)
    except ValueError:
        return None


def parse_human_date(text: str, default_tz: timezone = WIB) -> PageDate | None:
    """The first day-first human date in ``text`` (``5 Mei 2025 14:30 WIB``, ``5/5/25``).

    A time without a zone word is read in ``default_tz``. Returns None when nothing parses.
    """
    match = _WORD_DATE.search(text)
    if match:
        parsed = _from_match(match, MONTHS[match["m"].lower()], default_tz)
        if parsed:
            return parsed
    match = _NUM_DATE.search(text)
    if match and 1 <= int(match["m"]) <= 12:
        return _from_match(match, int(match["m"]), default_tz)
    return None


def parse_machine_date(value: str, default_tz: timezone = UTC) -> PageDate | None:
    """An ISO-8601-ish value from JSON-LD, meta tags or ``<time datetime>``.

    Naive values are read in ``default_tz``. Falls back to the human-date parser so that
    ``content="Senin, 5 Mei 2025 14:30 WIB"`` in a meta tag also works.
    """
    value = (value or "").strip()
    if not value:
        return None
    if _ISO_DATE_ONLY.match(value):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            return None
        return PageDate(datetime(day.year, day.month, day.day, tzinfo=default_tz), False)
    parsed: datetime | None
    try:
        # Python 3.11 reads the ISO forms CMSes emit: "Z", fractions, "+07:00" and "+0700".
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None:
        human = parse_human_date(value, default_tz)
        if human is not None:
            return human
        parsed = _rfc822(value)
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        return PageDate(parsed.replace(tzinfo=default_tz), True)
    return PageDate(parsed, True, "offset")


def date_from_url(url: str, default_tz: timezone = UTC) -> PageDate | None:
    """``/2025/05/05/`` or ``/20250505`` in the URL path, as a day without time."""
    path = url.split("?", 1)[0]
    for pattern in (_URL_DATE, _URL_COMPACT_DATE):
        match = pattern.search(path)
        if match:
            try:
                value = datetime(int(match["y"]), int(match["m"]), int(match["d"]), tzinfo=default_tz)
            except ValueError:
                continue
            return PageDate(value, False)
    return None


def is_plausible(value: datetime | None, now: datetime | None = None) -> bool:
    """True for an aware datetime that :func:`shared.limits.published_at_problem` accepts (not
    before 1995, not more than an hour ahead of ``now``)."""
    return is_plausible_published_at(value, now)


# --- choosing a page's publication date -------------------------------------------------------

# Signal names in the order that breaks a tie between days: structured metadata first, then
# the dates printed in the page, the caller's feed/sitemap date, htmldate's guess, the URL.
SIGNAL_PRIORITY = ("jsonld", "opengraph", "meta", "html", "fallback", "htmldate", "url")


def _stated_word(candidates: list[tuple[str, PageDate]]) -> timezone | None:
    """The zone the page prints with a time (``14:30 WITA``), if any (UTC/GMT words aside)."""
    for _, candidate in candidates:
        tz = candidate.value.tzinfo
        if candidate.zone == "word" and candidate.value.utcoffset() and isinstance(tz, timezone):
            return tz
    return None


def _local_zone(candidates: list[tuple[str, PageDate]], default_tz: timezone) -> timezone:
    """The page's own zone: the zone word it prints, else the first non-UTC numeric offset of
    a signal, else ``default_tz``."""
    word = _stated_word(candidates)
    if word is not None:
        return word
    for _, candidate in candidates:
        tz = candidate.value.tzinfo
        if candidate.zone == "offset" and candidate.value.utcoffset() and isinstance(tz, timezone):
            return tz
    return default_tz


def _day(candidate: PageDate, local: timezone) -> date:
    if candidate.has_time and candidate.zone is not None:
        return candidate.value.astimezone(local).date()
    return candidate.value.date()


def choose_published(
    signals: list[tuple[str, PageDate | None]],
    *,
    fallback: datetime | None = None,
    fallback_source: str | None = None,
    now: datetime | None = None,
    default_tz: timezone = UTC,
) -> tuple[datetime | None, str | None]:
    """The publication date of a page and the signal it came from, decided by agreement.

    - ``signals`` are ``(name, candidate)`` in page order; names are those of
      :data:`SIGNAL_PRIORITY` (an unknown name ranks last). ``fallback`` is the caller's feed or
      sitemap date, reported as ``fallback_source``. Implausible values (see :func:`is_plausible`)
      never count.
    - Each signal votes once, for the calendar day (in the page's zone) of its first value with a
      time of day, else of its first value. The day with most votes wins; a tie goes to the day of
      the highest-priority signal.
    - On the winning day the value with a time of day from the highest-priority signal is
      returned; else the fallback if it falls on that day; else the bare day (midnight in
      ``default_tz``).
    - A value stated in UTC is returned in the page's zone (a zone word it prints, such as WITA,
      or a non-UTC offset of another signal; else ``default_tz``); a value the page printed with a
      zone word keeps it. The instant never changes.
    - Returns ``(None, None)`` when nothing plausible is left. Pure; never raises.
    """
    plausible = [(name, c) for name, c in signals if c is not None and is_plausible(c.value, now)]
    if fallback is not None and is_plausible(fallback, now):
        zone = "offset" if fallback.utcoffset() is not None else None
        plausible.append(("fallback", PageDate(fallback, True, zone)))
    if not plausible:
        return None, None
    local = _local_zone(plausible, default_tz)
    rank = {name: index for index, name in enumerate(SIGNAL_PRIORITY)}

    def priority(name: str) -> int:
        return rank.get(name, len(SIGNAL_PRIORITY))

    voters: dict[str, PageDate] = {}
    for name, candidate in plausible:
        current = voters.get(name)
        if current is None or (candidate.has_time and not current.has_time):
            voters[name] = candidate
    votes: dict[date, list[str]] = {}
    for name, candidate in voters.items():
        votes.setdefault(_day(candidate, local), []).append(name)
    winner = max(votes, key=lambda day: (len(votes[day]), -min(priority(n) for n in votes[day])))
    on_day = sorted(
        ((name, c) for name, c in plausible if _day(c, local) == winner),
        key=lambda item: (not item[1].has_time, priority(item[0])),
    )
    name, chosen = on_day[0]
    value = chosen.value
    if chosen.has_time and chosen.zone is not None and chosen.zone != "word":
        # UTC values, and numeric offsets on a page that prints its zone word, are shown in the
        # page's zone: same instant, the page's own wall-clock time and day.
        if value.utcoffset() == timedelta(0) or _stated_word(plausible) is not None:
            value = value.astimezone(local)
    return value, (fallback_source or "fallback") if name == "fallback" else name
