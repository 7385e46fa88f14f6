"""Fixtures of the cluster suite (``make test-cluster``): tests marked ``cluster`` run against the
cluster stack (``warta stack up --cluster``, which the fixture starts if it is not running). They
are skipped unless selected with ``-m cluster``, so ``make test`` never starts three brokers and
three Elasticsearch nodes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from shared.stack import manager
from shared.stack.infra import Paths


@dataclass(frozen=True)
class Cluster:
    settings: manager.ClusterStackSettings
    paths: Paths
    env: dict[str, str]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "cluster" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="the cluster suite runs with -m cluster (make test-cluster)")
    for item in items:
        if item.get_closest_marker("cluster") and Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    """The running cluster stack (started here when it is not: idempotent)."""
    result = manager.up_cluster()
    s = manager.ClusterStackSettings()
    return Cluster(s, Paths(s.dir.resolve()), dict(result["env"]))  # type: ignore[call-overload]


def redis_role(port: int) -> str | None:
    """``master`` or ``slave`` as the Redis server on ``port`` reports it; None when it is down."""
    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        return str(client.info("replication")["role"])
    except redis.RedisError:
        return None
    finally:
        client.close()
