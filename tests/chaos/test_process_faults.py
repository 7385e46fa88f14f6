"""Warta processes killed with SIGKILL in the middle of a steady stream: nothing is lost, nothing is
indexed twice, and the recovery time (fault end -> every article searchable) is recorded in
artifacts/chaos-results.json."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import Any

import pytest
from kafka import KafkaAdminClient

from tests.chaos.harness import Stream, chaos_run, wait_until
from tests.pipeline import KAFKA, ROOT, Pipeline, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

# Short timeouts so lost work is noticed in seconds, not minutes. Celery's visibility timeout must
# stay above the slowest task (the injected delay plus enrichment).
FAST_RECOVERY = {
    "WARTA_VISIBILITY_TIMEOUT_S": "10",
    "WARTA_REDISPATCH_AFTER_S": "15",
    "WARTA_TASK_SOFT_TIME_LIMIT_S": "6",
    "WARTA_TASK_TIME_LIMIT_S": "8",
    "WARTA_BACKOFF_MAX_S": "2",
    "WARTA_BATCH_MAX_MS": "200",
}


def test_sigkill_worker_mid_task(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    # Slow tasks (0.3 s each) so that the kills land while tasks are running.
    p: Pipeline = chaos_pipeline(extra_env={**FAST_RECOVERY, "WARTA_FAULT_INJECT_DELAY_S": "0.3"}, concurrency=2)
    worker = p.procs["worker-1"]

    def fault(stream: Stream) -> None:
        # First one pool process (Celery requeues its task: task_reject_on_worker_lost), then the
        # whole worker, main process and pool, and start a new one 2 s later.
        children = wait_until(worker.children, 20, "worker pool processes")
        import os
        import signal

        os.kill(children[0], signal.SIGKILL)
        time.sleep(2)
        worker.kill()
        time.sleep(2)
        worker.start()

    chaos_run(
        p, "worker_sigkill", fault, fault_desc="SIGKILL a pool process, then the whole Celery worker; restart after 2 s"
    )


def test_sigkill_bridge(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = chaos_pipeline(extra_env={**FAST_RECOVERY, "WARTA_FAULT_INJECT_DELAY_S": "0.2"}, concurrency=2)
    bridge = p.procs["bridge"]

    def fault(stream: Stream) -> None:
        bridge.kill()
        time.sleep(3)
        bridge.start()

    chaos_run(
        p, "bridge_sigkill", fault, fault_desc="SIGKILL the enrich bridge with tasks in flight; restart after 3 s"
    )


def test_sigkill_indexer(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = chaos_pipeline(extra_env=FAST_RECOVERY, concurrency=2)
    indexer = p.procs["indexer"]

    def fault(stream: Stream) -> None:
        indexer.kill()
        time.sleep(3)
        indexer.start()

    chaos_run(p, "indexer_sigkill", fault, fault_desc="SIGKILL the indexer; restart after 3 s")


def _group_members(group: str) -> dict[str, list[int]]:
    """Member client host/id -> assigned partitions of the consumer group."""
    admin = KafkaAdminClient(bootstrap_servers=KAFKA, client_id="chaos-probe")
    try:
        (desc,) = admin.describe_consumer_groups([group])
        out = {}
        for m in desc.members:
            # A member without an assignment yet carries empty bytes instead of a decoded one.
            assignment = m.member_assignment
            out[m.member_id] = sorted(tp.partition for tp in assignment.partitions()) if assignment else []
        return out
    finally:
        admin.close()


def test_three_workers_two_indexers(chaos_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A multi-worker deployment: 3 Celery worker processes and 2 indexers in one consumer group.
    Mid-stream one indexer dies; the other takes over its partitions."""
    p: Pipeline = chaos_pipeline(extra_env={**FAST_RECOVERY, "WARTA_FAULT_INJECT_DELAY_S": "0.1"}, workers=3,
                                   concurrency=1, indexers=2, start=False)  # fmt: skip
    metrics = {name: free_port() for name in ("bridge", "indexer", "indexer-2", "worker-1", "worker-2", "worker-3")}
    for name, port in metrics.items():
        p.procs[name].env["WARTA_METRICS_PORT"] = str(port)
    p.start()
    group = f"{p.ns.prefix}search-indexer"
    members = wait_until(lambda: len(m := _group_members(group)) == 2 and all(m.values()) and m, 60,
                         "both indexers assigned partitions")  # fmt: skip
    assert sorted(x for parts in members.values() for x in parts) == [0, 1, 2]

    def fault(stream: Stream) -> None:
        p.procs["indexer-2"].kill()
        # The survivor owns every partition once the group notices (session timeout 10 s).
        wait_until(lambda: list(_group_members(group).values()) == [[0, 1, 2]], 60, "rebalance onto one indexer")

    outcome = chaos_run(p, "multi_worker", fault, rate=8.0, fault_desc="3 workers + 2 indexers; SIGKILL one indexer, "
                        "the other takes over its partitions", workers=3, indexers=2)  # fmt: skip
    # Every worker process did part of the work.
    done_by = {}
    for i in (1, 2, 3):
        log = (p.log_dir / f"worker-{i}.log").read_text(errors="replace")
        done_by[i] = len(re.findall(r'"msg": "enriched"', log))
    assert all(n > 0 for n in done_by.values()), f"tasks per worker: {done_by}"
    assert len(outcome.stream) >= 40

    # `warta status` sees the same deployment: no lag left, nothing queued or in a DLQ, every
    # document counted, stage timings from every process (indexer-2 is dead and not scraped).
    urls = [f"--metrics=http://127.0.0.1:{port}/metrics" for port in metrics.values()]
    urls.append(f"--metrics={p.ingest_url}/metrics")

    def status() -> dict[str, Any]:
        out = subprocess.run([sys.executable, "-m", "shared.status", "--json", "--no-stack", *urls], env=p.env,
                             capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
        assert out.returncode == 0, out.stderr + out.stdout
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    no_lag = {"enrich-bridge": 0, "search-indexer": 0, "search-alerts": 0}
    report = wait_until(lambda: (r := status())["lag"]["total"] == no_lag and r, 30, "warta status: no lag")
    assert len(report["lag"]["partitions"]) == 9
    assert report["queue"]["length"] == 0
    assert report["dlq"] == {"enrich": 0, "search": 0}
    assert report["index"]["docs"] == len(outcome.stream) + 1  # the stream and the warm-up article
    assert report["index"]["indices"] == [f"{p.ns.prefix}articles-v1"]
    stages = report["stages"]["per_stage"]
    assert {"ingest", "enrich", "search"} <= set(stages), stages
    assert report["stages"]["slowest"] in stages
    assert stages["enrich"]["count"] >= len(outcome.stream)
