"""Crawler memory in Redis: which URLs were already collected (with a content hash) and the
conditional-GET validators (ETag / Last-Modified) per URL.

Both are bounded by a key TTL: every entry expires ``ttl`` seconds after it was last written, so
memory grows with the publishing rate times the TTL, never without limit. Seen entries are keyed
by the article id (derived from the canonical URL) and shared by all sources, so an article that
two sources point at is still fetched and published once.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import redis

from shared.ids import article_id
from shared.redis_clients import redis_client


class KeyValue(Protocol):
    def get_many(self, keys: Sequence[str]) -> list[str | None]: ...
    def set_many(self, items: Iterable[tuple[str, str]], ttl_s: int) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...


class RedisKeyValue:
    """:class:`KeyValue` on Redis. Calls block on the network and raise ``redis.RedisError``."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    @classmethod
    def from_url(cls, url: str) -> RedisKeyValue:
        return cls(redis_client(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5))

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        return list(self._redis.mget(list(keys)))  # type: ignore[arg-type]

    def set_many(self, items: Iterable[tuple[str, str]], ttl_s: int) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key, value in items:
            pipe.set(key, value, ex=ttl_s)
        pipe.execute()

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self._redis.scan_iter(match=f"{prefix}*", count=500))
        return int(self._redis.delete(*keys)) if keys else 0

    def close(self) -> None:
        self._redis.close()


class MemoryKeyValue:
    """In-process :class:`KeyValue` for unit tests and dry runs (TTL honoured lazily)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        now = time.monotonic()
        with self._lock:
            out: list[str | None] = []
            for key in keys:
                hit = self._data.get(key)
                out.append(hit[0] if hit and hit[1] > now else None)
            return out

    def set_many(self, items: Iterable[tuple[str, str]], ttl_s: int) -> None:
        expires = time.monotonic() + ttl_s
        with self._lock:
            for key, value in items:
                self._data[key] = (value, expires)

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [k for k in self._data if k.startswith(prefix)]
            for key in doomed:
                del self._data[key]
            return len(doomed)


def content_hash(title: str, text: str) -> str:
    """Hash of what we publish; a re-fetched article is republished only when this changes."""
    normalised = " ".join(title.split()) + "\n" + " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class SeenEntry:
    content_hash: str
    lastmod: datetime | None
    source_id: str | None


class SeenStore:
    """Seen-URL memory keyed by article id. Thread-safe (Redis is)."""

    def __init__(self, kv: KeyValue, prefix: str, ttl_s: int) -> None:
        self._kv = kv
        self._prefix = f"{prefix}seen:"
        self._ttl = ttl_s

    def _key(self, canonical_url: str) -> str:
        return self._prefix + article_id(canonical_url)

    def get_many(self, canonical_urls: Sequence[str]) -> list[SeenEntry | None]:
        raw = self._kv.get_many([self._key(u) for u in canonical_urls])
        out: list[SeenEntry | None] = []
        for value in raw:
            if value is None:
                out.append(None)
                continue
            data = json.loads(value)
            lastmod = datetime.fromisoformat(data["m"]) if data.get("m") else None
            out.append(SeenEntry(data["h"], lastmod, data.get("s")))
        return out

    def get(self, canonical_url: str) -> SeenEntry | None:
        return self.get_many([canonical_url])[0]

    def remember(
        self, canonical_urls: Iterable[str], digest: str, lastmod: datetime | None, source_id: str | None
    ) -> None:
        """Record (or refresh) every alias of one article with its content hash."""
        value = json.dumps({"h": digest, "m": lastmod.isoformat() if lastmod else None, "s": source_id})
        self._kv.set_many(((self._key(u), value) for u in dict.fromkeys(canonical_urls)), self._ttl)


@dataclass(frozen=True)
class Validators:
    etag: str | None
    last_modified: str | None


class ValidatorStore:
    """ETag / Last-Modified per fetched URL, for conditional GET."""

    def __init__(self, kv: KeyValue, prefix: str, ttl_s: int) -> None:
        self._kv = kv
        self._prefix = f"{prefix}http:"
        self._ttl = ttl_s

    def _key(self, url: str) -> str:
        return self._prefix + hashlib.sha1(url.encode("utf-8")).hexdigest()

    def get(self, url: str) -> Validators | None:
        value = self._kv.get_many([self._key(url)])[0]
        if value is None:
            return None
        data = json.loads(value)
        return Validators(data.get("e"), data.get("l"))

    def put(self, url: str, validators: Validators) -> None:
        if not validators.etag and not validators.last_modified:
            return
        self._kv.set_many(
            [(self._key(url), json.dumps({"e": validators.etag, "l": validators.last_modified}))], self._ttl
        )
