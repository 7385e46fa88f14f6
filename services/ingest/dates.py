"""Dates in ingest, one module for the crawler's feeds and sitemaps and the extractor's pages.
Offsets are kept, never converted.

- Feeds, sitemaps and the WordPress API (:func:`parse_feed_date`, :func:`parse_iso`): ISO 8601,
  W3C or RFC 822 values that must carry their own offset (a naive or date-only value is unknown,
  except where the source says it is UTC).
- Pages (:func:`parse_machine_date`, :func:`parse_human_date`, :func:`date_from_url`): structured
  data, meta tags and Indonesian human-readable dates such as ``Senin, 5 Mei 2025 14:30 WIB``,
  ``05/05/2025 - 14:30 WIB`` or ``5/5/25``, read in the page's default zone when they have none.
  The zone words map to fixed offsets (Indonesia has no daylight saving time): WIB +07:00,
  WITA +08:00, WIT +09:00.

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


def parse_feed_date(value: str | None) -> datetime | None:
    """RFC 822 (RSS) or ISO 8601 (Atom) to an aware datetime keeping the source's offset."""
    if not value:
        return None
    parsed = parse_iso(value) or _rfc822(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None


# --- pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageDate:
    """A candidate date. ``has_time`` is False when the page gave only a day."""

    value: datetime
    has_time: bool


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
            return PageDate(value, True)
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
        parsed = parsed.replace(tzinfo=default_tz)
    return PageDate(parsed, True)


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
