"""Chaos harness: a steady stream of uniquely identifiable articles, fault injectors that never touch
the shared infrastructure (a dedicated Redis, a dedicated Kafka, a fault-injecting proxy in front of
the real Elasticsearch), the exactly-once check and the results file.

Every article of a stream carries two tokens: the run token (shared by the whole stream) and its
own token (``<run>k<n>``). "Searchable exactly once" means: a search for its own token through the
search API returns exactly that article once, and Elasticsearch holds exactly one document per
accepted article and nothing else for the run.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from elasticsearch import Elasticsearch
from prometheus_client.parser import text_string_to_metric_families

from shared.kafka import ensure_topics
from shared.settings import CommonSettings
from shared.stack import infra
from tests.e2e.test_pipeline import article
from tests.pipeline import ES_URL, ROOT, Pipeline, free_port, wait_for_topics

RESULTS = ROOT / "artifacts" / "chaos-results.json"
_results_lock = threading.Lock()


# --- the stream ---------------------------------------------------------------------------------


class Stream:
    """Posts articles at ``rate`` per second from a thread. An article that is not accepted (503
    while Kafka is down, a connection error while the API restarts) is posted again, with the same
    URL and so the same id, until it gets its 202: like a well-behaved client."""

    def __init__(self, p: Pipeline, rate: float = 5.0, give_up_s: float = 180.0) -> None:
        self.p = p
        self.rate = rate
        self.give_up_s = give_up_s
        self.run = f"chaos{uuid.uuid4().hex[:8]}"
        self.accepted: dict[str, str] = {}  # article token -> article id
        self.abandoned: list[str] = []
        self.errors: list[str] = []
        self.retries = 0
        # The longest an article waited for its 202 while the API refused it (503 or no answer).
        self.longest_refusal_s = 0.0
        self._n = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def token(self, n: int) -> str:
        return f"{self.run}k{n:05d}"

    def article(self, n: int) -> dict[str, object]:
        tok = self.token(n)
        return article(f"{self.run} {tok}", url=f"https://chaos.example/{self.run}/{n}")

    def _post_until_accepted(self, n: int) -> None:
        first_refused: float | None = None
        deadline = time.monotonic() + self.give_up_s
        body = self.article(n)
        while True:
            try:
                r = self.p.post(body, timeout=40)
                if r.status_code == 202:
                    with self._lock:
                        self.accepted[self.token(n)] = r.json()["id"]
                    if first_refused is not None:
                        self.longest_refusal_s = max(self.longest_refusal_s, time.monotonic() - first_refused)
                    return
                if r.status_code not in (502, 503, 504):
                    self.errors.append(f"{r.status_code}: {r.text[:200]}")  # a bug, not an outage
                    return
            except httpx.HTTPError:
                pass
            if first_refused is None:
                first_refused = time.monotonic()
            self.retries += 1
            if time.monotonic() > deadline:
                self.abandoned.append(self.token(n))
                return
            time.sleep(0.5)

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._post_until_accepted(self._n)
            self._n += 1
            next_at += 1.0 / self.rate
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()  # fell behind (e.g. an outage): do not burst to catch up

    def start(self) -> Stream:
        self._thread = threading.Thread(target=self._loop, name="chaos-stream", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.give_up_s + 60)

    def __len__(self) -> int:
        return len(self.accepted)

    def ids(self) -> dict[str, str]:
        with self._lock:
            return dict(self.accepted)


def warm_up(p: Pipeline, timeout: float = 90) -> None:
    """One article end to end, so that start-up time never counts as recovery time."""
    tok = f"warm{uuid.uuid4().hex[:8]}"
    r = p.post(article(tok, url=f"https://chaos.example/warm/{tok}"))
    assert r.status_code == 202, r.text
    wait_until(lambda: p.search(tok)["total"] == 1, timeout, "warm-up article searchable")


def wait_until(predicate: Callable[[], Any], timeout: float, message: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value: {last!r}")


def searchable_count(p: Pipeline, stream: Stream) -> int:
    r = p.get("/v1/search", q=stream.run, size=1)
    return int(r.json()["total"]) if r.status_code == 200 else -1


def wait_all_searchable(p: Pipeline, stream: Stream, timeout: float) -> float:
    """Wait until the search API finds every accepted article of the stream; return that moment
    (``time.monotonic()``)."""
    expected = len(stream)

    def done() -> bool:
        n = searchable_count(p, stream)
        assert n <= expected, f"{n} documents found for {expected} articles: duplicates"
        return n == expected

    wait_until(done, timeout, f"all {expected} articles searchable", interval=0.2)
    return time.monotonic()


def assert_exactly_once(p: Pipeline, stream: Stream, settle_s: float = 2.0) -> None:
    """Every accepted article is found once by its own token, and Elasticsearch holds one document
    per article, across every index of the namespace."""
    assert not stream.errors, f"the ingest API answered with errors: {stream.errors[:3]}"
    assert not stream.abandoned, f"articles never accepted by the ingest API: {stream.abandoned[:5]}"
    time.sleep(settle_s)  # re-delivered copies still travelling must not add anything
    ids = stream.ids()
    assert ids, "the stream produced nothing"
    with httpx.Client(base_url=p.search_url, headers=p.ns.auth, timeout=30) as client:
        for tok, article_id in ids.items():
            r = client.get("/v1/search", params={"q": tok, "size": 5})
            assert r.status_code == 200, f"search for {tok}: {r.status_code} {r.text[:200]}"
            body = r.json()
            assert body["total"] == 1, f"{tok}: {body['total']} hits"
            assert body["hits"][0]["id"] == article_id
    # The Elasticsearch the pipeline writes to (every node of a cluster, comma-separated).
    es = Elasticsearch(p.env.get("WARTA_ES_URL", ES_URL).split(","), request_timeout=30)
    try:
        index = f"{p.ns.prefix}articles*"
        es.indices.refresh(index=index)
        resp = es.search(index=index, query={"match": {"title": stream.run}}, size=len(ids) + 100,
                         source=["id", "title"], track_total_hits=True)  # fmt: skip
        hits = resp["hits"]["hits"]
        assert resp["hits"]["total"]["value"] == len(ids), "document count differs from accepted articles"
        per_id: dict[str, int] = {}
        for h in hits:
            per_id[h["_id"]] = per_id.get(h["_id"], 0) + 1
        dupes = {k: v for k, v in per_id.items() if v > 1}
        assert not dupes, f"duplicate documents: {dupes}"
        assert set(per_id) == set(ids.values()), "indexed ids differ from the accepted ids"
    finally:
        es.close()


def record_result(test: str, **data: Any) -> None:
    """Merge one test's numbers into artifacts/chaos-results.json."""
    with _results_lock:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        try:
            results = json.loads(RESULTS.read_text())
        except (OSError, ValueError):
            results = {}
        results[test] = {**data, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


# --- metrics ------------------------------------------------------------------------------------


def scrape(port: int, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The value of one sample of a process's /metrics, or None."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=3).text
    except httpx.HTTPError:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                return float(sample.value)
    return None


class Sampler:
    """Calls ``fn`` every ``interval`` seconds in a thread and keeps the values."""

    def __init__(self, fn: Callable[[], Any], interval: float = 0.1) -> None:
        self.fn = fn
        self.interval = interval
        self.values: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.values.append(self.fn())
            except Exception:
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


# --- a dedicated Redis --------------------------------------------------------------------------


class DedicatedRedis:
    """A throw-away redis-server on a free port, without persistence: a restart empties it."""

    def __init__(self, tmp: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.port = free_port()
        self.dir = tmp
        self.cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", str(tmp), "--daemonize", "no"]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)  # fmt: skip
        log.close()
        wait_until(lambda: infra.redis_healthy(self.port), 20, "dedicated redis up")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()


# --- a dedicated Kafka --------------------------------------------------------------------------


class DedicatedKafka:
    """A throw-away single-node KRaft Kafka on free ports, from the jars the local stack cached.
    ``restart`` kills it (SIGKILL) and starts it again on the same data."""

    def __init__(self, tmp: Path) -> None:
        stack_dir = Path(os.environ.get("WARTA_STACK_DIR", ROOT / ".stack")).resolve()
        self.paths = infra.Paths(tmp, downloads_dir=stack_dir / "downloads")
        self.paths.ensure()
        self.port, self.controller_port = free_port(), free_port()
        self.cmd, env = infra.kafka_command(self.paths, self.port, self.controller_port)
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        log = open(self.paths.logs / "kafka.log", "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        log.close()
        wait_until(lambda: infra.kafka_healthy(self.port), timeout, "dedicated kafka up", interval=0.5)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def create_topics(self, prefix: str) -> None:
        names = ensure_topics(CommonSettings(kafka_bootstrap=self.bootstrap, topic_prefix=prefix), partitions=3)
        wait_for_topics(self.bootstrap, names, 3)

    def stop(self) -> None:
        self.kill()


def tmp_dir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"warta-chaos-{name}-"))


# --- a fault-injecting proxy in front of Elasticsearch ------------------------------------------


@dataclass
class ProxyStats:
    requests: int = 0
    refused: int = 0
    unavailable: int = 0
    rejected_bulk: int = 0
    rejected_items: int = 0
    by_mode: dict[str, int] = field(default_factory=dict)


class EsFaultProxy:
    """HTTP/1.1 proxy to Elasticsearch with switchable faults.

    Modes: ``pass``; ``refuse`` (connections are reset without an answer); ``unavailable`` (503 to
    everything); ``bulk429`` (429 to every ``_bulk`` request); ``items429`` (every ``_bulk`` request
    reaches Elasticsearch with only half of its items; the other half is answered with per-item
    429s, as a node whose write queue is full does).
    """

    MODES = ("pass", "refuse", "unavailable", "bulk429", "items429")

    def __init__(self, upstream: str = ES_URL) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 9200)
        self.mode = "pass"
        self.stats = ProxyStats()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="es-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        assert mode in self.MODES, mode
        self.mode = mode

    def start(self) -> EsFaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- request handling ---

    def _upstream(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self.upstream, timeout=60)
            self._local.conn = conn
        return conn

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        for attempt in (1, 2):
            conn = self._upstream()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.getheaders(), data
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        h.send_response(status)
        skip = {"transfer-encoding", "connection", "content-length", "keep-alive"}
        for k, v in headers:
            if k.lower() not in skip:
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    @staticmethod
    def _error(status: int, kind: str, reason: str) -> tuple[list[tuple[str, str]], bytes]:
        body = json.dumps({"error": {"type": kind, "reason": reason}, "status": status}).encode()
        return [("Content-Type", "application/json"), ("X-Elastic-Product", "Elasticsearch")], body

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        mode = self.mode
        self.stats.requests += 1
        self.stats.by_mode[mode] = self.stats.by_mode.get(mode, 0) + 1
        is_bulk = "/_bulk" in h.path
        if mode == "refuse":
            self.stats.refused += 1
            # Reset the connection: the client sees a connection error, as with a dead node.
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
            return
        if mode == "unavailable":
            self.stats.unavailable += 1
            headers, payload = self._error(503, "unavailable_shards_exception", "injected: cluster unavailable")
            self._reply(h, 503, headers, payload)
            return
        if mode == "bulk429" and is_bulk:
            self.stats.rejected_bulk += 1
            headers, payload = self._error(429, "es_rejected_execution_exception", "injected: write queue full")
            self._reply(h, 429, headers, payload)
            return
        fwd_headers = {k: v for k, v in h.headers.items() if k.lower() not in {"host", "content-length", "connection"}}
        if mode == "items429" and is_bulk:
            status, headers, payload = self._partial_bulk(h.command, h.path, fwd_headers, body)
        else:
            status, headers, payload = self._forward(h.command, h.path, fwd_headers, body)
        self._reply(h, status, headers, payload)

    def _partial_bulk(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        lines = [ln for ln in body.split(b"\n") if ln.strip()]
        pairs = [lines[i : i + 2] for i in range(0, len(lines), 2)]  # index actions: action + source
        keep = [i for i in range(len(pairs)) if i % 2 == 0]
        dropped = [i for i in range(len(pairs)) if i % 2 == 1]
        if not dropped:
            return self._forward(method, path, headers, body)
        fwd = b"\n".join(ln for i in keep for ln in pairs[i]) + b"\n"
        status, resp_headers, payload = self._forward(method, path, headers, fwd)
        if status != 200:
            return status, resp_headers, payload
        resp = json.loads(payload)
        kept_items = iter(resp["items"])
        items = []
        for i, pair in enumerate(pairs):
            if i in keep:
                items.append(next(kept_items))
                continue
            action = json.loads(pair[0])
            op, meta = next(iter(action.items()))
            self.stats.rejected_items += 1
            items.append({op: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": 429,
                               "error": {"type": "es_rejected_execution_exception",
                                         "reason": "injected: write queue full"}}})  # fmt: skip
        resp["items"] = items
        resp["errors"] = True
        return 200, resp_headers, json.dumps(resp).encode()


# --- one scenario ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    stream: Stream
    fault_started: float
    fault_ended: float
    all_searchable: float

    @property
    def recovery_s(self) -> float:
        return round(self.all_searchable - self.fault_ended, 2)


def chaos_run(
    p: Pipeline,
    test: str,
    fault: Callable[[Stream], None],
    *,
    fault_desc: str,
    rate: float = 5.0,
    pre_s: float = 5.0,
    post_s: float = 4.0,
    recover_timeout_s: float = 180.0,
    **extra: Any,
) -> Outcome:
    """Warm up, stream for ``pre_s``, run ``fault`` (which returns when the fault has ended), stream
    ``post_s`` more, then wait until every accepted article is searchable, check exactly-once and
    record the recovery time (fault end -> all searchable)."""
    warm_up(p)
    stream = Stream(p, rate=rate).start()
    try:
        time.sleep(pre_s)
        started = time.monotonic()
        fault(stream)
        ended = time.monotonic()
        time.sleep(post_s)
    finally:
        stream.stop()
    posted_done = time.monotonic()
    try:
        all_searchable = wait_all_searchable(p, stream, recover_timeout_s)
    except AssertionError:
        record_result(test, fault=fault_desc, passed=False, articles=len(stream), searchable=searchable_count(p, stream),
                      fault_s=round(ended - started, 2), **extra)  # fmt: skip
        raise
    outcome = Outcome(stream, started, ended, all_searchable)
    try:
        assert_exactly_once(p, stream)
    except AssertionError as exc:
        record_result(test, fault=fault_desc, passed=False, articles=len(stream), error=str(exc)[:300], **extra)
        raise
    record_result(
        test,
        fault=fault_desc,
        passed=True,
        articles=len(stream),
        client_retries=stream.retries,
        ingest_refused_max_s=round(stream.longest_refusal_s, 1),
        rate_per_s=rate,
        fault_s=round(ended - started, 2),
        recovery_s=outcome.recovery_s,
        drain_after_last_post_s=round(max(0.0, all_searchable - posted_done), 2),
        **extra,
    )
    return outcome


def post_batch(stream: Stream, count: int, chunk: int = 100) -> None:
    """Post ``count`` more articles of ``stream`` at once through the batch endpoint."""
    start = stream._n
    for lo in range(start, start + count, chunk):
        numbers = list(range(lo, min(lo + chunk, start + count)))
        r = httpx.post(f"{stream.p.ingest_url}/v1/articles/batch", json={"articles": [stream.article(n) for n in numbers]},
                       headers=stream.p.ns.auth, timeout=60)  # fmt: skip
        r.raise_for_status()
        for n, res in zip(numbers, r.json()["results"], strict=True):
            assert res["status"] == 202, res
            stream.accepted[stream.token(n)] = res["id"]
    stream._n = start + count


class Supervisor:
    """Restarts the named processes when they exit, as ``restart: unless-stopped`` does in the
    compose file. Counts the restarts, so a test can report a process that died."""

    def __init__(self, p: Pipeline, names: list[str], interval: float = 0.5) -> None:
        self.p = p
        self.names = names
        self.interval = interval
        self.restarts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for name in self.names:
                proc = self.p.procs[name]
                if proc.popen is not None and proc.popen.poll() is not None:
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    proc.start()

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
