"""Cluster mode without servers: the Sentinel helper, replicated topics, the idempotent producer,
the configs `warta stack up --cluster` writes for its brokers and nodes, and the status view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from redis.sentinel import SentinelConnectionPool

import shared.kafka as kafka_mod
from shared.kafka import ensure_topics, make_producer, replication_configs
from shared.redis_clients import async_redis_client, celery_redis, parse_sentinels, redis_client
from shared.settings import CommonSettings
from shared.stack import infra
from shared.stack import versions as V
from shared.stack.manager import ClusterStackSettings, cluster_components, cluster_env
from shared.status import aggregate_kafka_cluster, render


def test_sentinels_are_parsed_and_bad_entries_named() -> None:
    assert parse_sentinels("10.0.0.1:26379, s2:26380,") == [("10.0.0.1", 26379), ("s2", 26380)]
    assert parse_sentinels("") == []
    with pytest.raises(ValueError, match="WARTA_REDIS_SENTINELS: 's2' is not host:port"):
        parse_sentinels("s1:26379,s2")


def test_without_sentinels_a_client_is_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARTA_REDIS_SENTINELS", raising=False)
    client = redis_client("redis://127.0.0.1:6390/3")
    assert client.connection_pool.connection_kwargs["port"] == 6390
    assert client.connection_pool.connection_kwargs["db"] == 3
    assert celery_redis("redis://127.0.0.1:6390/3") == ("redis://127.0.0.1:6390/3", {})


def test_with_sentinels_every_client_asks_them_for_the_master(monkeypatch: pytest.MonkeyPatch) -> None:
    # Call sites hold only a URL: the sentinels come from the environment.
    monkeypatch.setenv("WARTA_REDIS_SENTINELS", "127.0.0.1:26379,127.0.0.1:26380")
    monkeypatch.setenv("WARTA_REDIS_SENTINEL_MASTER", "mymaster")
    client = redis_client("redis://ignored:6379/2", socket_timeout=1)
    assert isinstance(client.connection_pool, SentinelConnectionPool)
    assert client.connection_pool.service_name == "mymaster"
    assert client.connection_pool.connection_kwargs["db"] == 2
    aclient = async_redis_client("redis://ignored:6379/2")
    assert aclient.connection_pool.service_name == "mymaster"  # type: ignore[attr-defined]
    url, options = celery_redis("redis://ignored:6379/2")
    assert url == "sentinel://127.0.0.1:26379/2;sentinel://127.0.0.1:26380/2"
    assert options["master_name"] == "mymaster"


def test_the_celery_app_uses_sentinel_for_broker_and_results(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.enrich.celery_app import make_celery
    from services.enrich.settings import EnrichSettings

    app = make_celery(EnrichSettings(redis_sentinels="s1:26379,s2:26379", redis_sentinel_master="warta"))
    assert app.conf.broker_url == "sentinel://s1:26379/0;sentinel://s2:26379/0"
    assert app.conf.broker_transport_options["master_name"] == "warta"
    assert app.conf.broker_transport_options["visibility_timeout"] > 0
    assert app.conf.result_backend_transport_options["master_name"] == "warta"
    plain = make_celery(EnrichSettings(redis_sentinels=""))
    assert plain.conf.broker_url.startswith("redis://") and "master_name" not in plain.conf.broker_transport_options


def test_three_replicas_require_two_in_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    assert replication_configs(1) == {}
    assert replication_configs(2) == {"min.insync.replicas": "1"}
    assert replication_configs(3) == {"min.insync.replicas": "2"}
    created: list[Any] = []

    class Admin:
        def __init__(self, **_: Any) -> None: ...
        def list_topics(self) -> list[str]:
            return []

        def create_topics(self, topics: list[Any]) -> None:
            created.extend(topics)

        def close(self) -> None: ...

    monkeypatch.setattr(kafka_mod, "KafkaAdminClient", Admin)
    ensure_topics(CommonSettings(), partitions=6, replication=3)
    assert created and all(t.replication_factor == 3 for t in created)
    assert all(dict(t.topic_configs)["min.insync.replicas"] == "2" for t in created)


def test_producers_are_idempotent_with_acks_all(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(kafka_mod, "KafkaProducer", lambda **config: seen.update(config))
    make_producer(CommonSettings(kafka_bootstrap="a:1,b:2,c:3"))
    assert seen["acks"] == "all" and seen["enable_idempotence"] is True
    assert seen["bootstrap_servers"] == ["a:1", "b:2", "c:3"]


def test_es_url_may_list_every_node() -> None:
    assert CommonSettings(es_url="http://a:9200, http://b:9200").es_hosts == ["http://a:9200", "http://b:9200"]
    assert CommonSettings().es_hosts == ["http://127.0.0.1:9200"]


def _props(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _fake_kafka(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, paths: infra.Paths, name: str) -> None:
    (paths.data / name).mkdir(parents=True)
    (paths.data / name / "meta.properties").write_text("formatted")
    monkeypatch.setattr(infra, "kafka_jars", lambda _paths: tmp_path / "jars")
    monkeypatch.setattr(infra, "find_java_home", lambda _version: tmp_path / "jdk")


def test_a_cluster_broker_is_one_of_three_voters_with_replicated_internal_topics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    paths = infra.Paths(tmp_path)
    paths.ensure()
    _fake_kafka(monkeypatch, tmp_path, paths, "kafka-2")
    quorum = infra.KafkaQuorum(2, ((1, 29192), (2, 29193), (3, 29194)), "abcdefghijklmnopqrstuv")
    cmd, _ = infra.kafka_command(paths, 29093, 29193, quorum)
    props = _props(paths.conf / "kafka-2.properties")
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29192,2@127.0.0.1:29193,3@127.0.0.1:29194"
    assert props["log.dirs"] == str(paths.data / "kafka-2")
    assert props["offsets.topic.replication.factor"] == "3" and props["transaction.state.log.min.isr"] == "2"
    assert props["default.replication.factor"] == "3" and props["min.insync.replicas"] == "2"
    assert f"-Xmx{V.KAFKA_HEAP}" in cmd


def test_the_single_broker_config_is_unchanged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    paths = infra.Paths(tmp_path)
    paths.ensure()
    _fake_kafka(monkeypatch, tmp_path, paths, "kafka")
    infra.kafka_command(paths, 19092, 19093)
    props = _props(paths.conf / "kafka.properties")
    assert props["node.id"] == "1" and props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in props and "min.insync.replicas" not in props
    assert props["offsets.topic.replication.factor"] == "1"


def test_a_cluster_es_node_has_its_own_config_data_and_the_seed_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    paths = infra.Paths(tmp_path)
    paths.ensure()
    home = paths.es / "elasticsearch-x"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "elasticsearch").write_text("")
    (home / "config").mkdir()
    (home / "config" / "jvm.options").write_text("-XX:+UseG1GC\n")
    monkeypatch.setattr(infra, "es_home", lambda _paths: home)
    monkeypatch.setattr(infra, "find_java_home", lambda _version: tmp_path / "jdk")
    monkeypatch.setattr(infra, "_ensure_es_user", lambda: None)
    monkeypatch.setattr(infra, "_run", lambda *a, **k: "")
    seeds = (("warta-1", 9310), ("warta-2", 9311), ("warta-3", 9312))
    _, env, _ = infra.es_command(paths, 9211, infra.EsNode("warta-2", 9311, seeds))
    conf = Path(env["ES_PATH_CONF"])
    assert conf == paths.es / "config-warta-2" and (conf / "jvm.options").exists()
    yml = (conf / "elasticsearch.yml").read_text()
    assert "node.name: warta-2" in yml and "http.port: 9211" in yml and "transport.port: 9311" in yml
    assert "discovery.seed_hosts: [127.0.0.1:9310, 127.0.0.1:9311, 127.0.0.1:9312]" in yml
    assert "cluster.initial_master_nodes: [warta-1, warta-2, warta-3]" in yml
    assert f"path.data: {paths.es / 'es-data-warta-2'}" in yml and "single-node" not in yml
    assert env["ES_JAVA_OPTS"] == f"-Xms{V.ES_CLUSTER_HEAP} -Xmx{V.ES_CLUSTER_HEAP}"
    # The distribution's own config (the single-node stack's) is left alone.
    assert not (home / "config" / "elasticsearch.yml").exists()


def test_sentinel_config_watches_the_master_with_a_majority_quorum(tmp_path: Path) -> None:
    paths = infra.Paths(tmp_path)
    paths.ensure()
    infra.sentinel_command(paths, 26380, "warta", 16379, 2)
    conf = (paths.conf / "sentinel-26380.conf").read_text()
    assert "port 26380" in conf and "sentinel monitor warta 127.0.0.1 16379 2" in conf
    # Sentinel rewrites its file with what it learned (a failover): a second start keeps it.
    (paths.conf / "sentinel-26380.conf").write_text(conf + "sentinel known-replica warta 127.0.0.1 16380\n")
    infra.sentinel_command(paths, 26380, "warta", 16379, 2)
    assert "known-replica" in (paths.conf / "sentinel-26380.conf").read_text()


def test_the_cluster_stack_does_not_collide_with_the_single_node_stack(tmp_path: Path) -> None:
    from shared.stack.manager import StackSettings, components

    single = {c.port for c in components(StackSettings(), infra.Paths(tmp_path / "a"))}
    c = ClusterStackSettings()
    cluster = cluster_components(c, infra.Paths(tmp_path / "b"))
    ports = [comp.port for comp in cluster] + [*c.kafka_controller_ports, *c.es_transport_ports]
    assert len(cluster) == 11 and len(set(ports)) == len(ports)
    assert not set(ports) & (single | {9093, 9300})
    assert c.dir != StackSettings().dir
    env = cluster_env(c)
    assert env["WARTA_KAFKA_BOOTSTRAP"].count(",") == 2 and env["WARTA_ES_URL"].count(",") == 2
    assert env["WARTA_REDIS_SENTINELS"].count(",") == 2 and env["WARTA_ES_REPLICAS"] == "1"


def test_under_replicated_partitions_and_leaders_per_broker() -> None:
    cluster = {"controller_id": 2, "brokers": [{"node_id": n, "host": "h", "port": 9000 + n} for n in (3, 1, 2)]}
    topics = [{"topic": "articles.raw", "partitions": [
        {"partition": 0, "leader": 1, "replicas": [1, 2, 3], "isr": [1, 2, 3]},
        {"partition": 1, "leader": 1, "replicas": [2, 1, 3], "isr": [1, 3]},
        {"partition": 2, "leader": -1, "replicas": [3, 1, 2], "isr": []},
    ]}]  # fmt: skip
    out = aggregate_kafka_cluster(cluster, topics)
    assert [(b["id"], b["leads"], b["controller"]) for b in out["brokers"]] == [(1, 2, False), (2, 0, True),
                                                                                 (3, 0, False)]  # fmt: skip
    assert [u["partition"] for u in out["under_replicated"]] == [1, 2] and out["partitions"] == 3


def test_status_renders_the_cluster_section() -> None:
    report = {"cluster": {
        "kafka": {"brokers": [{"id": 1, "address": "127.0.0.1:29092", "leads": 10, "controller": True}],
                  "partitions": 10, "under_replicated": []},
        "elasticsearch": {"status": "green", "active_shards": 2, "unassigned_shards": 0,
                          "nodes": [{"name": "warta-1", "address": "127.0.0.1:9210", "heap_percent": "40",
                                     "master": True}]},
        "redis": {"mode": "sentinel", "name": "warta", "master": "127.0.0.1:16380", "sentinels": 3},
    }}  # fmt: skip
    text = render(report)
    assert "kafka: 1 broker(s), 0 under-replicated of 10 partition(s)" in text
    assert "broker 1   127.0.0.1:29092        leads 10  controller" in text
    assert "elasticsearch: green, 1 node(s), 2 active shard(s), 0 unassigned" in text
    assert "redis: sentinel master warta at 127.0.0.1:16380 (3 sentinel(s))" in text
    down = render({"cluster": {"kafka": {"error": "NoBrokersAvailable"}, "elasticsearch": {"error": "x"},
                               "redis": {"mode": "single", "master": "redis://r:6379/0"}}})  # fmt: skip
    assert "kafka: unavailable: NoBrokersAvailable" in down and "redis: single server redis://r:6379/0" in down
