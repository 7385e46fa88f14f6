"""Size limits on what enters Warta, one rule for every edge (the ingest API and the crawler).

Limits are in **bytes**, because Kafka's are. The broker refuses a record over
``message.max.bytes``; the local stack, ``docker-compose.yml`` and every producer are configured
with :data:`KAFKA_MESSAGE_MAX_BYTES`. The largest record Warta writes is the enriched article,
which carries the text twice (``text`` and ``body``) plus entities, summary, keywords and tone, so the
text an edge accepts is sized from the broker limit with that envelope's overhead.

Sizes are measured as the text's JSON encoding in UTF-8 (what travels), so an emoji counts four
bytes and an escaped quote two.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

# Kafka: broker ``message.max.bytes`` (and topic ``max.message.bytes``), producer ``max_request_size``.
KAFKA_MESSAGE_MAX_BYTES = 1_048_576
# What an enriched record adds besides its two copies of the text: metadata, entities, summary,
# keywords, regions and tone (each capped by enrich: services/enrich/enrichment.py).
ENRICHED_OVERHEAD_BYTES = 256 * 1024
# The longest article text accepted at the edge, JSON-encoded: (1 MiB - 256 KiB) / 2 = 384 KiB.
MAX_TEXT_BYTES = (KAFKA_MESSAGE_MAX_BYTES - ENRICHED_OVERHEAD_BYTES) // 2
MAX_TITLE_CHARS = 1000

# Request bodies, refused by the APIs' perimeter (shared/http.py ``BodyLimit``) before they are read
# (by ``Content-Length``, or by counting a chunked body). They are not the article limits above:
# they stop a client from making a server buffer and parse an arbitrary amount before the field
# rules run, so they are generous.
# One pushed article: an HTML push of about 2 MiB, even if JSON escaping of quotes, backslashes and
# control characters tripled it, plus its other fields.
MAX_PUSH_REQUEST_BYTES = 16 * 1024 * 1024
# A batch of up to 500 articles: room for 32 KiB per article on average (a typical article is
# 5-20 KB as JSON); a client with larger articles sends smaller batches.
MAX_BATCH_REQUEST_BYTES = 16 * 1024 * 1024
# Every other route (sources, saved searches, keys, the web app's proxy): their largest field is a
# 2,048-character URL or a 2,000-character query.
MAX_REQUEST_BYTES = 64 * 1024


class TooLarge(ValueError):
    """A field is over its byte limit. ``str()`` names the field, its size and the limit."""

    def __init__(self, field: str, size: int, limit: int) -> None:
        super().__init__(f"{field} is {size:,} bytes (UTF-8, JSON-encoded), over the limit of {limit:,} bytes")
        self.field = field
        self.size = size
        self.limit = limit


def encoded_size(text: str) -> int:
    """Bytes ``text`` takes inside a JSON message (UTF-8, without the surrounding quotes)."""
    return len(orjson.dumps(text)) - 2


def check_text(text: str, field: str = "text", limit: int = MAX_TEXT_BYTES) -> str:
    """Return ``text`` unchanged, or raise :class:`TooLarge`. Cheap: one encode, no copy kept."""
    # A str of n code points encodes to at least n bytes: skip the encode when it cannot be over.
    if len(text) * 6 > limit:
        size = encoded_size(text)
        if size > limit:
            raise TooLarge(field, size, limit)
    return text


# --- HTML pushed to the ingest API -------------------------------------------------------------
# Extraction costs up to about 10 µs of CPU per byte of link-heavy markup (and grows faster than
# linearly), so what one request may ask of it is bounded three ways: a cap per page, a budget per
# batch, and a CPU-time limit per page (``IngestSettings.extract_cpu_limit_s``, enforced in the
# extraction worker processes). 2 MiB per page: the largest of the 793 real article pages of the
# WCXB dev set is 1.8 MB (p99 1.2 MB, median 113 KB), so no real page is refused.
MAX_HTML_BYTES = 2 * 1024 * 1024
# 4 MiB of HTML per batch (about 35 median pages): items past the budget get a 413 of their own
# and can be pushed again in another request; the others are processed.
MAX_BATCH_HTML_BYTES = 4 * 1024 * 1024


def check_html(html: str, field: str = "html", limit: int = MAX_HTML_BYTES) -> str:
    """Return ``html`` unchanged, or raise :class:`TooLarge`; same measure as :func:`check_text`."""
    return check_text(html, field, limit)


# --- Publication dates -------------------------------------------------------------------------
# One plausibility rule for a publication (or modification) date, whoever supplies it: a client of
# the ingest API (an implausible date is refused with a 422), a crawled page or feed (the date is
# dropped and the article kept, date unknown), or the extractor choosing among a page's dates.
# Not before 1995 (the first Indonesian news sites went online that year; a 0001 or 1970 date is a
# bug, and it would stretch every timeline over decades of empty buckets), and not more than one
# hour ahead of the server's clock (clock skew; a time-zone mistake is usually several hours).
EARLIEST_PUBLISHED_AT = datetime(1995, 1, 1, tzinfo=UTC)
PUBLISHED_AT_FUTURE_SKEW = timedelta(hours=1)


def published_at_problem(value: datetime, now: datetime | None = None) -> str | None:
    """Why ``value`` is not a plausible publication date, or None when it is."""
    if value.tzinfo is None or value.utcoffset() is None:
        return "has no time zone"
    if value < EARLIEST_PUBLISHED_AT:
        return f"is before {EARLIEST_PUBLISHED_AT.date().isoformat()}"
    now = now or datetime.now(UTC)
    if value > now + PUBLISHED_AT_FUTURE_SKEW:
        minutes = int(PUBLISHED_AT_FUTURE_SKEW.total_seconds() // 60)
        return f"is more than {minutes} minutes ahead of the server's clock"
    return None


def is_plausible_published_at(value: datetime | None, now: datetime | None = None) -> bool:
    """True for an aware datetime within the plausibility window (see :func:`published_at_problem`)."""
    return value is not None and published_at_problem(value, now) is None
