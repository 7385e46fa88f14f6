from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.enrich.cluster import ClusterSettings, MemoryClusterStore, StoryAssignment, StoryClusterer
from services.enrich.cluster.cli import cluster_main
from services.enrich.cluster.fingerprint import Fingerprinter, similarity
from services.enrich.cluster.redis_store import decode_record, encode_record
from services.enrich.cluster.store import StoredArticle
from tests.unit.cluster.articles import BACKGROUND_SHARING, ORIGINAL, OTHER_STORY, SAME_TOPIC, VARIANTS


class FakeClock:
    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def make(clock: FakeClock | None = None, **overrides: object) -> StoryClusterer:
    settings = ClusterSettings(**overrides)  # type: ignore[arg-type]
    return StoryClusterer(settings, MemoryClusterStore(settings), clock=clock or FakeClock())


def test_first_article_is_canonical_and_variants_join_it() -> None:
    clusterer = make()
    assert clusterer.assign("orig", "Judul", ORIGINAL) == StoryAssignment("orig", 1, True)
    for size, variant in enumerate(VARIANTS, start=2):
        assert clusterer.assign(variant.__name__, "Judul lain", variant()) == StoryAssignment("orig", size, False)


def test_variant_first_still_gathers_the_story() -> None:
    clusterer = make()
    first = VARIANTS[1]()  # only the first half of the story
    assert clusterer.assign("half", "", first).story_id == "half"
    assert clusterer.assign("orig", "", ORIGINAL).story_id == "half"
    assert clusterer.assign("edits", "", VARIANTS[3]()).story_id == "half"


def test_different_stories_do_not_join() -> None:
    clusterer = make()
    clusterer.assign("orig", "", ORIGINAL)
    assert clusterer.assign("same-topic", "", SAME_TOPIC).is_new_story
    assert clusterer.assign("other", "", OTHER_STORY).is_new_story
    # Shares two background paragraphs with ORIGINAL, but is another story.
    assert clusterer.assign("background", "", BACKGROUND_SHARING) == StoryAssignment("background", 1, True)


def test_reprocessing_is_idempotent() -> None:
    clusterer = make()
    first = clusterer.assign("orig", "", ORIGINAL)
    joined = clusterer.assign("v", "", VARIANTS[0]())
    assert clusterer.assign("v", "", VARIANTS[0]()) == joined
    assert clusterer.assign("orig", "", ORIGINAL) == first
    # Even with other text, an assigned id keeps its story.
    assert clusterer.assign("v", "", OTHER_STORY) == joined
    store = clusterer.store
    assert isinstance(store, MemoryClusterStore)
    assert store.story_size("orig") == 2
    assert len(store) == 2


def test_window_expiry_forgets_old_articles() -> None:
    clock = FakeClock()
    clusterer = make(clock, window_days=1.0)
    clusterer.assign("orig", "", ORIGINAL)
    clock.now += 0.5 * 86400
    assert clusterer.assign("v1", "", VARIANTS[0]()).story_id == "orig"
    store = clusterer.store
    assert isinstance(store, MemoryClusterStore)
    clock.now += 1.6 * 86400  # past the window of both
    assert clusterer.assign("v2", "", VARIANTS[3]()) == StoryAssignment("v2", 1, True)
    assert len(store) == 1  # orig and v1 expired
    assert store.story_size("orig") == 0


def test_published_at_outside_window_is_not_compared() -> None:
    clock = FakeClock()
    clusterer = make(clock, window_days=2.0)
    now = datetime.fromtimestamp(clock.now, UTC)
    clusterer.assign("orig", "", ORIGINAL, now)
    assert clusterer.assign("late", "", VARIANTS[0](), now - timedelta(days=3)).is_new_story
    assert clusterer.assign("close", "", VARIANTS[3](), now - timedelta(days=1)).story_id == "orig"
    # A future date is clamped to now.
    assert clusterer.assign("future", "", VARIANTS[1](), now + timedelta(days=30)).story_id == "orig"


def test_empty_text_gets_its_own_story() -> None:
    clusterer = make()
    assert clusterer.assign("a", "", "") == StoryAssignment("a", 1, True)
    assert clusterer.assign("b", "", "  \n ") == StoryAssignment("b", 1, True)
    # The title is the fallback when there is no body.
    assert clusterer.assign("c", "Banjir melanda lima desa di Sukamaju", "").story_id == "c"
    assert clusterer.assign("d", "Banjir melanda lima desa di Sukamaju", "").story_id == "c"


