"""Incremental syndication clustering: assign each article to a story.

One algorithm for every backend (in-memory or Redis):

1. Fingerprint the body (boilerplate stripped): word-shingle sample + MinHash LSH band keys.
2. Read the band owners in the generations of the time window (LSH candidates). Without any,
   the article is stored as a new story in the same atomic step (the common, fast case).
3. Verify each candidate on shingles: containment >= ``threshold`` and Jaccard >=
   ``min_jaccard``. The best verified candidate's story is joined; otherwise the article starts
   a story whose id is its own id (the first article seen is the canonical member).
4. Commit with compare-and-set on the band owners read in step 2; on a lost race go to 2.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.enrich.cluster.fingerprint import Fingerprint, Fingerprinter, similarity
from services.enrich.cluster.settings import ClusterSettings
from services.enrich.cluster.store import ClusterStore, StoredArticle


@dataclass(frozen=True)
class StoryAssignment:
    """The story of an article: ``story_size`` counts members at the article's assignment."""

    story_id: str
    story_size: int
    is_new_story: bool


class ClusterConflictError(RuntimeError):
    """Commits kept losing races (``max_retries``); transient, safe to retry the task."""


class StoryClusterer:
    """Assigns articles to stories against a :class:`ClusterStore`.

    Thread-safe and process-safe as far as the store is (the Redis store is shared by any
    number of workers). ``clock`` returns "now" in epoch seconds; the CLI passes a replay clock.
    """

    def __init__(
        self,
        settings: ClusterSettings,
        store: ClusterStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self._clock = clock
        self._fingerprinter = Fingerprinter(settings)

    def fingerprint(self, title: str, text: str) -> Fingerprint:
        return self._fingerprinter.fingerprint(title, text)

    def assign(self, article_id: str, title: str, text: str, published_at: datetime | None = None) -> StoryAssignment:
        """Assign ``article_id`` to a story and record it.

        Idempotent: an article id already assigned (within the window) gets its stored
        assignment back and changes nothing. ``published_at`` (clamped to now) is the event
        time used for the window; without it the article's time is now. Blocks on store I/O;
        raises :class:`ClusterConflictError` after ``max_retries`` lost races and whatever the
        store raises (e.g. ``redis.ConnectionError``), both transient.
        """
        return self.assign_fingerprint(article_id, self.fingerprint(title, text), published_at)

    def assign_fingerprint(
        self, article_id: str, fingerprint: Fingerprint, published_at: datetime | None = None
    ) -> StoryAssignment:
        """:meth:`assign` for a precomputed fingerprint (same contract)."""
        settings = self.settings
        now = self._clock()
        event_time = now if published_at is None else min(published_at.timestamp(), now)
        window = settings.window_seconds
        generations = self._generations(event_time, now) if fingerprint.band_keys.size else []
        own_generation = self._generation(event_time)
        write_generation = own_generation if generations and own_generation >= self._generation(now - window) else None
        new_story = StoredArticle(
            article_id=article_id,
            story_id=article_id,
            story_size=0,
            event_time=event_time,
            shingles=fingerprint.shingles,
            truncated=fingerprint.truncated,
        )
        for _ in range(settings.max_retries):
            lookup = self.store.lookup(new_story, fingerprint.band_keys, generations, write_generation, now)
            if lookup.existing is not None:
                return _assignment(lookup.existing)
            candidate_ids = sorted({owner for owner in lookup.owners if owner and owner != article_id})
            story_id = article_id
            best = (-1.0, -1.0)
            for candidate in self.store.load(candidate_ids, now).values():
                if abs(candidate.event_time - event_time) > window:
                    continue
                containment, jaccard = similarity(
                    fingerprint.shingles, fingerprint.truncated, candidate.shingles, candidate.truncated
                )
                if containment >= settings.threshold and jaccard >= settings.min_jaccard:
                    if (containment, jaccard) > best:
                        best = (containment, jaccard)
                        story_id = candidate.story_id
            article = StoredArticle(
                article_id=article_id,
                story_id=story_id,
                story_size=0,
                event_time=event_time,
                shingles=fingerprint.shingles,
                truncated=fingerprint.truncated,
            )
            stored = self.store.commit(
                article, fingerprint.band_keys, generations, lookup.owners, write_generation, now
            )
            if stored is not None:
                return _assignment(stored)
        raise ClusterConflictError(f"article {article_id}: {settings.max_retries} commits lost their race")

    def _generation(self, timestamp: float) -> int:
        return math.floor(timestamp / self.settings.generation_seconds)

    def _generations(self, event_time: float, now: float) -> list[int]:
        """Generations holding articles comparable with one at ``event_time``: within the window
        of the event and not yet expired at ``now``."""
        window = self.settings.window_seconds
        first = self._generation(max(event_time - window, now - window))
        last = self._generation(min(event_time + window, now))
        return list(range(first, last + 1))


def _assignment(article: StoredArticle) -> StoryAssignment:
    return StoryAssignment(
        story_id=article.story_id,
        story_size=article.story_size,
        is_new_story=article.story_id == article.article_id,
    )


__all__ = ["ClusterConflictError", "StoryAssignment", "StoryClusterer"]
