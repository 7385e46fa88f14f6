"""API keys: hashed at rest, a role each, rate limits. Shared by both HTTP APIs.

- Keys look like ``wk_<40 url-safe chars>``; only their SHA-256 is stored (Elasticsearch index
  ``<prefix>warta-api-keys``, document id = the hash), so a leaked index does not leak keys.
- Roles, ranked ``reader`` < ``analyst`` < ``admin``: a reader searches, analyses, exports and
  reads its team's monitors and reports; an analyst also creates and manages its team's monitors,
  reports, digests and pickups; an admin manages everything (sources, keys, every team). Send
  ``Authorization: Bearer <key>``; missing or unknown key -> 401, wrong role -> 403.
- Teams: every key belongs to one team (``"default"`` for keys stored without one, so keys made
  before teams existed keep working). A team-owned resource stores the creating key's team; a
  non-admin key sees only its team's (:func:`team_scope`, :func:`can_see`), and another team's
  resource answers 404, like a missing one.
- ``WARTA_ADMIN_KEY`` (if set) is ensured as an admin key at start-up: this is how ``make up`` and
  docker compose bootstrap the first key.
- Verified keys are cached per process in a bounded LRU (valid keys for ``cache_s``, unknown and
  disabled ones for ``negative_cache_s``). Creating or disabling a key bumps a version counter in
  Redis; every API process polls it twice a second and drops its cache when it moves, so a key
  disabled on one API stops working on every API within about a second (within ``cache_s`` if
  Redis is down).
- Failed authentication (a key that is unknown or disabled) is counted per client address in
  Redis; past ``failures_per_minute`` the address gets 429 for the rest of the minute for any key
  this process has not already verified, without an Elasticsearch lookup.
- Rate limit: a fixed one-minute window per key **and API** in Redis (shared by the replicas of
  that API), so heavy ingest does not lock a key out of search. If Redis is unreachable the limiters
  fail open to their local counts: availability of search beats strict limiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import redis
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError
from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Scope

from shared.indices import SMALL_INDEX
from shared.redis_clients import async_redis_client, redis_client

log = logging.getLogger(__name__)

Role = Literal["reader", "analyst", "admin"]
ROLE_RANK = {"reader": 1, "analyst": 2, "admin": 3}
DEFAULT_TEAM = "default"
# A team name: lower-case letters, digits, '-' and '_', starting with a letter or digit.
TEAM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
KEY_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "name": {"type": "keyword"},
        "role": {"type": "keyword"},
        "created_at": {"type": "date"},
        "disabled": {"type": "boolean"},
        "prefix": {"type": "keyword"},
        "team": {"type": "keyword"},
    },
}
# Longer than any key Warta issues; a longer token is refused without hashing or a lookup.
MAX_TOKEN_CHARS = 256


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return "wk_" + secrets.token_urlsafe(30)


@dataclass(frozen=True)
class ApiKey:
    id: str  # the hash
    name: str
    role: Role
    disabled: bool = False
    team: str = DEFAULT_TEAM


def team_scope(key: ApiKey) -> str | None:
    """The team whose resources ``key`` may see, or None (no filter) for an admin key."""
    return None if key.role == "admin" else key.team


def can_see(key: ApiKey, team: str | None) -> bool:
    """Whether ``key`` may see a resource owned by ``team`` (a resource stored without a team
    belongs to the default team)."""
    return key.role == "admin" or (team or DEFAULT_TEAM) == key.team


class _TtlLru:
    """A bounded map with a time-to-live per entry; the least recently used entry goes first.
    Not thread-safe on its own (:class:`KeyStore` holds a lock around it)."""

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()

    def get(self, h: str) -> tuple[bool, ApiKey | None]:
        hit = self._entries.get(h)
        if hit is None:
            return False, None
        if time.monotonic() - hit[0] >= self.ttl_s:
            del self._entries[h]
            return False, None
        self._entries.move_to_end(h)
        return True, hit[1]

    def put(self, h: str, value: ApiKey | None, at: float) -> None:
        self._entries[h] = (at, value)
        self._entries.move_to_end(h)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def pop(self, h: str) -> None:
        self._entries.pop(h, None)

    def clear(self) -> None:
        self._entries.clear()

    def items(self) -> list[tuple[str, ApiKey | None]]:
        return [(h, v) for h, (_, v) in self._entries.items()]

    def __len__(self) -> int:
        return len(self._entries)


class KeyRevocations:
    """A version counter in Redis that moves whenever a key is created or disabled.

    :meth:`publish` bumps it (blocking, at most one Redis round trip); :meth:`watch` polls it and
    calls ``on_change`` when it moves. Polling (rather than pub/sub) cannot miss a message while
    disconnected: the first read after Redis is back sees the new version."""

    def __init__(self, redis_url: str, prefix: str, poll_interval_s: float = 0.5) -> None:
        self.key = f"{prefix}keys:version"
        self.poll_interval_s = poll_interval_s
        self._sync = redis_client(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._async = async_redis_client(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def publish(self) -> None:
        """Tell every API process to drop its key cache. Never raises."""
        try:
            self._sync.incr(self.key)
        except redis.RedisError as exc:
            log.warning("key change not broadcast; other processes see it when their cache expires",
                        extra={"error": repr(exc)})  # fmt: skip

    async def watch(self, on_change: Callable[[], None]) -> None:
        """Poll until cancelled; call ``on_change`` whenever the version moves."""
        last: bytes | str | None = None
        seen = False
        while True:
            try:
                version = await self._async.get(self.key)
            except redis.RedisError:
                pass  # keep ``last``: the first read after the outage compares against it
            else:
                if seen and version != last:
                    on_change()
                last, seen = version, True
            await asyncio.sleep(self.poll_interval_s)

    async def close(self) -> None:
        await self._async.aclose()
        self._sync.close()


class KeyStore:
    """Thread-safe. Verified keys are cached in this process: valid ones for ``cache_s``, unknown
    or disabled ones for ``negative_cache_s``, at most ``max_cached`` of each (least recently used
    evicted first). With ``revocations``, creating or disabling a key also drops every other
    process's cache (see :class:`KeyRevocations`)."""

    def __init__(
        self,
        es: Elasticsearch,
        index_prefix: str,
        cache_s: float = 30.0,
        negative_cache_s: float = 5.0,
        max_cached: int = 10_000,
        revocations: KeyRevocations | None = None,
    ) -> None:
        self.es = es
        self.index = f"{index_prefix}warta-api-keys"
        self.cache_s = cache_s
        self.revocations = revocations
        self._valid = _TtlLru(max_cached, cache_s)
        self._invalid = _TtlLru(max_cached, negative_cache_s)
        # Keys that were valid when the cache was last dropped: they may be looked up again even
        # from an address that is over its failure limit (they are not guesses).
        self._recheck = _TtlLru(max_cached, cache_s)
        self._lock = threading.Lock()

    def ensure_index(self) -> None:
        if not self.es.indices.exists(index=self.index):
            self.es.options(ignore_status=400).indices.create(
                index=self.index, mappings=KEY_MAPPING, settings=SMALL_INDEX
            )
        else:
            # An index made before a field existed (e.g. ``team``) gets it; adding fields is safe.
            self.es.indices.put_mapping(index=self.index, properties=KEY_MAPPING["properties"])

    def create(self, name: str, role: Role, key: str | None = None, team: str = DEFAULT_TEAM) -> tuple[str, ApiKey]:
        """Store a key (a new random one unless given) for ``team``. Returns the plaintext, shown once."""
        key = key or new_key()
        h = hash_key(key)
        self.es.index(index=self.index, id=h, refresh="wait_for", document={
            "name": name, "role": role, "created_at": datetime.now(UTC).isoformat(), "disabled": False, "prefix": key[:7],
            "team": team,
        })  # fmt: skip
        self._forget(h)
        return key, ApiKey(h, name, role, team=team)

    def list(self) -> list[dict[str, Any]]:
        resp = self.es.search(index=self.index, size=1000, sort=[{"created_at": "asc"}])
        return [{"id": h["_id"], "team": DEFAULT_TEAM, **h["_source"]} for h in resp["hits"]["hits"]]

    def disable(self, key_id: str) -> bool:
        try:
            self.es.update(index=self.index, id=key_id, doc={"disabled": True}, refresh="wait_for")
        except NotFoundError:
            return False
        self._forget(key_id)
        return True

    def _forget(self, h: str) -> None:
        with self._lock:
            self._valid.pop(h)
            self._invalid.pop(h)
            self._recheck.pop(h)
        if self.revocations is not None:
            self.revocations.publish()

    def invalidate(self) -> None:
        """Drop every cached verdict (another process created or disabled a key)."""
        now = time.monotonic()
        with self._lock:
            for h, key in self._valid.items():
                self._recheck.put(h, key, now)
            self._valid.clear()
            self._invalid.clear()

    def recently_valid(self, key: str) -> bool:
        """True if ``key`` was valid when the cache was last dropped (it still needs verifying)."""
        with self._lock:
            return self._recheck.get(hash_key(key))[0]

    def cache_sizes(self) -> tuple[int, int]:
        with self._lock:
            return len(self._valid), len(self._invalid)

    def cached(self, key: str) -> tuple[bool, ApiKey | None]:
        """(known, key) from the in-process cache only; never blocks. A known unknown or disabled
        key is ``(True, None)``."""
        h = hash_key(key)
        with self._lock:
            known, found = self._valid.get(h)
            if known:
                return True, found
            known, _ = self._invalid.get(h)
        return known, None

    def verify(self, key: str) -> ApiKey | None:
        """The key if it exists and is enabled, else None. May block on Elasticsearch; raises its
        transport errors (not :class:`NotFoundError`)."""
        known, cached = self.cached(key)
        if known:
            return cached
        h = hash_key(key)
        now = time.monotonic()
        try:
            src = self.es.get(index=self.index, id=h)["_source"]
            found: ApiKey | None = ApiKey(
                h, src["name"], src["role"], bool(src.get("disabled")), src.get("team") or DEFAULT_TEAM
            )
        except NotFoundError:
            found = None
        with self._lock:
            if found is not None and not found.disabled:
                self._valid.put(h, found, now)
                return found
            self._invalid.put(h, None, now)
        return None

    def bootstrap_admin(self, key: str | None) -> None:
        """Store ``key`` as an admin key unless it exists. A bootstrap key an admin disabled stays
        disabled across restarts."""
        if not key:
            return
        try:
            self.es.get(index=self.index, id=hash_key(key), source=False)
        except NotFoundError:
            self.create("bootstrap admin", "admin", key=key)


