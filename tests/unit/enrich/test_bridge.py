"""The enrich bridge (services/enrich/bridge.py) as a strategy on the consumer runtime, with an
in-memory Kafka and a fake Celery app (tests/unit/enrich/bridge_rig.py): tasks of up to
``task_batch_size`` records, backpressure, per-article order, commit only after the task answered,
the recovery paths of services/enrich/protocol.py, and rebalances. No network."""

from __future__ import annotations

import logging

import pytest
from celery.exceptions import TimeLimitExceeded

from services.enrich.settings import EnrichSettings
from shared.kafka import DlqRatioExceeded
from shared.schemas import RawArticle, decode
from tests.unit.enrich.bridge_rig import Rig, raw


def offsets_sent(rig: Rig) -> list[tuple[int, int]]:
    return [c for sent in rig.sent for c in sent.coordinates]


# --- dispatch and commit ---------------------------------------------------------------------------


def test_records_go_out_in_tasks_of_at_most_task_batch_size() -> None:
    rig = Rig()
    assert rig.settings.task_batch_size == 16
    rig.produce(0, *(raw(i) for i in range(40)))
    rig.step(times=2)
    assert [len(sent.batch.records) for sent in rig.sent] == [16, 16, 8]
    assert offsets_sent(rig) == [(0, i) for i in range(40)]
    assert len({sent.task_id for sent in rig.sent}) == 3
    batch = rig.sent[0].batch
    assert batch.topic == rig.topic and batch.done == [] and batch.retrying_since is None
    assert batch.records[3].payload == raw(3).decode(), "the record's value, verbatim"
    assert decode(RawArticle, batch.records[3].payload).id == "a0003"
    assert rig.committed() == {}, "nothing is done yet"

    rig.produce(0, raw(40))  # a quiet stream: a task of one
    rig.step(times=2)
    assert rig.sent[-1].coordinates == [(0, 40)]


def test_an_offset_is_committed_only_after_the_task_answered_for_it_and_every_offset_below() -> None:
    rig = Rig(task_batch_size=2)
    rig.produce(0, raw(0), raw(1), raw(2))
    rig.step(times=2)
    first, second = rig.sent
    assert (first.coordinates, second.coordinates) == ([(0, 0), (0, 1)], [(0, 2)])
    rig.answer(second)
    rig.step()
    assert rig.committed() == {}, "offsets 0 and 1 have no answer yet"
    rig.answer(first, statuses={1: "dlq"})
    rig.step()
    assert rig.committed() == {0: 3}
    assert rig.dlq_records() == [], "the worker wrote the DLQ record; the bridge does not write it again"
    assert not rig.result_stored(first.task_id) and not rig.result_stored(second.task_id), "results read are deleted"


def test_an_undecodable_record_goes_to_the_dlq_without_a_task() -> None:
    rig = Rig()
    rig.produce(0, b"{not json", raw(1))
    rig.step(times=2)
    (sent,) = rig.sent
    assert sent.coordinates == [(0, 1)]
    (record,) = rig.dlq_records()
    assert (record.stage, record.reason, record.source_offset) == ("enrich", "invalid", 0)
    rig.answer(sent)
    rig.step()
    assert rig.committed() == {0: 2}


def test_records_the_worker_sent_to_the_dlq_count_towards_the_dlq_limit() -> None:
    rig = Rig(dlq_max_ratio=0.5)
    assert rig.processor.dlq_limit.max_ratio == 0.5, "the one dlq_max_ratio, CommonSettings'"
    assert Rig(dlq_max_ratio=0.2).processor.dlq_limit.max_ratio == 0.2
    assert "dlq_max_ratio" not in EnrichSettings.__annotations__, "no second definition"
    rig.produce(0, *(raw(i) for i in range(64)))
    rig.step(times=2)
    for sent in rig.sent:
        rig.answer(sent, statuses={r.offset: "dlq" for r in sent.batch.records})
    with pytest.raises(DlqRatioExceeded):
        rig.step()


# --- backpressure ----------------------------------------------------------------------------------


def test_the_in_flight_bound_pauses_the_partitions_until_below_80_percent() -> None:
    rig = Rig(max_in_flight=10, task_batch_size=1)
    rig.produce(0, *(raw(i) for i in range(30)))
    rig.step(times=2)
    assert rig.processor.paused and rig.consumer.paused() == {rig.tp()}
    assert len(rig.sent) == 10, "no more records than the bound are held"
    answered = set()
    for sent in rig.sent[:2]:  # 9, then 8 records held: not below 80%
        rig.answer(sent)
        answered.add(sent.task_id)
        rig.step(times=2)
        assert rig.processor.paused and len(rig.sent) == 10
    rig.answer(rig.sent[2])  # 7 held: below 80%, records are taken up to the bound again
    answered.add(rig.sent[2].task_id)
    rig.step(times=2)
    assert len(rig.sent) == 13

    for _ in range(40):  # the workers catch up
        for sent in rig.sent:
            if sent.task_id not in answered:
                rig.answer(sent)
                answered.add(sent.task_id)
        rig.step(times=2)
        if rig.committed() == {0: 30}:
            break
    assert rig.committed() == {0: 30}
    assert not rig.processor.paused and rig.consumer.paused() == set()
    assert offsets_sent(rig) == [(0, i) for i in range(30)], "nothing lost, nothing sent twice, in order"


