"""robots.txt per RFC 9309, cached per host (scheme + host + port).

:func:`rules_for_response` turns one robots.txt response into :class:`RobotsRules`, and
:meth:`RobotsRules.allowed` answers for a URL and a user agent. The crawler (:class:`RobotsCache`)
and ``warta ingest robots`` both decide with exactly these two, so anyone can replay a decision.

What is followed (RFC 9309 section numbers):
- 2.1/2.2.1: groups start at ``User-agent`` lines; a user agent is matched by its product token
  (``WartaBot`` in ``WartaBot/0.1 (+...)``), case-insensitively and exactly, never as a prefix;
  every group naming it is merged; without one, the ``*`` groups (merged) apply; else no rules.
- 2.2.2: the longest matching ``Allow``/``Disallow`` path wins, counted in octets after
  normalisation; an ``Allow`` wins a tie; no match means allowed; ``/robots.txt`` is always allowed.
  Percent-encoding is normalised on both sides before matching: escapes of unreserved characters
  are decoded (``%7E`` = ``~``), other escapes stay escapes with upper-case hex (``%2F`` is not
  ``/``), non-ASCII characters are UTF-8 percent-encoded.
- 2.2.3: ``*`` matches any sequence, a final ``$`` anchors the end; ``%2A`` and ``%24`` (and a
  ``$`` that is not final) are the literal characters.
- 2.2.4: other records (``Sitemap``, ``Crawl-delay``, unknown lines) never end a group, so in
  ``User-agent: a`` / ``Crawl-delay: 5`` / ``User-agent: b`` / ``Disallow: /`` both agents get
  ``Disallow: /`` (as Google's reference parser and crawler-commons read it). ``Crawl-delay`` applies
  to the agents named above it (the largest value when repeated); an agent without a group of
  its own takes the ``*`` value.
- 2.3.1: 2xx is parsed; 4xx means no rules except 429, which is treated as 5xx (as Google does:
  a server asking to slow down is no permission); 5xx, other statuses and an unreachable host
  disallow everything, cached for :data:`ERROR_TTL_S` only.
- 2.5: the first :data:`MAX_ROBOTS_BYTES` (500 KiB) are parsed; a line cut by the limit is dropped.

Also accepted, as Google's parser does: a leading UTF-8 BOM, CR/LF/CRLF line ends, a missing colon
(``Disallow /x``), the usual misspellings of ``Disallow`` and ``User-agent``.

Why not protego: protego 0.7.0 (Scrapy's parser) answers differently from RFC 9309 where it
matters to a crawler with a versioned product token: ``User-agent: Warta`` applies to WartaBot
(prefix match), ``User-agent: WartaBot/1.0`` never applies, ``Allow: /index.html`` also allows
``/``, ``Disallow: /a$`` also disallows ``/a$b``, and a BOM hides the first line. Its matching is
not exposed in a way that could be corrected from outside.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO
from urllib.parse import urlsplit

# Fetch robots.txt: returns (status, body text) or raises on network errors.
RobotsFetch = Callable[[str], tuple[int, str]]

ERROR_TTL_S = 300.0
MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least 500 kibibytes

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Reserved characters (RFC 3986 2.2) stay as they are, except "*" and "$": a URL spells them as
# escapes so that they compare equal to "%2A"/"%24" in a rule, never to a wildcard or an anchor.
_KEPT_IN_URL = frozenset(":/?#[]@!&'()+,;=")
_HEX = frozenset("0123456789abcdefABCDEF")
_EOL = re.compile(r"\r\n|\r|\n")
_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")

_USER_AGENT_KEYS = frozenset({"user-agent", "useragent", "user agent"})
_DISALLOW_KEYS = frozenset({"disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"})
_ALLOW_KEYS = frozenset({"allow"})
_CRAWL_DELAY_KEYS = frozenset({"crawl-delay", "crawl delay", "crawldelay"})
_SITEMAP_KEYS = frozenset({"sitemap", "site-map"})


def product_token(user_agent: str) -> str:
    """The product token of a user agent, lower-cased: ``wartabot`` for ``WartaBot/0.1 (+...)``;
    ``*`` for ``*``; ``""`` when the value has none."""
    value = user_agent.strip()
    if value == "*" or (value.startswith("*") and value[1:2].isspace()):
        return "*"
    found = _PRODUCT_TOKEN.match(value)
    return found.group(0).lower() if found else ""


def _normalise(text: str, *, pattern: bool) -> str:
    """RFC 9309 2.2.2 normal form of a URL path or of a rule's path pattern (``pattern=True``
    keeps ``*`` and a final ``$`` as pattern syntax)."""
    anchored = pattern and text.endswith("$")
    if anchored:
        text = text[:-1]
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            decoded = chr(int(text[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + text[i + 1 : i + 3].upper())
            i += 3
            continue
        if char == "%":
            out.append("%25")
        elif char in _UNRESERVED or char in _KEPT_IN_URL or (pattern and char == "*"):
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        i += 1
    return "".join(out) + ("$" if anchored else "")


def _path_of(url: str) -> str:
    """The part of a URL that rules match against: path, parameters and query (RFC 9309 2.2.2),
    normalised. Accepts an absolute URL or a path."""
    url = url.partition("#")[0]
    scheme_end = url.find("://")
    if scheme_end > 0 and not any(c in url[:scheme_end] for c in "/?"):
        rest = url[scheme_end + 3 :]
        cuts = [i for i in (rest.find("/"), rest.find("?")) if i != -1]
        url = rest[min(cuts) :] if cuts else ""
    if not url.startswith("/"):
        url = "/" + url
    return _normalise(url, pattern=False)


@dataclass(frozen=True)
class Rule:
    allow: bool
    pattern: str  # normalised; may contain "*" and end with "$"

    @property
    def specificity(self) -> int:
        return len(self.pattern)

    def matches(self, path: str) -> bool:
        """Whether the pattern matches the normalised ``path``. Never backtracks, whatever the
        number of ``*``: matching each literal part at its leftmost place is enough for globs."""
        pattern = self.pattern
        anchored = pattern.endswith("$")
        if anchored:
            pattern = pattern[:-1]
        if "*" not in pattern:
            return path == pattern if anchored else path.startswith(pattern)
        parts = pattern.split("*")
        if not path.startswith(parts[0]):
            return False
        pos = len(parts[0])
        for part in parts[1:-1]:
            found = path.find(part, pos)
            if found == -1:
                return False
            pos = found + len(part)
        last = parts[-1]
        if anchored:
            return len(path) - len(last) >= pos and path.endswith(last)
        return path.find(last, pos) != -1


@dataclass
class _Group:
    agents: set[str] = field(default_factory=set)
    rules: list[Rule] = field(default_factory=list)


def _records(text: str) -> Iterable[tuple[str, str]]:
    """(lower-case key, value) per record line; comments and blank lines dropped."""
    for raw in _EOL.split(text):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon:
            words = line.split()
            if len(words) != 2:
                continue
            key, value = words
        yield " ".join(key.split()).lower(), value.strip()


def _limit(text: str) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_ROBOTS_BYTES:
        return text
    kept = data[:MAX_ROBOTS_BYTES].decode("utf-8", errors="ignore")
    # The last line may be a rule cut short ("Disallow: /private" read as "Disallow: /p"): drop it.
    return kept[: max(kept.rfind("\n"), kept.rfind("\r"), 0)]


class RobotsRules:
    """A parsed robots.txt. Immutable after construction; safe to share between threads."""

    def __init__(
        self,
        groups: list[_Group],
        sitemaps: list[str],
        delays: dict[str, float] | None = None,
        *,
        disallow_all: bool = False,
    ) -> None:
        self._groups = groups
        self._delays = delays or {}
        self.sitemaps = sitemaps
        self.disallow_all = disallow_all
        self._selected: dict[str, tuple[list[Rule], float | None]] = {}
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, text: str) -> RobotsRules:
        """Parse robots.txt text (never raises; lines that are not records are ignored)."""
        text = _limit(text.removeprefix("\ufeff"))
        groups: list[_Group] = []
        sitemaps: list[str] = []
        delays: dict[str, float] = {}
        current: _Group | None = None
        collecting_agents = False  # until the group's first rule, User-agent lines join the group
        # The agents named by the latest run of User-agent lines: a Crawl-delay is theirs.
        delay_agents: set[str] = set()
        after_agent = False
        for key, value in _records(text):
            if key in _USER_AGENT_KEYS:
                if current is None or not collecting_agents:
                    current = _Group()
                    groups.append(current)
                    collecting_agents = True
                if not after_agent:
                    delay_agents = set()
                after_agent = True
                token = product_token(value)
                if token:
                    current.agents.add(token)
                    delay_agents.add(token)
                continue
            after_agent = False
            if key in _ALLOW_KEYS or key in _DISALLOW_KEYS:
                if current is None:
                    continue  # a rule outside any group applies to no one
                collecting_agents = False
                if value:  # "Disallow:" with no path matches nothing
                    current.rules.append(Rule(key in _ALLOW_KEYS, _normalise(value, pattern=True)))
            elif key in _CRAWL_DELAY_KEYS:
                try:
                    delay = float(value)
                except ValueError:
                    continue
                if math.isfinite(delay) and delay >= 0:
                    for agent in delay_agents:
                        delays[agent] = max(delay, delays.get(agent, 0.0))
            elif key in _SITEMAP_KEYS and value:
                sitemaps.append(value)
        return cls(groups, sitemaps, delays)

    @classmethod
    def allow_everything(cls) -> RobotsRules:
        return cls([], [])

    @classmethod
    def disallow_everything(cls) -> RobotsRules:
        return cls([], [], disallow_all=True)

    def _for_agent(self, user_agent: str) -> tuple[list[Rule], float | None]:
        token = product_token(user_agent)
        with self._lock:
            cached = self._selected.get(token)
        if cached is not None:
            return cached
        chosen = [g for g in self._groups if token and token != "*" and token in g.agents]
        delay_agent = token
        if not chosen:
            chosen = [g for g in self._groups if "*" in g.agents]
            delay_agent = "*"
        rules = sorted(
            (rule for group in chosen for rule in group.rules),
            key=lambda rule: (rule.specificity, rule.allow),
            reverse=True,
        )
        selected = (rules, self._delays.get(delay_agent))
        with self._lock:
            self._selected[token] = selected
        return selected

    def allowed(self, url: str, user_agent: str) -> bool:
        """Whether ``user_agent`` (a full User-Agent or its product token) may fetch ``url``
        (absolute, or a path)."""
        if self.disallow_all:
            return False
        path = _path_of(url)
        if path == "/robots.txt":
            return True
        rules, _ = self._for_agent(user_agent)
        # Sorted by length, then Allow first: the first match is the most specific one.
        for rule in rules:
            if rule.matches(path):
                return rule.allow
        return True

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.disallow_all:
            return None
        return self._for_agent(user_agent)[1]


def rules_for_response(status: int | None, text: str = "") -> RobotsRules:
    """What a robots.txt response means (RFC 9309 2.3.1): ``status`` None is an unreachable host."""
    if status is not None and 200 <= status < 300:
        return RobotsRules.parse(text)
    if status is not None and 400 <= status < 500 and status != 429:
        return RobotsRules.allow_everything()
    return RobotsRules.disallow_everything()


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


@dataclass
class _Entry:
    rules: RobotsRules
    expires_at: float
    # Why everything is disallowed when robots.txt could not be read (e.g. "timeout"), else None.
    error: str | None = None


class RobotsCache:
    """Thread-safe robots.txt cache. ``allowed`` may block while robots.txt is fetched (once per
    host per TTL; concurrent callers for the same host wait for the one fetch)."""

    def __init__(self, fetch: RobotsFetch, user_agent: str, ttl_s: float = 3600.0) -> None:
        self._fetch = fetch
        self._agent = product_token(user_agent)
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
                rules = rules_for_response(None)
            else:
                rules = rules_for_response(status, text)
                if rules.disallow_all:
                    error = "robots_unreachable"
            if error is not None:
                ttl = min(ERROR_TTL_S, self._ttl)
            entry = _Entry(rules, now + ttl, error)
            self._entries[key] = entry
            return entry

    def check(self, url: str) -> str | None:
        """None when robots.txt lets our user agent fetch ``url``; otherwise the reason:
        ``robots`` (disallowed) or why robots.txt could not be read (``timeout``,
        ``connect_error``, ``robots_unreachable``...), in which case RFC 9309 says to stay away."""
        entry = self._entry(url)
        if entry.rules.allowed(url, self._agent):
            return None
        return entry.error or "robots"

    def allowed(self, url: str) -> bool:
        """True when robots.txt of the URL's host lets our user agent fetch it."""
        return self.check(url) is None

    def crawl_delay(self, url: str) -> float | None:
        return self._entry(url).rules.crawl_delay(self._agent)


