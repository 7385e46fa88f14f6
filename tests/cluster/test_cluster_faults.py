"""Faults on the cluster stack under load (issue #20, part 2): a steady stream of articles through
the whole pipeline, a real process killed, the same exactly-once check and recovery time as the
single-node chaos suite (tests/chaos/harness.py; table: ``python -m tests.chaos.report``)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from shared.kafka import delete_topics, ensure_topics
from shared.redis_clients import redis_client, sentinel_master
from shared.settings import CommonSettings
from shared.stack import infra, manager
from shared.stack.supervisor import Component, read_pid, start, stop
from shared.topics import Topic
from tests.chaos.harness import Stream, Supervisor, chaos_run, wait_until
from tests.chaos.test_infra_faults import DEFAULT_LIMITS
from tests.cluster.conftest import Cluster, redis_role
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


@pytest.fixture
def pipeline(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    """The whole pipeline on the cluster, started, in a fresh namespace (logs in artifacts/<test>)."""
    ns = ClusterNamespace(cluster_env=cluster.env)
    ns.create()
    log_dir = ARTIFACTS / request.node.name
    shutil.rmtree(log_dir, ignore_errors=True)  # the logs of an earlier run
    p = Pipeline(ns, log_dir, concurrency=2,
                 extra_env={**DEFAULT_LIMITS, "WARTA_RATE_LIMIT_PER_MINUTE": "1000000"})  # fmt: skip
    try:
        p.start(timeout=120)
        yield p
    finally:
        p.stop()
        ns.cleanup()


def test_sigkill_the_broker_leading_most_of_articles_raw_and_restart_it_after_20s(
    cluster: Cluster, pipeline: Pipeline
) -> None:
    p = pipeline
    ns = p.ns
    settings = ns.settings
    facts: dict[str, Any] = {}

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


def test_sigkill_the_redis_master_under_load_sentinel_promotes_the_replica(
    cluster: Cluster, pipeline: Pipeline
) -> None:
    """Celery's broker and results, the crawler state and the API limiters all reach Redis through
    the sentinels. Replication is asynchronous: tasks queued just before the kill may be missing on
    the promoted replica; the bridge sees a new ``run_id`` and dispatches its in-flight tasks again."""
    p = pipeline
    s = cluster.settings
    facts: dict[str, Any] = {}

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
        wait_until(lambda: redis_role(victim.port) == "slave", 60, "the old master rejoining as a replica")

    # Like compose's restart policy: a Celery worker whose broker vanished may exit.
    with Supervisor(p, ["worker-1", "bridge"]) as supervisor:
        chaos_run(p, "cluster_redis_master_sigkill_load", fault, recover_timeout_s=240, pre_s=10, post_s=10,
                  fault_desc="SIGKILL the Redis master under load (cluster); Sentinel promotes the replica; "
                             "the old master restarts after 20 s", facts=facts, restarts=supervisor.restarts)  # fmt: skip


# --- Elasticsearch nodes and rolling restarts ---------------------------------------------------


def _es(cluster: Cluster) -> Elasticsearch:
    return Elasticsearch(cluster.env["WARTA_ES_URL"].split(","), request_timeout=30)


def primaries(cluster: Cluster, index: str) -> dict[str, int]:
    """Elasticsearch node name -> how many primary shards of ``index`` (a pattern) it holds."""
    es = _es(cluster)
    try:
        rows = es.cat.shards(index=index, format="json", h="index,shard,prirep,state,node")
    finally:
        es.close()
    out: dict[str, int] = {}
    for row in rows:
        if row["prirep"] == "p" and row.get("node"):
            out[row["node"]] = out.get(row["node"], 0) + 1
    return out


def es_green(cluster: Cluster, timeout_s: int = 5) -> bool:
    """The whole cluster green: every primary and replica assigned, three nodes."""
    es = _es(cluster)
    try:
        health = es.options(ignore_status=408).cluster.health(wait_for_status="green", timeout=f"{timeout_s}s")
        return health["status"] == "green" and health["number_of_nodes"] == len(cluster.settings.es_ports)
    except Exception:
        return False
    finally:
        es.close()


def es_component(cluster: Cluster, node_name: str) -> Component:
    # Node warta-<i> is the component elasticsearch-<i> (manager.cluster_components).
    name = f"elasticsearch-{node_name.removeprefix('warta-')}"
    return next(c for c in manager.cluster_components(cluster.settings, cluster.paths) if c.name == name)


def test_sigkill_the_elasticsearch_node_holding_the_articles_primary_and_restart_it_after_20s(
    cluster: Cluster, pipeline: Pipeline
) -> None:
    """The replica on another node is promoted; the indexer's bulk requests that fail meanwhile are
    retried (its client knows all three nodes). Ingest publishes to Kafka only, but it verifies API
    keys against Elasticsearch (cached for 30 s): the keys index, like every small index, has a
    replica on a cluster (shared/indices.py), so ingest never answers 503."""
    p = pipeline
    ns = p.ns
    facts: dict[str, Any] = {}

    def fault(stream: Stream) -> None:
        held = primaries(cluster, f"{ns.prefix}articles*")
        assert held, "the articles index has no assigned primary"
        node = max(held, key=lambda n: held[n])
        facts["keys_index_on_victim"] = node in primaries(cluster, f"{ns.prefix}warta-api-keys")
        victim = es_component(cluster, node)
        pid = read_pid(cluster.paths, victim.name)
        assert pid is not None and victim.port is not None
        port = victim.port
        accepted_before = len(stream)
        os.killpg(pid, signal.SIGKILL)  # the launcher and the server JVM
        t0 = time.monotonic()
        time.sleep(20)
        facts["accepted_while_down"] = len(stream) - accepted_before
        facts["victim"] = f"{node} ({victim.name}), primary of {held[node]} articles shard(s)"
        start(cluster.paths, victim)
        wait_until(partial(infra.es_healthy, port), 300, "the killed node answering again", interval=1)
        facts["node_down_s"] = round(time.monotonic() - t0, 1)
        wait_until(lambda: es_green(cluster), 300, "the cluster green again", interval=1)
        facts["green_after_s"] = round(time.monotonic() - t0, 1)

    outcome = chaos_run(p, "cluster_es_node_sigkill", fault, recover_timeout_s=300, pre_s=10, post_s=10,
                        fault_desc="SIGKILL the Elasticsearch node holding the articles primary (cluster), "
                                   "restart after 20 s", facts=facts)  # fmt: skip
    assert facts["accepted_while_down"] > 0, facts
    assert outcome.stream.retries == 0, f"ingest refused for {outcome.stream.longest_refusal_s:.1f} s"


def test_rolling_restart_of_every_broker_and_every_elasticsearch_node_under_load(
    cluster: Cluster, pipeline: Pipeline
) -> None:
    """One node at a time, as an upgrade does: SIGTERM (a broker's controlled shutdown moves its
    leaderships first), start it again, wait until it is back and the cluster whole (every
    partition's ISR full; Elasticsearch green) before the next. Every node holds some small index
    (API keys among them) at some point: with their replicas ingest never answers 503."""
    p = pipeline
    ns = p.ns
    settings = ns.settings
    facts: dict[str, Any] = {"restart_s": {}}

    def fault(stream: Stream) -> None:
        comps = manager.cluster_components(cluster.settings, cluster.paths)
        brokers = [c for c in comps if c.name.startswith("kafka-")]
        nodes = [c for c in comps if c.name.startswith("elasticsearch-")]
        for comp in brokers + nodes:
            assert comp.port is not None
            t0 = time.monotonic()
            assert stop(cluster.paths, comp.name, comp.stop_timeout_s), f"{comp.name} was not running"
            start(cluster.paths, comp)
            port = comp.port
            if comp.name.startswith("kafka-"):
                wait_until(partial(infra.kafka_healthy, port), 180, f"{comp.name} answering", interval=1)
                wait_until(lambda: under_replicated(settings) == 0, 300, "every ISR full", interval=1)
            else:
                wait_until(partial(infra.es_healthy, port), 300, f"{comp.name} answering", interval=1)
                wait_until(lambda: es_green(cluster), 300, "the cluster green", interval=1)
            facts["restart_s"][comp.name] = round(time.monotonic() - t0, 1)

    outcome = chaos_run(p, "cluster_rolling_restart", fault, recover_timeout_s=300, pre_s=10, post_s=10,
                        fault_desc="rolling restart (SIGTERM, back, ISR full / green, next) of the 3 brokers, "
                                   "then the 3 Elasticsearch nodes (cluster)", facts=facts)  # fmt: skip
    assert outcome.stream.retries == 0, f"ingest refused for {outcome.stream.longest_refusal_s:.1f} s"
