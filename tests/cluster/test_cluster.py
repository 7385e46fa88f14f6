"""The cluster stack: three KRaft brokers, three Elasticsearch nodes, Redis with a replica and three
sentinels, and what Warta makes of them (replicated topics, a replicated index, `warta status`,
a Redis failover the clients ride through)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from services.search.index import Layout, ensure_index, ensure_month, index_name
from shared.kafka import make_producer
from shared.redis_clients import redis_client, sentinel_master
from shared.settings import CommonSettings
from shared.stack import manager
from shared.stack.supervisor import read_pid, start
from shared.topics import TOPIC_SPECS
from tests.chaos.harness import record_result, wait_until
from tests.cluster.conftest import Cluster, redis_role
from tests.small_indices import create_every_small_index

pytestmark = pytest.mark.cluster


def settings_of(cluster: Cluster, **overrides: str) -> CommonSettings:
    env = {k.removeprefix("WARTA_").lower(): v for k, v in cluster.env.items()}
    return CommonSettings(**{**env, **overrides})  # type: ignore[arg-type]


def test_every_node_of_the_cluster_is_up(cluster: Cluster) -> None:
    rows = manager.status_cluster()
    names = {r["component"] for r in rows}
    assert {"kafka-1", "kafka-2", "kafka-3", "elasticsearch-1", "elasticsearch-2", "elasticsearch-3", "redis",
            "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"} <= names  # fmt: skip
    assert [r["component"] for r in rows if not r["healthy"]] == []


def test_topics_have_three_replicas_and_two_in_sync_replicas_required(cluster: Cluster) -> None:
    settings = settings_of(cluster)
    names = [settings.topic(spec.topic) for spec in TOPIC_SPECS]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","), client_id="warta-test")
    try:
        assert {b["node_id"] for b in admin.describe_cluster()["brokers"]} == {1, 2, 3}
        for topic in admin.describe_topics(names):
            assert len(topic["partitions"]) == cluster.settings.partitions, topic["topic"]
            for part in topic["partitions"]:
                assert sorted(part["replicas"]) == [1, 2, 3], (topic["topic"], part)
        responses = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, configs={"min.insync.replicas": None}) for n in names]
        )
        values = {res[3]: {e[0]: e[1] for e in res[4]} for r in responses for res in r.resources}
        assert {n: values[n]["min.insync.replicas"] for n in names} == dict.fromkeys(names, "2")
    finally:
        admin.close()


def test_producers_write_to_the_cluster_with_acks_all_and_idempotence(cluster: Cluster) -> None:
    """With min.insync.replicas=2 an acks=all write is acknowledged once two replicas have it."""
    settings = settings_of(cluster, topic_prefix="")
    producer = make_producer(settings)
    try:
        assert producer.config["enable_idempotence"] is True
        assert producer.config["acks"] == -1  # "all"
        meta = producer.send(settings.topic(TOPIC_SPECS[0].topic), key=b"cluster-test", value=b"{}").get(timeout=30)
        assert meta.offset >= 0
    finally:
        producer.close()


def test_the_articles_index_gets_one_replica_and_the_cluster_is_green(cluster: Cluster) -> None:
    prefix = f"warta-test-{uuid.uuid4().hex[:8]}-"
    settings = settings_of(cluster, index_prefix=prefix)
    assert settings.es_replicas == 1 and len(settings.es_hosts) == 3
    es = Elasticsearch(settings.es_hosts, request_timeout=30)
    try:
        ensure_index(es, settings.index_prefix, Layout.of(settings))
        name = index_name(prefix)
        health = es.cluster.health(index=name, wait_for_status="green", timeout="60s")
        assert health["status"] == "green" and not health["timed_out"]
        assert es.indices.get_settings(index=name)[name]["settings"]["index"]["number_of_replicas"] == "1"
        shards = es.cat.shards(index=name, format="json", h="prirep,node,state")
        assert sorted(s["prirep"] for s in shards) == ["p", "r"]
        assert all(s["state"] == "STARTED" for s in shards)
        assert len({s["node"] for s in shards}) == 2, shards  # never a primary and its replica on one node
        assert es.cluster.health()["number_of_nodes"] == 3

        # A month of the monthly layout with three primaries: green, each replica on another node.
        month = index_name(prefix, month="2025.05")
        ensure_month(es, prefix, "2025.05", Layout(shards=3, replicas=1, period="month"))
        health = es.cluster.health(index=month, wait_for_status="green", timeout="60s")
        assert health["status"] == "green" and not health["timed_out"]
        shards = es.cat.shards(index=month, format="json", h="shard,prirep,node,state")
        assert sorted(s["prirep"] for s in shards) == ["p", "p", "p", "r", "r", "r"]
        for shard in ("0", "1", "2"):
            assert len({s["node"] for s in shards if s["shard"] == shard}) == 2, shards
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*")
        es.close()


def test_warta_status_shows_every_broker_every_node_and_the_sentinel_master(cluster: Cluster) -> None:
    env = {**os.environ, **cluster.env}
    out = subprocess.run([sys.executable, "-m", "shared.status", "--json", "--no-stack"], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    report = json.loads(out.stdout)["cluster"]
    kafka, es, rds = report["kafka"], report["elasticsearch"], report["redis"]
    assert [b["address"] for b in kafka["brokers"]] == [f"127.0.0.1:{p}" for p in cluster.settings.kafka_ports]
    assert kafka["partitions"] >= cluster.settings.partitions * len(TOPIC_SPECS)
    assert kafka["under_replicated"] == []
    assert sum(b["leads"] for b in kafka["brokers"]) == kafka["partitions"]
    assert [n["address"] for n in es["nodes"]] == [f"127.0.0.1:{p}" for p in cluster.settings.es_ports]
    assert es["status"] in {"green", "yellow"} and sum(n["master"] for n in es["nodes"]) == 1
    master = sentinel_master(cluster.env["WARTA_REDIS_SENTINELS"], cluster.settings.sentinel_master)
    assert master is not None
    assert rds == {"mode": "sentinel", "name": "warta", "master": f"{master[0]}:{master[1]}", "sentinels": 3}
    text = subprocess.run([sys.executable, "-m", "shared.status", "--no-stack"], env=env, capture_output=True,
                          text=True, timeout=120).stdout  # fmt: skip
    assert "kafka: 3 broker(s), 0 under-replicated" in text
    assert f"redis: sentinel master warta at {master[0]}:{master[1]} (3 sentinel(s))" in text
    assert text.count("    node warta-") == 3


def test_sigkill_the_redis_master_sentinel_promotes_the_replica_and_the_client_keeps_working(cluster: Cluster) -> None:
    s = cluster.settings
    sentinels, name = cluster.env["WARTA_REDIS_SENTINELS"], s.sentinel_master
    client = redis_client(cluster.env["WARTA_REDIS_URL"], sentinels=sentinels, master=name,
                          socket_timeout=1, socket_connect_timeout=1)  # fmt: skip
    key = f"warta-test:{uuid.uuid4().hex}"
    try:
        client.set(key, "before", ex=600)
        assert client.wait(1, 10_000) == 1  # the replica has it before the master dies
        old = sentinel_master(sentinels, name)
        assert old is not None
        victim = next(c for c in manager.cluster_components(s, cluster.paths) if c.port == old[1])
        replica_port = s.redis_replica_port if old[1] == s.redis_port else s.redis_port
        assert redis_role(replica_port) == "slave"
        pid = read_pid(cluster.paths, victim.name)
        assert pid is not None

        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)

        def write() -> bool:
            try:
                return bool(client.set(f"{key}:after", "after", ex=600))
            except redis.RedisError:
                return False

        # The same client object, no reconfiguration: the sentinels name the promoted replica.
        wait_until(write, 90, "a write through the Sentinel client after the master was killed", interval=0.2)
        recovery_s = time.monotonic() - t0
        assert sentinel_master(sentinels, name) == ("127.0.0.1", replica_port)
        assert redis_role(replica_port) == "master"
        assert client.get(key) == b"before"  # nothing acknowledged by the replica was lost

        # The killed server comes back as a replica of the new master.
        start(cluster.paths, victim)
        wait_until(lambda: redis_role(old[1]) == "slave", 60, "the old master rejoining as a replica")
        record_result("cluster_redis_master_sigkill", fault="SIGKILL the Redis master; Sentinel promotes the replica",
                      articles="-", fault_s="-", recovery_s=round(recovery_s, 1), passed=True)  # fmt: skip
    finally:
        try:
            client.delete(key, f"{key}:after")
        except redis.RedisError:
            pass
        client.close()


def test_celery_reaches_the_redis_master_through_sentinel(cluster: Cluster) -> None:
    from services.enrich.celery_app import make_celery
    from services.enrich.settings import EnrichSettings

    prefix = f"warta-test-{uuid.uuid4().hex[:8]}:"
    env = {k.removeprefix("WARTA_").lower(): v for k, v in cluster.env.items()}
    settings = EnrichSettings(**{**env, "redis_prefix": prefix})  # type: ignore[arg-type]
    app = make_celery(settings)
    assert app.conf.broker_url.startswith("sentinel://127.0.0.1:26379/0;sentinel://")
    assert app.conf.broker_transport_options["master_name"] == "warta"
    client = redis_client(settings.redis_url, sentinels=settings.redis_sentinels, master="warta")
    try:
        app.send_task("warta.test.noop", args=["x"], queue=settings.queue)
        assert client.llen(f"{prefix}{settings.queue}") == 1  # on the master the sentinels name
    finally:
        client.delete(f"{prefix}{settings.queue}")
        client.close()
        app.close()


def test_every_small_index_gets_a_replica_on_the_cluster(cluster: Cluster) -> None:
    """API keys, audit, tombstones, monitors, digests, press releases and the crawler's registry:
    with three nodes each has a replica on another node (``auto_expand_replicas: 0-1``), so losing
    the node that holds one leaves it readable and writable."""
    prefix = f"warta-test-{uuid.uuid4().hex[:8]}-"
    settings = settings_of(cluster, index_prefix=prefix)
    es = Elasticsearch(settings.es_hosts, request_timeout=30)
    try:
        create_every_small_index(es, prefix)
        names = sorted(es.indices.get(index=f"{prefix}*"))
        assert len(names) >= 12, names
        health = es.cluster.health(index=f"{prefix}*", wait_for_status="green", timeout="60s")
        assert health["status"] == "green" and not health["timed_out"]
        for name in names:
            assert es.indices.get_settings(index=name)[name]["settings"]["index"]["number_of_replicas"] == "1", name
            shards = es.cat.shards(index=name, format="json", h="prirep,node,state")
            assert sorted(s["prirep"] for s in shards) == ["p", "r"], (name, shards)
            assert len({s["node"] for s in shards}) == 2, (name, shards)
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*")
        es.close()
