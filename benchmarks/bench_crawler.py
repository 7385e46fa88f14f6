"""``make bench-crawler``: crawl throughput with 1, 2 and 3 crawler processes, and live freshness
while a backfill runs. Writes ``benchmarks/results/crawler.json`` (``--out``) and prints it.

Everything runs on loopback: the demo sites (``services/ingest/demo_sites``, every site on its own
port, so its own host) in this process, each HTTP response delayed by ``--latency`` seconds (a
simulated network), and real ``warta ingest crawler`` processes on the real Kafka, Elasticsearch
and Redis, each run in a fresh namespace (topic, index and Redis key prefix, removed afterwards).

1. **Throughput.** ``--copies`` copies of the demo sites (the four main sites and the feed-variant
   sites; the deliberately slow host left out) are crawled once by 1, 2 and 3 crawler processes
   sharing the registry (host leases: one crawler per host at a time). Rate: the pages the sites
   served over the time from their first request to the last source's first crawl being recorded
   (process start-up excluded). Each round runs the three counts in a rotating order; the result
   is the median of ``--rounds`` rounds. Every collected article must be in Kafka exactly once.
2. **Freshness during a backfill.** A live site gets a new article every ``--every`` seconds for
   ``--window`` seconds; its RSS source is crawled at the floor interval (10 s). Freshness: from
   the article appearing on the site to its record in ``articles.raw`` (the Kafka timestamp),
   p50/p95; ``crawl_to_kafka`` is the part after the crawl that found it started (what a busy
   crawler would slow), ``pickup`` the wait for that crawl (the polling interval). Measured once
   without and once with a backfill of another source (``POST /v1/sources/{id}/backfill?since=``
   of the demo's paginated listing source, whose pages hold ``--history`` older articles), with the
   backfill's progress and the older articles it published during the window.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from kafka import KafkaConsumer, TopicPartition
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from benchmarks.bench_search import percentile
from services.ingest.crawler.models import SourceCreate
from services.ingest.crawler.registry import SourceRegistry
from services.ingest.demo_sites import DemoWeb, start_demo_sites
from services.ingest.demo_sites import content as demo_content
from services.ingest.demo_sites.feed_sites import feed_variant_sources
from services.ingest.demo_sites.manifest import demo_sources
from services.ingest.settings import IngestSettings
from shared.topics import Topic
from tests.pipeline import ES_URL, KAFKA, REDIS_URL, Namespace, Proc, free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
LOGS = ROOT / "artifacts" / "bench-crawler-logs"
SLOW_SOURCES = {"gemalereng-rss"}  # the demo's slow host (1 s per response): a timeout case, not load
# Its live crawl reads the newest listing pages only (max_pages), so its history is the backfill's.
BACKFILL_SOURCE = "kabarserayu-indeks"


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


# --- the namespace, the crawler processes, Kafka --------------------------------------------------


def ingest_settings(ns: Namespace, allow_hosts: list[str]) -> IngestSettings:
    return IngestSettings(
        env="test",
        kafka_bootstrap=KAFKA,
        es_url=ES_URL,
        redis_url=REDIS_URL,
        topic_prefix=ns.prefix,
        index_prefix=ns.prefix,
        redis_prefix=f"{ns.prefix}warta:",
        crawl_allow_hosts=allow_hosts,
    )


def process_env(ns: Namespace, allow_hosts: list[str], min_delay_s: float) -> dict[str, str]:
    return {
        **os.environ,
        **ns.env,
        "WARTA_LOG_FORMAT": "json",
        "WARTA_LOG_LEVEL": "WARNING",
        "WARTA_CRAWL_ALLOW_HOSTS": ",".join(allow_hosts),
        "WARTA_CRAWL_MIN_DELAY_S": str(min_delay_s),
        "WARTA_CRAWL_TICK_S": "0.2",
    }


def crawler_procs(n: int, env: dict[str, str], tag: str) -> list[Proc]:
    LOGS.mkdir(parents=True, exist_ok=True)
    return [Proc(f"crawler-{i}", ["ingest", "crawler"], env, LOGS / f"{tag}-crawler-{i}.log") for i in range(1, n + 1)]


def read_raw(ns: Namespace, timeout_s: float = 5.0) -> list[tuple[str, dict[str, Any], float]]:
    """Every record of the namespace's ``articles.raw``: (key, value, Kafka timestamp in s)."""
    topic = ns.settings.topic(Topic.ARTICLES_RAW)
    consumer = KafkaConsumer(
        bootstrap_servers=KAFKA, enable_auto_commit=False, consumer_timeout_ms=int(timeout_s * 1000)
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        out = []
        for message in consumer:
            out.append((message.key.decode(), json.loads(message.value), message.timestamp / 1000.0))
            if all(consumer.position(tp) >= end[tp] for tp in partitions):
                break
        return out
    finally:
        consumer.close()


def stop_all(procs: list[Proc]) -> None:
    for proc in procs:
        proc.signal(15)
    for proc in procs:
        proc.stop()


# --- 1. throughput ------------------------------------------------------------------------------


def fleet_sources(webs: list[DemoWeb]) -> list[dict[str, Any]]:
    """The demo and feed-variant sources of every copy, ids suffixed with the copy number."""
    specs = []
    for i, web in enumerate(webs):
        for spec in [*demo_sources(web.base_urls), *feed_variant_sources(web.base_urls)]:
            if spec["id"] not in SLOW_SOURCES:
                specs.append({**spec, "id": f"{spec['id']}-c{i}"})
    return specs


def served(webs: list[DemoWeb]) -> int:
    return sum(sum(web.stats.snapshot()["requests"].values()) for web in webs)


def throughput_run(
    crawlers: int, copies: int, latency_s: float, min_delay_s: float, timeout_s: float
) -> dict[str, Any]:
    webs = [start_demo_sites("127.0.0.1", 0, latency_s=latency_s) for _ in range(copies)]
    allow = [host for web in webs for host in web.allow_hosts]
    ns = Namespace()
    procs: list[Proc] = []
    try:
        ns.create()
        settings = ingest_settings(ns, allow)
        registry = SourceRegistry.from_settings(settings)
        specs = fleet_sources(webs)
        for spec in specs:
            registry.create(SourceCreate.model_validate(spec))
        procs = crawler_procs(crawlers, process_env(ns, allow, min_delay_s), f"throughput-{crawlers}")
        for proc in procs:
            proc.start()
        pending = {spec["id"] for spec in specs}
        first: float | None = None
        deadline = time.monotonic() + timeout_s
        last_check = 0.0
        while pending and time.monotonic() < deadline:
            if first is None and served(webs) > 0:
                first = time.time()
            if time.monotonic() - last_check > 0.5:
                last_check = time.monotonic()
                pending = {sid for sid in pending if registry.state(sid).last_crawl_at is None}
            time.sleep(0.02)
        pages = served(webs)
        states = [registry.state(spec["id"]) for spec in specs]
        done = [s.last_crawl_at for s in states if s.last_crawl_at is not None]
        published = sum(run.published for spec in specs for run in registry.runs(spec["id"]))
        registry.close()
        stop_all(procs)
        records = read_raw(ns)
        keys = [key for key, _, _ in records]
        last = max(d.timestamp() for d in done) if done else time.time()
        seconds = last - (first or last)
        return {
            "crawlers": crawlers,
            "sources": len(specs),
            "sources_crawled": len(done),
            "pages": pages,
            "seconds": round(seconds, 3),
            "pages_per_s": round(pages / seconds, 2) if seconds > 0 else None,
            "published": published,
            "kafka_records": len(keys),
            "duplicates": len(keys) - len(set(keys)),
            "complete": not pending,
        }
    finally:
        stop_all(procs)
        for web in webs:
            web.stop()
        ns.cleanup()


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    counts = [int(c) for c in args.crawlers.split(",")]
    runs: dict[int, list[dict[str, Any]]] = {c: [] for c in counts}
    for r in range(args.rounds):
        order = counts[r % len(counts) :] + counts[: r % len(counts)]
        for crawlers in order:
            result = throughput_run(crawlers, args.copies, args.latency, args.min_delay, args.timeout)
            print(json.dumps({"round": r + 1, **result}), flush=True)
            runs[crawlers].append(result)
    medians: dict[int, float | None] = {}
    for crawlers, results in runs.items():
        rates = [r["pages_per_s"] for r in results if r["pages_per_s"] and r["complete"]]
        medians[crawlers] = statistics.median(rates) if rates else None
    one = medians.get(1)
    return {
        str(crawlers): {
            "pages_per_s": rate,
            "speedup_vs_1": round(rate / one, 2) if one and rate else None,
            "rounds": runs[crawlers],
        }
        for crawlers, rate in medians.items()
    }


# --- 2. freshness during a backfill ---------------------------------------------------------------


@dataclass
class LiveSite:
    """A news site whose RSS feed gets a new article when :meth:`publish` is called."""

    articles: list[tuple[int, str, str, float]] = field(default_factory=list)  # id, slug, title, appeared
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    def publish(self) -> tuple[str, float]:
        with self.lock:
            n = len(self.articles) + 1
            slug = f"kabar-terkini-nomor-{n}-dari-redaksi"
            appeared = time.time()
            self.articles.append((n, slug, f"Kabar Terkini Nomor {n} dari Redaksi Pantau", appeared))
        return f"{self.base}/artikel/{slug}/", appeared

    def app(self) -> Starlette:
        def feed(request: Request) -> Response:
            with self.lock:
                recent = list(reversed(self.articles[-30:]))
            items = "".join(
                f"<item><title>{title}</title><link>{self.base}/artikel/{slug}/</link>"
                f"<pubDate>{datetime.fromtimestamp(t, UTC):%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>"
                for _, slug, title, t in recent
            )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Pantau</title>'
                f"<link>{self.base}/</link><language>id</language>{items}</channel></rss>"
            )
            return Response(xml, media_type="application/rss+xml")

        def article(request: Request) -> Response:
            slug = request.path_params["slug"]
            with self.lock:
                found = next((a for a in self.articles if a[1] == slug), None)
            if found is None:
                return PlainTextResponse("Tidak ditemukan", status_code=404)
            n, _, title, _ = found
            paragraphs = "".join(
                f"<p>Paragraf {k} laporan nomor {n}: warga kecamatan {n * 7 + k} menghadiri rapat desa tentang "
                f"perbaikan saluran irigasi dan jalan usaha tani yang rusak sejak musim hujan lalu.</p>"
                for k in range(1, 4)
            )
            html = (
                f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{title}</title></head>'
                f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
            )
            return Response(html, media_type="text/html; charset=utf-8")

        return Starlette(routes=[Route("/feed.xml", feed), Route("/artikel/{slug}/", article)])


