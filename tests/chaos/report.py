"""Print artifacts/chaos-results.json as the Markdown table of docs/operations.md:
``python -m tests.chaos.report``."""

from __future__ import annotations

import json
import sys

from tests.chaos.harness import RESULTS

ORDER = ["worker_sigkill", "bridge_sigkill", "indexer_sigkill", "multi_worker", "redis_restart_empty", "kafka_restart",
         "es_unavailable_60s", "es_429", "backpressure",
         # make test-cluster (tests/cluster): three brokers, three Elasticsearch nodes, Redis with Sentinel.
         "cluster_broker_sigkill", "cluster_redis_master_sigkill_load", "cluster_redis_master_sigkill",
         "cluster_es_node_sigkill", "cluster_rolling_restart"]  # fmt: skip


def table(results: dict[str, dict[str, object]]) -> str:
    lines = [
        "| test | fault | articles | fault lasted (s) | recovery (s) | exactly once |",
        "|---|---|---|---|---|---|",
    ]
    for name in sorted(results, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        r = results[name]
        recovery = r.get("recovery_s", "-")
        if name == "backpressure":
            recovery = (
                f"drained in {r.get('drain_s')}; peak queue {r.get('peak_queue_length')} (bound {r.get('queue_bound')})"
            )
        ok = "yes" if r.get("passed") else "**FAILED**"
        lines.append(
            f"| `{name}` | {r.get('fault')} | {r.get('articles')} | {r.get('fault_s', '-')} | {recovery} | {ok} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(json.loads(RESULTS.read_text())))
    sys.exit(0)