def _decide_line(line: str) -> dict[str, object]:
    try:
        case = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from exc
    if not isinstance(case, dict):
        raise ValueError("expected a JSON object")
    for name in ("agent", "url"):
        if not isinstance(case.get(name), str) or not case[name]:
            raise ValueError(f"{name}: a non-empty string is required")
    robots = case.get("robots", "")
    if not isinstance(robots, str):
        raise ValueError("robots: a string (the robots.txt text) is required")
    status = case.get("status", 200)
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599):
        raise ValueError("status: an HTTP status (100-599) or null for an unreachable robots.txt")
    if "robots" not in case and status is not None and 200 <= status < 300:
        raise ValueError("robots: required with a 2xx status")
    return {"allowed": _cached_rules(status, robots).allowed(case["url"], case["agent"])}


@functools.lru_cache(maxsize=16)
def _cached_rules(status: int | None, text: str) -> RobotsRules:
    return rules_for_response(status, text)


def replay(lines: Iterable[str], out: TextIO) -> int:
    """``warta ingest robots``: one JSON object per input line, ``{"robots": "<robots.txt>",
    "agent": "...", "url": "...", "status": 200}`` (``status`` optional, default 200; ``null``
    for an unreachable robots.txt); one line out for each, ``{"allowed": true|false}``, or
    ``{"allowed": null, "error": "..."}`` for a line that cannot be read. Blank lines are
    skipped. Never stops at a bad line; returns 1 if there was one, else 0."""
    failed = False
    for line in lines:
        if not line.strip():
            continue
        try:
            answer = _decide_line(line)
        except ValueError as exc:
            failed = True
            answer = {"allowed": None, "error": str(exc)}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 1 if failed else 0
