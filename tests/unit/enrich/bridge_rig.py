"""A rig for unit tests of the enrich bridge: :class:`~services.enrich.bridge.EnrichDispatch` on the
real :class:`~shared.consumer.StreamProcessor`, over the in-memory Kafka (tests/memory_kafka.py), a
fake Celery app and a fake Redis. No network.

The fake app records what the bridge sends. Its result backend is Celery's own key-value backend
over a dict: the test plays the worker through the calls a worker makes (``mark_as_done``,
``mark_as_retry``, ``mark_as_failure``), so results are encoded and decoded by Celery's code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Celery
from celery.backends.base import KeyValueStoreBackend
from kafka import TopicPartition
from kombu.exceptions import OperationalError

from services.enrich.bridge import POLL_BATCH, EnrichDispatch
from services.enrich.protocol import TASK_NAME, EnrichBatch, EnrichResult, RecordOutcome, Status
from services.enrich.settings import EnrichSettings
from shared.consumer import Outcomes, StreamProcessor
from shared.kafka import DlqPublisher
from shared.schemas import DlqRecord, RawArticle, decode
from shared.topics import Stage, Topic
from tests.memory_kafka import MemoryBroker, MemoryConsumer, MemoryProducer


class RetryLater(Exception):
    """What a retrying run of the task leaves as its RETRY state (services/enrich/tasks.py)."""


class MemoryBackend(KeyValueStoreBackend):  # type: ignore[misc]  # Celery is untyped
    """Celery's key-value result backend over a dict; ``mget`` answers a list, as Redis does."""

    def __init__(self, app: Celery) -> None:
        super().__init__(app=app)
        self.values: dict[bytes, Any] = {}
        self.down = False

    def get(self, key: bytes) -> Any:
        return self.values.get(key)

    def mget(self, keys: list[bytes]) -> list[Any]:
        if self.down:
            raise OperationalError("redis unreachable")
        return [self.values.get(k) for k in keys]

    def set(self, key: bytes, value: Any) -> None:
        self.values[key] = value

    def delete(self, key: bytes) -> None:
        self.values.pop(key, None)


@dataclass
class Sent:
    task_id: str
    batch: EnrichBatch

    @property
    def coordinates(self) -> list[tuple[int, int]]:
        return [(r.partition, r.offset) for r in self.batch.records]


class FakeCelery:
    """The subset of a Celery app the bridge uses: ``send_task`` and ``backend``."""

    def __init__(self) -> None:
        self.backend = MemoryBackend(Celery("unit-enrich", set_as_current=False))
        self.sent: list[Sent] = []
        self.send_errors = 0  # the next N sends raise, as kombu does when Redis is unreachable

    def send_task(self, name: str, args: list[Any], task_id: str, queue: str, **options: Any) -> None:
        assert name == TASK_NAME and queue == "enrich" and not options
        if self.send_errors:
            self.send_errors -= 1
            raise OperationalError("redis unreachable")
        (argument,) = args
        assert json.loads(json.dumps(argument)) == argument, "Celery gets JSON primitives"
        self.sent.append(Sent(task_id, EnrichBatch.model_validate(argument)))


@dataclass
class FakeRedis:
    """The bridge's own Redis client: the run id, the queue length and the superseded marks."""

    run_id: str = "run-1"
    lengths: dict[str, int] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    expiries: dict[str, int] = field(default_factory=dict)
    down: bool = False
    closed: bool = False

    def _check(self) -> None:
        if self.down:
            raise redis.ConnectionError("redis unreachable")

    def info(self, section: str) -> dict[str, Any]:
        self._check()
        return {"run_id": self.run_id}

    def llen(self, key: str) -> int:
        self._check()
        return self.lengths.get(key, 0)

    def set(self, key: str, value: Any, ex: int | None = None) -> None:
        self._check()
        self.values[key] = value
        if ex is not None:
            self.expiries[key] = ex

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def raw(n: int, article: str | None = None) -> bytes:
    article_id = article or f"a{n:04d}"
    return RawArticle(
        id=article_id,
        url=f"https://berita.example/{article_id}",
        canonical_url=f"https://berita.example/{article_id}",
        title=f"Berita {n}",
        source="berita.example",
        ingested_at=datetime(2025, 1, 1, tzinfo=UTC),
        text=f"Isi berita {n}.",
    ).to_bytes()


