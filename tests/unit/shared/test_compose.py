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
