"""Stable identifiers.

The article id is the one key used everywhere: the Kafka message key (per-article ordering), the
Celery task id and the Elasticsearch ``_id``. It is derived from the canonical URL only, so the same
article seen twice (re-crawled, pushed again, replayed from a DLQ) always maps to one document.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

ARTICLE_ID_LENGTH = 24


def normalize_url_for_id(url: str) -> str:
    """Lower-case scheme and host and drop the fragment; the path and query keep their case."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.port and not (
        (parts.scheme == "http" and parts.port == 80) or (parts.scheme == "https" and parts.port == 443)
    ):
        host = f"{host}:{parts.port}"
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), host, path, parts.query, ""))


def article_id(canonical_url: str) -> str:
    """Return the stable article id for a canonical URL (hex, 96 bits).

    Raises ValueError for a port that is not a number in 0-65535: URLs are checked before they
    get here (ingest's ``clean_url``: a 422 naming the field, not this error). Credentials never
    count: the id uses the host, not ``user:pass@``.
    """
    digest = hashlib.sha256(normalize_url_for_id(canonical_url).encode("utf-8")).hexdigest()
    return digest[:ARTICLE_ID_LENGTH]