def test_similarity_containment_and_bottom_k() -> None:
    a = np.arange(0, 100, dtype=np.uint32)
    half = np.arange(0, 50, dtype=np.uint32)
    assert similarity(a, False, half, False) == (1.0, 0.5)
    assert similarity(a, False, np.arange(200, 300, dtype=np.uint32), False) == (0.0, 0.0)
    # Bottom-k samples are compared below the smaller maximum only.
    assert similarity(np.arange(0, 400, 2, dtype=np.uint32), True, np.arange(0, 100, dtype=np.uint32), True) == (
        1.0,
        0.5,
    )


def test_fingerprint_caps_shingles() -> None:
    fingerprinter = Fingerprinter(ClusterSettings(max_shingles=32))
    fingerprint = fingerprinter.fingerprint("", ORIGINAL)
    assert fingerprint.truncated and fingerprint.shingles.size == 32
    assert fingerprint.band_keys.size == ClusterSettings().bands
    full = Fingerprinter(ClusterSettings()).fingerprint("", ORIGINAL)
    assert np.array_equal(full.shingles[:32], fingerprint.shingles)
    assert np.array_equal(full.band_keys, fingerprint.band_keys)  # LSH sees every shingle


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARTA_CLUSTER_THRESHOLD", "0.7")
    monkeypatch.setenv("WARTA_CLUSTER_WINDOW_DAYS", "3")
    monkeypatch.setenv("WARTA_CLUSTER_REDIS_KEY_PREFIX", "x:cluster")
    settings = ClusterSettings()
    assert (settings.threshold, settings.window_seconds, settings.redis_key_prefix) == (0.7, 3 * 86400, "x:cluster")
    assert settings.bands == settings.num_perm // settings.lsh_rows


def test_record_encoding_round_trips() -> None:
    article = StoredArticle("a1", "story-é", 0, 1_750_000_000.5, np.array([1, 7, 2**32 - 1], dtype=np.uint32), True)
    decoded = decode_record("a1", b"12:" + encode_record(article))
    assert decoded.story_size == 12
    assert (decoded.story_id, decoded.event_time, decoded.truncated) == ("story-é", 1_750_000_000.5, True)
    assert np.array_equal(decoded.shingles, article.shingles)


def test_cli_clusters_a_stream_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"id": "a", "title": "t", "text": ORIGINAL, "published_at": "2025-05-05T10:00:00+07:00"}),
        json.dumps({"id": "b", "text": VARIANTS[0]()}),
        "{not json",
        json.dumps({"id": "c", "title": "", "text": OTHER_STORY, "published_at": "2025-05-06T10:00:00Z"}),
        "",
        json.dumps({"id": "d", "text": VARIANTS[1](), "published_at": "2025-05-06T11:00:00"}),
        json.dumps({"id": "e", "title": "no text"}),
        json.dumps({"id": "a", "text": ORIGINAL}),
    ]
    stdout = io.StringIO()
    assert cluster_main(io.StringIO("\n".join(lines) + "\n"), stdout) == 1
    out = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert out[0] == {"id": "a", "story_id": "a"}
    assert out[1] == {"id": "b", "story_id": "a"}
    assert out[2] == {"line": 3, "error": "invalid JSON"}
    assert out[3] == {"id": "c", "story_id": "c"}
    assert out[4] == {"id": "d", "story_id": "a"}
    assert out[5]["id"] == "e" and out[5]["line"] == 7 and "text" in out[5]["error"]
    assert out[6] == {"id": "a", "story_id": "a"}
    assert len(out) == 7


def test_cli_window_follows_published_at() -> None:
    lines = [
        json.dumps({"id": "a", "text": ORIGINAL, "published_at": "2025-01-01T00:00:00Z"}),
        json.dumps({"id": "b", "text": OTHER_STORY, "published_at": "2025-03-01T00:00:00Z"}),
        json.dumps({"id": "c", "text": VARIANTS[0](), "published_at": "2025-03-01T01:00:00Z"}),
    ]
    stdout = io.StringIO()
    assert cluster_main(io.StringIO("\n".join(lines)), stdout) == 0
    assert [json.loads(line)["story_id"] for line in stdout.getvalue().splitlines()] == ["a", "b", "c"]
