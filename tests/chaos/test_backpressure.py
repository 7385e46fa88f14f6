"""Backpressure: with slow workers and a small queue bound, the bridge pauses its partitions
instead of filling Redis, then resumes, and every article still arrives exactly once."""

from __future__ import annotations

import math
import time

import pytest
import redis

from services.enrich.bridge import POLL_BATCH
from services.enrich.settings import EnrichSettings
from tests.chaos.harness import (
    Sampler,
    Stream,
    assert_exactly_once,
    post_batch,
    record_result,
    scrape,
    wait_all_searchable,
    warm_up,
)
from tests.chaos.test_process_faults import FAST_RECOVERY
from tests.pipeline import REDIS_URL, Pipeline, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.redis]

MAX_QUEUE = 20  # tasks
TASK_BATCH = EnrichSettings.model_fields["task_batch_size"].default
# The bridge may overshoot the bound by one poll's worth of tasks.
ALLOWED_PEAK = MAX_QUEUE + math.ceil(POLL_BATCH / TASK_BATCH)
BURST = 800  # without backpressure the queue would reach BURST / TASK_BATCH (50) tasks, over ALLOWED_PEAK (33)


def test_slow_workers_pause_the_bridge_not_fill_redis(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A backlog of BURST articles waits in Kafka (the bridge was down); then the bridge starts
    against slow workers. It must hand Celery no more than the bound plus one poll's tasks."""
    bridge_metrics = free_port()
    p: Pipeline = chaos_pipeline(start=False, concurrency=2,
                                 extra_env={**FAST_RECOVERY, "WARTA_FAULT_INJECT_DELAY_S": "0.05",
                                            "WARTA_REDISPATCH_AFTER_S": "300",
                                            "WARTA_MAX_QUEUE_LENGTH": str(MAX_QUEUE)})  # fmt: skip
    bridge = p.procs["bridge"]
    bridge.env["WARTA_METRICS_PORT"] = str(bridge_metrics)
    p.start()
    warm_up(p)
    bridge.stop()
    r = redis.Redis.from_url(REDIS_URL)
    queue_key = f"{p.ns.prefix}warta:enrich"
    stream = Stream(p)
    try:
        post_batch(stream, BURST)
        with (
            Sampler(lambda: r.llen(queue_key), interval=0.05) as queue,
            Sampler(
                lambda: scrape(bridge_metrics, "warta_partitions_paused", {"stage": "enrich"}), interval=0.25
            ) as paused,
        ):
            t0 = time.monotonic()
            bridge.start()
            done = wait_all_searchable(p, stream, 300)
        assert_exactly_once(p, stream)
    finally:
        r.close()
    peak = max(queue.values)
    ok = peak <= ALLOWED_PEAK and 1.0 in paused.values and paused.values[-1] == 0.0
    record_result(
        "backpressure",
        fault=f"slow workers (+0.05 s per article, 2 processes), queue bound {MAX_QUEUE}, backlog of {BURST} when the bridge starts",
        passed=ok,
        articles=len(stream),
        peak_queue_length=peak,
        queue_bound=MAX_QUEUE,
        allowed_peak=ALLOWED_PEAK,
        paused_seen=1.0 in paused.values,
        drain_s=round(done - t0, 2),
    )
    assert peak <= ALLOWED_PEAK, f"the Celery queue reached {peak}"
    assert peak >= MAX_QUEUE * 0.8, f"the queue never approached its bound (peak {peak}): no backpressure exercised"
    assert 1.0 in paused.values, "warta_partitions_paused{stage=enrich} never became 1"
    assert paused.values[-1] == 0.0, "the bridge did not resume"
