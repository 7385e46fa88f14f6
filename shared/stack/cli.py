"""CLI handlers for ``warta stack``."""

from __future__ import annotations

import argparse
import json
import sys

from shared.stack import manager
from shared.stack.infra import StackError


def stack_up(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta stack up", description="Provision and start the whole local stack.")
    p.add_argument("--infra-only", action="store_true", help="only Kafka, Elasticsearch and Redis")
    p.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    p.add_argument("--cluster", action="store_true",
                   help="three Kafka brokers, three Elasticsearch nodes, Redis with a replica and Sentinel, in "
                        ".stack-cluster/ next to the single-node stack (infrastructure only; prints the env to export)")  # fmt: skip
    a = p.parse_args(argv)
    if a.cluster:
        try:
            cluster = manager.up_cluster()
        except StackError as exc:
            print(f"warta stack up --cluster: {exc}", file=sys.stderr)
            return 1
        print(f"Cluster is up in {cluster['infra_seconds']} s. Use it with: . {cluster['env_file']}")
        for k, v in dict(cluster["env"]).items():  # type: ignore[call-overload]
            print(f"export {k}={v}")
        return 0
    try:
        result = manager.up(infra_only=a.infra_only, demo=not a.no_demo)
    except StackError as exc:
        print(f"warta stack up: {exc}", file=sys.stderr)
        return 1
    if a.infra_only:
        print(json.dumps(result))
    else:
        manager.print_up(result)
    return 0


def stack_down(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta stack down")
    p.add_argument("--cluster", action="store_true", help="stop the cluster stack (.stack-cluster/) instead")
    a = p.parse_args(argv)
    stopped = manager.down_cluster() if a.cluster else manager.down()
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def stack_status(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta stack status")
    p.add_argument("--json", action="store_true")
    p.add_argument("--cluster", action="store_true", help="the cluster stack's processes")
    a = p.parse_args(argv)
    rows = manager.status_cluster() if a.cluster else manager.status()
    if a.json:
        print(json.dumps(rows))
    else:
        manager.print_status(rows)
    return 0


def stack_versions(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta stack versions").parse_args(argv)
    print(json.dumps(manager.versions()))
    return 0


def stack_init(argv: list[str]) -> int:
    """Create the topics with explicit partition counts (idempotent); used by docker compose."""
    p = argparse.ArgumentParser(prog="warta stack init")
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument(
        "--replication", type=int, default=None, help="replicas per partition (default WARTA_KAFKA_REPLICATION)"
    )
    a = p.parse_args(argv)
    from shared.kafka import ensure_topics
    from shared.settings import CommonSettings

    settings = CommonSettings()
    replication = a.replication or settings.kafka_replication
    names = ensure_topics(settings, partitions=a.partitions, replication=replication, timeout_s=120)
    print("topics: " + ", ".join(names))
    return 0
