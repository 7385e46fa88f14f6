"""``make bench-report``: how long a clipping report of 1,000 articles takes, from the request to
the last byte of its PDF (target: under 10 s on this machine). Writes ``benchmarks/results/report.json``.

1,000 generated articles (tests/report_articles.py: syndicated stories carried by one to four
outlets, people and institutions with a tone toward them, regions, one in five without tone) over
30 days, each with a real news text and a three-sentence summary from the IndoSum development data,
are written to a throwaway index prefix (removed afterwards). The search API runs in this process
(its real lifespan, real Elasticsearch) and answers ``GET /v1/reports?format=pdf`` over all of
them: once with the default 100 stories listed and once with every story listed (``stories=500``).
Each case runs three times after a warm-up; the median wall time is reported (and this process's
CPU time, since the machine is shared: the load average is recorded), with the phases of one more
run timed apart (the two Elasticsearch requests, the HTML, the PDF), the pages and the bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pypdf
from elasticsearch import AsyncElasticsearch, Elasticsearch
from elasticsearch.helpers import bulk

from benchmarks.corpus import indosum_articles
from services.search.api import create_app
from services.search.criteria import Criteria
from services.search.index import ensure_index, to_document
from services.search.reports.data import gather
from services.search.reports.render import render_html, render_pdf
from services.search.settings import SearchSettings
from tests.pipeline import ES_URL, new_prefix
from tests.report_articles import make_articles

RESULTS = Path(__file__).parent / "results"
KEY = "bench-report-admin-key-0123456789abcdef"
TARGET_S = 10.0
PERIOD = {"from": "2025-05-01", "to": "2025-05-30"}


def documents(n: int, seed: int = 5) -> list[dict[str, Any]]:
    """``n`` indexed documents with real news texts and summaries."""
    texts = indosum_articles(limit=600)
    rng = random.Random(seed)
    articles = make_articles(n, seed=seed, days=30)[:n]  # about 2.2 articles per story: more than enough
    now = datetime.now(UTC).isoformat()
    docs = []
    for a in articles:
        doc = to_document(a, now)
        base = texts[hash(doc["story_id"]) % len(texts)] if texts else None
        if base:
            doc["body"] = f"{doc['body']}\n\n{base['text']}"
            sentences = [s.strip() + "." for s in base["text"].replace("\n", " ").split(". ") if s.strip()]
            doc["summary"] = [doc["summary"][0], *sentences[:2]]
        doc["word_count"] = len(doc["body"].split()) + rng.randint(0, 5)
        docs.append(doc)
    return docs


async def run(prefix: str, cases: dict[str, dict[str, Any]], runs: int) -> dict[str, Any]:
    settings = SearchSettings(es_url=ES_URL, index_prefix=prefix, admin_key=KEY)
    app = create_app(settings)
    out: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://search.bench", timeout=120,
                                     headers={"Authorization": f"Bearer {KEY}"}) as http:  # fmt: skip
            for name, params in cases.items():
                query = {**PERIOD, "format": "pdf", **params}
                warm = await http.get("/v1/reports", params=query)
                warm.raise_for_status()
                times, cpu = [], []
                for _ in range(runs):
                    t0, c0 = time.perf_counter(), time.process_time()
                    r = await http.get("/v1/reports", params=query)
                    r.raise_for_status()
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                pdf = pypdf.PdfReader(io.BytesIO(r.content))
                out[name] = {"params": params, "runs_s": [round(t, 3) for t in times],
                             "median_s": round(statistics.median(times), 3), "cpu_s": [round(c, 3) for c in cpu],
                             "median_cpu_s": round(statistics.median(cpu), 3), "pages": len(pdf.pages),
                             "pdf_bytes": len(r.content), "phases_s": await phases(settings, params)}  # fmt: skip
    return out


async def phases(settings: SearchSettings, params: dict[str, Any]) -> dict[str, float]:
    """One more report, its phases timed apart: reading the index, the HTML, the PDF."""
    es = AsyncElasticsearch(settings.es_url, request_timeout=60)
    try:
        t0 = time.perf_counter()
        data = await gather(es, settings.alias, Criteria(date_from=PERIOD["from"], date_to=PERIOD["to"]),
                            stories=int(params.get("stories", 100)))  # fmt: skip
        t1 = time.perf_counter()
        html = render_html(data)
        t2 = time.perf_counter()
        render_pdf(html)
        t3 = time.perf_counter()
    finally:
        await es.close()
    return {"elasticsearch": round(t1 - t0, 3), "html": round(t2 - t1, 3), "pdf": round(t3 - t2, 3),
            "articles": data.articles, "stories": data.stories, "stories_listed": len(data.story_list)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="Time a 1,000-article report rendered to PDF.")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load_start = round(os.getloadavg()[0], 2)
    docs = documents(args.articles)
    es = Elasticsearch(ES_URL, request_timeout=120)
    prefix = new_prefix()
    try:
        alias = ensure_index(es, prefix)
        bulk(es, ({"_index": alias, "_id": d["id"], "_source": d} for d in docs), refresh=True)
        cases = {"default (100 stories listed)": {}, "every story listed": {"stories": 500}}
        results = asyncio.run(run(prefix, cases, args.runs))
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        es.close()
    worst = max(c["median_s"] for c in results.values())
    report = {
        "benchmark": "report to PDF (GET /v1/reports?format=pdf)",
        "articles": len(docs),
        "runs": args.runs,
        "target_s": TARGET_S,
        "within_target": worst < TARGET_S,
        "cpus": os.cpu_count(),
        # The machine is shared: wall times stretch with its load; cpu_s is this process's CPU time
        # (the API, the HTML and the PDF; Elasticsearch's own work is in the wall time only).
        "load_average_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
        "python": platform.python_version(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cases": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
