"""docker-compose.yml: valid against the Compose Specification schema, and complete with respect
to what the code expects (Docker cannot run on the CI machines, so this is how it is checked)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

from shared.cli import COMMANDS
from shared.stack import versions as V

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SPEC = json.loads((Path(__file__).parent / "compose-spec.json").read_text())

PROCESSES = {
    "ingest-api": ("ingest", "serve"),
    "ingest-crawler": ("ingest", "crawler"),
    "enrich-bridge": ("enrich", "bridge"),
    "enrich-worker": ("enrich", "worker"),
    "search-indexer": ("search", "indexer"),
    "search-alerts": ("search", "alerts"),
    "search-digests": ("search", "digests"),
    "search-api": ("search", "serve"),
}


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    validator = jsonschema.Draft7Validator(SPEC)
    errors = sorted(validator.iter_errors(COMPOSE), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])


def test_every_warta_process_is_a_service_running_a_real_command() -> None:
    services = COMPOSE["services"]
    for name, command in PROCESSES.items():
        assert name in services, f"compose lacks {name}"
        assert tuple(services[name]["command"][:2]) == command
        assert command in COMMANDS
    assert tuple(services["setup"]["command"][:2]) in COMMANDS


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies() -> None:
    for name, svc in COMPOSE["services"].items():
        if name != "setup":
            assert "healthcheck" in svc, f"{name} has no healthcheck"
        for dep, cond in svc.get("depends_on", {}).items():
            assert cond["condition"] == "service_healthy", f"{name} -> {dep}"


def test_images_match_the_local_stack_versions() -> None:
    s = COMPOSE["services"]
    assert s["kafka"]["image"] == f"apache/kafka:{V.KAFKA_VERSION}"
    assert s["elasticsearch"]["image"].endswith(f"elasticsearch:{V.ES_VERSION}")
    assert s["redis"]["image"].startswith(f"redis:{V.REDIS_MAJOR}")


def test_data_lives_in_named_volumes() -> None:
    for name in ("kafka", "elasticsearch", "redis"):
        vols = COMPOSE["services"][name]["volumes"]
        assert any(v.split(":")[0] in COMPOSE["volumes"] for v in vols)


def test_workers_can_scale_horizontally() -> None:
    # A service with a fixed container_name or a published host port cannot be scaled.
    for name in ("enrich-worker", "search-indexer", "enrich-bridge", "search-alerts"):
        svc = COMPOSE["services"][name]
        assert "container_name" not in svc and "ports" not in svc


def test_required_settings_are_required_in_compose() -> None:
    """Settings without a default must be set in compose with ${VAR:?message}."""
    from services.enrich.settings import EnrichSettings
    from services.ingest.settings import IngestSettings
    from services.search.settings import AlertsSettings, SearchSettings

    text = (ROOT / "docker-compose.yml").read_text()
    required_in_compose = set(re.findall(r"\$\{(WARTA_[A-Z_]+):\?", text))
    env = COMPOSE["services"]["search-api"]["environment"]
    for cls in (IngestSettings, EnrichSettings, SearchSettings, AlertsSettings):
        for field_name, field in cls.model_fields.items():
            var = f"WARTA_{field_name.upper()}"
            if field.is_required():
                assert var in required_in_compose, f"{var} is required by {cls.__name__} but not by compose"
    for var in ("WARTA_KAFKA_BOOTSTRAP", "WARTA_ES_URL", "WARTA_REDIS_URL"):
        assert var in env


# --- docker-compose.cluster.yml: the topology of `warta stack up --cluster` -----------------------

CLUSTER = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())


def _merge(base: object, override: object) -> object:
    """Compose's merge of an override file: mappings merge key by key, anything else is replaced
    (``command``, ``healthcheck.test``; the override here never adds to a list)."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merge(base[k], v) if k in base else v for k, v in {**base, **override}.items()}
    return override


MERGED: dict = _merge(COMPOSE, CLUSTER)  # type: ignore[assignment]


