"""``make bench-scale``: how Warta's costs grow with the corpus, at 100,000, 300,000 and 1,000,000
articles (``--sizes``). Writes ``benchmarks/results/scale.json`` (``--out``) and prints a table.

The articles are generated reproducibly, one at a time, from the IndoSum development data as
``make bench-search`` does (:func:`benchmarks.corpus.enriched_variants`: each base article through
the real enrichment once, then re-published by outlets under its own id, date and paragraph
order). They are indexed through the indexer: each segment (0 to 100k, 100k to 300k, ...) is
published to ``articles.enriched`` in a fresh topic and index prefix while no indexer runs, then
``warta search indexer`` processes (``--indexers``) drain it on the product's settings (batch
size, refresh interval) and are stopped again, so that what is measured next has the machine to
itself. At each checkpoint:

- **indexing rate**: articles/s over the segment, from the first commit of the indexer's consumer
  group to the commit of the segment's last article (process start-up excluded; ``index_wall_s``
  includes it);
- **bytes on disk per article**: the primary store size of the index (``_stats/store``) over the
  article count, after a refresh and without a force-merge: the segments as the indexer and
  Elasticsearch's background merging left them (``segments`` gives their count);
- **Elasticsearch heap**: ``_nodes/stats/jvm`` summed over the nodes, the median of five samples
  a second apart: heap used and the old generation (what survives young collections);
- **search**: p50/p99 over ``--queries`` requests of each kind (a word, a phrase, ``NEAR/5``, a
  prefix wildcard, ``entity:``, a long boolean monitor query), one at a time, through
  ``GET /v1/search`` of a fresh ``warta search serve``; and of ``/v1/analytics/timeline`` and
  ``/v1/analytics/top`` (``field=entity``) on words. Every request of a kind has its own query
  (none repeats within a checkpoint, so Elasticsearch's request cache never answers), the same
  list at every checkpoint, after a warm-up on other queries;
- **export**: ``GET /v1/export?format=ndjson`` of every article, read to its end: articles/s, and
  the peak RSS of the API process during it (its high-water mark reset just before, through
  ``/proc/<pid>/clear_refs``), next to its RSS before.

Then, for each metric, the exponent ``b`` of ``value ≈ a·N^b`` by least squares on log-log over
the checkpoints: 0 is flat, 1 grows like the corpus (a rate with ``b`` < 0 slows down).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import platform
import random
import re
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from benchmarks.bench_alerts import STOPWORDS, Committed
from benchmarks.bench_search import percentile
from benchmarks.corpus import enriched_bases, enriched_variants
from services.search.query import parse
from shared.settings import articles_alias
from shared.topics import Topic
from tests.pipeline import ES_URL, KAFKA, Namespace, Pipeline

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
LOGS = ROOT / "artifacts" / "bench-scale-logs"
KINDS = ("word", "phrase", "near", "prefix", "entity", "monitor")
ANALYTICS = ("timeline", "top")
ENV = {"WARTA_LOG_LEVEL": "WARNING", "WARTA_RATE_LIMIT_PER_MINUTE": "100000000"}
_WORD = re.compile(r"[a-z]{3,}")
_NAME = re.compile(r"^[A-Za-z][A-Za-z .'-]{2,60}$")


# --- pure helpers (tests/unit/benchmarks) ----------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    """``"100000,300000,1000000"`` -> ``[100000, 300000, 1000000]``. Raises ValueError unless the
    sizes are positive integers in increasing order."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or sizes[0] <= 0 or any(b <= a for a, b in pairwise(sizes)):
        raise ValueError(f"sizes must be positive and increasing, got {text!r}")
    return sizes


