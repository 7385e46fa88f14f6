"""Syndication clustering: near-duplicate articles share a story (issue 5).

Use :func:`redis_clusterer` in workers (state shared through Redis) and
:func:`memory_clusterer` for ``warta nlp cluster``, evaluation and tests. Both run the same
:class:`StoryClusterer` with the same :class:`ClusterSettings`.
"""

from __future__ import annotations

from services.enrich.cluster.clusterer import ClusterConflictError, StoryAssignment, StoryClusterer
from services.enrich.cluster.redis_store import RedisClusterStore
from services.enrich.cluster.settings import ClusterSettings
from services.enrich.cluster.store import ClusterStore, MemoryClusterStore


def memory_clusterer(settings: ClusterSettings | None = None) -> StoryClusterer:
    """A clusterer with process-local state (wall clock)."""
    settings = settings or ClusterSettings()
    return StoryClusterer(settings, MemoryClusterStore(settings))


def redis_clusterer(redis_url: str, settings: ClusterSettings | None = None) -> StoryClusterer:
    """A clusterer whose state is shared through Redis at ``redis_url``. Connects lazily."""
    settings = settings or ClusterSettings()
    return StoryClusterer(settings, RedisClusterStore.from_url(redis_url, settings))


__all__ = [
    "ClusterConflictError",
    "ClusterSettings",
    "ClusterStore",
    "MemoryClusterStore",
    "RedisClusterStore",
    "StoryAssignment",
    "StoryClusterer",
    "memory_clusterer",
    "redis_clusterer",
]
