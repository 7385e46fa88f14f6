"""Infrastructure faults in the middle of a steady stream, injected on DEDICATED instances (a Redis
and a Kafka started by the test, a fault-injecting proxy in front of Elasticsearch) so the shared
stack is never touched. Each test asserts exactly-once and records its recovery time."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.chaos.harness import (
    DedicatedKafka,
    DedicatedRedis,
    EsFaultProxy,
    Sampler,
    Stream,
    Supervisor,
    chaos_run,
    scrape,
    searchable_count,
    tmp_dir,
)
from tests.chaos.test_process_faults import FAST_RECOVERY
from tests.pipeline import Pipeline, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

# With the broker or Kafka gone, tasks block (retry publishing, producer acks). They keep Celery's
# default time limits (30 s soft, 60 s hard): a soft limit that fires while a pool process is
# blocked on the broker can corrupt the pool's result pipe and bring the worker down (a Celery
# issue; see docs/operations.md), which a 6 s limit makes likely.
DEFAULT_LIMITS = {k: v for k, v in FAST_RECOVERY.items() if "TIME_LIMIT" not in k and "VISIBILITY" not in k}


def test_redis_restart_loses_its_data(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    """Redis (Celery broker, results, cluster store) is killed and comes back EMPTY: the queued
    tasks, the unacked ones and the results are gone. The bridge notices the new run id and
    dispatches every in-flight task again."""
    folder = tmp_dir("redis")
    redis = DedicatedRedis(folder)
    redis.start()
    try:
        p: Pipeline = chaos_pipeline(extra_env={**DEFAULT_LIMITS, "WARTA_FAULT_INJECT_DELAY_S": "0.3"},
                                     concurrency=2, start=False)  # fmt: skip
        # The enrich stage uses the dedicated Redis; the APIs keep the shared one.
        for name in ("bridge", "worker-1"):
            p.procs[name].env["WARTA_REDIS_URL"] = redis.url
        p.start()

        def fault(stream: Stream) -> None:
            redis.kill()
            time.sleep(3)
            redis.start()  # no persistence: a new, empty Redis with a new run id

        # Celery's worker can die when its broker vanishes (kombu raises while restoring unacked
        # messages on a closed connection: "Unrecoverable error: AttributeError ... hostname"):
        # like the compose file's restart policy, the supervisor starts it again. The number of
        # restarts is recorded.
        with Supervisor(p, ["worker-1"]) as supervisor:
            chaos_run(p, "redis_restart_empty", fault, fault_desc="SIGKILL Redis, start it again empty after 3 s",
                      worker_restarts=supervisor.restarts)  # fmt: skip
        log = (p.log_dir / "bridge.log").read_text(errors="replace")
        assert "redis restarted: re-dispatching every in-flight task" in log
    finally:
        redis.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_kafka_restart(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The (dedicated, single-node) Kafka is killed and restarted on its data mid-stream. The ingest
    API answers 503 meanwhile (clients retry); consumers and producers reconnect."""
    folder = tmp_dir("kafka")
    kafka = DedicatedKafka(folder)
    kafka.start()
    try:
        p: Pipeline = chaos_pipeline(start=False, concurrency=2,
                                     extra_env={**DEFAULT_LIMITS, "WARTA_KAFKA_BOOTSTRAP": kafka.bootstrap,
                                                "WARTA_PUBLISH_TIMEOUT_S": "5"})  # fmt: skip
        kafka.create_topics(p.ns.prefix)
        p.start()
        down: dict[str, float] = {}

        def fault(stream: Stream) -> None:
            kafka.kill()
            t0 = time.monotonic()
            time.sleep(5)
            kafka.start()  # returns when the broker answers again
            down["s"] = round(time.monotonic() - t0, 2)

        chaos_run(p, "kafka_restart", fault, fault_desc="SIGKILL Kafka, restart it on the same data after 5 s",
                  recover_timeout_s=240, kafka_down_s=down)  # fmt: skip
    finally:
        kafka.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _es_pipeline(chaos_pipeline, proxy: EsFaultProxy) -> tuple[Pipeline, int]:  # type: ignore[no-untyped-def]
    p: Pipeline = chaos_pipeline(start=False, concurrency=2, extra_env=FAST_RECOVERY)
    metrics_port = free_port()
    indexer = p.procs["indexer"]
    indexer.env["WARTA_ES_URL"] = proxy.url  # only the indexer goes through the proxy
    indexer.env["WARTA_METRICS_PORT"] = str(metrics_port)
    p.start()
    return p, metrics_port


def test_elasticsearch_unavailable_for_60s(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    """30 s of reset connections, then 30 s of 503s. The indexer pauses its partitions, backs off,
    keeps its group membership and resumes; nothing is lost or duplicated."""
    proxy = EsFaultProxy().start()
    try:
        p, metrics_port = _es_pipeline(chaos_pipeline, proxy)
        seen: dict[str, object] = {}

        def paused() -> float | None:
            return scrape(metrics_port, "warta_partitions_paused", {"stage": "search"})

        def fault(stream: Stream) -> None:
            with Sampler(paused, interval=0.5) as sampler:
                proxy.set_mode("refuse")
                time.sleep(30)
                proxy.set_mode("unavailable")
                time.sleep(30)
                seen["searchable_at_fault_end"] = searchable_count(p, stream)
                seen["accepted_at_fault_end"] = len(stream)
                proxy.set_mode("pass")
            seen["paused"] = sampler.values

        chaos_run(p, "es_unavailable_60s", fault, fault_desc="Elasticsearch unreachable for 60 s (30 s connection "
                  "resets, 30 s HTTP 503) between the indexer and ES")  # fmt: skip
        assert proxy.stats.refused > 0 and proxy.stats.unavailable > 0, proxy.stats
        assert 1.0 in seen["paused"], "the indexer never paused its partitions"  # type: ignore[operator]
        # The fault really stopped indexing: articles posted during it were not searchable.
        assert seen["searchable_at_fault_end"] < seen["accepted_at_fault_end"]  # type: ignore[operator]
        assert paused() == 0.0
    finally:
        proxy.stop()


def test_elasticsearch_answers_429(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    """15 s of 429 on every bulk request, then 15 s where half of every bulk's items get a 429."""
    proxy = EsFaultProxy().start()
    try:
        p, _ = _es_pipeline(chaos_pipeline, proxy)

        def fault(stream: Stream) -> None:
            proxy.set_mode("bulk429")
            time.sleep(15)
            proxy.set_mode("items429")
            time.sleep(15)
            proxy.set_mode("pass")

        chaos_run(p, "es_429", fault, fault_desc="15 s of HTTP 429 on every bulk, then 15 s of per-item 429 on half "
                  "of each bulk's items")  # fmt: skip
        assert proxy.stats.rejected_bulk > 0, proxy.stats
        assert proxy.stats.rejected_items > 0, proxy.stats
    finally:
        proxy.stop()
