"""URL checks and canonicalisation shared by the API, the sources API and the crawler (one way
to do it).

Every URL that enters Warta (a pushed article's, a source's, a crawled page's) goes through
:func:`clean_url`: an absolute http(s) URL whose host is a name or an IP address (no spaces,
control characters or other characters a host cannot hold) and whose port, if any, is 1-65535.
Credentials (``user:pass@``) are removed, so they are never stored, published or shown.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url

# Parameters that identify a campaign, a click or a share widget, never an article; including
# ones seen on Indonesian news sites. Matched case-insensitively.
TRACKING_PARAM = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|gclsrc|dclid|msclkid|yclid|igshid|twclid|ttclid|wbraid|gbraid|"
    r"mc_cid|mc_eid|_ga|_gl|_hsenc|_hsmi|mkt_tok|spm|share|shared|src|from|ref|ref_src|ref_url|s_cid|"
    r"amp;utm_[a-z_]+|page_from|cmpid|icid|ocid)$",
    re.IGNORECASE,
)


# WHATWG URL "forbidden host code points", besides whitespace and controls (checked by category).
_FORBIDDEN_IN_HOST = frozenset("#%/:<>?@[\\]^|")
_MAX_HOST_LENGTH = 253


class InvalidURL(ValueError):
    pass


def _host_problem(parts: SplitResult) -> str | None:
    host = parts.hostname or ""
    if not host:
        return "has no host"
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host.partition("%")[0])
        except ValueError:
            return "has an invalid IPv6 address"
        return None
    if len(host) > _MAX_HOST_LENGTH:
        return f"has a host longer than {_MAX_HOST_LENGTH} characters"
    for char in host:
        if char in _FORBIDDEN_IN_HOST or char.isspace() or unicodedata.category(char)[0] in "CZ":
            return f"has a character its host cannot hold ({char!r})"
    if "" in host.rstrip(".").split("."):
        return "has an empty label in its host"
    return None


def clean_url(url: str) -> str:
    """``url`` without surrounding whitespace and without credentials; otherwise unchanged.

    Raises InvalidURL (the message says why) unless it is an absolute http(s) URL with a valid
    host and, if it has one, a port in 1-65535. Pure; cheap.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # unbalanced or invalid [IPv6] literal
        raise InvalidURL(f"URL cannot be parsed ({exc}): {url[:200]!r}") from exc
    if "@" in parts.netloc:  # credentials are never stored, nor echoed in an error
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
        url = urlunsplit(parts)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise InvalidURL(f"not an absolute http(s) URL: {url[:200]!r}")
    problem = _host_problem(parts)
    if problem is None:
        try:
            port_ok = parts.port != 0
        except ValueError:  # not a number, or over 65535
            port_ok = False
        if not port_ok:
            problem = "has an invalid port (not a number in 1-65535)"
    if problem:
        raise InvalidURL(f"URL {problem}: {url[:200]!r}")
    return url


def canonical_url(url: str) -> str:
    """Normalise ``url``: lower-case host, no fragment, no tracking parameters, sorted query, no
    credentials.

    Raises InvalidURL for anything :func:`clean_url` refuses.
    """
    parts = urlsplit(clean_url(url))
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