def serve_app(app: Starlette) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def freshness_run(args: argparse.Namespace, with_backfill: bool) -> dict[str, Any]:
    demo_content.HISTORY_COUNT = args.history  # the demo's older articles, for the backfill to walk
    web = start_demo_sites("127.0.0.1", 0, latency_s=args.latency, history=True)
    live = LiveSite()
    live.base, server, thread = serve_app(live.app())
    allow = [*web.allow_hosts, live.base.removeprefix("http://")]
    ns = Namespace()
    procs: list[Proc] = []
    tag = "freshness-backfill" if with_backfill else "freshness-baseline"
    try:
        ns.create()
        registry = SourceRegistry.from_settings(ingest_settings(ns, allow))
        (wp,) = [s for s in demo_sources(web.base_urls) if s["id"] == BACKFILL_SOURCE]
        registry.create(SourceCreate.model_validate(wp))
        registry.create(
            SourceCreate(
                id="pantau-rss",
                type="rss",
                name="Pantau (live)",
                url=f"{live.base}/feed.xml",
                min_interval_s=10,
                max_interval_s=10,
            )
        )
        env = process_env(ns, allow, args.freshness_min_delay)
        port = free_port()
        api = Proc("ingest-api", ["ingest", "serve", "--port", str(port)], env, LOGS / f"{tag}-ingest-api.log")
        procs = [api, *crawler_procs(args.freshness_crawlers, env, tag)]
        for proc in procs:
            proc.start()
        deadline = time.monotonic() + 60
        while any(registry.state(sid).last_crawl_at is None for sid in (BACKFILL_SOURCE, "pantau-rss")):
            if time.monotonic() > deadline:
                raise RuntimeError(f"first crawls not recorded; logs in {LOGS}")
            time.sleep(0.5)
        backfill: dict[str, Any] = {}
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=ns.auth, timeout=10)
        if with_backfill:
            oldest = min(a.published for a in demo_content.history_articles(demo_content.load_site("kabarserayu")))
            since = max(oldest.date(), date.today().replace(year=date.today().year - 5))
            response = client.post(f"/v1/sources/{BACKFILL_SOURCE}/backfill", params={"since": since.isoformat()})
            backfill["request"] = {"status": response.status_code, "since": since.isoformat()}
            backfill["at_start"] = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else response.text
            )
        appeared: dict[str, float] = {}
        window_start = time.time()
        end = time.monotonic() + args.window
        while time.monotonic() < end:
            url, t = live.publish()
            appeared[url] = t
            time.sleep(args.every)
        time.sleep(25)  # the last article's crawl (10 s interval) and publish
        if with_backfill:
            backfill["at_end"] = client.get(f"/v1/sources/{BACKFILL_SOURCE}/backfill").json()
        client.close()
        runs = registry.runs("pantau-rss", limit=200)
        registry.close()
        stop_all(procs)
        records = read_raw(ns)
        in_kafka = {v.get("canonical_url") or v.get("url"): ts for _, v, ts in records}
        # When each crawl of the live source was due: the previous crawl's next_crawl_at. The lag
        # from there to the crawl's start is what the crawler (and a backfill) adds to the schedule.
        ordered = sorted(runs, key=lambda r: r.started_at)
        due_at = {
            r.started_at.timestamp(): prev.next_crawl_at.timestamp()
            for prev, r in pairwise(ordered)
            if prev.next_crawl_at is not None
        }
        lag = [max(0.0, start - due) for start, due in due_at.items()]
        fresh, crawl_part, pickup, from_due = [], [], [], []
        for url, t in appeared.items():
            ts = in_kafka.get(url)
            if ts is None:
                continue
            fresh.append(ts - t)
            started = [r.started_at.timestamp() for r in runs if t <= r.started_at.timestamp() <= ts]
            if started:
                crawl_part.append(ts - min(started))
                pickup.append(min(started) - t)
                due = due_at.get(min(started))
                if due is not None:
                    from_due.append(ts - max(t, due))
        window_end = window_start + args.window
        history = [ts for u, ts in in_kafka.items() if u and "/arsip-" in u]
        return {
            "with_backfill": with_backfill,
            "live_articles": len(appeared),
            "live_in_kafka": len(fresh),
            "freshness_s": _quantiles(fresh),
            # From the later of "article appeared" and "source due" to Kafka: the live freshness
            # the crawler controls (the source's polling interval excluded).
            "due_to_kafka_s": _quantiles(from_due),
            "scheduling_lag_s": _quantiles(lag),
            "crawl_to_kafka_s": _quantiles(crawl_part),
            "pickup_s": _quantiles(pickup),
            "older_articles_in_kafka": len(history),
            "older_articles_published_in_window": sum(window_start <= ts <= window_end for ts in history),
            "backfill": backfill,
        }
    finally:
        stop_all(procs)
        server.should_exit = True
        thread.join(5)
        web.stop()
        ns.cleanup()


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    return {
        "p50": round(percentile(values, 0.5), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_crawler", description=__doc__)
    parser.add_argument("--out", type=Path, default=RESULTS / "crawler.json")
    parser.add_argument("--crawlers", default="1,2,3", help="crawler process counts to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=3, help="copies of the demo sites (each site is a host)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every demo response")
    parser.add_argument("--min-delay", type=float, default=0.0, help="per-host delay of the throughput crawlers")
    parser.add_argument("--timeout", type=float, default=300.0, help="per throughput run")
    parser.add_argument("--window", type=float, default=100.0, help="seconds of live publishing (part 2)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between live articles (part 2)")
    parser.add_argument("--history", type=int, default=70, help="older articles the backfill walks (part 2)")
    parser.add_argument("--freshness-crawlers", type=int, default=1)
    parser.add_argument("--freshness-min-delay", type=float, default=0.5)
    parser.add_argument("--skip", choices=["throughput", "freshness"], action="append", default=[])
    args = parser.parse_args()

    started = time.time()
    # A part that is skipped keeps its previous result (the file holds the latest of each part).
    previous = json.loads(args.out.read_text()) if args.skip and args.out.exists() else {}
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "settings": {k: v for k, v in vars(args).items() if k not in {"out", "skip"}},
    }
    for part in args.skip:
        if part in previous:
            result[part] = previous[part]
            result.setdefault("measured_earlier", {})[part] = previous.get("started_at")
    if "throughput" not in args.skip:
        result["throughput"] = throughput(args)
    if "freshness" not in args.skip:
        result["freshness"] = {}
        for with_backfill in (False, True):
            try:
                result["freshness"]["with_backfill" if with_backfill else "baseline"] = freshness_run(
                    args, with_backfill
                )
            except Exception as exc:  # record what could not run, keep the rest
                result["freshness"]["with_backfill" if with_backfill else "baseline"] = {"error": repr(exc)}
    result["wall_s"] = round(time.time() - started, 1)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=args.out.parent, delete=False, suffix=".tmp") as fh:
        json.dump(result, fh, indent=2, default=str)
    os.replace(fh.name, args.out)
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