def test_a_full_celery_queue_pauses_the_partitions_until_below_80_percent() -> None:
    rig = Rig(max_queue_length=10, task_batch_size=1)
    queue = f"{rig.settings.redis_prefix}enrich"
    rig.redis.lengths[queue] = 9
    rig.produce(0, *(raw(i) for i in range(4)))
    rig.step(times=2)
    assert rig.processor.paused, "9 queued and 1 about to be sent: the bound"
    assert offsets_sent(rig) == [(0, 0)]
    rig.redis.lengths[queue] = 8  # read once a second
    rig.step(1.0)
    assert rig.processor.paused, "8 of 10 is not below 80%"
    rig.redis.lengths[queue] = 7
    rig.step(1.0)
    assert not rig.processor.paused and rig.consumer.paused() == set()
    rig.step()
    assert offsets_sent(rig) == [(0, i) for i in range(4)]


# --- per-article order -----------------------------------------------------------------------------


def test_a_later_record_of_an_article_in_flight_waits_for_it() -> None:
    rig = Rig()
    rig.produce(0, raw(0, "x"), raw(1), raw(2, "x"), raw(3, "x"))
    rig.step(times=2)
    (first,) = rig.sent
    assert first.coordinates == [(0, 0), (0, 1)], "one article is never in two tasks"
    rig.answer(first)
    rig.step()
    assert rig.committed() == {0: 2}
    assert rig.sent[1].coordinates == [(0, 2)], "the next record of x leaves as soon as the first is answered"
    rig.answer(rig.sent[1])
    rig.step()
    assert rig.sent[2].coordinates == [(0, 3)]
    rig.answer(rig.sent[2])
    rig.step()
    assert rig.committed() == {0: 4} and len(rig.sent) == 3


# --- recovery (protocol.py) ------------------------------------------------------------------------


def test_a_record_missing_from_a_result_is_tried_again_alone_then_sent_to_the_dlq() -> None:
    rig = Rig()
    rig.produce(0, raw(0), raw(1), raw(2))
    rig.step(times=2)
    (first,) = rig.sent
    rig.answer(first, skip={1})
    rig.step()
    assert rig.committed() == {0: 1}
    second = rig.sent[1]
    assert second.coordinates == [(0, 1)] and second.task_id != first.task_id
    rig.answer(second, skip={1})  # still no answer: a task of one, so the DLQ (bounded)
    rig.step()
    (record,) = rig.dlq_records()
    assert (record.reason, record.source_offset, record.article_id, record.attempts) == ("failed", 1, "a0001", 2)
    assert "does not answer" in record.error
    assert rig.committed() == {0: 3} and len(rig.sent) == 2


def test_a_result_that_does_not_validate_is_a_failure() -> None:
    rig = Rig()
    rig.produce(0, raw(0))
    rig.step(times=2)
    rig.celery.backend.mark_as_done(rig.sent[0].task_id, {"items": [{"status": "maybe", "partition": 0, "offset": 0}]})
    rig.step()
    (record,) = rig.dlq_records()
    assert record.reason == "failed" and "invalid task result" in record.error
    assert rig.committed() == {0: 1}


def test_a_failed_task_is_split_so_one_poison_record_alone_reaches_the_dlq() -> None:
    rig = Rig()
    rig.produce(0, raw(0), raw(1, "poison"), raw(2))
    rig.step(times=2)
    (first,) = rig.sent
    rig.fail(first.task_id, TimeLimitExceeded(60))
    rig.step()
    singles = rig.sent[1:]
    assert [s.coordinates for s in singles] == [[(0, 0)], [(0, 1)], [(0, 2)]]
    assert rig.dlq_records() == [] and rig.committed() == {}
    rig.answer(singles[0])
    rig.answer(singles[2])
    rig.fail(singles[1].task_id, TimeLimitExceeded(60))
    rig.step()
    (record,) = rig.dlq_records()
    assert (record.reason, record.article_id, record.source_offset, record.attempts) == ("failed", "poison", 1, 2)
    assert "TimeLimitExceeded" in record.error
    assert rig.committed() == {0: 3} and len(rig.sent) == 4


def test_a_failed_send_is_sent_again_within_a_second() -> None:
    rig = Rig()
    rig.celery.send_errors = 1
    rig.produce(0, raw(0))
    rig.step(times=2)
    assert rig.sent == []
    rig.step(1.0)
    (sent,) = rig.sent
    assert sent.coordinates == [(0, 0)]
    rig.answer(sent)
    rig.step()
    assert rig.committed() == {0: 1}


