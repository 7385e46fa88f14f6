"""``make bench-layout``: what the monthly index layout costs and saves, next to one index
(docs/operations.md §9, "Index lifecycle"). Writes ``benchmarks/results/layout.json``.

1. **Indexing and search**: ``make bench-scale``'s measurement (:mod:`benchmarks.bench_scale`)
   at ``--sizes`` (100k and 300k by default) with one index (``--period none``), then with one index
   per month of publication (``--period month``; the generated articles' dates spread over the
   year before the run, so about 13 months). Same articles, queries and machine, one after the
   other; each run's full result is kept in ``layout-none.json`` / ``layout-month.json``.
2. **Retention**: ``--retention`` articles (generated the same way, written straight to
   Elasticsearch with the indexer's documents and month routing) in each layout, then
   ``warta search retention`` with a cutoff 305 days back (about the oldest 60 days of articles):
   its wall time, and the primary store size (measured once the fresh segments have had 60 s to
   merge) right after and 60 s later: what was freed on disk, not only hidden from search. One index deletes article by article (``_delete_by_query`` where
   the cluster has it; the test distribution has not, so here the scan + bulk path), the monthly
   layout drops the expired months whole and deletes the rest of the cutoff's month one by one.

Ratios are month ÷ none from this one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from benchmarks.bench_scale import metric_rows
from benchmarks.corpus import enriched_bases, enriched_variants
from services.search.index import Layout, ensure_index, ensure_month, month_of, to_document
from services.search.lifecycle import delete_older_than
from tests.pipeline import ES_URL

RESULTS = Path(__file__).parent / "results"
RETENTION_DAYS = 305
SETTLE_S = 60


def scale_run(period: str, sizes: str, queries: int, skip: bool = False) -> dict[str, Any]:
    """bench-scale in one layout (``skip``: the result of an earlier run, left in its file)."""
    out = RESULTS / f"layout-{period}.json"
    if not skip:
        subprocess.run([sys.executable, "-m", "benchmarks.bench_scale", "--sizes", sizes, "--queries", str(queries),
                        "--period", period, "--out", str(out)], check=True)  # fmt: skip
    return dict(json.loads(out.read_text()))


def store_bytes(es: Elasticsearch, alias: str) -> int:
    es.indices.refresh(index=alias)
    return int(es.indices.stats(index=alias, metric="store")["_all"]["primaries"]["store"]["size_in_bytes"])


def retention_run(es: Elasticsearch, period: str, n: int, bases: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    prefix = f"bench-layout-{uuid.uuid4().hex[:6]}-"
    layout = Layout(period=period)  # type: ignore[arg-type]
    alias = ensure_index(es, prefix, layout)
    try:
        ops: list[dict[str, Any]] = []
        months: set[str] = set()
        indexed_at = now.isoformat()
        for article in enriched_variants(bases, n, seed=5, now=now):
            target = alias
            if period == "month":
                month = month_of(article.published_at, article.ingested_at)
                target = ensure_month(es, prefix, month, layout) if month not in months else f"{alias}-{month}"
                months.add(month)
            ops += [{"index": {"_index": target, "_id": article.id}}, to_document(article, indexed_at)]
            if len(ops) >= 2000:
                es.bulk(operations=ops, refresh=False)
                ops.clear()
        if ops:
            es.bulk(operations=ops, refresh=False)
        store_bytes(es, alias)
        time.sleep(SETTLE_S)  # background merges of the fresh segments, before "before"
        before = store_bytes(es, alias)
        count = int(es.count(index=alias)["count"])
        t0 = time.perf_counter()
        result = delete_older_than(es, alias, RETENTION_DAYS)
        seconds = time.perf_counter() - t0
        right_after = store_bytes(es, alias)
        time.sleep(SETTLE_S)
        settled = store_bytes(es, alias)
        return {
            "period": period,
            "articles": count,
            "deleted": result["deleted"],
            "method": result.get("method"),
            "dropped_indices": len(result.get("dropped_indices", [])),
            "seconds": round(seconds, 2),
            "deleted_per_s": round(result["deleted"] / max(seconds, 1e-9)),
            "store_bytes_before": before,
            "freed_bytes_at_once": before - right_after,
            f"freed_bytes_after_{SETTLE_S}s": before - settled,
            "freed_share_at_once": round((before - right_after) / before, 3),
            f"freed_share_after_{SETTLE_S}s": round((before - settled) / before, 3),
            "deleted_share": round(result["deleted"] / max(count, 1), 3),
        }
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def compare(none: dict[str, Any], month: dict[str, Any]) -> dict[str, dict[str, list[float | None]]]:
    """Each of bench-scale's metrics at every checkpoint both runs reached: ``[none, month,
    month ÷ none]``."""
    sizes = [cp["size"] for cp in none["checkpoints"]][: len(month["checkpoints"])]
    a, b = metric_rows(none["checkpoints"][: len(sizes)]), metric_rows(month["checkpoints"][: len(sizes)])
    return {f"{size:,}": {name: [a[name][i], b[name][i], ratio(b[name][i], a[name][i])] for name in a}
            for i, size in enumerate(sizes)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,300000")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--retention", type=int, default=120_000, help="articles in each retention run")
    ap.add_argument("--skip-scale", action="store_true",
                    help="only the retention part; the comparison reads the last layout-*.json")  # fmt: skip
    a = ap.parse_args()
    started = datetime.now(UTC)
    result: dict[str, Any] = {"benchmark": "layout", "started_at": started.isoformat(), "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version()}}  # fmt: skip
    none, month = (scale_run(period, a.sizes, a.queries, a.skip_scale) for period in ("none", "month"))
    result["scale"] = {
        "none": "layout-none.json",
        "month": "layout-month.json",
        "month_over_none": compare(none, month),
    }
    es = Elasticsearch(ES_URL, request_timeout=300)
    try:
        bases = enriched_bases(limit=400, now=started)
        result["retention"] = [retention_run(es, period, a.retention, bases, started) for period in ("none", "month")]
    finally:
        es.close()
    result["finished_at"] = datetime.now(UTC).isoformat()
    out = RESULTS / "layout.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
