"""URL canonicalisation shared by the API and the crawler (one way to do it)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url

# Parameters that identify a campaign, a click or a share widget, never an article; including
# ones seen on Indonesian news sites. Matched case-insensitively.
TRACKING_PARAM = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|gclsrc|dclid|msclkid|yclid|igshid|twclid|ttclid|wbraid|gbraid|"
    r"mc_cid|mc_eid|_ga|_gl|_hsenc|_hsmi|mkt_tok|spm|share|shared|src|from|ref|ref_src|ref_url|s_cid|"
    r"amp;utm_[a-z_]+|page_from|cmpid|icid|ocid)$",
    re.IGNORECASE,
)


class InvalidURL(ValueError):
    pass


def canonical_url(url: str) -> str:
    """Normalise ``url``: lower-case host, no fragment, no tracking parameters, sorted query.

    Raises InvalidURL for anything but an absolute http(s) URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise InvalidURL(f"not an absolute http(s) URL: {url!r}")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAM.match(k)]
    cleaned = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(sorted(query)), ""))
    try:
        return normalize_url(cleaned, strict=False)
    except Exception as exc:  # courlan raises assorted errors on malformed input
        raise InvalidURL(f"cannot normalise URL {url!r}: {exc}") from exc


def domain_of(url: str) -> str:
    """The outlet id of a URL: its host without ``www.``, with the port when it is not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    host = host[4:] if host.startswith("www.") else host
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    return host
