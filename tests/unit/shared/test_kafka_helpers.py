from __future__ import annotations

import pytest
from kafka import TopicPartition

from shared.ids import article_id
from shared.kafka import DlqLimit, DlqRatioExceeded, OffsetTracker

TP0 = TopicPartition("t", 0)
TP1 = TopicPartition("t", 1)


def test_commits_only_contiguous_completed_prefix() -> None:
    t = OffsetTracker()
    for o in (10, 11, 12, 13):
        t.add(TP0, o)
    t.complete(TP0, 11)
    t.complete(TP0, 13)
    assert t.committable() == {}
    t.complete(TP0, 10)
    assert t.committable()[TP0].offset == 12
    assert t.committable() == {}
    t.complete(TP0, 12)
    assert t.committable()[TP0].offset == 14
    assert t.in_flight() == 0


def test_partitions_are_independent_and_forgettable() -> None:
    t = OffsetTracker()
    t.add(TP0, 5)
    t.add(TP1, 7)
    t.complete(TP1, 7)
    assert {tp: om.offset for tp, om in t.committable().items()} == {TP1: 8}
    t.forget([TP0])
    t.complete(TP0, 5)
    assert t.committable() == {}
    assert t.partitions() == [TP1]


def test_dlq_limit_trips_only_past_ratio_and_minimum() -> None:
    limit = DlqLimit(max_ratio=0.5, window=10, min_records=4)
    limit.record(True)
    limit.record(True)
    limit.record(True)  # 3 of 3, but below the minimum sample
    with pytest.raises(DlqRatioExceeded):
        limit.record(True)
    ok = DlqLimit(max_ratio=0.5, window=10, min_records=4)
    for flag in (True, False, True, False, False):
        ok.record(flag)


def test_article_id_is_stable_and_url_normalised() -> None:
    a = article_id("https://Example.com/Berita/1#top")
    assert a == article_id("https://example.com/Berita/1")
    assert a != article_id("https://example.com/berita/1")
    assert a == article_id("https://example.com:443/Berita/1")
    assert len(a) == 24 and int(a, 16) >= 0
