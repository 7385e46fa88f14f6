"""Removed articles stay removed: the indexer strategy skips tombstoned articles (committed as done,
counted as ``tombstoned``, never written nor announced), makes no lookup while there are no
tombstones, retries a failed lookup, and its watcher undoes a removal that raced a batch. In-memory
Kafka and a fake Elasticsearch (tests/unit/search/test_indexer.py); no network."""

from __future__ import annotations

from elastic_transport import ConnectionError as ESConnectionError

from tests.unit.search.test_indexer import DLQ_TOPIC, P0, Harness, api_error, sample


def ids(*numbers: int) -> list[str]:
    return [f"a{n:04d}" for n in numbers]


def test_a_tombstoned_article_is_committed_as_tombstoned_and_neither_indexed_nor_announced() -> None:
    h = Harness()
    h.es.tombstones = {"a0001"}
    h.tombstones.sweep()
    before = sample("warta_messages_total", stage="search", outcome="tombstoned")
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed")
    assert h.es.lookups == [ids(0, 1, 2, 3)], "one lookup for the batch, before its bulk"
    assert h.es.requests == [ids(0, 2, 3)], "the tombstoned article is not written"
    assert [r.id for r in h.indexed()] == ids(0, 2, 3), "nor announced"
    assert sample("warta_messages_total", stage="search", outcome="tombstoned") == before + 1
    assert h.producer.records(DLQ_TOPIC) == []


def test_a_batch_of_tombstoned_articles_makes_no_bulk_and_is_committed() -> None:
    h = Harness()
    h.es.tombstones = set(ids(0, 1, 2, 3))
    h.tombstones.sweep()
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed")
    assert h.es.calls == 0 and h.indexed() == []


def test_no_lookup_is_made_while_there_are_no_tombstones() -> None:
    h = Harness()
    h.tombstones.sweep()  # counts 0
    h.produce(P0, *range(8))
    h.step_until(lambda: h.broker.committed.get(P0) == 8, "committed")
    assert h.es.lookups == [], "no request per batch when nothing was ever removed"
    assert len(h.indexed()) == 8


def test_until_the_first_count_every_batch_is_looked_up() -> None:
    h = Harness()
    h.es.tombstones = {"a0000"}
    h.tombstones._any = True  # as at start, before the watcher's first count answered
    h.produce(P0, 0, 1)
    h.step_until(lambda: h.broker.committed.get(P0) == 2, "committed")
    assert [r.id for r in h.indexed()] == ids(1)


def test_a_failed_lookup_is_retried_before_the_bulk() -> None:
    h = Harness()
    h.es.tombstones = {"a0002"}
    h.tombstones.sweep()
    h.es.lookup_errors = [ESConnectionError("down"), api_error(503)]
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed")
    assert h.es.requests == [ids(0, 1, 3)], "nothing was written before the lookup answered"
    assert [r.id for r in h.indexed()] == ids(0, 1, 3)


def test_a_removal_racing_a_batch_is_undone_by_the_next_sweep() -> None:
    h = Harness()
    h.tombstones.sweep()  # no tombstones: the batch is not looked up
    h.produce(P0, 0, 1, 2, 3)
    h.step_until(lambda: h.broker.committed.get(P0) == 4, "committed")
    assert h.es.requests == [ids(0, 1, 2, 3)]
    # The API tombstoned a0002 and deleted it before this copy's bulk landed: the copy is in the index.
    h.es.tombstones = {"a0002"}
    h.tombstones.sweep()
    assert h.removed == ["a0002"], "the sweep removes it again"
    assert h.es.lookups == [ids(0, 1, 2, 3)], "the sweep looked up what was indexed since the last one"
    h.tombstones.sweep()
    assert h.removed == ["a0002"], "each id is checked once"
    # From now on tombstones exist: every batch is looked up before its bulk.
    h.produce(P0, 2, 4)
    h.step_until(lambda: h.broker.committed.get(P0) == 6, "committed")
    assert h.es.requests[-1] == ids(4)


def test_a_failed_sweep_keeps_the_ids_for_the_next_one() -> None:
    h = Harness()
    h.tombstones.sweep()
    h.produce(P0, 0, 1)
    h.step_until(lambda: h.broker.committed.get(P0) == 2, "committed")
    h.es.tombstones = {"a0001"}
    h.es.lookup_errors = [ESConnectionError("down")]
    h.tombstones.sweep()
    assert h.removed == []
    h.tombstones.sweep()
    assert h.removed == ["a0001"]


def test_shutdown_sweeps_what_the_last_batches_indexed() -> None:
    h = Harness()
    h.tombstones.sweep()
    h.produce(P0, 0, 1)
    h.step_until(lambda: h.broker.committed.get(P0) == 2, "committed")
    h.es.tombstones = {"a0000"}
    h.processor.close()
    assert h.removed == ["a0000"]
