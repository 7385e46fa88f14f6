"""Polite, guarded HTTP fetching (httpx, synchronous, thread-safe).

Per request: SSRF check after DNS resolution with the connection pinned to the checked address,
robots.txt, per-host concurrency slot and minimum delay (or the robots Crawl-delay, capped),
connect/read timeouts, a maximum body size (counted after decompression), a content-type check,
conditional GET, and redirects followed by hand with a hop limit, each hop checked again.
429 and 503 back off (honouring ``Retry-After`` up to ``crawl_max_retry_wait_s``; longer waits
fail the fetch with ``retry_after`` set so the scheduler can honour it).
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import redis

from services.ingest.crawler.charset import Decoded, decode_body
from services.ingest.crawler.leases import HostLeases, HostSpacing
from services.ingest.crawler.robots import RobotsCache
from services.ingest.crawler.state import Validators, ValidatorStore
from services.ingest.settings import IngestSettings
from shared.ssrf import BlockedUrl, SsrfGuard, Target

log = logging.getLogger(__name__)

# Content kinds a caller may accept. An absent Content-Type is accepted (and left to the parser).
CONTENT_TYPES: dict[str, frozenset[str]] = {
    "html": frozenset({"text/html", "application/xhtml+xml"}),
    "xml": frozenset(
        {
            "application/xml",
            "text/xml",
            "application/rss+xml",
            "application/atom+xml",
            "application/rdf+xml",
            "application/x-gzip",
            "application/gzip",
            "application/octet-stream",
            "text/plain",
        }
    ),
    "json": frozenset({"application/json"}),
    "text": frozenset({"text/plain"}),
}


class FetchError(Exception):
    """A fetch that produced no usable document. ``reason`` is a low-cardinality label:
    ssrf_blocked, dns, robots, robots_unreachable, host_backoff, timeout, connect_error, http_403, http_404, http_410, http_451, http_429, http_503,
    http_4xx, http_5xx, too_large, content_type, redirect_loop, too_many_redirects, stopped, lease_lost,
    host_busy, redis_error."""

    def __init__(
        self, url: str, reason: str, detail: str = "", *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{reason}: {url}{(' - ' + detail) if detail else ''}")
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


@dataclass
class FetchResult:
    """A fetched document. ``url`` is the final URL after redirects."""

    url: str
    requested_url: str
    status: int
    content_type: str | None
    body: bytes
    validators: Validators
    not_modified: bool = False
    redirects: list[str] = field(default_factory=list)
    headers: httpx.Headers | None = None
    _decoded: Decoded | None = None

    @property
    def decoded(self) -> Decoded:
        if self._decoded is None:
            self._decoded = decode_body(self.body, self.content_type)
        return self._decoded

    @property
    def text(self) -> str:
        return self.decoded.text


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent
    or unparseable. Never negative."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HostGate:
    """Per-host concurrency limit and minimum spacing between request starts. Thread-safe.

    With ``leases`` and ``spacing`` (several crawlers; services/ingest/crawler/leases.py) a request
    starts only while this crawler holds the host's lease, checked right before it starts, and no
    earlier than the last start any crawler recorded for the host plus the delay that applies to
    this request, nor before a back-off any crawler recorded ends."""

    def __init__(
        self,
        concurrency: int,
        min_delay_s: float,
        *,
        leases: HostLeases | None = None,
        spacing: HostSpacing | None = None,
    ) -> None:
        self._concurrency = concurrency
        self._min_delay = min_delay_s
        self._leases = leases
        self._spacing = spacing
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._last_start: dict[str, float] = {}
        self._blocked_until: dict[str, float] = {}

    def block(self, host: str, seconds: float) -> None:
        """Hold every request to ``host`` back for ``seconds`` (a 429/503 told us to)."""
        with self._lock:
            until = time.monotonic() + seconds
            self._blocked_until[host] = max(self._blocked_until.get(host, 0.0), until)
        if self._spacing is not None:
            try:
                self._spacing.block(host, time.time() + seconds)
            except redis.RedisError as exc:
                raise FetchError(host, "redis_error", str(exc)) from exc

    def _check_lease(self, host: str) -> None:
        if self._leases is None:
            return
        try:
            refusal = self._leases.ensure(host)
        except redis.RedisError as exc:
            raise FetchError(host, "redis_error", str(exc)) from exc
        if refusal is not None:
            raise FetchError(host, refusal)

    def _shared(self, host: str) -> tuple[float, float]:
        """(last start, blocked until) any crawler recorded for ``host``, on this process's
        monotonic clock (0.0 when none)."""
        if self._spacing is None:
            return 0.0, 0.0
        try:
            last, blocked = self._spacing.get(host)
        except redis.RedisError as exc:
            raise FetchError(host, "redis_error", str(exc)) from exc
        offset = time.monotonic() - time.time()
        return (last + offset if last else 0.0), (blocked + offset if blocked else 0.0)

    def _record_start(self, host: str, monotonic_at: float) -> None:
        if self._spacing is None:
            return
        try:
            self._spacing.record_start(host, time.time() + (monotonic_at - time.monotonic()))
        except redis.RedisError as exc:
            raise FetchError(host, "redis_error", str(exc)) from exc

    @contextmanager
    def slot(
        self, host: str, delay_s: float | None, stop: threading.Event | None, max_block_s: float
    ) -> Iterator[None]:
        """Hold one of the host's slots, starting no earlier than the minimum delay allows.
        Raises FetchError ``host_backoff`` (with ``retry_after``) instead of waiting longer than
        ``max_block_s`` for a host that told us to back off."""
        self._check_lease(host)
        with self._lock:
            blocked = self._blocked_until.get(host, 0.0) - time.monotonic()
        if blocked > max_block_s:
            raise FetchError(host, "host_backoff", f"{blocked:.0f}s left", retry_after=blocked)
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self._concurrency))
        semaphore.acquire()
        try:
            shared_last, shared_blocked = self._shared(host)
            spacing = max(self._min_delay, delay_s or 0.0)  # this request's (Crawl-delay once robots.txt is read)
            with self._lock:
                last = max(self._last_start.get(host, -spacing), shared_last or -spacing)
                blocked = max(self._blocked_until.get(host, 0.0), shared_blocked)
                start = max(time.monotonic(), last + spacing, blocked)
                self._last_start[host] = start
            self._record_start(host, start)
            wait = start - time.monotonic()
            if wait > 0 and _sleep(wait, stop):
                raise FetchError(host, "stopped")
            self._check_lease(host)  # the wait may have outlasted the lease
            yield
        finally:
            semaphore.release()


def _sleep(seconds: float, stop: threading.Event | None) -> bool:
    """Sleep; True when interrupted by ``stop``."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


