"""URL canonicalisation and source include/exclude patterns.

Canonical form (used for the seen-URL memory, deduplication inside a crawl and the article id):
absolute, scheme and host lower-cased, default port dropped, dot segments resolved, fragment
dropped, tracking parameters removed (courlan's list plus ours), remaining query parameters sorted.
After a page is fetched, its ``rel=canonical`` (when on the same site) wins over this form.

Include/exclude patterns are supplied by admins and run against every discovered URL, so they
run on RE2 (``google-re2``), whose matching time is linear in the input whatever the pattern: no
pattern can backtrack catastrophically. RE2 has no look-around and no back-references, and its
``\\d``, ``\\w`` and ``\\b`` are ASCII-only; a pattern it cannot compile is refused when the
source is created or updated (a 422 naming the pattern).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import re2

from services.ingest.urls import InvalidURL, canonical_url

# Longest pattern accepted, and the memory RE2 may use for one compiled pattern (its default is
# 8 MiB; a source has up to 100 patterns, compiled at every crawl).
MAX_PATTERN_LENGTH = 500
_PATTERN_MAX_MEM = 1 << 20


class InvalidUrl(ValueError):
    """The string is not an absolute http(s) URL (or cannot be made one)."""


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
    """Return the canonical form of ``url`` (resolved against ``base`` when relative).

    Builds on the ingest service's :func:`services.ingest.urls.canonical_url` (the API uses the
    same function, so a pushed and a crawled copy of an article get the same id, and the same
    tracking-parameter list) after resolving the reference and removing dot segments.
    Pure and idempotent. Raises :class:`InvalidUrl` for non-http(s) URLs or URLs without a host.
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidUrl(f"not an absolute http(s) URL: {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidUrl(f"bad port in {url!r}") from exc
    rebuilt = urlunsplit((scheme, parts.netloc.lower(), _remove_dot_segments(parts.path), parts.query, ""))
    try:
        return canonical_url(rebuilt)
    except InvalidURL as exc:
        raise InvalidUrl(str(exc)) from exc


def same_site(url: str, other: str) -> bool:
    """True when both URLs have the same host (``www.`` ignored) and port."""
    a, b = urlsplit(url), urlsplit(other)
    ha = (a.hostname or "").lower().removeprefix("www.")
    hb = (b.hostname or "").lower().removeprefix("www.")
    return ha == hb and a.port == b.port


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


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
    """Apply source patterns (``re.search`` on the URL's path and query).

    A URL passes when it matches at least one include pattern (or there are none) and no exclude
    pattern.
    """
    target = path_and_query(url)
    if include and not any(p.search(target) for p in include):
        return False
    return not any(p.search(target) for p in exclude)
