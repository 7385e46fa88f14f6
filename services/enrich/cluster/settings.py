"""Settings of syndication clustering (env prefix ``WARTA_CLUSTER_``).

Workers (Redis state) and ``warta nlp cluster`` (in-memory state) read the same class, so the same
environment gives the same stories. Defaults were tuned on IndoSum ``dev.01`` (see
``docs/syndication.md``).
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClusterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARTA_CLUSTER_", extra="ignore")

    # Word n-grams after boilerplate removal.
    shingle_size: int = Field(default=2, ge=1, le=8)
    # MinHash permutations; LSH uses num_perm // lsh_rows bands of lsh_rows rows each.
    num_perm: int = Field(default=128, ge=8, le=1024)
    lsh_rows: int = Field(default=2, ge=1, le=16)
    # Verification of LSH candidates on the stored shingles: containment of the smaller article
    # in the larger one AND Jaccard must both reach their threshold.
    threshold: float = Field(default=0.4, gt=0.0, le=1.0)
    min_jaccard: float = Field(default=0.2, ge=0.0, le=1.0)
    # Bound on stored shingles per article (bottom-k by hash): bounds memory for long articles.
    max_shingles: int = Field(default=512, ge=16)
    # Articles are compared only with articles at most this far apart in event time; state older
    # than the window (relative to now) expires.
    window_days: float = Field(default=7.0, gt=0.0)
    # LSH buckets live in generations of window_days / window_buckets; a lookup reads
    # window_buckets + 1 generations, and state lives at most window_days * (1 + 1/window_buckets).
    window_buckets: int = Field(default=2, ge=1, le=64)
    # Redis: key prefix, and hash shards per generation. Keep shards >= articles per generation
    # * bands / 128 so that every shard stays a compact listpack (see docs/syndication.md).
    redis_key_prefix: str = "warta:cluster"
    redis_shards: int = Field(default=4096, ge=1)
    # Optimistic commits that lost a race are retried this many times before giving up.
    max_retries: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _bands_fit(self) -> ClusterSettings:
        if self.num_perm // self.lsh_rows < 1:
            raise ValueError("num_perm must be at least lsh_rows")
        return self

    @property
    def bands(self) -> int:
        return self.num_perm // self.lsh_rows

    @property
    def window_seconds(self) -> float:
        return self.window_days * 86400.0

    @property
    def generation_seconds(self) -> float:
        return self.window_seconds / self.window_buckets
