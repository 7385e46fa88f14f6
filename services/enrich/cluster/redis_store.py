"""Cluster state in Redis, shared by any number of worker processes on any number of machines.

Keys (``P`` = ``redis_key_prefix``; all expire, so state is bounded by the window):

- ``P:a:<article_id>``  string: ``<story_size>:`` + packed record (story id, event time, shingles
  as little-endian uint32). TTL ``window_days``.
- ``P:g:<generation>:<shard>``  hash: 8-byte band key -> owning article id (HSETNX, first
  writer wins). Shards keep each hash small enough for Redis' compact listpack encoding. TTL: end
  of the generation + window.
- ``P:n:<story_id>``  story size counter (INCR), TTL refreshed on every join.

Consistency: a lock-free compare-and-set in one Lua script. ``lookup`` reads band owners;
``commit`` re-reads the same owners and writes only if none changed (Redis runs a script
atomically, so nothing interleaves). Two near-duplicates processed at the same moment share at
least one LSH band (that is what makes them candidates at all); whichever commits second sees
that band now owned by the first, fails, decides again and joins the first one's story. Commits
of unrelated articles touch different band keys and never conflict, so no global lock
serialises workers and a crashed worker cannot leave a lock behind. The result equals some
sequential order of the articles. Idempotency is the same script: an existing record wins.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import redis

from services.enrich.cluster.settings import ClusterSettings
from services.enrich.cluster.store import Lookup, StoredArticle, generation_ttl
from shared.redis_clients import redis_client

_FORMAT_VERSION = 1
_HEADER = struct.Struct("<BBdH")  # version, flags, event_time, story id length
_TRUNCATED = 1

# Shared by both scripts: the distinct owners of the article's band keys in the given
# generations, sorted and joined by NUL. Keys are built here from the prefix so that a call
# carries a few arguments instead of one key per (generation, band): the store therefore needs a
# standalone Redis (or a Redis Cluster prefix with a hash tag, keeping every key in one slot).
# ARGV[1] prefix, ARGV[2] shards, ARGV[3] band keys (8 bytes each), ARGV[4] generations "g1,g2".
_OWNERS = """
local function shard_of(field, shards)
  local b1, b2, b3, b4 = string.byte(field, 1, 4)
  return (b1 + b2 * 256 + b3 * 65536 + b4 * 16777216) % shards
