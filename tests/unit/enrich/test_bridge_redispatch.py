"""Re-dispatch never multiplies work (services/enrich/protocol.py, path 2): a task whose retry chain
is alive is not dispatched again, however long its retries last; a task with no sign of life is
dispatched once more under a new id, and the old id is marked superseded so that its chain stops."""

from __future__ import annotations

import pytest

from tests.unit.enrich.bridge_rig import Rig, raw


@pytest.fixture
def rig() -> Rig:
    rig = Rig(redispatch_after_s=300)
    rig.produce(0, raw(41))
    rig.step(times=2)  # read, then dispatched
    assert len(rig.sent) == 1
    return rig


def test_a_retrying_task_is_not_dispatched_again(rig: Rig) -> None:
    (first,) = rig.sent
    # A Kafka outage: the chain retries every 30 s for 15 minutes, far past redispatch_after_s.
    for attempt in range(1, 31):
        rig.retry_state(first.task_id, attempt)
        rig.step(30)
    assert len(rig.sent) == 1, "a live retry chain was dispatched again: a second chain now runs"
    assert not any("superseded" in k for k in rig.redis.values)


def test_a_task_with_no_sign_of_life_is_dispatched_again_once_and_the_old_one_superseded(rig: Rig) -> None:
    (first,) = rig.sent
    rig.retry_state(first.task_id, 1)
    rig.step(1)
    # The chain dies (say its message was lost): its state never changes again.
    for _ in range(int(rig.settings.redispatch_after_s) // 10 + 1):
        rig.step(10)
    assert len(rig.sent) == 2
    second = rig.sent[1]
    assert second.task_id != first.task_id and second.batch == first.batch
    key = rig.settings.superseded_key(first.task_id)
    assert key in rig.redis.values
    # Marked for longer than the old chain can live.
    assert rig.redis.expiries[key] > rig.settings.kafka_retry_window_s + rig.settings.redispatch_after_s
    # The new task then retries, alive: nothing more is dispatched.
    for attempt in range(1, 20):
        rig.retry_state(second.task_id, attempt)
        rig.step(30)
    assert len(rig.sent) == 2


def test_a_task_never_heard_from_is_dispatched_again_after_the_timeout(rig: Rig) -> None:
    rig.step(rig.settings.redispatch_after_s - 1)
    assert len(rig.sent) == 1
    rig.step(2)
    assert len(rig.sent) == 2


def test_a_finished_task_completes_its_record(rig: Rig) -> None:
    (first,) = rig.sent
    rig.retry_state(first.task_id, 1)
    rig.step(1)
    rig.answer(first, statuses={0: "dlq"})
    rig.step(1)
    assert rig.bridge._in_flight == {} and rig.bridge._tasks == {}
    assert rig.committed() == {0: 1}
    assert rig.dlq_records() == [], "the worker wrote the DLQ record"