def test_cluster_override_and_the_merged_file_are_valid_against_the_compose_spec() -> None:
    validator = jsonschema.Draft7Validator(SPEC)
    for doc in (CLUSTER, MERGED):
        errors = sorted(validator.iter_errors(doc), key=str)
        assert not errors, "\n".join(e.message for e in errors[:5])


def test_cluster_has_three_kraft_voters_with_replicated_internal_topics() -> None:
    s = MERGED["services"]
    brokers = ["kafka", "kafka-2", "kafka-3"]
    ids = {s[b]["environment"]["KAFKA_NODE_ID"] for b in brokers}
    assert ids == {"1", "2", "3"}
    for b in brokers:
        env = s[b]["environment"]
        assert s[b]["image"] == f"apache/kafka:{V.KAFKA_VERSION}"
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{b}:9092"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2" and env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_HEAP_OPTS"] == "-Xms512m -Xmx512m"
        assert env["CLUSTER_ID"] == s["kafka"]["environment"]["CLUSTER_ID"]
        assert "healthcheck" in s[b] and s[b]["volumes"]
    assert "--replication" in s["setup"]["command"] and "3" in s["setup"]["command"]


def test_cluster_has_three_elasticsearch_nodes_that_discover_each_other() -> None:
    s = MERGED["services"]
    nodes = ["elasticsearch", "elasticsearch-2", "elasticsearch-3"]
    names = [s[n]["environment"]["node.name"] for n in nodes]
    for n in nodes:
        env = s[n]["environment"]
        assert s[n]["image"].endswith(f"elasticsearch:{V.ES_VERSION}")
        assert env.get("discovery.type", "multi-node") == "multi-node"
        assert env["discovery.seed_hosts"].split(",") == nodes
        assert env["cluster.initial_master_nodes"].split(",") == names
        assert env["ES_JAVA_OPTS"] == f"-Xms{V.ES_CLUSTER_HEAP} -Xmx{V.ES_CLUSTER_HEAP}"
        assert s[n]["volumes"]


def test_cluster_has_a_redis_replica_and_three_sentinels_with_a_majority_quorum() -> None:
    s = MERGED["services"]
    assert s["redis-replica"]["command"][-3:] == ["--replicaof", "redis", "6379"]
    sentinels = [n for n in s if n.startswith("sentinel-")]
    assert len(sentinels) == 3
    for n in sentinels:
        script = s[n]["command"][0]
        assert "sentinel monitor warta redis 6379 2" in script and "--sentinel" in script
        assert s[n]["image"].startswith(f"redis:{V.REDIS_MAJOR}")


def test_every_warta_process_uses_the_whole_cluster_and_waits_for_it() -> None:
    s = MERGED["services"]
    infra_services = {"kafka", "kafka-2", "kafka-3", "elasticsearch", "elasticsearch-2", "elasticsearch-3", "redis",
                      "sentinel-1", "sentinel-2", "sentinel-3"}  # fmt: skip
    for name in [*PROCESSES, "setup"]:
        env = s[name]["environment"]
        assert env["WARTA_KAFKA_BOOTSTRAP"] == "kafka:9092,kafka-2:9092,kafka-3:9092", name
        assert len(env["WARTA_ES_URL"].split(",")) == 3 and env["WARTA_ES_REPLICAS"] == "1"
        assert env["WARTA_REDIS_SENTINELS"] == "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379"
        assert env["WARTA_REDIS_SENTINEL_MASTER"] == "warta"
        assert infra_services <= set(s[name]["depends_on"]), name
    # The override keeps what the main file gives each process (its secrets, its own settings).
    assert s["search-alerts"]["environment"]["WARTA_WEBHOOK_SECRET"].startswith("${WARTA_WEBHOOK_SECRET:?")
    assert s["search-api"]["environment"]["WARTA_INGEST_URL"] == "http://ingest-api:8001"
    for name, svc in s.items():
        if name != "setup":
            assert "healthcheck" in svc, f"{name} has no healthcheck"
        for dep, cond in svc.get("depends_on", {}).items():
            assert cond["condition"] == "service_healthy", f"{name} -> {dep}"
            assert dep in s
    for name, svc in s.items():
        for v in svc.get("volumes", []):
            assert v.split(":")[0] in MERGED["volumes"], (name, v)