def _pinned_url(target: Target) -> str:
    parts = urlsplit(target.url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    return urlunsplit((parts.scheme, f"{address}:{target.port}", parts.path or "/", parts.query, ""))


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    return target.host if target.port == default else f"{target.host}:{target.port}"


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


class Fetcher:
    """Fetch documents politely. Thread-safe; every method may block on the network."""

    def __init__(
        self,
        settings: IngestSettings,
        validators: ValidatorStore | None = None,
        guard: SsrfGuard | None = None,
        stop_event: threading.Event | None = None,
        transport: httpx.BaseTransport | None = None,
        *,
        leases: HostLeases | None = None,
        spacing: HostSpacing | None = None,
    ) -> None:
        self.settings = settings
        self.guard = guard or SsrfGuard(settings.crawl_allow_hosts)
        self.validators = validators
        self.stop_event = stop_event
        self.gate = HostGate(
            settings.crawl_per_host_concurrency, settings.crawl_min_delay_s, leases=leases, spacing=spacing
        )
        self._client = httpx.Client(
            timeout=httpx.Timeout(
                connect=settings.crawl_connect_timeout_s,
                read=settings.crawl_read_timeout_s,
                write=settings.crawl_read_timeout_s,
                pool=settings.crawl_read_timeout_s,
            ),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would bypass the address pinning
            headers={"User-Agent": settings.crawl_user_agent, "Accept-Language": "id,en;q=0.5"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            transport=transport,
        )
        self.robots = RobotsCache(self._fetch_robots, settings.crawl_user_agent, settings.crawl_robots_ttl_s)
        self.requests_made = 0
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fetch_robots(self, url: str) -> tuple[int, str]:
        try:
            result = self.fetch(url, accept=None, conditional=False, check_robots=False)
        except FetchError as exc:
            if exc.status is not None:
                return exc.status, ""
            raise
        return result.status, result.text

    def fetch(
        self,
        url: str,
        *,
        accept: str | None = "html",
        conditional: bool = True,
        check_robots: bool = True,
        remember_validators: bool = False,
    ) -> FetchResult:
        """GET ``url``. Returns a result (``not_modified`` on 304) or raises :class:`FetchError`.

        ``remember_validators`` stores ETag/Last-Modified at once; callers that must first finish
        processing the document call :meth:`remember` themselves, so a failure half-way through
        does not make the next crawl skip the document.
        """
        hops: list[str] = []
        current = url
        attempts = 0
        stored = self.validators.get(url) if (conditional and self.validators) else None
        while True:
            try:
                target = self.guard.check(current)
            except BlockedUrl as exc:
                raise FetchError(current, "ssrf_blocked" if exc.reason != "dns" else "dns", str(exc)) from exc
            if check_robots:
                refusal = self.robots.check(current)
                if refusal is not None:
                    raise FetchError(current, refusal)
            delay = self.robots.crawl_delay(current) if check_robots else None
            if delay is not None:
                delay = min(delay, self.settings.crawl_max_crawl_delay_s)
            headers = {"Host": _host_header(target)}
            if stored and current == url:
                if stored.etag:
                    headers["If-None-Match"] = stored.etag
                if stored.last_modified:
                    headers["If-Modified-Since"] = stored.last_modified
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            host_key = f"{target.host}:{target.port}"
            with self.gate.slot(host_key, delay, self.stop_event, self.settings.crawl_max_retry_wait_s):
                with self._count_lock:
                    self.requests_made += 1
                try:
                    raw = self._request(target, current, headers, extensions, accept)
                except httpx.TimeoutException as exc:
                    raise FetchError(current, "timeout", type(exc).__name__) from exc
                except httpx.TransportError as exc:
                    raise FetchError(current, "connect_error", str(exc) or type(exc).__name__) from exc
            status = raw.status
            if status in (301, 302, 303, 307, 308):
                location = raw.headers.get("location")
                if not location:
                    raise FetchError(current, "http_5xx", "redirect without Location", status=status)
                hops.append(current)
                nxt = urljoin(current, location)
                if nxt in hops or nxt == current:
                    raise FetchError(url, "redirect_loop", " -> ".join([*hops, nxt]), status=status)
                if len(hops) > self.settings.crawl_max_redirects:
                    raise FetchError(url, "too_many_redirects", str(len(hops)), status=status)
                current = nxt
                continue
            if status in (429, 503) or 500 <= status < 600:
                retry_after = parse_retry_after(raw.headers.get("retry-after"))
                wait = retry_after if retry_after is not None else float(2**attempts)
                reason = f"http_{status}" if status in (429, 503) else "http_5xx"
                if status in (429, 503):
                    self.gate.block(host_key, wait)
                if attempts < self.settings.crawl_max_retries and wait <= self.settings.crawl_max_retry_wait_s:
                    attempts += 1
                    log.info("backing off", extra={"url": current, "error": reason})
                    if _sleep(wait, self.stop_event):
                        raise FetchError(current, "stopped")
                    continue
                raise FetchError(current, reason, status=status, retry_after=retry_after)
            if status >= 400:
                reason = f"http_{status}" if status in (403, 404, 410, 451) else "http_4xx"  # 403/451: blocking.py
                raise FetchError(current, reason, status=status)
            result = FetchResult(
                url=current,
                requested_url=url,
                status=status,
                content_type=raw.headers.get("content-type"),
                body=raw.body,
                validators=Validators(raw.headers.get("etag"), raw.headers.get("last-modified")),
                not_modified=status == 304,
                redirects=hops,
                headers=raw.headers,
            )
            if remember_validators:
                self.remember(result)
            return result

    def remember(self, result: FetchResult) -> None:
        """Store the validators of a processed document for the next conditional GET."""
        if self.validators is not None and not result.not_modified:
            self.validators.put(result.requested_url, result.validators)

    def _request(
        self,
        target: Target,
        current: str,
        headers: dict[str, str],
        extensions: dict[str, str],
        accept: str | None,
    ) -> _Raw:
        request = self._client.build_request("GET", _pinned_url(target), headers=headers, extensions=extensions)
        response = self._client.send(request, stream=True)
        try:
            status = response.status_code
            if not 200 <= status < 300:
                return _Raw(status, response.headers, b"")  # redirects, 304 and errors: body unused
            media = _media_type(response.headers.get("content-type"))
            if accept is not None and media is not None and media not in CONTENT_TYPES[accept]:
                raise FetchError(current, "content_type", media, status=status)
            limit = self.settings.crawl_max_body_bytes
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise FetchError(current, "too_large", declared, status=status)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchError(current, "too_large", f">{limit}", status=status)
                chunks.append(chunk)
            return _Raw(status, response.headers, b"".join(chunks))
        finally:
            response.close()


@dataclass(frozen=True)
class _Raw:
    status: int
    headers: httpx.Headers
    body: bytes