def growth_exponent(sizes: Sequence[float], values: Sequence[float | None]) -> float | None:
    """The exponent ``b`` of ``value ≈ a·size^b``: the least-squares slope of log(value) on
    log(size). Points with a missing or non-positive value are left out; None when fewer than two
    distinct sizes remain."""
    points = [
        (math.log(n), math.log(v)) for n, v in zip(sizes, values, strict=True) if v is not None and v > 0 and n > 0
    ]
    if len({x for x, _ in points}) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def query_sets(
    texts: Sequence[str], names: Sequence[str], n: int, stopwords: Iterable[str] = (), seed: int = 5
) -> dict[str, list[str]]:
    """``n`` queries of each of :data:`KINDS` (and ``words``: ``n`` plain words for the analytics),
    built from ``texts`` (article bodies) and ``names`` (entity canonical names), all distinct
    within a kind while the corpus has enough (then the list repeats). Deterministic for a given
    input and ``seed``. Every query parses."""
    rng = random.Random(seed)
    stop = set(stopwords)
    tokenized = [_WORD.findall(t.lower()) for t in texts]
    df: collections.Counter[str] = collections.Counter()
    for tokens in tokenized:
        df.update(set(tokens))
    # Words a monitor would search: in at least two articles, in at most a fifth of them.
    cap = max(2, len(texts) // 5)
    topical = sorted(
        (w for w, c in df.items() if 2 <= c <= cap and len(w) >= 5 and w not in stop), key=lambda w: (-df[w], w)
    )
    topical_set = set(topical)
    bigrams: collections.Counter[tuple[str, str]] = collections.Counter()
    near: collections.Counter[tuple[str, str]] = collections.Counter()
    for tokens in tokenized:
        seen_bi, seen_near = set(), set()
        for i, a in enumerate(tokens):
            if a not in topical_set:
                continue
            if i + 1 < len(tokens) and tokens[i + 1] in topical_set:
                seen_bi.add((a, tokens[i + 1]))
            for b in tokens[i + 3 : i + 7]:  # 2 to 5 words between them
                if b in topical_set and b != a:
                    seen_near.add((a, b))
        bigrams.update(seen_bi)
        near.update(seen_near)
    phrases = sorted((p for p, c in bigrams.items() if c >= 2), key=lambda p: (-bigrams[p], p))
    pairs = sorted((p for p, c in near.items() if c >= 2), key=lambda p: (-near[p], p))
    prefixes = sorted({w[:5] for w in topical if len(w) >= 7})
    people = sorted({x for x in names if _NAME.match(x) and '"' not in x})

    def pick(pool: Sequence[Any], k: int) -> list[Any]:
        pool = list(pool)
        rng.shuffle(pool)
        return [pool[i % len(pool)] for i in range(k)] if pool else []

    words = pick(topical, 6 * n)
    if not (words and phrases and pairs and prefixes and people):
        raise ValueError("the corpus is too small to build every kind of query")
    out = {
        "words": words[:n],
        "word": words[n : 2 * n],
        "phrase": [f'"{a} {b}"' for a, b in pick(phrases, n)],
        "near": [f"{a} NEAR/5 {b}" for a, b in pick(pairs, n)],
        "prefix": [f"{p}*" for p in pick(prefixes, n)],
        "entity": [f'entity:"{x}"' for x in pick(people, n)],
    }
    ents = pick(people, 2 * n)
    monitors = []
    for i in range(n):
        w = words[2 * n + 4 * i : 2 * n + 4 * i + 4]
        a, b = phrases[(7 * i) % len(phrases)], phrases[(7 * i + 1) % len(phrases)]
        monitors.append(f'(entity:"{ents[2 * i]}" OR "{ents[2 * i + 1]}" OR "{a[0]} {a[1]}") AND '
                        f'({w[0]} OR {w[1]} OR "{b[0]} {b[1]}" OR {w[2][:5]}*) AND NOT ({w[3]} OR lang:en)')  # fmt: skip
    out["monitor"] = monitors
    for queries in out.values():
        for q in queries:
            parse(q)  # raises on a query the product would refuse: the benchmark's bug, not the data's
    return out


def latency_summary(ms: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(list(ms), 0.5), 2), "p99_ms": round(percentile(list(ms), 0.99), 2),
            "mean_ms": round(statistics.fmean(ms), 2), "requests": len(ms)}  # fmt: skip


