"""``warta stack up|down|status``: the whole local system as plain processes.

``up`` provisions what is missing (Redis from Debian, Kafka jars and the Elasticsearch
integ-test-zip from Maven Central, a JDK), starts the infrastructure, creates the topics, starts the
Warta processes, loads the demo data and prints where to look. It is idempotent: whatever is
already running and healthy is left alone.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.kafka import ensure_topics
from shared.settings import CommonSettings
from shared.stack import infra
from shared.stack import versions as V
from shared.stack.infra import Paths, StackError
from shared.stack.supervisor import Component, pid_alive, read_pid, start, stop


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARTA_STACK_", extra="ignore")

    dir: Path = Path(".stack")
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    es_port: int = 9200
    redis_port: int = 6379
    ingest_port: int = 8001
    search_port: int = 8002
    demo_sites_port: int = 8101
    metrics_base_port: int = 9101
    workers: int = 1
    worker_concurrency: int = 2


class ClusterStackSettings(BaseSettings):
    """The cluster stack (``warta stack up --cluster``): its own folder and ports, so it runs next
    to the single-node stack. Each list holds one port per node."""

    model_config = SettingsConfigDict(env_prefix="WARTA_CLUSTER_", extra="ignore")

    dir: Path = Path(".stack-cluster")
    kafka_ports: tuple[int, int, int] = (29092, 29093, 29094)
    kafka_controller_ports: tuple[int, int, int] = (29192, 29193, 29194)
    es_ports: tuple[int, int, int] = (9210, 9211, 9212)
    es_transport_ports: tuple[int, int, int] = (9310, 9311, 9312)
    redis_port: int = 16379
    redis_replica_port: int = 16380
    sentinel_ports: tuple[int, int, int] = (26379, 26380, 26381)
    sentinel_master: str = "warta"
    partitions: int = 6


def cluster_env(c: ClusterStackSettings) -> dict[str, str]:
    """What a Warta process (or ``warta status``) needs to use the cluster stack."""
    return {
        "WARTA_KAFKA_BOOTSTRAP": ",".join(f"127.0.0.1:{p}" for p in c.kafka_ports),
        "WARTA_KAFKA_REPLICATION": str(len(c.kafka_ports)),
        "WARTA_ES_URL": ",".join(f"http://127.0.0.1:{p}" for p in c.es_ports),
        "WARTA_ES_REPLICAS": "1",
        # Used only without Sentinel; with it, clients ask the sentinels for the master.
        "WARTA_REDIS_URL": f"redis://127.0.0.1:{c.redis_port}/0",
        "WARTA_REDIS_SENTINELS": ",".join(f"127.0.0.1:{p}" for p in c.sentinel_ports),
        "WARTA_REDIS_SENTINEL_MASTER": c.sentinel_master,
    }


def cluster_components(c: ClusterStackSettings, paths: Paths) -> list[Component]:
    """Redis master, replica and three sentinels (quorum 2), three KRaft brokers that are also the
    three controller voters, three Elasticsearch nodes (all master-eligible)."""

    def kafka_id() -> str:
        return infra.read_or_create_secret(paths.root / "kafka-cluster-id", lambda: uuid.uuid4().hex[:22])

    voters = tuple((i + 1, p) for i, p in enumerate(c.kafka_controller_ports))
    seeds = tuple((f"warta-{i + 1}", p) for i, p in enumerate(c.es_transport_ports))
    comps = [
        Component("redis", "infra", c.redis_port, lambda: (infra.redis_command(paths, c.redis_port), {}, None),
                  lambda: infra.redis_healthy(c.redis_port), 30),
        Component("redis-replica", "infra", c.redis_replica_port,
                  lambda: (infra.redis_replica_command(paths, c.redis_replica_port, c.redis_port), {}, None),
                  lambda: infra.redis_healthy(c.redis_replica_port), 30),
    ]  # fmt: skip
    quorum = len(c.sentinel_ports) // 2 + 1

    def sentinel(i: int, port: int) -> Component:
        return Component(f"sentinel-{i + 1}", "infra", port,
                         lambda: (infra.sentinel_command(paths, port, c.sentinel_master, c.redis_port, quorum), {}, None),
                         lambda: infra.redis_healthy(port), 30)  # fmt: skip

    def kafka(node_id: int, port: int, cport: int) -> Component:
        return Component(f"kafka-{node_id}", "infra", port,
                         lambda: (*infra.kafka_command(paths, port, cport,
                                                       infra.KafkaQuorum(node_id, voters, kafka_id())), None),
                         lambda: infra.kafka_healthy(port), 180)  # fmt: skip

    def es(i: int, port: int) -> Component:
        name, tport = seeds[i]
        return Component(f"elasticsearch-{i + 1}", "infra", port,
                         lambda: infra.es_command(paths, port, infra.EsNode(name, tport, seeds)),
                         lambda: infra.es_healthy(port), 240, stop_timeout_s=60)  # fmt: skip

    comps += [sentinel(i, p) for i, p in enumerate(c.sentinel_ports)]
    comps += [kafka(i + 1, p, c.kafka_controller_ports[i]) for i, p in enumerate(c.kafka_ports)]
    comps += [es(i, p) for i, p in enumerate(c.es_ports)]
    return comps


def up_cluster() -> dict[str, object]:
    """Start the cluster stack (idempotent), create the topics with three replicas and
    ``min.insync.replicas=2``, and write ``env`` (the variables to export) into its folder."""
    c = ClusterStackSettings()
    paths = Paths(c.dir.resolve())
    paths.ensure()
    t0 = time.monotonic()
    _start_and_wait(paths, cluster_components(c, paths))
    env = cluster_env(c)
    settings = CommonSettings(kafka_bootstrap=env["WARTA_KAFKA_BOOTSTRAP"])
    ensure_topics(settings, partitions=c.partitions, replication=len(c.kafka_ports), timeout_s=120)
    env_file = paths.root / "env"
    env_file.write_text("".join(f"export {k}={v}\n" for k, v in env.items()))
    return {"infra_seconds": round(time.monotonic() - t0, 1), "env_file": str(env_file), "env": env}


def down_cluster() -> list[str]:
    c = ClusterStackSettings()
    paths = Paths(c.dir.resolve())
    if not paths.run.exists():
        return []
    return [comp.name for comp in reversed(cluster_components(c, paths)) if stop(paths, comp.name, comp.stop_timeout_s)]


def status_cluster() -> list[dict[str, object]]:
    c = ClusterStackSettings()
    paths = Paths(c.dir.resolve())
    return _status_rows(paths, cluster_components(c, paths))


def _warta_exe() -> str:
    exe = Path(sys.executable).parent / "warta"
    return str(exe) if exe.exists() else "warta"


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def admin_key(paths: Paths) -> str:
    """The local stack's admin API key: created on the first ``up``, kept in ``admin-key`` (0600,
    git-ignored)."""
    from shared.auth import new_key

    return infra.read_or_create_secret(paths.root / "admin-key", new_key)


def webhook_secret(paths: Paths) -> str:
    """This machine's secret for signing alert webhooks: created on the first ``up``, kept in
    ``webhook-secret`` (0600). Receivers verify signatures with it."""
    return infra.read_or_create_secret(paths.root / "webhook-secret", lambda: secrets.token_hex(24))


# Each process gets only the secrets it uses: the admin key bootstraps the key store (the APIs);
# the webhook secret signs alerts (the alerts consumer sends them).
SECRETS = {
    "ingest-api": {"WARTA_ADMIN_KEY": admin_key},
    "search-api": {"WARTA_ADMIN_KEY": admin_key},
    "search-alerts": {"WARTA_WEBHOOK_SECRET": webhook_secret},
}


def secret_env(name: str, paths: Paths) -> dict[str, str]:
    """The secrets component ``name`` is started with (read or created on the spot)."""
    return {var: read(paths) for var, read in SECRETS.get(name, {}).items()}


def warta_env(s: StackSettings, paths: Paths) -> dict[str, str]:
    """Environment every Warta process of the local stack shares (no secrets: see SECRETS)."""
    return {
        "WARTA_KAFKA_BOOTSTRAP": f"127.0.0.1:{s.kafka_port}",
        "WARTA_ES_URL": f"http://127.0.0.1:{s.es_port}",
        "WARTA_REDIS_URL": f"redis://127.0.0.1:{s.redis_port}/0",
        "WARTA_CRAWL_ALLOW_HOSTS": ",".join(f"127.0.0.1:{s.demo_sites_port + i}" for i in range(4)),
        "WARTA_SOURCES_SEED_FILE": str(Path(__file__).resolve().parents[2] / "services/ingest/demo_sites/sources.yaml"),
    }


def components(s: StackSettings, paths: Paths) -> list[Component]:
    exe = _warta_exe()
    base_env = warta_env(s, paths)

    def warta(name: str, args: list[str], port: int, health: str, extra_env: dict[str, str] | None = None) -> Component:
        env = dict(base_env, **(extra_env or {}))
        return Component(
            name=name,
            kind="warta",
            port=port,
            command=lambda: ([exe, *args], {**env, **secret_env(name, paths)}, None),
            healthy=lambda: _http_ok(f"http://127.0.0.1:{port}{health}"),
            start_timeout_s=90,
        )

    comps = [
        Component("redis", "infra", s.redis_port, lambda: (infra.redis_command(paths, s.redis_port), {}, None),
                  lambda: infra.redis_healthy(s.redis_port), 30),
        Component("kafka", "infra", s.kafka_port,
                  lambda: (*infra.kafka_command(paths, s.kafka_port, s.kafka_controller_port), None),
                  lambda: infra.kafka_healthy(s.kafka_port), 120),
        Component("elasticsearch", "infra", s.es_port, lambda: infra.es_command(paths, s.es_port),
                  lambda: infra.es_healthy(s.es_port), 180, stop_timeout_s=60),
        warta("ingest-api", ["ingest", "serve", "--port", str(s.ingest_port)], s.ingest_port, "/readyz"),
        warta("search-api", ["search", "serve", "--port", str(s.search_port)], s.search_port, "/readyz"),
        warta("enrich-bridge", ["enrich", "bridge"], s.metrics_base_port, "/healthz",
              {"WARTA_METRICS_PORT": str(s.metrics_base_port)}),
        warta("search-indexer", ["search", "indexer"], s.metrics_base_port + 2, "/healthz",
              {"WARTA_METRICS_PORT": str(s.metrics_base_port + 2)}),
        warta("ingest-crawler", ["ingest", "crawler"], s.metrics_base_port + 3, "/healthz",
              {"WARTA_METRICS_PORT": str(s.metrics_base_port + 3)}),
        warta("search-alerts", ["search", "alerts"], s.metrics_base_port + 4, "/healthz",
              {"WARTA_METRICS_PORT": str(s.metrics_base_port + 4),
               "WARTA_PUBLIC_URL": f"http://127.0.0.1:{s.search_port}"}),  # links in spike alerts to a chat
        # The digest scheduler (docs/pr-workflows.md#digests); no SMTP server here: set WARTA_SMTP_* to mail.
        warta("search-digests", ["search", "digests"], s.metrics_base_port + 5, "/healthz",
              {"WARTA_METRICS_PORT": str(s.metrics_base_port + 5),
               "WARTA_PUBLIC_URL": f"http://127.0.0.1:{s.search_port}"}),
        warta("demo-sites", ["demo", "sites", "--port", str(s.demo_sites_port)], s.demo_sites_port, "/robots.txt"),
    ]  # fmt: skip
    for i in range(s.workers):
        port = s.metrics_base_port + 10 + i
        comps.append(
            warta(f"enrich-worker-{i + 1}", ["enrich", "worker", "--concurrency", str(s.worker_concurrency)], port,
                  "/healthz", {"WARTA_METRICS_PORT": str(port)})
        )  # fmt: skip
    return comps


def _start_and_wait(paths: Paths, comps: list[Component]) -> None:
    for c in comps:
        start(paths, c)

    def wait(c: Component) -> None:
        deadline = time.monotonic() + c.start_timeout_s
        while time.monotonic() < deadline:
            if c.healthy():
                return
            if read_pid(paths, c.name) is None:
                raise StackError(f"{c.name} exited during start-up. See {paths.logs / (c.name + '.log')}")
            time.sleep(0.5)
        raise StackError(
            f"{c.name} did not become healthy in {c.start_timeout_s:.0f}s. See {paths.logs / (c.name + '.log')}"
        )

    with ThreadPoolExecutor(max_workers=len(comps)) as pool:
        for fut in [pool.submit(wait, c) for c in comps]:
            fut.result()


def up(infra_only: bool = False, demo: bool = True) -> dict[str, object]:
    s = StackSettings()
    paths = Paths(s.dir.resolve())
    paths.ensure()
    comps = components(s, paths)
    t0 = time.monotonic()
    _start_and_wait(paths, [c for c in comps if c.kind == "infra"])
    settings = CommonSettings(kafka_bootstrap=f"127.0.0.1:{s.kafka_port}")
    ensure_topics(settings, partitions=3)
    result: dict[str, object] = {"infra_seconds": round(time.monotonic() - t0, 1)}
    if infra_only:
        return result
    _start_and_wait(paths, [c for c in comps if c.kind == "warta"])
    if demo:
        result["demo"] = load_demo(s, paths)
    result["total_seconds"] = round(time.monotonic() - t0, 1)
    return result


def load_demo(s: StackSettings, paths: Paths) -> dict[str, object]:
    """Register the demo sources (idempotent) and wait until the crawl is searchable."""
    from shared.stack.demo import load

    return load(s, paths)


def down() -> list[str]:
    s = StackSettings()
    paths = Paths(s.dir.resolve())
    if not paths.run.exists():
        return []
    stopped = []
    # Warta processes first (they commit on SIGTERM), then the infrastructure they need for that.
    order = [c for c in components(s, paths) if c.kind == "warta"] + [
        c for c in reversed(components(s, paths)) if c.kind == "infra"
    ]
    known = {c.name for c in order}
    for extra in sorted(p.stem for p in paths.run.glob("*.pid")):
        if extra not in known:
            order.insert(0, Component(extra, "warta", None, lambda: ([], {}, None), lambda: False))
    for c in order:
        if stop(paths, c.name, c.stop_timeout_s):
            stopped.append(c.name)
    return stopped


def status() -> list[dict[str, object]]:
    s = StackSettings()
    paths = Paths(s.dir.resolve())
    return _status_rows(paths, components(s, paths))


def _status_rows(paths: Paths, comps: list[Component]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for c in comps:
        pid = read_pid(paths, c.name) if paths.run.exists() else None
        rows.append(
            {
                "component": c.name,
                "pid": pid,
                "port": c.port,
                "running": pid is not None and pid_alive(pid),
                "healthy": c.healthy() if pid is not None else False,
            }
        )
    return rows


def versions() -> dict[str, str | None]:
    s = StackSettings()
    import subprocess

    redis_v = None
    try:
        out = subprocess.run(
            [infra.ensure_redis_binary(), "--version"], capture_output=True, text=True, timeout=10
        ).stdout
        redis_v = out.split("v=")[1].split()[0] if "v=" in out else out.strip()
    except (StackError, OSError, IndexError):
        pass
    return {"kafka": V.KAFKA_VERSION, "elasticsearch": infra.es_version(s.es_port) or V.ES_VERSION, "redis": redis_v}


def print_status(rows: list[dict[str, object]]) -> None:
    print(f"{'component':<18}{'pid':>8}{'port':>7}  health")
    for r in rows:
        state = "healthy" if r["healthy"] else ("running" if r["running"] else "stopped")
        print(f"{r['component']:<18}{r['pid'] or '-':>8}{r['port'] or '-':>7}  {state}")


def print_up(result: dict[str, object]) -> None:
    s = StackSettings()
    paths = Paths(s.dir.resolve())
    print()
    print("Warta is up.")
    print(f"  Web app         http://127.0.0.1:{s.search_port}/")
    print(f"  Search API      http://127.0.0.1:{s.search_port}/v1/search?q=pasar   (docs: /docs)")
    print(f"  Ingest API      http://127.0.0.1:{s.ingest_port}/docs")
    print(f"  Demo news sites http://127.0.0.1:{s.demo_sites_port}/ .. :{s.demo_sites_port + 2}/")
    print(
        f"  Metrics         http://127.0.0.1:{s.ingest_port}/metrics, :{s.search_port}/metrics, :{s.metrics_base_port}.. /metrics"
    )
    print(f"  Admin API key   {paths.root / 'admin-key'}")
    print(f"  Webhook secret  {paths.root / 'webhook-secret'}   (verifies the alert webhooks' signatures)")
    print(f"  Logs            {paths.logs}/")
    print(
        f"  Elasticsearch   http://127.0.0.1:{s.es_port}   Kafka 127.0.0.1:{s.kafka_port}   Redis 127.0.0.1:{s.redis_port}"
    )
    print(json.dumps(result))
