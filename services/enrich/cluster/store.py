"""Cluster state: the storage contract and the in-memory implementation.

The clustering decision lives in :mod:`services.enrich.cluster.clusterer`; a store only keeps
three things, each expiring with the time window:

- per article: its story id, story size at assignment, event time and shingle sample;
- per (generation, LSH band key): the first article that produced that key (its "owner");
- per story: a size counter.

``commit`` is a compare-and-set: it writes only if the article is still unknown and every band
owner read by ``lookup`` is unchanged. A store therefore never needs a lock to keep two
concurrent near-duplicates in one story (see :mod:`services.enrich.cluster.redis_store`).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from services.enrich.cluster.settings import ClusterSettings


@dataclass(frozen=True)
class StoredArticle:
    """An article as kept by the store. ``story_size`` is the size at its assignment."""

    article_id: str
    story_id: str
    story_size: int
    event_time: float
    shingles: npt.NDArray[np.uint32]
    truncated: bool


@dataclass(frozen=True)
class Lookup:
    """Result of :meth:`ClusterStore.lookup`.

    ``existing`` is the stored article when the article was already assigned, or was just
    stored as a new story because it had no LSH candidates; otherwise
    ``owners`` holds the distinct articles owning any of its band keys in the looked-up
    generations (the LSH candidates), sorted. Only this set matters to the decision, so it is
    what ``commit`` compares.
    """

    existing: StoredArticle | None
    owners: tuple[str, ...]


class ClusterStore(Protocol):
    def lookup(
        self,
        article: StoredArticle,
        band_keys: npt.NDArray[np.uint64],
        generations: Sequence[int],
        write_generation: int | None,
        now: float,
    ) -> Lookup:
        """Return the stored record of ``article.article_id`` if any; else, if its band keys
        have no owner in ``generations``, atomically store ``article`` (a new-story record) as
        :meth:`commit` would and return it; else return the owners (LSH candidates)."""
        ...

    def load(self, article_ids: Sequence[str], now: float) -> dict[str, StoredArticle]:
        """Return the stored (not yet expired) articles among ``article_ids``. Read-only."""
        ...

    def commit(
        self,
        article: StoredArticle,
        band_keys: npt.NDArray[np.uint64],
        generations: Sequence[int],
        expected_owners: tuple[str, ...],
        write_generation: int | None,
        now: float,
    ) -> StoredArticle | None:
        """Atomically store ``article`` and count it in its story, unless something changed.

        Returns the stored article with its ``story_size``; the already stored article if
        ``article.article_id`` was committed meanwhile (idempotent); ``None`` if the owners of
        the band keys are no longer ``expected_owners`` (the caller decides again). Band keys are claimed in
        ``write_generation`` (first writer wins); ``None`` stores no band keys.
        """
        ...


def generation_ttl(settings: ClusterSettings, generation: int, now: float) -> float:
    """Seconds a generation must live: until its newest possible member leaves the window."""
    end = (generation + 1) * settings.generation_seconds
    return max(end + settings.window_seconds - now, 1.0)


class MemoryClusterStore:
    """Process-local store for ``warta nlp cluster``, evaluation and tests. Thread-safe.

    Expiry follows the caller's ``now`` (which may be a replay clock), with the same TTLs as the
    Redis store.
    """

    def __init__(self, settings: ClusterSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._articles: dict[str, tuple[StoredArticle, float]] = {}
        self._article_expiry: collections.deque[tuple[float, str]] = collections.deque()
        self._owners: dict[int, dict[int, str]] = {}
        self._generation_expiry: dict[int, float] = {}
        self._story_sizes: dict[str, tuple[int, float]] = {}
        self._story_expiry: collections.deque[tuple[float, str]] = collections.deque()

    def __len__(self) -> int:
        return len(self._articles)

    def _expire(self, now: float) -> None:
        while self._article_expiry and self._article_expiry[0][0] <= now:
            _, article_id = self._article_expiry.popleft()
            entry = self._articles.get(article_id)
            if entry is not None and entry[1] <= now:
                del self._articles[article_id]
        for generation in [g for g, expiry in self._generation_expiry.items() if expiry <= now]:
            del self._generation_expiry[generation]
            self._owners.pop(generation, None)
        while self._story_expiry and self._story_expiry[0][0] <= now:
            _, story_id = self._story_expiry.popleft()
            size = self._story_sizes.get(story_id)
            if size is not None and size[1] <= now:
                del self._story_sizes[story_id]

    def _owners_of(self, band_keys: npt.NDArray[np.uint64], generations: Sequence[int]) -> tuple[str, ...]:
        keys = band_keys.tolist()
        owners: set[str] = set()
        for generation in generations:
            table = self._owners.get(generation)
            if table:
                owners.update(table[key] for key in keys if key in table)
        return tuple(sorted(owners))

    def lookup(
        self,
        article: StoredArticle,
        band_keys: npt.NDArray[np.uint64],
        generations: Sequence[int],
        write_generation: int | None,
        now: float,
    ) -> Lookup:
        with self._lock:
            self._expire(now)
            entry = self._articles.get(article.article_id)
            if entry is not None:
                return Lookup(entry[0], ())
            owners = self._owners_of(band_keys, generations)
            if owners:
                return Lookup(None, owners)
            return Lookup(self._write(article, band_keys, write_generation, now), ())

    def load(self, article_ids: Sequence[str], now: float) -> dict[str, StoredArticle]:
        with self._lock:
            found = {}
            for article_id in article_ids:
                entry = self._articles.get(article_id)
                if entry is not None and entry[1] > now:
                    found[article_id] = entry[0]
            return found

    def commit(
        self,
        article: StoredArticle,
        band_keys: npt.NDArray[np.uint64],
        generations: Sequence[int],
        expected_owners: tuple[str, ...],
        write_generation: int | None,
        now: float,
    ) -> StoredArticle | None:
        with self._lock:
            self._expire(now)
            entry = self._articles.get(article.article_id)
            if entry is not None:
                return entry[0]
            if self._owners_of(band_keys, generations) != expected_owners:
                return None
            return self._write(article, band_keys, write_generation, now)

    def _write(
        self, article: StoredArticle, band_keys: npt.NDArray[np.uint64], write_generation: int | None, now: float
    ) -> StoredArticle:
        """Store and count ``article``; the caller holds the lock."""
        window = self._settings.window_seconds
        size = self._story_sizes.get(article.story_id, (0, 0.0))[0] + 1
        self._story_sizes[article.story_id] = (size, now + window)
        self._story_expiry.append((now + window, article.story_id))
        stored = replace(article, story_size=size)
        self._articles[article.article_id] = (stored, now + window)
        self._article_expiry.append((now + window, article.article_id))
        if write_generation is not None and band_keys.size:
            table = self._owners.setdefault(write_generation, {})
            for key in band_keys.tolist():
                table.setdefault(key, article.article_id)
            self._generation_expiry[write_generation] = now + generation_ttl(self._settings, write_generation, now)
        return stored

    def story_size(self, story_id: str) -> int:
        """Current size of a story (0 if unknown or expired at the last operation)."""
        return self._story_sizes.get(story_id, (0, 0.0))[0]