def metric_rows(checkpoints: Sequence[dict[str, Any]]) -> dict[str, list[float | None]]:
    """Each reported metric's value at every checkpoint, by a dotted name (the table's rows)."""

    def get(cp: dict[str, Any], path: str) -> float | None:
        value: Any = cp
        for key in path.split("."):
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return float(value) if isinstance(value, int | float) else None

    paths = ["index.articles_per_s", "disk.bytes_per_article", "heap.used_mb", "heap.old_mb"]
    for kind in (*KINDS, *ANALYTICS):
        paths += [f"search.{kind}.p50_ms", f"search.{kind}.p99_ms"]
    paths += ["export.articles_per_s", "export.peak_rss_mb"]
    return {p: [get(cp, p) for cp in checkpoints] for p in paths}


def format_table(sizes: Sequence[int], rows: dict[str, list[float | None]], exponents: dict[str, float | None]) -> str:
    head = f"{'metric':<28}" + "".join(f"{n:>12,}" for n in sizes) + f"{'b':>8}"
    lines = [head, "-" * len(head)]
    for name, values in rows.items():
        cells = "".join(f"{'-' if v is None else f'{v:,.1f}':>12}" for v in values)
        b = exponents.get(name)
        lines.append(f"{name:<28}{cells}{'-' if b is None else f'{b:.2f}':>8}")
    return "\n".join(lines)


# --- measurements ----------------------------------------------------------------------------------


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    return int(Path(f"/proc/{pid}/status").read_text().split(f"{field}:")[1].split()[0]) / 1024


def publish(producer: KafkaProducer, topic: str, articles: Iterator[Any], flush_every: int = 5000) -> int:
    """Send ``articles`` to ``topic`` keyed by id, holding at most ``flush_every`` unacknowledged."""
    sent, pending = 0, []
    for article in articles:
        pending.append(producer.send(topic, key=article.id.encode(), value=article.to_bytes()))
        sent += 1
        if len(pending) >= flush_every:
            producer.flush()
            for f in pending:
                f.get(30)  # raises if a record was not written
            pending = []
    producer.flush()
    for f in pending:
        f.get(30)
    return sent


def drain(p: Pipeline, committed: Committed, before: int, total: int, indexers: list[str]) -> dict[str, Any]:
    """Start the indexers, wait until the group has committed ``total`` records, stop them."""
    t_start = time.perf_counter()
    p.start(indexers)
    try:
        while (first := committed()) <= before:
            if not all(p.procs[n].alive() for n in indexers):
                raise RuntimeError(f"an indexer stopped; logs in {p.log_dir}")
            time.sleep(0.05)
        t0 = time.perf_counter()
        while (done := committed()) < total:
            if not all(p.procs[n].alive() for n in indexers):
                raise RuntimeError(f"an indexer stopped; logs in {p.log_dir}")
            time.sleep(0.1)
        t1 = time.perf_counter()
    finally:
        for n in indexers:
            p.procs[n].stop()
    return {"articles": total - before, "articles_per_s": round((done - first) / max(t1 - t0, 1e-9), 1),
            "drain_s": round(t1 - t0, 1), "index_wall_s": round(t1 - t_start, 1)}  # fmt: skip


def disk(es: Elasticsearch, alias: str) -> dict[str, Any]:
    es.indices.refresh(index=alias)
    stats = es.indices.stats(index=alias, metric="store,docs,segments")["_all"]["primaries"]
    articles = int(es.count(index=alias)["count"])
    size = int(stats["store"]["size_in_bytes"])
    return {"articles": articles, "store_bytes": size, "bytes_per_article": round(size / max(articles, 1), 1),
            "segments": int(stats["segments"]["count"]), "measured": "after a refresh, without a force-merge"}  # fmt: skip


def heap(es: Elasticsearch, samples: int = 5) -> dict[str, Any]:
    used, old, max_ = [], [], 0
    for i in range(samples):
        if i:
            time.sleep(1)
        nodes = es.nodes.stats(metric="jvm")["nodes"].values()
        used.append(sum(n["jvm"]["mem"]["heap_used_in_bytes"] for n in nodes))
        old.append(sum(n["jvm"]["mem"]["pools"]["old"]["used_in_bytes"] for n in nodes))
        max_ = sum(n["jvm"]["mem"]["heap_max_in_bytes"] for n in nodes)
    mb = 1024 * 1024
    return {"used_mb": round(statistics.median(used) / mb, 1), "old_mb": round(statistics.median(old) / mb, 1),
            "max_mb": round(max_ / mb, 1), "nodes": len(nodes)}  # fmt: skip


