"""``make bench-pipeline``: sustained throughput, freshness and per-stage ratios of the whole
pipeline on this machine, everything co-located. Writes ``benchmarks/results/pipeline.json``.

1. Sustained: N articles (default 50,000, generated from IndoSum development data with unique
   URLs) pushed through the ingest API in batches of 500 while every stage runs; end-to-end
   articles/s and per-stage rates from the timestamps each stage stamps on the document.
2. Freshness at a steady offered load (default 20 articles/s for 60 s): p50/p95/p99 of index time
   minus ingest time, and of "searchable" as seen by polling the search API for a sample.
3. Ratios in the same run: the indexer against a plain ``helpers.bulk`` of the same documents, the
   enrich workers against the enrichment function called in a loop (with story clustering, as the
   workers do; and without it, for reference), and the ingest API against a bare kafka-python
   producer loop.
4. Peak RSS (VmHWM) of every process.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk
from kafka import KafkaProducer

from benchmarks.bench_search import percentile
from benchmarks.corpus import OUTLETS, indosum_articles, random_date
from shared.ids import article_id
from shared.schemas import utcnow
from shared.topics import Topic
from tests.pipeline import ES_URL, KAFKA, REDIS_URL, Namespace, Pipeline

RESULTS = Path(__file__).parent / "results"
LOGS = Path(__file__).resolve().parents[1] / "artifacts" / "bench-pipeline-logs"


def make_articles(n: int, run: str, seed: int = 5) -> list[dict[str, Any]]:
    bases = indosum_articles()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        b = bases[i % len(bases)]
        outlet = OUTLETS[rng.randrange(len(OUTLETS))]
        out.append({"url": f"https://{outlet}/berita/{run}/{i}", "title": f"{b['title']} ({i})", "text": b["text"],
                    "published_at": random_date(rng, 30).isoformat(), "source": outlet})  # fmt: skip
    return out


def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/status").read_text().split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError):
        return 0.0


def tree_rss(proc) -> dict[str, float]:  # type: ignore[no-untyped-def]
    out = {"main": round(rss_mb(proc.popen.pid), 1)}
    for i, child in enumerate(proc.children()):
        out[f"child{i + 1}"] = round(rss_mb(child), 1)
    return out


def count(es: Elasticsearch, alias: str, q: dict[str, Any] | None = None) -> int:
    es.indices.refresh(index=alias)
    return int(es.count(index=alias, query=q or {"match_all": {}})["count"])


def push(p: Pipeline, articles: list[dict[str, Any]], threads: int = 4) -> float:
    t0 = time.perf_counter()

    def send(chunk: list[dict[str, Any]]) -> None:
        r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": chunk}, headers=p.ns.auth, timeout=120)
        r.raise_for_status()
        assert r.json()["accepted"] == len(chunk), r.text[:500]

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, [articles[i : i + 500] for i in range(0, len(articles), 500)]))
    return time.perf_counter() - t0


def stage_stats(es: Elasticsearch, alias: str, run_query: dict[str, Any]) -> dict[str, Any]:
    aggs = {f"{f}_{m}": {m: {"field": f}} for f in ("ingested_at", "enriched_at", "indexed_at") for m in ("min", "max")}
    r = es.search(index=alias, size=0, query=run_query, aggs=aggs)["aggregations"]
    span = {
        f: (r[f"{f}_max"]["value"] - r[f"{f}_min"]["value"]) / 1000
        for f in ("ingested_at", "enriched_at", "indexed_at")
    }
    return {"span_s": {k: round(v, 1) for k, v in span.items()}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--freshness-s", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--ratio-sample", type=int, default=2000)
    ap.add_argument("--ratios-only", action="store_true", help="only part 3; prints instead of writing the results")
    a = ap.parse_args()
    if a.ratios_only:
        ratios = stage_ratios(Elasticsearch(ES_URL, request_timeout=120), make_articles(a.ratio_sample, uuid.uuid4().hex[:6]),
                              a.workers, a.concurrency)  # fmt: skip
        print(json.dumps(ratios, indent=2))
        return 0
    ns = Namespace(prefix="bench-pipe-")
    ns.cleanup()
    ns.create(partitions=3)
    run = uuid.uuid4().hex[:6]
    env = {"WARTA_RATE_LIMIT_PER_MINUTE": "100000000", "WARTA_LOG_LEVEL": "WARNING", "WARTA_MAX_IN_FLIGHT": "4000",
           "WARTA_MAX_QUEUE_LENGTH": "2000"}  # fmt: skip
    p = Pipeline(ns, LOGS, extra_env=env, workers=a.workers, concurrency=a.concurrency)
    es = Elasticsearch(ES_URL, request_timeout=120)
    alias = f"{ns.prefix}articles"
    result: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(), "cores": os.cpu_count(),
                              "workers": a.workers, "worker_concurrency": a.concurrency}  # fmt: skip
    p.start()
    try:
        # 1. Sustained throughput.
        articles = make_articles(a.articles, run)
        t0 = time.perf_counter()
        ingest_s = push(p, articles)
        deadline = time.monotonic() + 3 * 3600
        while count(es, alias) < a.articles and time.monotonic() < deadline:
            time.sleep(2)
        total_s = time.perf_counter() - t0
        indexed = count(es, alias)
        result["sustained"] = {
            "articles": a.articles, "indexed": indexed, "wall_s": round(total_s, 1),
            "end_to_end_articles_per_s": round(indexed / total_s, 1),
            "ingest_api_articles_per_s": round(a.articles / ingest_s, 1),
            **stage_stats(es, alias, {"match_all": {}}),
        }  # fmt: skip
        spans = result["sustained"]["span_s"]
        result["sustained"]["enrich_articles_per_s"] = round(indexed / max(spans["enriched_at"], 1e-9), 1)
        result["sustained"]["index_articles_per_s"] = round(indexed / max(spans["indexed_at"], 1e-9), 1)
        print(json.dumps(result["sustained"]), flush=True)

        # 2. Freshness at a steady offered load.
        fresh = make_articles(int(a.rate * a.freshness_s), run + "f", seed=9)
        searchable: list[float] = []
        sample_lock = threading.Lock()

        def watch(token_url: str, sent: float) -> None:
            aid = article_id(token_url)
            end = time.monotonic() + 60
            while time.monotonic() < end:
                if p.get(f"/v1/articles/{aid}").status_code == 200:
                    # GET is real-time; search needs a refresh (1 s): add the refresh interval bound.
                    with sample_lock:
                        searchable.append(time.perf_counter() - sent)
                    return
                time.sleep(0.05)

        watchers = ThreadPoolExecutor(8)
        start = time.perf_counter()
        for i, art in enumerate(fresh):
            target = start + i / a.rate
            time.sleep(max(0.0, target - time.perf_counter()))
            sent = time.perf_counter()
            r = httpx.post(f"{p.ingest_url}/v1/articles", json=art, headers=ns.auth, timeout=30)
            r.raise_for_status()
            if i % 10 == 0:
                watchers.submit(watch, art["url"], sent)
        watchers.shutdown(wait=True)
        time.sleep(5)
        ids = [article_id(x["url"]) for x in fresh]
        docs = es.mget(index=alias, ids=ids, source=["ingested_at", "indexed_at"])["docs"]
        lat = [(datetime.fromisoformat(d["_source"]["indexed_at"]) - datetime.fromisoformat(d["_source"]["ingested_at"])).total_seconds()
               for d in docs if d.get("found")]  # fmt: skip
        result["freshness"] = {
            "offered_rate_per_s": a.rate, "articles": len(fresh), "indexed": len(lat),
            "index_minus_ingest_s": {"p50": round(percentile(lat, 0.5), 3), "p95": round(percentile(lat, 0.95), 3),
                                     "p99": round(percentile(lat, 0.99), 3)},
            "api_post_to_retrievable_s": {"samples": len(searchable), "p50": round(percentile(searchable, 0.5), 3),
                                          "p95": round(percentile(searchable, 0.95), 3)} if searchable else None,
        }  # fmt: skip
        print(json.dumps(result["freshness"]), flush=True)
        result["rss_mb"] = {name: tree_rss(proc) for name, proc in p.procs.items()}
    finally:
        p.stop()

    # 3. Ratios, same documents, same run (pipeline stopped so the machine is quiet).
    ns.cleanup()
    sample = articles[: a.ratio_sample]
    result["ratios"] = stage_ratios(es, sample, a.workers, a.concurrency)
    result["ratios"]["ingest_api_vs_bare_producer"] = round(
        result["sustained"]["ingest_api_articles_per_s"] / result["ratios"]["bare_producer_msgs_per_s"], 2
    )
    print(json.dumps(result["ratios"]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU time of these processes so far (from /proc; exited ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _drain_rate(p: Pipeline, names: list[str], progress, total: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(items per wall second, items per CPU second of the stage's processes) while the stage drains
    ``total`` queued items, timed from its first output (so process start-up and consumer-group
    joins do not count)."""
    p.start(names)
    try:
        while (first := progress()) == 0:
            time.sleep(0.05)
        pids = [pid for n in names for pid in (p.procs[n].popen.pid, *p.procs[n].children())]  # type: ignore[union-attr]
        t0, cpu0 = time.perf_counter(), cpu_seconds(pids)
        while (done := progress()) < total:
            time.sleep(0.05)
        wall, cpu = time.perf_counter() - t0, cpu_seconds(pids) - cpu0
        return (done - first) / wall, (done - first) / max(cpu, 1e-9)
    finally:
        p.stop()


