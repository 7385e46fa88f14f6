"""URLs in ingest, one module for the API, the sources API and the crawler: checks,
canonicalisation and the sources' include/exclude patterns. One error, :class:`InvalidURL`.

Every URL that enters Warta (a pushed article's, a source's, a crawled page's) goes through
:func:`clean_url`: an absolute http(s) URL whose host is a name or an IP address (no spaces,
control characters or other characters a host cannot hold) and whose port, if any, is 1-65535.
Credentials (``user:pass@``) are removed, so they are never stored, published or shown.

Canonical form (the article id derives from it): :func:`canonical_url` lower-cases the host,
drops the fragment, removes tracking parameters and sorts the rest of the query. The crawler's
:func:`canonicalize` also resolves a link against its page and removes dot segments, then applies
:func:`canonical_url`. After a page is fetched, its ``rel=canonical`` (when on the same site) wins.

Include/exclude patterns are supplied by admins and run against every discovered URL, so they
run on RE2 (``google-re2``), whose matching time is linear in the input whatever the pattern: no
pattern can backtrack catastrophically. RE2 has no look-around and no back-references, and its
``\\d``, ``\\w`` and ``\\b`` are ASCII-only; a pattern it cannot compile is refused when the
source is created or updated (a 422 naming the pattern).
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import re2
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


# Longest pattern accepted, and the memory RE2 may use for one compiled pattern (its default is
# 8 MiB; a source has up to 100 patterns, compiled at every crawl).
MAX_PATTERN_LENGTH = 500
_PATTERN_MAX_MEM = 1 << 20


class InvalidURL(ValueError):
    """Not an absolute http(s) URL with a valid host and port (or one that cannot be made one).
    ``str()`` says why."""


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


def source_url_key(url: str) -> str:
    """The identity of a source's URL, for refusing a second source on the same document:
    :func:`canonical_url`, then without the scheme, a ``www.`` prefix, a default port and a
    trailing slash (``http://www.a.example/feed/?utm_source=x`` and ``https://a.example/feed`` have
    one key). Pure. Raises InvalidURL for anything :func:`clean_url` refuses.
    """
    parts = urlsplit(canonical_url(url))
    host = (parts.hostname or "").lower().removeprefix("www.")
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    return netloc + path + (f"?{parts.query}" if parts.query else "")


def domain_of(url: str) -> str:
    """The outlet id of a URL: its host without ``www.``, with the port when it is not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    host = host[4:] if host.startswith("www.") else host
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    return host


def _remove_dot_segments(path: str) -> str:
    if not path:
        return "/"
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    normalised = posixpath.normpath(path)
    # posixpath keeps a leading "//"; URLs must not.
    normalised = "/" + normalised.lstrip("/")
    if trailing and normalised != "/":
        normalised += "/"
    return normalised


def canonicalize(url: str, base: str | None = None) -> str:
    """The canonical form of a link found by the crawler: ``url`` resolved against ``base`` when
    relative, dot segments removed, then :func:`canonical_url`.

    Pure and idempotent. Raises :class:`InvalidURL` for anything :func:`clean_url` refuses.
    """
    url = url.strip()
    if base:
        try:
            url = urljoin(base, url)
        except ValueError as exc:  # an unbalanced or invalid [IPv6] literal
            raise InvalidURL(f"URL cannot be parsed ({exc}): {url[:200]!r}") from exc
    parts = urlsplit(clean_url(url))
    return canonical_url(
        urlunsplit((parts.scheme.lower(), parts.netloc.lower(), _remove_dot_segments(parts.path), parts.query, ""))
    )


def same_site(url: str, other: str) -> bool:
    """True when both URLs have the same host (``www.`` ignored) and port."""
    a, b = urlsplit(url), urlsplit(other)
    ha = (a.hostname or "").lower().removeprefix("www.")
    hb = (b.hostname or "").lower().removeprefix("www.")
    return ha == hb and a.port == b.port


# --- include/exclude patterns of a source ------------------------------------------------------


class PatternError(ValueError):
    """An include/exclude pattern RE2 cannot compile (or one that is too long); names it."""


class Pattern(Protocol):
    def search(self, text: str) -> object | None: ...


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the error is raised (and reported to the client), not logged to stderr
    options.max_mem = _PATTERN_MAX_MEM
    return options


def compile_pattern(pattern: str) -> Pattern:
    """Compile one include/exclude pattern with RE2. Raises :class:`PatternError`."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters: {pattern[:80]!r}...")
    try:
        return re2.compile(pattern, _re2_options())  # type: ignore[no-any-return]
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(f"invalid regular expression {pattern!r}: {reason}") from exc


def compile_patterns(patterns: Sequence[str]) -> list[Pattern]:
    """Compile include/exclude patterns. Raises :class:`PatternError` naming the bad one."""
    return [compile_pattern(p) for p in patterns]


def matches_patterns(url: str, include: Sequence[Pattern], exclude: Sequence[Pattern]) -> bool:
    """Apply source patterns (``search`` in the URL's path and query).

    A URL passes when it matches at least one include pattern (or there are none) and no exclude
    pattern.
    """
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if include and not any(p.search(target) for p in include):
        return False
    return not any(p.search(target) for p in exclude)
