"""API keys: hashed at rest, a role each, a rate limit per key. Shared by both HTTP APIs.

- Keys look like ``wk_<40 url-safe chars>``; only their SHA-256 is stored (Elasticsearch index
  ``<prefix>warta-api-keys``, document id = the hash), so a leaked index does not leak keys.
- Roles: ``reader`` (search, analytics, export) and ``admin`` (everything, including sources,
  saved searches and keys). Send ``Authorization: Bearer <key>``; missing or unknown key -> 401,
  wrong role -> 403.
- ``WARTA_ADMIN_KEY`` (if set) is ensured as an admin key at start-up: this is how ``make up`` and
  docker compose bootstrap the first key.
- Rate limit: a fixed one-minute window per key in Redis (shared by all API replicas). If Redis is
  unreachable the limiter fails open: availability of search beats strict limiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import redis
import redis.asyncio as aioredis
from elasticsearch import Elasticsearch, NotFoundError
from fastapi import HTTPException, Request

log = logging.getLogger(__name__)

Role = Literal["reader", "admin"]
ROLE_RANK = {"reader": 1, "admin": 2}
KEY_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "name": {"type": "keyword"},
        "role": {"type": "keyword"},
        "created_at": {"type": "date"},
        "disabled": {"type": "boolean"},
        "prefix": {"type": "keyword"},
    },
}


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


class KeyStore:
    """Thread-safe. Verified keys are cached for ``cache_s`` seconds (a disabled key stops working
    within that time)."""

    def __init__(self, es: Elasticsearch, index_prefix: str, cache_s: float = 30.0) -> None:
        self.es = es
        self.index = f"{index_prefix}warta-api-keys"
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def ensure_index(self) -> None:
        if not self.es.indices.exists(index=self.index):
            self.es.options(ignore_status=400).indices.create(
                index=self.index, mappings=KEY_MAPPING, settings={"number_of_shards": 1, "number_of_replicas": 0}
            )

    def create(self, name: str, role: Role, key: str | None = None) -> tuple[str, ApiKey]:
        """Store a key (a new random one unless given). Returns the plaintext, shown once."""
        key = key or new_key()
        h = hash_key(key)
        self.es.index(index=self.index, id=h, refresh="wait_for", document={
            "name": name, "role": role, "created_at": datetime.now(UTC).isoformat(), "disabled": False, "prefix": key[:7],
        })  # fmt: skip
        with self._lock:
            self._cache.pop(h, None)
        return key, ApiKey(h, name, role)

    def list(self) -> list[dict[str, Any]]:
        resp = self.es.search(index=self.index, size=1000, sort=[{"created_at": "asc"}])
        return [{"id": h["_id"], **h["_source"]} for h in resp["hits"]["hits"]]

    def disable(self, key_id: str) -> bool:
        try:
            self.es.update(index=self.index, id=key_id, doc={"disabled": True}, refresh="wait_for")
        except NotFoundError:
            return False
        with self._lock:
            self._cache.pop(key_id, None)
        return True

    def cached(self, key: str) -> tuple[bool, ApiKey | None]:
        """(known, key) from the in-process cache only; never blocks."""
        with self._lock:
            hit = self._cache.get(hash_key(key))
        if hit and time.monotonic() - hit[0] < self.cache_s:
            return True, hit[1]
        return False, None

    def verify(self, key: str) -> ApiKey | None:
        h = hash_key(key)
        known, cached = self.cached(key)
        if known:
            return cached
        now = time.monotonic()
        try:
            src = self.es.get(index=self.index, id=h)["_source"]
            found: ApiKey | None = ApiKey(h, src["name"], src["role"], bool(src.get("disabled")))
        except NotFoundError:
            found = None
        with self._lock:
            self._cache[h] = (now, found)
        return found

    def bootstrap_admin(self, key: str | None) -> None:
        if key and self.verify(key) is None:
            self.create("bootstrap admin", "admin", key=key)


@dataclass
class _Window:
    minute: int
    known: int = 0  # the global count Redis last reported for this key and minute
    pending: int = 0  # requests counted here and not yet sent to Redis
    sending: int = 0  # sent, total not yet read back
    syncing: bool = False


class RateLimiter:
    """Fixed one-minute window per key, shared by all API replicas through Redis.

    The decision never waits for Redis: it uses the last global count Redis reported plus the
    requests this process has seen since, and a background task adds those to Redis (INCRBY) and
    reads the new total, at most once per ``sync_interval_s``. A burst can overshoot by what other
    replicas served during one interval plus one round trip. A quarter second keeps that overshoot
    small against a one-minute window; a shorter interval cost a busy API about 4% of its CPU.
    """

    def __init__(self, redis_url: str, prefix: str, per_minute: int, sync_interval_s: float = 0.25) -> None:
        self.client = aioredis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.sync_interval_s = sync_interval_s
        self.prefix = prefix
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

    async def _sync(self, key_id: str, w: _Window) -> None:
        k = f"{self.prefix}ratelimit:{key_id[:16]}:{w.minute}"
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


def require(role: Role) -> Callable[[Request], Awaitable[ApiKey]]:
    """FastAPI dependency: authenticate the bearer key and check its role and rate limit.
    Expects ``app.state.keys`` (KeyStore) and ``app.state.limiter`` (RateLimiter or None)."""

    async def dependency(request: Request) -> ApiKey:
        from fastapi.concurrency import run_in_threadpool

        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(status_code=401, detail="missing API key: send 'Authorization: Bearer <key>'",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        store: KeyStore = request.app.state.keys
        known, key = store.cached(token.strip())
        if not known:
            key = await run_in_threadpool(store.verify, token.strip())
        if key is None or key.disabled:
            raise HTTPException(
                status_code=401, detail="invalid or disabled API key", headers={"WWW-Authenticate": "Bearer"}
            )
        if ROLE_RANK[key.role] < ROLE_RANK[role]:
            raise HTTPException(status_code=403, detail=f"this endpoint needs the {role} role; your key is {key.role}")
        limiter: RateLimiter | None = request.app.state.limiter
        if limiter is not None:
            allowed, retry_after = await limiter.allow(key.id)
            if not allowed:
                raise HTTPException(status_code=429, detail="rate limit exceeded for this API key",
                                    headers={"Retry-After": str(retry_after)})  # fmt: skip
        return key

    return dependency
