"""Host leases and per-host spacing in Redis, so any number of crawler processes share the sources
while each host is fetched by one crawler at a time.

A host is the HostGate's key, ``host:port`` (the scheme's default port when the URL has none).

- :class:`HostLeases`: a crawler fetches from a host only while it holds the host's lease, a Redis
  key ``<prefix>lease:<host>`` whose value is the crawler id (``hostname:pid:random``), taken with
  ``SET NX PX``, renewed by a heartbeat thread every ``ttl / 3`` with a compare-and-expire script
  and released with compare-and-delete. A crawler that dies stops renewing: its leases expire
  after at most ``ttl`` and the hosts move to the others. A crawler whose renewal failed, or whose
  local deadline (the time the last successful take or renewal was sent, plus ``ttl``) passed,
  treats the lease as lost at once: :meth:`HostLeases.ensure` is checked before every request.
- :class:`HostSpacing`: the start of the last request to a host (epoch ms,
  ``<prefix>host-last:<host>``, robots.txt fetches included) and the end of a 429/503 back-off
  (``<prefix>host-blocked:<host>``), written by whichever crawler made them. A crawler that takes
  a host over starts no earlier than that start plus the minimum delay or the robots Crawl-delay,
  so the spacing holds across a handoff. It relies on the crawlers' clocks agreeing (NTP), as any
  shared wall-clock schedule does.

Every method may block on Redis and raise ``redis.RedisError`` unless it says otherwise.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis

from services.ingest.crawler import metrics

log = logging.getLogger(__name__)

# KEYS[1] lease, KEYS[2] last holder; ARGV[1] crawler id, ARGV[2] ttl ms, ARGV[3] last-holder ttl ms.
# 1: taken (or already ours, extended); 2: taken from a holder that never released it (a takeover);
# 0: another crawler holds it.
_TAKE = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local previous = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
if previous and previous ~= ARGV[1] then return 2 end
return 1
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# A clean release also clears the last-holder mark, so the next taker does not count a takeover.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  return 1
end
return 0
"""
# KEYS[1] next start; ARGV[1] epoch ms, ARGV[2] ttl ms. Only ever moves forward.
_PUSH = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"""

LAST_HOLDER_TTL_MS = 24 * 3600 * 1000


def host_key(url: str) -> str:
    """The lease key of a URL's host: ``host:port``, as the fetcher's HostGate keys it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{host}:{port}"


def new_crawler_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class _Held:
    deadline: float  # monotonic; the lease counts as lost from then on (0.0: lost and counted)
    pins: int = 0  # crawls of this host's sources running in this process
    last_used: float = 0.0