end
local function owners(prefix, shards, fields, generations)
  local seen, list, names, suffixes = {}, {}, {}, {}
  for i = 1, #fields, 8 do
    local field = string.sub(fields, i, i + 7)
    names[#names + 1] = field
    suffixes[#suffixes + 1] = ':' .. shard_of(field, shards)
  end
  for generation in string.gmatch(generations, '[^,]+') do
    local base = prefix .. ':g:' .. generation
    for j = 1, #names do
      local owner = redis.call('HGET', base .. suffixes[j], names[j])
      if owner and not seen[owner] then
        seen[owner] = true
        list[#list + 1] = owner
      end
    end
  end
  table.sort(list)
  return table.concat(list, '\\0')
end
"""

# Writes the record, counts it in its story and claims its band keys. Arguments as _COMMIT.
_WRITE = """
local function write()
  local size = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
  local body = size .. ':' .. ARGV[6]
  redis.call('SET', KEYS[1], body, 'PX', ARGV[7])
  if ARGV[9] ~= '' then
    local base = ARGV[1] .. ':g:' .. ARGV[9] .. ':'
    local shards = tonumber(ARGV[2])
    for i = 1, #ARGV[3], 8 do
      local field = string.sub(ARGV[3], i, i + 7)
      local key = base .. shard_of(field, shards)
      redis.call('HSETNX', key, field, ARGV[11])
      redis.call('PEXPIRE', key, ARGV[10])
    end
  end
  return body
end
"""

# KEYS[1] record, KEYS[2] story counter. ARGV[1..4] as _OWNERS, ARGV[5] expected owners,
# ARGV[6] record body, ARGV[7] record ttl ms, ARGV[8] counter ttl ms, ARGV[9] write generation
# ('' for none), ARGV[10] generation ttl ms, ARGV[11] article id.
# Returns {'exists', record}, {'conflict'} or {'ok', record}.
_COMMIT = (
    _OWNERS
    + _WRITE
    + """
local record = redis.call('GET', KEYS[1])
if record then return {'exists', record} end
if owners(ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]) ~= ARGV[5] then return {'conflict'} end
return {'ok', write()}
"""
)

# The lookup, with a fast path for the common case of an article without LSH candidates: it
# is stored as a new story in the same atomic step (the record argument is the new-story
# record, ARGV[5] is ignored). Returns {'exists', record}, {'ok', record} (stored as a new
# story) or {'candidates', owners}.
_LOOKUP = (
    _OWNERS
    + _WRITE
    + """
local record = redis.call('GET', KEYS[1])
if record then return {'exists', record} end
local found = owners(ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4])
if found ~= '' then return {'candidates', found} end
return {'ok', write()}
"""
)


def encode_record(article: StoredArticle) -> bytes:
    """Pack an article record (without its story size, which the commit script prepends)."""
    story = article.story_id.encode("utf-8")
    flags = _TRUNCATED if article.truncated else 0
    return (
        _HEADER.pack(_FORMAT_VERSION, flags, article.event_time, len(story))
        + story
        + article.shingles.astype("<u4", copy=False).tobytes()
    )


def decode_record(article_id: str, body: bytes) -> StoredArticle:
    """Inverse of :func:`encode_record` applied to ``<size>:<record>``. Raises ValueError."""
    size, _, record = body.partition(b":")
    version, flags, event_time, story_length = _HEADER.unpack_from(record)
    if version != _FORMAT_VERSION:
        raise ValueError(f"unknown cluster record version {version}")
    offset = _HEADER.size
    story_id = record[offset : offset + story_length].decode("utf-8")
    shingles = np.frombuffer(record, dtype="<u4", offset=offset + story_length).astype(np.uint32)
    return StoredArticle(
        article_id=article_id,
        story_id=story_id,
        story_size=int(size),
        event_time=event_time,
        shingles=shingles,
        truncated=bool(flags & _TRUNCATED),
    )


class RedisClusterStore:
    """:class:`~services.enrich.cluster.store.ClusterStore` on Redis (standalone server).

    The client must not decode responses. Every method is one round trip and may raise
    ``redis.RedisError`` (transient: the caller retries the whole assignment).
    """

    def __init__(self, client: redis.Redis, settings: ClusterSettings) -> None:
        self._client = client
        self._settings = settings
        self._prefix = settings.redis_key_prefix
        self._lookup = client.register_script(_LOOKUP)
        self._commit = client.register_script(_COMMIT)

    @classmethod
    def from_url(cls, url: str, settings: ClusterSettings) -> RedisClusterStore:
        return cls(redis_client(url, decode_responses=False), settings)

    def record_key(self, article_id: str) -> str:
        return f"{self._prefix}:a:{article_id}"

    def story_key(self, story_id: str) -> str:
        return f"{self._prefix}:n:{story_id}"

    def story_size(self, story_id: str) -> int:
        """Current size of a story (0 if unknown or expired)."""
        value = self._client.get(self.story_key(story_id))
        return int(value) if value is not None else 0

    def generation_key(self, generation: int, band_key: int) -> str:
        """The hash holding ``band_key`` in ``generation`` (same formula as the Lua scripts)."""
        return f"{self._prefix}:g:{generation}:{(band_key & 0xFFFFFFFF) % self._settings.redis_shards}"

    def _owner_args(self, band_keys: npt.NDArray[np.uint64], generations: Sequence[int]) -> list[bytes | str | int]:
        return [
            self._prefix,
            self._settings.redis_shards,
            band_keys.astype("<u8").tobytes(),
            ",".join(str(generation) for generation in generations),
        ]

    def lookup(
        self,
        article: StoredArticle,
        band_keys: npt.NDArray[np.uint64],
        generations: Sequence[int],
        write_generation: int | None,
        now: float,
    ) -> Lookup:
        kind, payload = self._lookup(
            keys=self._keys(article), args=self._args(article, band_keys, generations, (), write_generation, now)
        )
        if kind == b"candidates":
            return Lookup(None, tuple(owner.decode("utf-8") for owner in payload.split(b"\0")))
        return Lookup(decode_record(article.article_id, payload), ())

    def load(self, article_ids: Sequence[str], now: float) -> dict[str, StoredArticle]:
        if not article_ids:
            return {}
        bodies: list[bytes | None] = self._client.mget([self.record_key(article_id) for article_id in article_ids])  # type: ignore[assignment]
        return {
            article_id: decode_record(article_id, body)
            for article_id, body in zip(article_ids, bodies, strict=True)
            if body is not None
        }

    def commit(
        self,
        article: StoredArticle,
        band_keys: npt.NDArray[np.uint64],
        generations: Sequence[int],
        expected_owners: tuple[str, ...],
        write_generation: int | None,
        now: float,
    ) -> StoredArticle | None:
        kind, *payload = self._commit(
            keys=self._keys(article),
            args=self._args(article, band_keys, generations, expected_owners, write_generation, now),
        )
        if kind == b"conflict":
            return None
        return decode_record(article.article_id, payload[0])

    def _keys(self, article: StoredArticle) -> list[str]:
        return [self.record_key(article.article_id), self.story_key(article.story_id)]

    def _args(
        self,
        article: StoredArticle,
        band_keys: npt.NDArray[np.uint64],
        generations: Sequence[int],
        expected_owners: tuple[str, ...],
        write_generation: int | None,
        now: float,
    ) -> list[bytes | str | int]:
        settings = self._settings
        window_ms = int(settings.window_seconds * 1000)
        writes = write_generation is not None and band_keys.size > 0
        generation_ms = int(generation_ttl(settings, write_generation, now) * 1000) if writes else 1  # type: ignore[arg-type]
        return [
            *self._owner_args(band_keys, generations),
            "\0".join(expected_owners),
            encode_record(article),
            window_ms,
            window_ms,
            str(write_generation) if writes else "",
            generation_ms,
            article.article_id,
        ]
