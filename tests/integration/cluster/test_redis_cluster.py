"""Syndication clustering on a real Redis, with several real worker processes."""

from __future__ import annotations

import multiprocessing
import os
import random
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
import redis

from services.enrich.cluster import ClusterSettings, StoryAssignment, memory_clusterer, redis_clusterer
from tests.integration.cluster.workers import assign_all
from tests.unit.cluster.articles import BACKGROUND_SHARING, ORIGINAL, OTHER_STORY, SAME_TOPIC, VARIANTS

REDIS_URL = os.environ.get("WARTA_REDIS_URL", "redis://127.0.0.1:6379/0")

pytestmark = pytest.mark.redis


@pytest.fixture
def settings() -> Iterator[ClusterSettings]:
    prefix = f"test-cluster-{uuid.uuid4().hex[:12]}"
    yield ClusterSettings(redis_key_prefix=prefix)
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def _prefix_keys(settings: ClusterSettings) -> list[bytes]:
    return list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{settings.redis_key_prefix}:*", count=1000))


def _stories() -> dict[str, list[tuple[str, str]]]:
    """Four independent stories, each an original and its syndicated variants.

    The other stories reuse the same variant transforms on other texts (with one word changed
    so each copy differs)."""
    stories: dict[str, list[tuple[str, str]]] = {}
    for name, text in {
        "sukamaju": ORIGINAL,
        "cabai": OTHER_STORY,
        "bukit": SAME_TOPIC,
        "pasar": BACKGROUND_SHARING,
    }.items():
        paragraphs = text.split("\n")
        members = [(f"{name}-0", text)]
        members.append((f"{name}-1", "BLORA – " + "\n".join([*paragraphs, "Editor: Lina"])))
        members.append((f"{name}-2", "klikjateng.com – " + "\n".join(paragraphs[: len(paragraphs) // 2 + 1])))
        members.append(
            (f"{name}-3", "Semarang (ANTARA) - " + "\n".join([paragraphs[0], "Baca juga: Lain", *paragraphs[2:]]))
        )
        members.append((f"{name}-4", text.replace(" dan ", " serta ").replace(" yang ", " nan ", 2)))
        stories[name] = members
    return stories


def test_same_stories_as_the_in_memory_backend(settings: ClusterSettings) -> None:
    stream = [member for members in _stories().values() for member in members] + [
        (f"variant-{i}", variant()) for i, variant in enumerate(VARIANTS)
    ]
    random.Random(5).shuffle(stream)
    on_redis = redis_clusterer(REDIS_URL, settings)
    in_memory = memory_clusterer(settings)
    for article_id, text in stream:
        assert on_redis.assign(article_id, "", text) == in_memory.assign(article_id, "", text), article_id


def test_idempotent_and_counts_story_size(settings: ClusterSettings) -> None:
    clusterer = redis_clusterer(REDIS_URL, settings)
    assert clusterer.assign("orig", "", ORIGINAL) == StoryAssignment("orig", 1, True)
    joined = clusterer.assign("v0", "", VARIANTS[0]())
    assert joined == StoryAssignment("orig", 2, False)
    assert clusterer.assign("v0", "", VARIANTS[0]()) == joined
    assert clusterer.assign("orig", "", ORIGINAL) == StoryAssignment("orig", 1, True)
    assert clusterer.assign("bg", "", BACKGROUND_SHARING).is_new_story
    # A second process (new client) sees the same state.
    again = redis_clusterer(REDIS_URL, settings)
    assert again.assign("v0", "", VARIANTS[0]()) == joined
    assert again.assign("v1", "", VARIANTS[1]()) == StoryAssignment("orig", 3, False)
    assert again.store.story_size("orig") == 3  # type: ignore[attr-defined]


def _check_round(
    settings: ClusterSettings, stories: dict[str, list[tuple[str, str]]], results: list[dict[str, Any]]
) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for result in results:
        for article_id, assignment in result.items():
            # Every process got the same answer for the same article.
            assert seen.setdefault(article_id, assignment) == assignment, article_id
    checker = redis_clusterer(REDIS_URL, settings)
    for name, members in stories.items():
        story_ids = {seen[article_id]["story_id"] for article_id, _ in members}
        assert len(story_ids) == 1, (name, story_ids)
        story_id = story_ids.pop()
        assert story_id in {article_id for article_id, _ in members}
        assert checker.store.story_size(story_id) == len(members)  # type: ignore[attr-defined]
        sizes = sorted(int(seen[article_id]["story_size"]) for article_id, _ in members)
        assert sizes == list(range(1, len(members) + 1)), (name, sizes)


def test_concurrent_worker_processes_agree(settings: ClusterSettings) -> None:
    """Four spawned processes start together, in several rounds. Each gets different copies of
    the same stories (near-duplicates race) and the originals go to every process (the same
    article is re-processed concurrently). Every story must end with one story id, each
    article counted once.

    ``lsh_rows=1`` makes articles of other stories LSH candidates too (they share common word
    pairs), so assignments go through verify-then-commit, where the race is. Without the
    compare-and-set in the commit script this test fails (checked by disabling it)."""
    workers, rounds = 4, 4
    stories = _stories()
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for round_number in range(rounds):
            round_settings = settings.model_copy(
                update={"lsh_rows": 1, "redis_key_prefix": f"{settings.redis_key_prefix}:r{round_number}"}
            )
            rng = random.Random(round_number)
            shares: list[list[tuple[str, str]]] = [[] for _ in range(workers)]
            for members in stories.values():
                for index, member in enumerate(members):
                    if index == 0:
                        for share in shares:
                            share.append(member)
                    else:
                        shares[(index + round_number) % workers].append(member)
            for share in shares:
                rng.shuffle(share)
            barrier = manager.Barrier(workers)
            futures = [
                pool.submit(assign_all, REDIS_URL, round_settings.model_dump_json(), share, barrier) for share in shares
            ]
            _check_round(round_settings, stories, [future.result(timeout=120) for future in futures])


def test_state_expires_with_the_window(settings: ClusterSettings) -> None:
    window = 2.0  # seconds
    settings = settings.model_copy(update={"window_days": window / 86400})
    clusterer = redis_clusterer(REDIS_URL, settings)
    assert clusterer.assign("orig", "", ORIGINAL).is_new_story
    assert clusterer.assign("v0", "", VARIANTS[0]()).story_id == "orig"
    client = redis.Redis.from_url(REDIS_URL)
    keys = _prefix_keys(settings)
    assert keys
    for key in keys:
        assert 0 < client.pttl(key) <= 2 * window * 1000, key  # everything expires
    deadline = time.monotonic() + 4 * window
    while _prefix_keys(settings) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _prefix_keys(settings) == []
    # Past the window the story is forgotten: a copy starts a new story.
    assert clusterer.assign("v1", "", VARIANTS[1]()) == StoryAssignment("v1", 1, True)