class HostLeases:
    """The host leases of one crawler process. Thread-safe.

    Two ways to hold a lease: :meth:`pin` for the crawl of a source (released by :meth:`unpin`
    when the last crawl of the host in this process ends), and :meth:`ensure` before each request
    (takes a free lease of another host on the way, e.g. a redirect target; the heartbeat releases
    such a lease once it has been idle for a renewal period)."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_s: float = 10.0, crawler_id: str | None = None) -> None:
        self.crawler_id = crawler_id or new_crawler_id()
        self.ttl_s = ttl_s
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._redis = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def lease_key(self, host: str) -> str:
        return f"{self._prefix}lease:{host}"

    def _holder_key(self, host: str) -> str:
        return f"{self._prefix}lease-holder:{host}"

    # --- taking and giving back -------------------------------------------------------------

    def _acquire(self, host: str) -> bool:
        sent = time.monotonic()
        result = int(self._take(keys=[self.lease_key(host), self._holder_key(host)],
                                args=[self.crawler_id, self._ttl_ms, LAST_HOLDER_TTL_MS]))  # fmt: skip
        if result == 0:
            return False
        if result == 2:
            metrics.LEASE_TAKEOVERS.inc()
            log.info("host taken over", extra={"url": host})
        with self._lock:
            held = self._held.setdefault(host, _Held(deadline=0.0))
            held.deadline = sent + self.ttl_s
            held.last_used = time.monotonic()
            metrics.LEASES_HELD.set(len(self._held))
        return True

    def pin(self, host: str) -> bool:
        """Hold ``host`` for a crawl: True when this crawler holds its lease (taken now, or already
        held and still valid), False when another crawler does. Pair every True with :meth:`unpin`."""
        with self._lock:
            held = self._held.get(host)
            if held is not None and time.monotonic() < held.deadline:
                held.pins += 1
                return True
        if not self._acquire(host):
            return False
        with self._lock:
            self._held[host].pins += 1
        return True

    def unpin(self, host: str) -> None:
        """End one crawl's hold on ``host``; the lease is released when no crawl holds it any more.
        Never raises (a release that fails leaves the lease to expire)."""
        with self._lock:
            held = self._held.get(host)
            if held is None:
                return
            held.pins = max(0, held.pins - 1)
            if held.pins:
                return
            del self._held[host]
            metrics.LEASES_HELD.set(len(self._held))
        try:
            self._release(keys=[self.lease_key(host), self._holder_key(host)], args=[self.crawler_id])
        except redis.RedisError as exc:
            log.warning("lease release failed", extra={"url": host, "error": str(exc)})

    def ensure(self, host: str) -> str | None:
        """Call right before a request to ``host``: None when this crawler holds the lease (taking
        it if it is free), else the FetchError reason: ``lease_lost`` (held for a crawl, but the
        renewal failed or the deadline passed) or ``host_busy`` (another crawler holds it)."""
        now = time.monotonic()
        with self._lock:
            held = self._held.get(host)
            if held is not None:
                if now < held.deadline:
                    held.last_used = now
                    return None
                pinned = held.pins > 0
                if pinned:
                    return "lease_lost"
                del self._held[host]
        return None if self._acquire(host) else "host_busy"

    def holds(self, host: str) -> bool:
        """True while this crawler's lease on ``host`` is valid (local check, no Redis)."""
        with self._lock:
            held = self._held.get(host)
            return held is not None and time.monotonic() < held.deadline

    def holder(self, host: str) -> str | None:
        """The crawler id holding ``host`` in Redis, if any."""
        value = self._redis.get(self.lease_key(host))
        return value.decode() if isinstance(value, bytes) else value

    # --- the heartbeat ----------------------------------------------------------------------

    def renew_all(self) -> None:
        """Renew every held lease; forget the ones another crawler took or that expired, and
        release the unpinned ones that have been idle for a renewal period. Never raises."""
        now = time.monotonic()
        with self._lock:
            held = dict(self._held)
        for host, entry in held.items():
            if entry.pins == 0 and now - entry.last_used > self.ttl_s / 3:
                with self._lock:
                    if self._held.get(host) is entry and entry.pins == 0:
                        entry.pins = 1  # unpin() below releases it
                self.unpin(host)
                continue
            if entry.deadline == 0.0:
                continue  # lost already; forgotten when its crawl ends
            sent = time.monotonic()
            try:
                renewed = bool(self._renew(keys=[self.lease_key(host)], args=[self.crawler_id, self._ttl_ms]))
            except redis.RedisError as exc:
                log.warning("lease renewal failed", extra={"url": host, "error": str(exc)})
                # Still valid until its local deadline (checked before every request); lost after.
                with self._lock:
                    if self._held.get(host) is entry and 0.0 < entry.deadline <= time.monotonic():
                        entry.deadline = 0.0
                        metrics.LEASE_LOSSES.inc()
                continue
            with self._lock:
                if self._held.get(host) is not entry:
                    continue
                if renewed:
                    entry.deadline = sent + self.ttl_s
                else:
                    entry.deadline = 0.0  # lost: ensure() refuses from now on
                    metrics.LEASE_LOSSES.inc()
                    log.warning("host lease lost", extra={"url": host})
                    if entry.pins == 0:
                        del self._held[host]
                metrics.LEASES_HELD.set(len(self._held))

    def start(self) -> None:
        """Start the heartbeat thread (renews every ``ttl / 3``). Idempotent."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._heartbeat, name="crawl-leases", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            self.renew_all()

    def close(self) -> None:
        """Stop the heartbeat and release every lease still held. Never raises."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            hosts = list(self._held)
            for entry in self._held.values():
                entry.pins = 1
        for host in hosts:
            self.unpin(host)


class HostSpacing:
    """The last request start and the back-off end per host, shared by all crawlers (epoch
    seconds). Each value only moves forward; the keys expire a minute after they stop mattering."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._push = client.register_script(_PUSH)

    def _keys(self, host: str) -> tuple[str, str]:
        return f"{self._prefix}host-last:{host}", f"{self._prefix}host-blocked:{host}"

    def get(self, host: str) -> tuple[float | None, float | None]:
        """(last request start, blocked until) for ``host``; None where nothing was recorded."""
        values = self._redis.mget(self._keys(host))
        last, blocked = (int(v) / 1000.0 if v is not None else None for v in values)
        return last, blocked

    def record_start(self, host: str, at: float, keep_s: float = 60.0) -> None:
        """A request to ``host`` starts at ``at`` (it may be in the future: a reserved slot)."""
        self._set_max(self._keys(host)[0], at, keep_s)

    def block(self, host: str, until: float) -> None:
        """No request to ``host`` starts before ``until`` (a 429/503 told us to back off)."""
        self._set_max(self._keys(host)[1], until, 60.0)

    def _set_max(self, key: str, at: float, keep_s: float) -> None:
        ms = int(at * 1000 + 0.999)
        ttl_ms = max(1, ms - int(time.time() * 1000)) + int(keep_s * 1000)
        self._push(keys=[key], args=[ms, ttl_ms])