@dataclass
class _Window:
    minute: int
    known: int = 0  # the global count Redis last reported for this key and minute
    pending: int = 0  # requests counted here and not yet sent to Redis
    sending: int = 0  # sent, total not yet read back
    syncing: bool = False


class RateLimiter:
    """Fixed one-minute window per key and API (``api``), shared by all replicas of that API
    through Redis.

    The decision never waits for Redis: it uses the last global count Redis reported plus the
    requests this process has seen since, and a background task adds those to Redis (INCRBY) and
    reads the new total, at most once per ``sync_interval_s``. A burst can overshoot by what other
    replicas served during one interval plus one round trip. A quarter second keeps that overshoot
    small against a one-minute window; a shorter interval cost a busy API about 4% of its CPU.
    """

    def __init__(
        self, redis_url: str, prefix: str, per_minute: int, sync_interval_s: float = 0.25, api: str = "api"
    ) -> None:
        self.client = async_redis_client(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.sync_interval_s = sync_interval_s
        self.prefix = prefix
        self.api = api
        self.per_minute = per_minute
        self._windows: dict[str, _Window] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def allow(self, key_id: str) -> tuple[bool, int]:
        """Returns (allowed, seconds until the window resets). Never blocks on Redis."""
        now = time.time()
        minute = int(now // 60)
        w = self._windows.get(key_id)
        if w is None or w.minute != minute:
            w = self._windows[key_id] = _Window(minute)
        w.pending += 1
        if not w.syncing:
            w.syncing = True
            task = asyncio.create_task(self._sync(key_id, w))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return w.known + w.sending + w.pending <= self.per_minute, 60 - int(now % 60)

    def redis_key(self, key_id: str, minute: int) -> str:
        return f"{self.prefix}ratelimit:{self.api}:{key_id[:16]}:{minute}"

    async def _sync(self, key_id: str, w: _Window) -> None:
        k = self.redis_key(key_id, w.minute)
        try:
            while w.pending:
                # One round trip per interval carries every request of that interval, so a busy
                # API does not pay a Redis call per request.
                await asyncio.sleep(self.sync_interval_s)
                w.sending, w.pending = w.pending, 0
                async with self.client.pipeline(transaction=False) as pipe:
                    pipe.incrby(k, w.sending)
                    pipe.expire(k, 70)
                    total = int((await pipe.execute())[0])
                w.known, w.sending = total, 0
        except redis.RedisError:
            # Fail open on the shared count; the local count still limits this replica.
            w.known, w.sending = w.known + w.sending, 0
        finally:
            w.syncing = False

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.client.aclose()


class AuthFailureLimiter:
    """Failed authentications per client address and minute, shared by every API process through
    Redis (``<prefix>authfail:<address>:<minute>``), mirrored in a bounded local map so an outage
    of Redis still limits this process."""

    def __init__(self, redis_url: str, prefix: str, per_minute: int, max_addresses: int = 10_000) -> None:
        self.client = async_redis_client(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix
        self.per_minute = per_minute
        self.max_addresses = max_addresses
        self._local: OrderedDict[str, tuple[int, int]] = OrderedDict()  # address -> (minute, count)

    def _key(self, address: str, minute: int) -> str:
        return f"{self.prefix}authfail:{address}:{minute}"

    def _remember(self, address: str, minute: int, count: int) -> None:
        self._local[address] = (minute, count)
        self._local.move_to_end(address)
        while len(self._local) > self.max_addresses:
            self._local.popitem(last=False)

    def _local_count(self, address: str, minute: int) -> int:
        hit = self._local.get(address)
        return hit[1] if hit is not None and hit[0] == minute else 0

    async def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None if it is under the limit. At most one
        Redis round trip (0.5 s timeout)."""
        now = time.time()
        minute = int(now // 60)
        count = self._local_count(address, minute)
        if count < self.per_minute:
            try:
                count = max(count, int(await self.client.get(self._key(address, minute)) or 0))
            except redis.RedisError:
                pass
        return 60 - int(now % 60) if count >= self.per_minute else None

    async def record(self, address: str) -> None:
        """Count one failure for ``address``."""
        minute = int(time.time() // 60)
        count = self._local_count(address, minute) + 1
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.incr(self._key(address, minute))
                pipe.expire(self._key(address, minute), 70)
                count = max(count, int((await pipe.execute())[0]))
        except redis.RedisError:
            pass
        self._remember(address, minute, count)

    async def close(self) -> None:
        await self.client.aclose()


class AuthError(Exception):
    """Authentication refused: ``status`` (401, 429 or 503), a message and response headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class AuthSettings(Protocol):
    @property
    def es_url(self) -> str: ...
    @property
    def redis_url(self) -> str: ...
    @property
    def redis_prefix(self) -> str: ...
    @property
    def index_prefix(self) -> str: ...
    @property
    def rate_limit_per_minute(self) -> int: ...
    @property
    def auth_failures_per_minute(self) -> int: ...


BEARER = {"WWW-Authenticate": "Bearer"}


class Authenticator:
    """Everything one API process needs to authenticate a request: the key store (with its
    revocation watcher), the per-key rate limiter and the failed-authentication limiter.

    Create it in the app's lifespan, :meth:`attach` it to the app, ``await start()`` and, at
    shutdown, ``await close()``. ``api`` names the API for the per-key rate limit."""

    def __init__(self, es: Elasticsearch, settings: AuthSettings, api: str) -> None:
        self.revocations = KeyRevocations(settings.redis_url, settings.redis_prefix)
        self.keys = KeyStore(es, settings.index_prefix, revocations=self.revocations)
        self.limiter = RateLimiter(settings.redis_url, settings.redis_prefix, settings.rate_limit_per_minute, api=api)
        self.failures = AuthFailureLimiter(settings.redis_url, settings.redis_prefix, settings.auth_failures_per_minute)
        self._watch: asyncio.Task[None] | None = None

    def attach(self, app: Any) -> None:
        app.state.auth = self
        app.state.keys = self.keys
        app.state.limiter = self.limiter

    async def start(self) -> None:
        self._watch = asyncio.create_task(self.revocations.watch(self.keys.invalidate))

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await self.limiter.close()
        await self.failures.close()
        await self.revocations.close()

    async def authenticate(self, header: str, client: str) -> ApiKey:
        """The enabled key named by an ``Authorization`` header, or :class:`AuthError`. May block
        on Redis (0.5 s timeout) and Elasticsearch; a key this process verified recently costs
        neither."""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError(401, "missing API key: send 'Authorization: Bearer <key>'", BEARER)
        if len(token) <= MAX_TOKEN_CHARS:
            known, key = self.keys.cached(token)
            if key is not None:
                return key
        else:
            known, key = True, None
        retry_after = await self.failures.retry_after(client)
        if retry_after is not None and (known or not self.keys.recently_valid(token)):
            raise AuthError(429, "too many failed authentication attempts from this address",
                            {"Retry-After": str(retry_after)})  # fmt: skip
        if not known:
            try:
                key = await run_in_threadpool(self.keys.verify, token)
            except (TransportError, ApiError) as exc:
                log.warning("key store unavailable", extra={"error": repr(exc)})
                raise AuthError(503, "a backend is unavailable, try again shortly") from exc
        if key is None:
            await self.failures.record(client)
            raise AuthError(401, "invalid or disabled API key", BEARER)
        return key


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def authenticate_scope(scope: Scope) -> ASGIApp | None:
    """The perimeter's gate (see :class:`shared.http.BodyLimit`): authenticate a request before
    its body is read. Returns an error response to send, or None and leaves the key in the
    request's state for :func:`require`. Expects ``app.state.auth`` (:class:`Authenticator`)."""
    auth: Authenticator = scope["app"].state.auth
    header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
    try:
        key = await auth.authenticate(header, _client(scope))
    except AuthError as exc:
        return JSONResponse(status_code=exc.status, content={"error": exc.message}, headers=exc.headers)
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    state["api_key"] = key
    return None


# The role each dependency made by :func:`require` checks: the OpenAPI document reads it
# (shared/apidocs.py) to mark operations as needing a bearer key and to say which role.
_REQUIRED_ROLES: weakref.WeakKeyDictionary[Callable[..., Any], Role] = weakref.WeakKeyDictionary()


def required_role(call: Callable[..., Any] | None) -> Role | None:
    """The role checked by ``call`` if it is a dependency made by :func:`require`, else None."""
    return None if call is None else _REQUIRED_ROLES.get(call)


def require(role: Role) -> Callable[[Request], Awaitable[ApiKey]]:
    """FastAPI dependency: authenticate the bearer key (unless the perimeter already did) and check
    its role and rate limit. Expects ``app.state.auth`` (:class:`Authenticator`)."""

    async def dependency(request: Request) -> ApiKey:
        auth: Authenticator = request.app.state.auth
        key: ApiKey | None = getattr(request.state, "api_key", None)
        if key is None:
            try:
                key = await auth.authenticate(request.headers.get("authorization", ""), _client(request.scope))
            except AuthError as exc:
                raise HTTPException(status_code=exc.status, detail=exc.message, headers=exc.headers) from exc
        if ROLE_RANK[key.role] < ROLE_RANK[role]:
            raise HTTPException(status_code=403, detail=f"this endpoint needs the {role} role; your key is {key.role}")
        allowed, retry_after = await auth.limiter.allow(key.id)
        if not allowed:
            raise HTTPException(status_code=429, detail="rate limit exceeded for this API key",
                                headers={"Retry-After": str(retry_after)})  # fmt: skip
        return key

    _REQUIRED_ROLES[dependency] = role
    return dependency
