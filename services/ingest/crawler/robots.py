"""robots.txt, cached per host (scheme + host + port), following RFC 9309 on errors:
a 4xx robots.txt means "no rules" and 5xx or an unreachable host means "disallow everything"
until the short error TTL passes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

# Fetch robots.txt: returns (status, body text) or raises on network errors.
RobotsFetch = Callable[[str], tuple[int, str]]

ERROR_TTL_S = 300.0
MAX_ROBOTS_CHARS = 500_000  # RFC 9309 asks parsers to handle at least 500 KiB


@dataclass
class _Entry:
    parser: RobotFileParser
    expires_at: float
    # Why everything is disallowed when robots.txt could not be read (e.g. "timeout"), else None.
    error: str | None = None


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def parse_robots(text: str, *, allow_all: bool = False, disallow_all: bool = False) -> RobotFileParser:
    parser = RobotFileParser()
    # allow_all/disallow_all are RobotFileParser's own (undocumented) switches for these cases.
    if allow_all:
        setattr(parser, "allow_all", True)  # noqa: B010
    elif disallow_all:
        setattr(parser, "disallow_all", True)  # noqa: B010
    else:
        parser.parse(text[:MAX_ROBOTS_CHARS].splitlines())
    # RobotFileParser.can_fetch answers False until it believes it has read the file.
    parser.modified()
    return parser


class RobotsCache:
    """Thread-safe robots.txt cache. ``allowed`` may block while robots.txt is fetched (once per
    host per TTL; concurrent callers for the same host wait for the one fetch)."""

    def __init__(self, fetch: RobotsFetch, user_agent: str, ttl_s: float = 3600.0) -> None:
        self._fetch = fetch
        self._agent = user_agent.split("/", 1)[0]
        self._ttl = ttl_s
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _entry(self, url: str) -> _Entry:
        key = robots_url(url)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            entry = self._entries.get(key)
            now = time.monotonic()
            if entry is not None and entry.expires_at > now:
                return entry
            ttl, error = self._ttl, None
            try:
                status, text = self._fetch(key)
            except Exception as exc:
                error = str(getattr(exc, "reason", "") or "robots_unreachable")
                parser, ttl = parse_robots("", disallow_all=True), min(ERROR_TTL_S, self._ttl)
            else:
                if 200 <= status < 300:
                    parser = parse_robots(text)
                elif 400 <= status < 500:
                    parser = parse_robots("", allow_all=True)
                else:
                    error = "robots_unreachable"
                    parser, ttl = parse_robots("", disallow_all=True), min(ERROR_TTL_S, self._ttl)
            entry = _Entry(parser, now + ttl, error)
            self._entries[key] = entry
            return entry

    def check(self, url: str) -> str | None:
        """None when robots.txt lets our user agent fetch ``url``; otherwise the reason:
        ``robots`` (disallowed) or why robots.txt could not be read (``timeout``,
        ``connect_error``, ``robots_unreachable``...), in which case RFC 9309 says to stay away."""
        entry = self._entry(url)
        if entry.parser.can_fetch(self._agent, url):
            return None
        return entry.error or "robots"

    def allowed(self, url: str) -> bool:
        """True when robots.txt of the URL's host lets our user agent fetch it."""
        return self.check(url) is None

    def crawl_delay(self, url: str) -> float | None:
        delay = self._entry(url).parser.crawl_delay(self._agent)
        return float(delay) if delay is not None else None