def test_a_redis_restart_dispatches_every_task_in_flight_again(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig(task_batch_size=2)
    rig.produce(0, raw(0), raw(1), raw(2), raw(3, "x"), raw(4, "x"))
    rig.step(times=2)
    old = list(rig.sent)
    assert [s.coordinates for s in old] == [[(0, 0), (0, 1)], [(0, 2), (0, 3)]]
    rig.redis.run_id = "run-2"  # a new, empty Redis: queued tasks and results are gone
    with caplog.at_level(logging.WARNING, logger="services.enrich.bridge"):
        rig.step(1.0)
    assert "redis restarted: re-dispatching every in-flight task" in caplog.text
    new = rig.sent[2:]
    assert [s.coordinates for s in new] == [s.coordinates for s in old], "the waiting record of x stays waiting"
    assert {s.task_id for s in new}.isdisjoint(s.task_id for s in old)
    assert all(rig.settings.superseded_key(s.task_id) in rig.redis.values for s in old)
    rig.answer(old[0])  # a late result of a superseded task settles nothing
    rig.step()
    assert rig.committed() == {}
    rig.answer(new[0])
    rig.answer(new[1])
    rig.step()
    assert rig.committed() == {0: 4}
    assert rig.sent[-1].coordinates == [(0, 4)]


def test_redis_unavailable_delays_results_and_loses_nothing() -> None:
    rig = Rig()
    rig.produce(0, raw(0))
    rig.step(times=2)
    rig.answer(rig.sent[0])
    rig.celery.backend.down = rig.redis.down = True
    rig.step(1.0, times=3)
    assert rig.committed() == {}
    rig.celery.backend.down = rig.redis.down = False
    rig.step()
    assert rig.committed() == {0: 1} and len(rig.sent) == 1


# --- rebalances and shutdown -----------------------------------------------------------------------


def test_a_rebalance_forgets_the_lost_partitions() -> None:
    rig = Rig(partitions=2, task_batch_size=2)
    rig.produce(0, raw(0), raw(1))
    rig.produce(1, raw(100), raw(101), raw(102, "a0100"))  # the last waits for the first
    rig.step(times=2)
    kept, lost = rig.sent
    assert (kept.coordinates, lost.coordinates) == ([(0, 0), (0, 1)], [(1, 0), (1, 1)])
    rig.consumer.rebalance({rig.tp(0)})  # partition 1 moves to another member
    rig.step()
    rig.answer(kept)
    rig.answer(lost)  # its new owner re-reads it from the last commit: nothing is reported here
    rig.step()
    assert rig.committed() == {0: 2}, "the in-memory consumer refuses commits for a partition it lost"
    rig.step(rig.settings.redispatch_after_s + 1, times=2)
    assert len(rig.sent) == 2, "nothing of the lost partition is dispatched again"
    assert rig.bridge._in_flight == {} and rig.bridge._waiting == {} and rig.bridge._tasks == {}


def test_a_task_mixing_a_kept_and_a_lost_partition_reports_the_kept_records_only() -> None:
    rig = Rig(partitions=2)
    rig.produce(0, raw(0))
    rig.produce(1, raw(100))
    rig.step(times=2)
    (sent,) = rig.sent
    assert sent.coordinates == [(0, 0), (1, 0)]
    rig.consumer.rebalance({rig.tp(0)})
    rig.step()
    rig.answer(sent)
    rig.step()
    assert rig.committed() == {0: 1}


def test_records_delivered_again_after_a_rebalance_that_keeps_the_partition_are_not_dispatched_twice() -> None:
    """kafka-python 2.3 restarts a kept partition from its committed offset; the runtime drops the
    records it delivers again, so the bridge sees each once."""
    rig = Rig()
    rig.produce(0, raw(0), raw(1), raw(2, "a0000"))
    rig.step(times=2)
    (first,) = rig.sent
    rig.consumer.rebalance({rig.tp(0)})
    rig.step(times=2)
    assert len(rig.sent) == 1
    rig.answer(first)
    rig.step()
    assert rig.committed() == {0: 2}
    assert rig.sent[-1].coordinates == [(0, 2)], "the waiting record of a0000 goes once, after it"
    rig.answer(rig.sent[-1])
    rig.step()
    assert rig.committed() == {0: 3} and len(rig.sent) == 2


def test_shutdown_reads_the_results_once_more_commits_and_closes_redis() -> None:
    rig = Rig()
    rig.produce(0, raw(0), raw(1))
    rig.step(times=2)
    rig.answer(rig.sent[0])
    rig.processor.close()
    assert rig.committed() == {0: 2}
    assert rig.redis.closed and rig.consumer.closed and rig.producer.closed
