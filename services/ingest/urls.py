"""URL canonicalisation shared by the API and the crawler (one way to do it)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url

# Parameters that identify a campaign or a click, never an article.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "ref", "ref_src", "amp", "_ga", "s_cid"}
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
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    cleaned = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(sorted(query)), ""))
    try:
        return normalize_url(cleaned, strict=False)
    except Exception as exc:  # courlan raises assorted errors on malformed input
        raise InvalidURL(f"cannot normalise URL {url!r}: {exc}") from exc


def domain_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host
