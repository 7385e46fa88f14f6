"""A consumer whose group coordinator dies backs off its coordinator lookups (shared/consumer/
coordinator.py). Without the backoff, kafka-python 2.3.3 looked the coordinator up about a thousand
times a second (two log lines each) until Kafka moved the group to another broker."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
from functools import partial
from typing import Any

import pytest

from shared.consumer import Apply, Message, Outcomes, StreamProcessor
from shared.kafka import DlqPublisher, make_consumer
from shared.stack import infra, manager
from shared.stack.supervisor import read_pid, start
from shared.topics import Stage, Topic
from tests.chaos.harness import RESULTS, wait_until
from tests.cluster.conftest import Cluster
from tests.cluster.test_cluster_faults import ClusterNamespace, under_replicated

pytestmark = pytest.mark.cluster

DOWN_S = 20.0
# What a backoff to 1 s allows in DOWN_S (about 25 lookups, two lines each) with a wide margin;
# without it a run logged about 25,000 lines in 12 s.
MAX_LINES = 200


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines = 0
        self.lookups = 0
        self.active = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.active:
            return
        msg = record.getMessage()
        if msg.startswith("Discovered coordinator"):
            self.lookups += 1
            self.lines += 1
        elif msg.startswith("Marking the coordinator dead"):
            self.lines += 1


def test_a_consumer_backs_off_looking_up_a_killed_group_coordinator(cluster: Cluster) -> None:
    ns = ClusterNamespace(cluster_env=cluster.env)
    ns.create()
    settings = ns.settings
    count = _Count()
    kafka_log = logging.getLogger("kafka.coordinator")
    old_level = kafka_log.level
    kafka_log.setLevel(logging.INFO)
    kafka_log.addHandler(count)

    def strategy(outcomes: Outcomes) -> Apply[Message[Any]]:
        return Apply(outcomes.done)

    consumer = make_consumer(settings, "coordinator-backoff")
    processor: StreamProcessor[Any] = StreamProcessor(
        consumer, Topic.ARTICLES_RAW, settings, strategy, DlqPublisher(settings, Stage.ENRICH)
    )
    stop = threading.Event()
    victim = None
    try:
        assert processor.subscribe(stop)

        def assigned() -> bool:
            processor.step()
            return bool(consumer.assignment())

        wait_until(assigned, 120, "partitions assigned", interval=0)
        coordinator_id = consumer._coordinator.coordinator_id
        node = int(re.sub(r"\D", "", str(coordinator_id)))
        victim = next(
            c for c in manager.cluster_components(cluster.settings, cluster.paths) if c.name == f"kafka-{node}"
        )
        pid = read_pid(cluster.paths, victim.name)
        assert pid is not None and victim.port is not None
        count.active = True
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + DOWN_S
        while time.monotonic() < deadline:
            processor.step()
        count.active = False
        start(cluster.paths, victim)
        wait_until(partial(infra.kafka_healthy, victim.port), 180, "the killed broker answering again")
        # The consumer still works: it has a live coordinator and its partitions.
        wait_until(assigned, 120, "partitions assigned after the fault", interval=0)
        backoff = getattr(consumer._coordinator, "_warta_backoff", None)
        result = {"coordinator": str(coordinator_id), "down_s": DOWN_S, "log_lines": count.lines,
                  "lookups_logged": count.lookups, "lookups_sent": getattr(backoff, "lookups", None),
                  "lookups_deferred": getattr(backoff, "deferred", None)}  # fmt: skip
        print(result)
        (RESULTS.parent / "cluster-coordinator-backoff.json").write_text(json.dumps(result, indent=2) + "\n")
        assert count.lines <= MAX_LINES, result
    finally:
        count.active = False
        kafka_log.removeHandler(count)
        kafka_log.setLevel(old_level)
        if victim is not None and read_pid(cluster.paths, victim.name) is None:
            start(cluster.paths, victim)
        stop.set()
        processor.close()
        wait_until(lambda: under_replicated(settings) == 0, 180, "every partition fully in sync again")
        ns.cleanup()
