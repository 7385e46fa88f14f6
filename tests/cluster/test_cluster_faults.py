"""Faults on the cluster stack under load (issue #20, part 2): a steady stream of articles through
the whole pipeline, a real process killed, the same exactly-once check and recovery time as the
single-node chaos suite (tests/chaos/harness.py; table: ``python -m tests.chaos.report``)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from shared.kafka import delete_topics, ensure_topics
from shared.redis_clients import redis_client, sentinel_master
from shared.settings import CommonSettings
from shared.stack import infra, manager
from shared.stack.supervisor import read_pid, start
from shared.topics import Topic
from tests.chaos.harness import Stream, Supervisor, chaos_run, wait_until
from tests.chaos.test_infra_faults import DEFAULT_LIMITS
from tests.cluster.conftest import Cluster
from tests.conftest import ARTIFACTS
from tests.pipeline import Namespace, Pipeline, wait_for_topics

pytestmark = pytest.mark.cluster


@dataclass
class ClusterNamespace(Namespace):
    """A test's slice of the cluster stack: its topics (three replicas, six partitions), index
    (one replica) and Redis keys (through the sentinels)."""

    cluster_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.cluster_env}

    @property
    def settings(self) -> CommonSettings:
        env = {k.removeprefix("WARTA_").lower(): v for k, v in self.cluster_env.items()}
        return CommonSettings(**{**env, "topic_prefix": self.prefix, "index_prefix": self.prefix,  # type: ignore[arg-type]
                                 "redis_prefix": f"{self.prefix}warta:"})  # fmt: skip

    def create(self, partitions: int = 6) -> None:
        s = self.settings
        names = ensure_topics(s, partitions=partitions, replication=s.kafka_replication, timeout_s=60)
        wait_for_topics(s.kafka_bootstrap, names, partitions)

    def cleanup(self) -> None:
        s = self.settings
        try:
            delete_topics(s)
        except Exception:
            pass
        es = Elasticsearch(s.es_hosts)
        try:
            es.options(ignore_status=404).indices.delete(index=f"{self.prefix}*", expand_wildcards="all")
        finally:
            es.close()
        r = redis_client(s.redis_url, sentinels=s.redis_sentinels, master=s.redis_sentinel_master)
        try:
            keys = list(r.scan_iter(match=f"{self.prefix}*", count=1000))
            for i in range(0, len(keys), 500):
                r.delete(*keys[i : i + 500])
        except redis.RedisError:
            pass
        r.close()


def leaders(settings: CommonSettings, topic: str) -> dict[int, int]:
    """Broker id -> how many partitions of ``topic`` it leads."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","), client_id="warta-test")
    try:
        out: dict[int, int] = {}
        for part in admin.describe_topics([topic])[0]["partitions"]:
            out[part["leader"]] = out.get(part["leader"], 0) + 1
        return out
    finally:
        admin.close()


def under_replicated(settings: CommonSettings) -> int:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","), client_id="warta-test")
    try:
        names = [settings.topic(t) for t in Topic]
        return sum(len(p["isr"]) < len(p["replicas"]) for t in admin.describe_topics(names) for p in t["partitions"])
    finally:
        admin.close()


