"""The one way Warta opens a Redis connection: plain, or through Redis Sentinel.

Every redis-py client (sync and asyncio) and the Celery app go through here. Without sentinels
(``WARTA_REDIS_SENTINELS`` empty) a client is ``Redis.from_url(redis_url)``. With them, the client
asks the sentinels which server is the master of ``WARTA_REDIS_SENTINEL_MASTER`` on every new
connection, so after a failover (Sentinel promoted a replica) the next command reaches the new
master; the database number still comes from ``redis_url``.

Call sites hold a URL rather than a settings object (the API's limiters, the crawler's state), so
the Sentinel settings are read from the environment when not passed: every process of one
deployment shares them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio as aioredis
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

# How long a question to a sentinel may take; a sentinel that does not answer is skipped.
SENTINEL_TIMEOUT_S = 1.0


class SentinelSettings(BaseSettings):
    """``WARTA_REDIS_SENTINELS`` and ``WARTA_REDIS_SENTINEL_MASTER`` (also in CommonSettings)."""

    model_config = SettingsConfigDict(env_prefix="WARTA_REDIS_", extra="ignore")

    sentinels: str = ""
    sentinel_master: str = "warta"


def parse_sentinels(spec: str) -> list[tuple[str, int]]:
    """``"h1:26379,h2:26379"`` -> ``[("h1", 26379), ("h2", 26379)]``; a clear ValueError otherwise."""
    out = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"WARTA_REDIS_SENTINELS: {part!r} is not host:port")
        out.append((host, int(port)))
    return out


def _db(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def _sentinel_config(sentinels: str | None, master: str | None) -> tuple[list[tuple[str, int]], str]:
    env = SentinelSettings() if sentinels is None or master is None else None
    spec = sentinels if sentinels is not None else env.sentinels  # type: ignore[union-attr]
    name = master if master is not None else env.sentinel_master  # type: ignore[union-attr]
    return parse_sentinels(spec), name


def redis_client(url: str, *, sentinels: str | None = None, master: str | None = None, **kwargs: Any) -> redis.Redis:
    """A redis-py client for ``url``, or for the Sentinel master when sentinels are configured."""
    hosts, name = _sentinel_config(sentinels, master)
    if not hosts:
        return redis.Redis.from_url(url, **kwargs)
    sentinel = Sentinel(hosts, sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT_S,  # type: ignore[no-untyped-call]
                                                "socket_connect_timeout": SENTINEL_TIMEOUT_S})  # fmt: skip
    client: redis.Redis = sentinel.master_for(name, db=_db(url), **kwargs)  # type: ignore[no-untyped-call]
    return client


def async_redis_client(
    url: str, *, sentinels: str | None = None, master: str | None = None, **kwargs: Any
) -> aioredis.Redis:
    """The asyncio twin of :func:`redis_client`."""
    hosts, name = _sentinel_config(sentinels, master)
    if not hosts:
        return aioredis.Redis.from_url(url, **kwargs)
    sentinel = AsyncSentinel(hosts, sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT_S,  # type: ignore[no-untyped-call]
                                                     "socket_connect_timeout": SENTINEL_TIMEOUT_S})  # fmt: skip
    client: aioredis.Redis = sentinel.master_for(name, db=_db(url), **kwargs)
    return client


def sentinel_master(sentinels: str, master: str) -> tuple[str, int] | None:
    """The address the first answering sentinel reports for ``master`` (None if none knows it)."""
    for host, port in parse_sentinels(sentinels):
        client = redis.Redis(host=host, port=port, socket_timeout=SENTINEL_TIMEOUT_S,
                             socket_connect_timeout=SENTINEL_TIMEOUT_S)  # fmt: skip
        try:
            addr = client.sentinel_get_master_addr_by_name(master)
        except redis.RedisError:
            continue
        finally:
            client.close()
        if isinstance(addr, (tuple, list)) and addr:
            host = addr[0].decode() if isinstance(addr[0], bytes) else str(addr[0])
            return host, int(addr[1])
    return None


def celery_redis(url: str, *, sentinels: str | None = None, master: str | None = None) -> tuple[str, dict[str, Any]]:
    """Celery's broker (and result backend) URL and the transport options it needs for Sentinel:
    ``sentinel://h1:p1/db;sentinel://h2:p2/db`` with ``master_name``; ``url`` and no options
    without sentinels."""
    hosts, name = _sentinel_config(sentinels, master)
    if not hosts:
        return url, {}
    db = _db(url)
    broker = ";".join(f"sentinel://{h}:{p}/{db}" for h, p in hosts)
    return broker, {"master_name": name, "sentinel_kwargs": {"socket_timeout": SENTINEL_TIMEOUT_S}}