# Results are read in every step (the throttle is the clock's business, not these tests').
DEFAULTS: dict[str, Any] = {"topic_prefix": "unit-", "redis_prefix": "unit-warta:", "health_file": None,
                            "result_poll_interval_s": 0.0}  # fmt: skip


class Rig:
    def __init__(self, partitions: int = 1, **settings: Any) -> None:
        self.settings = EnrichSettings(**{**DEFAULTS, **settings})
        self.topic = self.settings.topic(Topic.ARTICLES_RAW)
        self.broker = MemoryBroker()
        self.tps = self.broker.create_topic(self.topic, partitions)
        self.consumer = MemoryConsumer(self.broker)
        self.producer = MemoryProducer()
        self.celery = FakeCelery()
        self.redis = FakeRedis()
        self.clock = Clock()
        self._strategy: EnrichDispatch | None = None

        def dispatch(outcomes: Outcomes) -> EnrichDispatch:
            self._strategy = EnrichDispatch(outcomes, self.settings, self.celery, redis_client=self.redis,
                                            clock=self.clock)  # fmt: skip
            return self._strategy

        self.processor: StreamProcessor[RawArticle] = StreamProcessor(
            self.consumer,
            Topic.ARTICLES_RAW,
            self.settings,
            dispatch,
            DlqPublisher(self.settings, Stage.ENRICH, producer=self.producer),
            commit_interval_s=0.0,
            max_poll_records=POLL_BATCH,
            clock=self.clock,
        )
        assert self.processor.subscribe(threading.Event())

    @property
    def bridge(self) -> EnrichDispatch:
        assert self._strategy is not None
        return self._strategy

    def tp(self, partition: int = 0) -> TopicPartition:
        return self.tps[partition]

    def produce(self, partition: int, *values: bytes) -> None:
        for value in values:
            self.broker.produce(self.tps[partition], value)

    def step(self, seconds: float = 0.0, times: int = 1) -> None:
        for _ in range(times):
            self.clock.now += seconds
            self.processor.step()

    # --- the worker's side ---

    def answer(self, sent: Sent, statuses: dict[int, Status] | None = None, skip: Collection[int] = ()) -> None:
        """Store a SUCCESS result for ``sent``: ``ok`` for every record unless ``statuses`` (offset ->
        status) says otherwise; offsets in ``skip`` are left out of the result."""
        statuses = statuses or {}
        items = [RecordOutcome(status=statuses.get(r.offset, "ok"), partition=r.partition, offset=r.offset)
                 for r in sent.batch.records if r.offset not in skip]  # fmt: skip
        self.celery.backend.mark_as_done(sent.task_id, EnrichResult(items=items).to_celery())

    def retry_state(self, task_id: str, attempt: int) -> None:
        """What Celery stores when a run of the task raises Retry (the message names the attempt)."""
        self.celery.backend.mark_as_retry(task_id, RetryLater(f"attempt {attempt} left 1 record(s) to retry: ..."))

    def fail(self, task_id: str, exc: BaseException) -> None:
        self.celery.backend.mark_as_failure(task_id, exc)

    def result_stored(self, task_id: str) -> bool:
        backend = self.celery.backend
        return backend.get_key_for_task(task_id) in backend.values

    # --- what came out ---

    @property
    def sent(self) -> list[Sent]:
        return self.celery.sent

    def committed(self) -> dict[int, int]:
        return {tp.partition: offset for tp, offset in self.broker.committed.items()}

    def dlq_records(self) -> list[DlqRecord]:
        return [decode(DlqRecord, value) for _, _, value in self.producer.sent]
