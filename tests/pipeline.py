"""Run Warta processes for tests and benchmarks: real processes, real Kafka/ES/Redis, isolated by
a per-test topic, index and Redis key prefix."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from elasticsearch import Elasticsearch

from shared.kafka import delete_topics, ensure_topics
from shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[1]
WARTA = str(Path(sys.executable).parent / "warta")
KAFKA = os.environ.get("WARTA_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
ES_URL = os.environ.get("WARTA_ES_URL", "http://127.0.0.1:9200")
REDIS_URL = os.environ.get("WARTA_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}-"


@dataclass
class Namespace:
    """One isolated slice of the shared infrastructure."""

    prefix: str = field(default_factory=new_prefix)

    @property
    def env(self) -> dict[str, str]:
        return {
            "WARTA_ENV": "test",
            "WARTA_KAFKA_BOOTSTRAP": KAFKA,
            "WARTA_ES_URL": ES_URL,
            "WARTA_REDIS_URL": REDIS_URL,
            "WARTA_TOPIC_PREFIX": self.prefix,
            "WARTA_INDEX_PREFIX": self.prefix,
            "WARTA_REDIS_PREFIX": f"{self.prefix}warta:",
            "WARTA_ADMIN_KEY": self.admin_key,
        }

    @property
    def admin_key(self) -> str:
        return f"wk_test_admin_{self.prefix}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    @property
    def settings(self) -> CommonSettings:
        return CommonSettings(
            kafka_bootstrap=KAFKA, es_url=ES_URL, redis_url=REDIS_URL, topic_prefix=self.prefix,
            index_prefix=self.prefix, redis_prefix=f"{self.prefix}warta:",
        )  # fmt: skip

    def create(self, partitions: int = 3) -> None:
        names = ensure_topics(self.settings, partitions=partitions)
        wait_for_topics(self.settings.kafka_bootstrap, names, partitions)

    def cleanup(self) -> None:
        try:
            delete_topics(self.settings)
        except Exception:
            pass
        es = Elasticsearch(ES_URL)
        try:
            es.options(ignore_status=404).indices.delete(index=f"{self.prefix}*", expand_wildcards="all")
        finally:
            es.close()
        r = redis.Redis.from_url(REDIS_URL)
        keys = list(r.scan_iter(match=f"{self.prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i : i + 500])
        r.close()


@dataclass
class Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        fh = open(self.log, "ab")
        self.popen = subprocess.Popen([WARTA, *self.args], env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)  # fmt: skip
        fh.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)

    def children(self) -> list[int]:
        """PIDs of this process's direct children (e.g. Celery's pool processes)."""
        if self.popen is None:
            return []
        out = subprocess.run(["pgrep", "-P", str(self.popen.pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]


class Pipeline:
    """The Warta processes on one namespace: ingest and search APIs, bridge, indexer(s), alerts
    consumer, worker(s). ``extra_env`` tunes them (fault hooks, timeouts)."""

    def __init__(self, ns: Namespace, log_dir: Path, extra_env: dict[str, str] | None = None,
                 workers: int = 1, concurrency: int = 1, indexers: int = 1) -> None:  # fmt: skip
        self.ns = ns
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **ns.env, "WARTA_LOG_FORMAT": "json", **(extra_env or {})}
        self.ingest_port = free_port()
        self.search_port = free_port()
        self.procs: dict[str, Proc] = {}
        self._add("ingest-api", ["ingest", "serve", "--port", str(self.ingest_port)], self.ingest_port)
        self._add("search-api", ["search", "serve", "--port", str(self.search_port)], self.search_port)
        self._add("bridge", ["enrich", "bridge"])
        self._add("indexer", ["search", "indexer"])
        for i in range(2, indexers + 1):  # more indexers join the same consumer group
            self._add(f"indexer-{i}", ["search", "indexer"])
        self._add("alerts", ["search", "alerts"])
        for i in range(workers):
            self._add(f"worker-{i + 1}", ["enrich", "worker", "--concurrency", str(concurrency)])

    def _add(self, name: str, args: list[str], port: int | None = None) -> Proc:
        env = dict(self.env)
        proc = Proc(name, args, env, self.log_dir / f"{name}.log", port)
        self.procs[name] = proc
        return proc

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def search_url(self) -> str:
        return f"http://127.0.0.1:{self.search_port}"

    def start(self, names: list[str] | None = None, timeout: float = 60.0) -> None:
        for name, proc in self.procs.items():
            if names is None or name in names:
                proc.start()
        deadline = time.monotonic() + timeout
        apis = [n for n in ("ingest-api", "search-api") if names is None or n in names]
        for url in (self.procs[n].port and f"http://127.0.0.1:{self.procs[n].port}/readyz" for n in apis):
            while True:
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} not ready; logs in {self.log_dir}")
                time.sleep(0.3)

    def restart(self, name: str) -> None:
        self.procs[name].start()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()

    def post(self, article: dict[str, object], timeout: float = 30) -> httpx.Response:
        return httpx.post(f"{self.ingest_url}/v1/articles", json=article, headers=self.ns.auth, timeout=timeout)

    def get(self, path: str, **params: object) -> httpx.Response:
        """GET on the search API with the admin key."""
        return httpx.get(f"{self.search_url}{path}", params=params, headers=self.ns.auth, timeout=30)  # type: ignore[arg-type]

    def search(self, q: str, **params: object) -> dict[str, object]:
        r = self.get("/v1/search", q=q, **params)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]


def wait_for_topics(bootstrap: str, names: list[str], partitions: int, timeout: float = 30.0) -> None:
    """Wait until the broker's metadata has every partition of the new topics. A consumer that joins
    its group before that gets no partitions and, with kafka-python, only notices the topic at the
    next metadata refresh (``metadata.max.age.ms``, 5 minutes)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), client_id="warta-test-setup")
    try:
        deadline = time.monotonic() + timeout
        while True:
            consumer._client.cluster.request_update()  # fresh metadata, not the cached view
            missing = [n for n in names if len(consumer.partitions_for_topic(n) or ()) < partitions]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"topics without metadata after {timeout}s: {missing}")
            time.sleep(0.2)
    finally:
        consumer.close()


def wait_for(predicate, timeout: float, interval: float = 0.25, message: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a truthy value; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value: {last!r}")
