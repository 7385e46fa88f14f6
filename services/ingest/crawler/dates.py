"""Parsing the dates that feeds, sitemaps and the WordPress API give us (offsets kept)."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

from shared.limits import is_plausible_published_at

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso(value: str | None, *, assume_utc: bool = False) -> datetime | None:
    """ISO 8601 / W3C datetime to an aware datetime. Date-only values and naive values return None
    unless ``assume_utc`` (WordPress ``*_gmt`` fields are naive UTC)."""
    if not value:
        return None
    value = value.strip()
    if _DATE_ONLY.match(value) and not assume_utc:
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
    iso = parse_iso(value)
    if iso is not None:
        return iso
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def plausible(value: datetime | None, now: datetime | None = None) -> datetime | None:
    """``value`` if it is a plausible publication date (the one rule, shared/limits.py), else None."""
    return value if is_plausible_published_at(value, now) else None