def _interleaved(
    fns: dict[str, Any], items: list[Any], chunk: int = 50
) -> tuple[dict[str, float], dict[str, float], list[Any]]:
    """Run each of ``fns`` over ``items`` in alternating chunks, so that drift in machine speed
    (up to +-25% between minutes here) hits every function alike. Returns (items per wall second,
    items per CPU second) per name, and the first function's results."""
    wall = dict.fromkeys(fns, 0.0)
    cpu = dict.fromkeys(fns, 0.0)
    first: list[Any] = []
    for i in range(0, len(items), chunk):
        part = items[i : i + chunk]
        for k, (name, fn) in enumerate(fns.items()):
            t0, cpu0 = time.perf_counter(), time.process_time()
            out = [fn(x) for x in part]
            wall[name] += time.perf_counter() - t0
            cpu[name] += time.process_time() - cpu0
            if k == 0:
                first += out
    n = len(items)
    return {k: n / v for k, v in wall.items()}, {k: n / v for k, v in cpu.items()}, first


def stage_ratios(
    es: Elasticsearch, sample: list[dict[str, Any]], workers: int, concurrency: int, rounds: int = 3
) -> dict[str, Any]:
    """Each stage alone on the same documents, against its library baseline, in this run."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    from services.enrich.cluster import ClusterSettings, redis_clusterer
    from services.enrich.enrichment import enrich
    from services.ingest.articles import ArticleIn, to_raw
    from services.search.index import MAPPING, SETTINGS, to_document

    raws = [to_raw(ArticleIn.model_validate(x)) for x in sample]
    # The baseline loop does what a worker does: enrichment including story clustering (state in
    # Redis). The same loop without clustering (the annotate function alone) runs interleaved
    # with it; half of the loops run before the workers drain the sample and half after, so that
    # the workers and the loops meet the machine at the same speed on average.
    clusterer = redis_clusterer(REDIS_URL, ClusterSettings(redis_key_prefix="bench-ratio-loop:cluster"))
    enrich(raws[0])  # loads the models: not part of the rate
    # This process holds the whole benchmark corpus; like the workers (which freeze their start-up
    # heap), keep it out of garbage collection so that it does not slow the loop down (~15%).
    gc.collect()
    gc.freeze()
    loops = {"annotate": lambda r: enrich(r), "enrich": lambda r: enrich(r, clusterer=clusterer)}
    half = len(raws) // 2
    loop_wall, loop_cpu, enriched = _interleaved(loops, raws[:half])

    # Enrich stage alone: raw records already in Kafka, bridge + workers drain them.
    ns = Namespace(prefix="bench-ratio-")
    ns.cleanup()
    ns.create()
    s = ns.settings
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=5)
    t0 = time.perf_counter()
    for f in [producer.send(s.topic(Topic.ARTICLES_RAW), key=r.id.encode(), value=r.to_bytes()) for r in raws]:
        f.get(30)
    producer_rate = len(raws) / (time.perf_counter() - t0)
    consumer = KafkaConsumer(bootstrap_servers=KAFKA)
    parts = [TopicPartition(s.topic(Topic.ARTICLES_ENRICHED), i) for i in range(3)]

    def enriched_count() -> int:
        return int(sum(consumer.end_offsets(parts).values()))

    env = {"WARTA_LOG_LEVEL": "WARNING", "WARTA_MAX_QUEUE_LENGTH": "2000"}
    p = Pipeline(ns, LOGS / "ratio-enrich", extra_env=env, workers=workers, concurrency=concurrency)
    workers_only = [n for n in p.procs if n.startswith("worker")]
    enrich_rate, enrich_cpu_rate = _drain_rate(p, ["bridge", *workers_only], enriched_count, len(raws))
    consumer.close()
    ns.cleanup()
    wall2, cpu2, enriched2 = _interleaved(loops, raws[half:])
    enriched += enriched2
    # Rates over both halves: items / total time.
    loop_wall = {k: 2 / (1 / loop_wall[k] + 1 / wall2[k]) for k in loops}
    loop_cpu = {k: 2 / (1 / loop_cpu[k] + 1 / cpu2[k]) for k in loops}
    keys = redis.Redis.from_url(REDIS_URL)
    for key in keys.scan_iter("bench-ratio-loop:*", count=1000):
        keys.delete(key)

    # Index stage alone: enriched records in Kafka, the indexer drains them. Progress is the
    # indexer's committed offset (it commits a batch once its bulk succeeded and its
    # articles.indexed records were acknowledged), which does not wait for a refresh, like
    # helpers.bulk. Ten copies of the sample (new ids) so that the drain takes
    # several seconds. Several rounds, alternating which of the two goes first; the ratio is the
    # median of the rounds' ratios.
    enriched = [e.model_copy(update={"id": f"{e.id}-{k}"}) for k in range(10) for e in enriched]
    now = utcnow().isoformat()
    docs = [to_document(e, now) for e in enriched]
    records = [(e.id.encode(), e.to_bytes()) for e in enriched]  # serialized once for every round
    scratch = "bench-ratio-scratch-bulk"

    def index_drain() -> float:
        ns = Namespace(prefix="bench-ratio-")
        ns.cleanup()
        ns.create()
        s = ns.settings
        for f in [producer.send(s.topic(Topic.ARTICLES_ENRICHED), key=k, value=v) for k, v in records]:
            f.get(30)
        admin = KafkaAdminClient(bootstrap_servers=KAFKA)
        group, topic = f"{s.topic_prefix}search-indexer", s.topic(Topic.ARTICLES_ENRICHED)

        def committed() -> int:
            offsets = admin.list_consumer_group_offsets(group)
            return sum(o.offset for tp, o in offsets.items() if tp.topic == topic and o.offset > 0)

        try:
            return _drain_rate(Pipeline(ns, LOGS / "ratio-index", extra_env=env), ["indexer"], committed, len(records))[
                0
            ]
        finally:
            admin.close()
            ns.cleanup()

    def helpers_bulk() -> float:
        es.options(ignore_status=404).indices.delete(index=scratch)
        es.indices.create(index=scratch, mappings=MAPPING, settings=SETTINGS)
        t0 = time.perf_counter()
        bulk(es, ({"_index": scratch, "_id": d["id"], "_source": d} for d in docs), chunk_size=500)
        rate = len(docs) / (time.perf_counter() - t0)
        es.indices.delete(index=scratch)
        return rate

    index_rates, bulk_rates = [], []
    for r in range(rounds):
        if r % 2:
            bulk_rates.append(helpers_bulk())
            index_rates.append(index_drain())
        else:
            index_rates.append(index_drain())
            bulk_rates.append(helpers_bulk())
    producer.close()
    index_ratios = [i / b for i, b in zip(index_rates, bulk_rates, strict=True)]
    cores = os.cpu_count() or 1
    return {
        "indexer_vs_helpers_bulk": round(statistics.median(index_ratios), 2),
        "indexer_vs_helpers_bulk_rounds": [round(x, 2) for x in index_ratios],
        "indexer_docs_per_s": round(statistics.median(index_rates), 1),
        "helpers_bulk_docs_per_s": round(statistics.median(bulk_rates), 1),
        # Per CPU-second of the stage's own processes (bridge, Celery main and pool) against the
        # loop's: what the worker path costs over calling the function, without the CPU that the
        # co-located Kafka, Redis and Elasticsearch take from the two cores.
        "enrich_workers_vs_enrich_loop_per_cpu_s": round(enrich_cpu_rate / loop_cpu["enrich"], 2),
        # Wall clock, per core: worker throughput over (loop rate x cores the workers may use).
        "enrich_workers_vs_enrich_loop_per_core": round(
            enrich_rate / (loop_wall["enrich"] * min(workers * concurrency, cores)), 2
        ),
        "enrich_workers_vs_annotate_loop_per_cpu_s": round(enrich_cpu_rate / loop_cpu["annotate"], 2),
        "enrich_workers_articles_per_s": round(enrich_rate, 1),
        "enrich_workers_articles_per_cpu_s": round(enrich_cpu_rate, 1),
        "enrich_loop_articles_per_s": round(loop_wall["enrich"], 1),
        "enrich_loop_articles_per_cpu_s": round(loop_cpu["enrich"], 1),
        "annotate_loop_articles_per_s": round(loop_wall["annotate"], 1),
        "annotate_loop_articles_per_cpu_s": round(loop_cpu["annotate"], 1),
        "bare_producer_msgs_per_s": round(producer_rate, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