def timed(fn: Callable[[str], None], queries: Sequence[str]) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def searches(client: httpx.Client, sets: dict[str, list[str]], warmup: dict[str, list[str]]) -> dict[str, Any]:
    def search(q: str) -> None:
        client.get("/v1/search", params={"q": q, "size": 10}).raise_for_status()

    def timeline(q: str) -> None:
        client.get("/v1/analytics/timeline", params={"q": q, "interval": "week"}).raise_for_status()

    def top(q: str) -> None:
        client.get("/v1/analytics/top", params={"q": q, "field": "entity"}).raise_for_status()

    out: dict[str, Any] = {}
    for kind in KINDS:
        timed(search, warmup[kind])
        out[kind] = latency_summary(timed(search, sets[kind]))
    for name, fn in (("timeline", timeline), ("top", top)):
        timed(fn, warmup["words"])
        out[name] = latency_summary(timed(fn, sets["words"]))
    return out


def export(client: httpx.Client, pid: int) -> dict[str, Any]:
    """A full ndjson export, read to its end, and the API process's memory during it."""
    before = rss_mb(pid)
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    peak_sampled = [before]
    stop = threading.Event()

    def sample() -> None:  # a cross-check of the high-water mark, and a fallback without it
        while not stop.wait(0.2):
            peak_sampled.append(rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    records, size = 0, 0
    try:
        with client.stream("GET", "/v1/export", params={"format": "ndjson"}, timeout=None) as r:
            r.raise_for_status()
            for chunk in r.iter_bytes():
                records += chunk.count(b"\n")
                size += len(chunk)
    finally:
        stop.set()
        sampler.join()
    wall = time.perf_counter() - t0
    return {"articles": records, "bytes": size, "s": round(wall, 1), "articles_per_s": round(records / wall, 1),
            "rss_before_mb": round(before, 1), "peak_rss_mb": round(max(rss_mb(pid, "VmHWM"), *peak_sampled), 1)}  # fmt: skip


def machine(es: Elasticsearch) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    mem_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "kernel": platform.release(),
            "elasticsearch": sorted({n["version"] for n in es.nodes.info(metric="jvm")["nodes"].values()}), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip


# --- the run -----------------------------------------------------------------------------------------


def checkpoint(
    p: Pipeline, es: Elasticsearch, alias: str, sets: dict[str, list[str]], warmup: dict[str, list[str]]
) -> dict[str, Any]:
    out: dict[str, Any] = {"disk": disk(es, alias), "heap": heap(es)}
    p.start(["search-api"])
    try:
        headers = {"Authorization": f"Bearer {p.ns.admin_key}"}
        with httpx.Client(base_url=p.search_url, headers=headers, timeout=120) as client:
            out["search"] = searches(client, sets, warmup)
            out["export"] = export(client, p.procs["search-api"].popen.pid)  # type: ignore[union-attr]
        out["heap_after_search"] = heap(es, samples=1)
    finally:
        p.procs["search-api"].stop()
    return out


def exponents_of(sizes: Sequence[int], rows: dict[str, list[float | None]]) -> dict[str, float | None]:
    """Each metric's growth exponent over the checkpoints (None with fewer than two values)."""
    return {
        name: (None if (b := growth_exponent(sizes, values)) is None else round(b, 3)) for name, values in rows.items()
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--sizes", type=parse_sizes, default=[100_000, 300_000, 1_000_000],
                    help="checkpoints: comma-separated article counts, increasing")  # fmt: skip
    ap.add_argument("--bases", type=int, default=2146, help="IndoSum development articles to enrich")
    ap.add_argument("--queries", type=int, default=200, help="requests of each kind at each checkpoint")
    ap.add_argument("--indexers", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    ap.add_argument("--keep", action="store_true", help="leave the topics and the index for inspection")
    ap.add_argument("--period", choices=["none", "month"], default="none",
                    help="the index layout (WARTA_ES_INDEX_PERIOD): one index, or one per month of publication")  # fmt: skip
    ap.add_argument("--shards", type=int, default=1, help="primary shards of each index (WARTA_ES_SHARDS)")
    a = ap.parse_args()
    started = datetime.now(UTC)
    t_run = time.perf_counter()
    es = Elasticsearch(ES_URL, request_timeout=600)
    result: dict[str, Any] = {"started_at": started.isoformat(), "machine": machine(es),
                              "params": {"sizes": a.sizes, "bases": a.bases, "queries": a.queries, "indexers": a.indexers,
                                         "partitions": a.partitions, "seed": a.seed}}  # fmt: skip
    t0 = time.perf_counter()
    bases = enriched_bases(a.bases, started)
    result["enrich_bases_s"] = round(time.perf_counter() - t0, 1)
    print(f"enriched {len(bases)} base articles in {result['enrich_bases_s']} s", flush=True)
    names = [e.canonical for b in bases for e in b["enriched"].entities]
    all_sets = query_sets([b["text"] for b in bases], names, 2 * a.queries, STOPWORDS.read_text().split())
    sets = {k: v[: a.queries] for k, v in all_sets.items()}
    warmup = {k: v[a.queries : a.queries + 20] for k, v in all_sets.items()}
    result["query_examples"] = {k: v[:3] for k, v in sets.items()}

    ns = Namespace(prefix=f"bench-scale-{uuid.uuid4().hex[:6]}-")
    ns.create(partitions=a.partitions)
    layout = {"WARTA_ES_INDEX_PERIOD": a.period, "WARTA_ES_SHARDS": str(a.shards)}
    result["layout"] = {"period": a.period, "shards": a.shards}
    p = Pipeline(ns, LOGS / ns.prefix.rstrip("-"), extra_env=ENV | layout, indexers=a.indexers)
    indexers = ["indexer", *(f"indexer-{i}" for i in range(2, a.indexers + 1))]
    topic = ns.settings.topic(Topic.ARTICLES_ENRICHED)
    alias = articles_alias(ns.prefix)
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=20, batch_size=256 * 1024,
                             max_request_size=8 * 1024 * 1024)  # fmt: skip
    committed = Committed(f"{ns.prefix}search-indexer", topic)
    articles = enriched_variants(bases, a.sizes[-1], seed=a.seed, now=started)
    checkpoints: list[dict[str, Any]] = []

    def save(checkpoints: list[dict[str, Any]], complete: bool) -> None:
        """The result so far: written after every checkpoint, so a run stopped early keeps those."""
        sizes = [cp["size"] for cp in checkpoints]
        result.update({"checkpoints": checkpoints, "exponents": exponents_of(sizes, metric_rows(checkpoints)),
                       "complete": complete, "finished_at": datetime.now(UTC).isoformat(),
                       "wall_s": round(time.perf_counter() - t_run, 1),
                       "load_average_at_end": [round(x, 2) for x in os.getloadavg()]})  # fmt: skip
        a.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = a.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        tmp.replace(a.out)

    try:
        done = 0
        for size in a.sizes:
            t0 = time.perf_counter()
            sent = publish(producer, topic, islice(articles, size - done))
            publish_s = time.perf_counter() - t0
            cp: dict[str, Any] = {"size": size, "publish": {"articles": sent, "s": round(publish_s, 1),
                                                          "articles_per_s": round(sent / publish_s, 1)}}  # fmt: skip
            print(f"{size:,}: published {sent:,} in {publish_s:.0f} s", flush=True)
            cp["index"] = drain(p, committed, done, size, indexers)
            print(f"{size:,}: indexed {cp['index']}", flush=True)
            done = size
            cp.update(checkpoint(p, es, alias, sets, warmup))
            print(f"{size:,}: {json.dumps({k: v for k, v in cp.items() if k != 'search'})}", flush=True)
            checkpoints.append(cp)
            if len(checkpoints) < len(a.sizes):
                save(checkpoints, complete=False)
    finally:
        producer.close()
        committed.close()
        p.stop()
        if not a.keep:
            ns.cleanup()
        es.close()
    save(checkpoints, complete=len(checkpoints) == len(a.sizes))
    sizes = [cp["size"] for cp in checkpoints]
    rows = metric_rows(checkpoints)
    print(format_table(sizes, rows, exponents_of(sizes, rows)))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
