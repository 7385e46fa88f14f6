"""``make bench-search``: latency of the search API against direct Elasticsearch, same run.

Indexes N (default 100,000) realistic Indonesian articles generated from the IndoSum development
data (enriched once per base article with the real NLP), starts ``warta search serve`` on them and
measures p50/p99 of ``/v1/search`` and ``/v1/analytics/timeline`` at concurrency 1, 8 and 32, next
to the identical query sent straight to Elasticsearch. The timeline query is also sent through
``benchmarks/floor_proxy.py`` (a bare ASGI app): what any Python HTTP hop costs here. Writes
``benchmarks/results/search.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from benchmarks.corpus import enriched_bases, enriched_variants
from services.search.api.results import HIT_SOURCE
from services.search.criteria import HIGHLIGHT, Criteria, sort_clause, timeline_aggs
from services.search.index import ensure_index, to_document
from shared.settings import articles_alias
from tests.pipeline import ES_URL, WARTA, free_port

RESULTS = Path(__file__).parent / "results"
PREFIX = "bench-search-"
QUERIES = [
    "pemerintah", "presiden AND jokowi", '"pemerintah daerah"', "banjir OR longsor", "polisi NOT korupsi",
    "gubernur NEAR/3 jakarta", "pendidik*", "title:pemilu", "ekonomi AND (inflasi OR harga)", '"bank indonesia"',
    "sepak AND bola", "lang:id AND jakarta", "kesehatan AND rumah AND sakit", "menteri ONEAR/2 keuangan",
    '"dewan perwakilan rakyat" OR dpr', "teknologi -ponsel", "pariwisata AND bali", "infrastruktur jalan tol",
    "korupsi AND kpk", "pilkada OR pemilihan",
]  # fmt: skip


def build_docs(n: int, bases_limit: int) -> tuple[list[dict[str, Any]], float]:
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    bases = enriched_bases(bases_limit, now)
    annotate_s = time.perf_counter() - t0
    return [to_document(article, now.isoformat()) for article in enriched_variants(bases, n)], annotate_s


def index_docs(es: Elasticsearch, docs: list[dict[str, Any]]) -> float:
    es.options(ignore_status=404).indices.delete(index=f"{PREFIX}*", expand_wildcards="all")
    alias = ensure_index(es, PREFIX)
    es.indices.put_settings(index=alias, settings={"refresh_interval": "-1"})
    t0 = time.perf_counter()
    actions = ({"_index": alias, "_id": d["id"], "_source": d} for d in docs)
    for ok, item in streaming_bulk(es, actions, chunk_size=2000, raise_on_error=True):
        assert ok, item
    es.indices.put_settings(index=alias, settings={"refresh_interval": "1s"})
    es.indices.refresh(index=alias)
    es.indices.forcemerge(index=alias, max_num_segments=1)
    return time.perf_counter() - t0


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run_load(fns: dict[str, Any], concurrency: int, requests: int, rounds: int = 4) -> dict[str, dict[str, float]]:
    """Latency of each of ``fns`` at ``concurrency``: ``requests`` each, in ``rounds`` that take
    turns, so that drift in machine speed between minutes hits every function alike."""
    lat: dict[str, list[float]] = {name: [] for name in fns}
    wall = dict.fromkeys(fns, 0.0)

    def timed(fn):  # type: ignore[no-untyped-def]
        def one(i: int) -> float:
            t0 = time.perf_counter()
            fn(i)
            return (time.perf_counter() - t0) * 1000

        return one

    with ThreadPoolExecutor(concurrency) as pool:
        for r in range(rounds):
            for name, fn in fns.items():
                one = timed(fn)
                # Warm-up at the measured concurrency: every thread has its connection, and the API
                # its connections to Elasticsearch, before the clock starts (cold connections were
                # the whole p99 at concurrency 32: about 1 s, then about 0.23 s once warm).
                list(pool.map(one, range(max(20, 2 * concurrency))))
                t0 = time.perf_counter()
                lat[name] += pool.map(one, range(r * requests // rounds, (r + 1) * requests // rounds))
                wall[name] += time.perf_counter() - t0
    return {name: {"p50_ms": round(percentile(v, 0.5), 2), "p99_ms": round(percentile(v, 0.99), 2),
                   "mean_ms": round(statistics.fmean(v), 2), "rps": round(len(v) / wall[name], 1), "requests": len(v)}
            for name, v in lat.items()}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--bases", type=int, default=2146)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--reuse", action="store_true", help="reuse an index from an earlier run")
    a = ap.parse_args()
    es = Elasticsearch(ES_URL, request_timeout=120)
    alias = articles_alias(PREFIX)
    result: dict[str, Any] = {"docs": a.docs, "started_at": datetime.now(UTC).isoformat()}
    if not (a.reuse and es.indices.exists_alias(name=alias)):
        docs, annotate_s = build_docs(a.docs, a.bases)
        result["annotate_bases_s"] = round(annotate_s, 1)
        result["index_s"] = round(index_docs(es, docs), 1)
        del docs
    result["indexed"] = es.count(index=alias)["count"]
    port = free_port()
    key = "wk_bench_admin"
    env = {**os.environ, "WARTA_INDEX_PREFIX": PREFIX, "WARTA_ADMIN_KEY": key, "WARTA_REDIS_PREFIX": PREFIX,
           "WARTA_RATE_LIMIT_PER_MINUTE": "10000000", "WARTA_LOG_LEVEL": "WARNING"}  # fmt: skip
    api = subprocess.Popen(
        [WARTA, "search", "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    floor_port = free_port()
    floor = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.floor_proxy:app", "--port", str(floor_port), "--log-level", "warning",
         "--no-access-log"], env={**env, "WARTA_ES_URL": ES_URL}, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        floor_base = f"http://127.0.0.1:{floor_port}"
        for url in (f"{base}/readyz", f"{floor_base}/?q=x"):
            for _ in range(120):
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
        headers = {"Authorization": f"Bearer {key}"}
        clients: dict[int, httpx.Client] = {}

        def client() -> httpx.Client:
            import threading

            tid = threading.get_ident()
            if tid not in clients:
                clients[tid] = httpx.Client(timeout=60)
            return clients[tid]

        def api_search(i: int) -> None:
            r = client().get(f"{base}/v1/search", params={"q": QUERIES[i % len(QUERIES)], "size": 10}, headers=headers)
            r.raise_for_status()

        def es_search(i: int) -> None:
            body = {"query": Criteria(q=QUERIES[i % len(QUERIES)]).es_query(), "size": 10, "sort": sort_clause("relevance"),
                    "track_total_hits": True, "_source": HIT_SOURCE, "highlight": HIGHLIGHT, "timeout": "10s"}  # fmt: skip
            r = client().post(f"{ES_URL}/{alias}/_search", json=body)
            r.raise_for_status()
            r.json()  # a real client reads the answer, as the API does

        def api_timeline(i: int) -> None:
            r = client().get(f"{base}/v1/analytics/timeline", params={"q": QUERIES[i % len(QUERIES)], "interval": "week"},
                             headers=headers)  # fmt: skip
            r.raise_for_status()

        def floor_timeline(i: int) -> None:
            r = client().get(f"{floor_base}/", params={"q": QUERIES[i % len(QUERIES)], "interval": "week"})
            r.raise_for_status()

        def es_timeline(i: int) -> None:
            body = {"size": 0, "query": Criteria(q=QUERIES[i % len(QUERIES)]).es_query(), "timeout": "10s",
                    "aggs": timeline_aggs("week")}  # fmt: skip
            r = client().post(f"{ES_URL}/{alias}/_search", json=body)
            r.raise_for_status()
            r.json()  # a real client reads the answer, as the API does

        table = []
        for c in (1, 8, 32):
            n = a.requests if c == 1 else a.requests * 2
            row: dict[str, Any] = {"concurrency": c}
            row.update(run_load({"search_api": api_search, "search_es": es_search, "timeline_api": api_timeline,
                                 "timeline_es": es_timeline, "timeline_floor": floor_timeline}, c, n))  # fmt: skip
            for name in ("search_api", "search_es", "timeline_api", "timeline_es", "timeline_floor"):
                print(c, name, row[name], flush=True)
            row["search_p50_ratio"] = round(row["search_api"]["p50_ms"] / row["search_es"]["p50_ms"], 2)
            row["timeline_p50_ratio"] = round(row["timeline_api"]["p50_ms"] / row["timeline_es"]["p50_ms"], 2)
            # The same query through benchmarks/floor_proxy.py: one bare Python HTTP hop, no framework.
            row["timeline_floor_p50_ratio"] = round(row["timeline_floor"]["p50_ms"] / row["timeline_es"]["p50_ms"], 2)
            table.append(row)
        result["latency"] = table
        result["api_rss_mb"] = round(
            int(Path(f"/proc/{api.pid}/status").read_text().split("VmHWM:")[1].split()[0]) / 1024, 1
        )
    finally:
        for proc in (api, floor):
            proc.terminate()
            proc.wait(20)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
