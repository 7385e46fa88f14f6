"""Re-dispatch never multiplies work (services/enrich/bridge.py): a task whose retry chain is alive
is not dispatched again, however long its retries last; a task with no sign of life is dispatched
once more under a new id, and the old id is marked superseded so that its chain stops."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from kafka import TopicPartition

from services.enrich import bridge as bridge_mod
from services.enrich.settings import EnrichSettings
from shared.schemas import RawArticle, utcnow

SETTINGS = EnrichSettings(topic_prefix="t-", redis_prefix="t-warta:", redispatch_after_s=300)
TP = TopicPartition("t-articles.raw", 0)


@dataclass
class FakeApp:
    sent: list[tuple[str, list[Any]]] = field(default_factory=list)
    backend: Any = field(
        default_factory=lambda: SimpleNamespace(get_key_for_task=lambda task_id: f"celery-task-meta-{task_id}")
    )

    def send_task(self, name: str, args: list[Any], task_id: str, queue: str) -> None:
        self.sent.append((task_id, args))


@dataclass
class FakeRedis:
    values: dict[str, bytes] = field(default_factory=dict)
    expiries: dict[str, int] = field(default_factory=dict)

    def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.values.get(k) for k in keys]

    def set(self, key: str, value: Any, ex: int | None = None) -> None:
        self.values[key] = str(value).encode()
        if ex is not None:
            self.expiries[key] = ex

    def delete(self, *keys: str) -> None:
        for k in keys:
            self.values.pop(k, None)


class FakeDlq:
    def __init__(self, *_: Any, **__: Any) -> None: ...

    def close(self) -> None: ...


@dataclass
class Rig:
    bridge: bridge_mod.Bridge
    app: FakeApp
    redis: FakeRedis
    clock: list[float]

    def retry_state(self, task_id: str, attempt: int) -> None:
        """What Celery writes when a run of the task raises Retry (the message names the attempt)."""
        meta = {"status": "RETRY", "result": {"exc_type": "RetryLater", "exc_message": [f"attempt {attempt} ..."]},
                "traceback": "...", "children": [], "date_done": None}  # fmt: skip
        self.redis.values[f"celery-task-meta-{task_id}"] = json.dumps(meta).encode()

    def tick(self, seconds: float) -> None:
        self.clock[0] += seconds
        self.bridge._collect_results()
        self.bridge._redispatch_stale(self.clock[0])


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    clock = [1000.0]
    monkeypatch.setattr(bridge_mod, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(bridge_mod, "DlqPublisher", FakeDlq)
    app = FakeApp()
    bridge = bridge_mod.Bridge(SETTINGS, app, consumer=SimpleNamespace())  # type: ignore[arg-type]
    redis = FakeRedis()
    bridge.redis = redis  # type: ignore[assignment]
    raw = RawArticle(
        id="a1", url="https://berita.example/a1", canonical_url="https://berita.example/a1", title="Banjir",
        source="berita.example", text="Isi berita.", ingested_at=utcnow(),
    )  # fmt: skip
    bridge._accept(TP, 41, raw.to_bytes())
    bridge._dispatch_ready()
    yield Rig(bridge, app, redis, clock)


def test_a_retrying_task_is_not_dispatched_again(rig: Rig) -> None:
    ((first_id, _args),) = rig.app.sent
    # A Kafka outage: the chain retries every 30 s for 15 minutes, far past redispatch_after_s.
    for attempt in range(1, 31):
        rig.retry_state(first_id, attempt)
        rig.tick(30)
    assert len(rig.app.sent) == 1, "a live retry chain was dispatched again: a second chain now runs"
    assert not any("superseded" in k for k in rig.redis.values)


def test_a_task_with_no_sign_of_life_is_dispatched_again_once_and_the_old_one_superseded(rig: Rig) -> None:
    ((first_id, args),) = rig.app.sent
    rig.retry_state(first_id, 1)
    rig.tick(1)
    # The chain dies (say its message was lost): its state never changes again.
    for _ in range(int(SETTINGS.redispatch_after_s) // 10 + 1):
        rig.tick(10)
    assert len(rig.app.sent) == 2
    second_id, second_args = rig.app.sent[1]
    assert second_id != first_id and second_args == args
    key = SETTINGS.superseded_key(first_id)
    assert key in rig.redis.values
    # Marked for longer than the old chain can live.
    assert rig.redis.expiries[key] > SETTINGS.kafka_retry_window_s + SETTINGS.redispatch_after_s
    # The new task then retries, alive: nothing more is dispatched.
    for attempt in range(1, 20):
        rig.retry_state(second_id, attempt)
        rig.tick(30)
    assert len(rig.app.sent) == 2


def test_a_task_never_heard_from_is_dispatched_again_after_the_timeout(rig: Rig) -> None:
    rig.tick(SETTINGS.redispatch_after_s - 1)
    assert len(rig.app.sent) == 1
    rig.tick(2)
    assert len(rig.app.sent) == 2


def test_a_finished_task_completes_its_record(rig: Rig) -> None:
    ((task_id, _args),) = rig.app.sent
    rig.retry_state(task_id, 1)
    rig.tick(1)
    meta = {"status": "SUCCESS", "result": {"items": [{"status": "dlq", "partition": 0, "offset": 41}]}}
    rig.redis.values[f"celery-task-meta-{task_id}"] = json.dumps(meta).encode()
    rig.tick(1)
    assert rig.bridge.in_flight == {} and rig.bridge.tasks == {} and rig.bridge._progress == {}
    assert rig.bridge.tracker.committable()[TP].offset == 42