def test_sigkill_the_broker_leading_most_of_articles_raw_and_restart_it_after_20s(
    cluster: Cluster, request: pytest.FixtureRequest
) -> None:
    ns = ClusterNamespace(cluster_env=cluster.env)
    ns.create()
    settings = ns.settings
    log_dir = ARTIFACTS / request.node.name
    shutil.rmtree(log_dir, ignore_errors=True)  # the logs of an earlier run
    p = Pipeline(ns, log_dir, concurrency=2,
                 extra_env={**DEFAULT_LIMITS, "WARTA_RATE_LIMIT_PER_MINUTE": "1000000"})  # fmt: skip
    facts: dict[str, Any] = {}
    try:
        p.start(timeout=120)

        def fault(stream: Stream) -> None:
            led = leaders(settings, settings.topic(Topic.ARTICLES_RAW))
            victim_id = max(led, key=lambda b: led[b])
            victim = next(c for c in manager.cluster_components(cluster.settings, cluster.paths)
                          if c.name == f"kafka-{victim_id}")  # fmt: skip
            pid = read_pid(cluster.paths, victim.name)
            assert pid is not None and victim.port is not None
            accepted_before = len(stream)
            os.kill(pid, signal.SIGKILL)
            t0 = time.monotonic()
            # While it is down, the other two elect leaders for its partitions and keep taking
            # writes (min.insync.replicas=2 of 3).
            time.sleep(20)
            facts["accepted_while_down"] = len(stream) - accepted_before
            facts["victim"] = f"broker {victim_id}, leader of {led[victim_id]} of {sum(led.values())} partitions"
            start(cluster.paths, victim)
            wait_until(lambda: infra.kafka_healthy(victim.port), 120, "the killed broker answering again")
            facts["broker_down_s"] = round(time.monotonic() - t0, 1)

        chaos_run(p, "cluster_broker_sigkill", fault, recover_timeout_s=240, pre_s=10, post_s=10,
                  fault_desc="SIGKILL the broker leading most partitions of articles.raw (cluster), restart after 20 s",
                  facts=facts)  # fmt: skip
        # Writes never stopped: the stream kept getting 202s while the broker was down.
        assert facts["accepted_while_down"] > 0, facts
        t1 = time.monotonic()
        wait_until(lambda: under_replicated(settings) == 0, 180, "every partition fully in sync again")
        print(f"partitions back in sync {time.monotonic() - t1:.1f} s after the pipeline recovered")
    finally:
        p.stop()
        ns.cleanup()


def _role(port: int) -> str | None:
    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        return str(client.info("replication")["role"])
    except redis.RedisError:
        return None
    finally:
        client.close()


def test_sigkill_the_redis_master_under_load_sentinel_promotes_the_replica(
    cluster: Cluster, request: pytest.FixtureRequest
) -> None:
    """Celery's broker and results, the crawler state and the API limiters all reach Redis through
    the sentinels. Replication is asynchronous: tasks queued just before the kill may be missing on
    the promoted replica; the bridge sees a new ``run_id`` and dispatches its in-flight tasks again."""
    ns = ClusterNamespace(cluster_env=cluster.env)
    ns.create()
    s = cluster.settings
    log_dir = ARTIFACTS / request.node.name
    shutil.rmtree(log_dir, ignore_errors=True)  # the logs of an earlier run
    p = Pipeline(ns, log_dir, concurrency=2,
                 extra_env={**DEFAULT_LIMITS, "WARTA_RATE_LIMIT_PER_MINUTE": "1000000"})  # fmt: skip
    facts: dict[str, Any] = {}
    try:
        p.start(timeout=120)

        def fault(stream: Stream) -> None:
            old = sentinel_master(cluster.env["WARTA_REDIS_SENTINELS"], s.sentinel_master)
            assert old is not None
            victim = next(c for c in manager.cluster_components(s, cluster.paths) if c.port == old[1])
            pid = read_pid(cluster.paths, victim.name)
            assert pid is not None and victim.port is not None
            os.kill(pid, signal.SIGKILL)
            t0 = time.monotonic()
            new = wait_until(
                lambda: (m := sentinel_master(cluster.env["WARTA_REDIS_SENTINELS"], s.sentinel_master)) != old and m,
                90, "Sentinel naming a new master",
            )  # fmt: skip
            facts["promoted_after_s"] = round(time.monotonic() - t0, 1)
            facts["master"] = f"{old[1]} -> {new[1]}"
            time.sleep(max(0.0, 20 - (time.monotonic() - t0)))
            start(cluster.paths, victim)  # rejoins as a replica of the new master
            wait_until(lambda: _role(victim.port) == "slave", 60, "the old master rejoining as a replica")

        # Like compose's restart policy: a Celery worker whose broker vanished may exit.
        with Supervisor(p, ["worker-1", "bridge"]) as supervisor:
            chaos_run(p, "cluster_redis_master_sigkill_load", fault, recover_timeout_s=240, pre_s=10, post_s=10,
                      fault_desc="SIGKILL the Redis master under load (cluster); Sentinel promotes the replica; "
                                 "the old master restarts after 20 s", facts=facts, restarts=supervisor.restarts)  # fmt: skip
    finally:
        p.stop()
        ns.cleanup()
