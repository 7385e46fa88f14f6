"""Page load times of the web app against a running search service, in Debian's Chromium.

For each page it measures, per run, the time from navigation start to the ``load`` event and to
the first data rendered (the app sets the ``warta-rendered`` performance mark once the page's main
content, e.g. the first results, is in the DOM). The browser cache is warm after one warm-up run
per page, as for a user who already opened the app. ``rendered_ms`` is the first results (search)
or the page's data (other pages); ``complete_ms`` is when facets and the chart are in too. Budget (issue 7): every page under 1 s locally
with 100k indexed articles.

    python -m benchmarks.bench_web --url http://127.0.0.1:8002 --key-file .stack/admin-key

Writes ``benchmarks/results/web.json``. Needs an admin key (monitors and sources are admin pages).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

RESULTS = Path(__file__).parent / "results"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
BUDGET_MS = 1000.0
QUERIES = ["pemerintah", "presiden AND jokowi", '"pemerintah daerah"', "banjir OR longsor", "polisi NOT korupsi",
           "gubernur NEAR/3 jakarta"]  # fmt: skip

MEASURE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const done = performance.getEntriesByName("warta-rendered")[0];
  const first = performance.getEntriesByName("warta-first-results")[0] || done;
  return {load: nav ? nav.loadEventEnd : null, rendered: first ? first.startTime : null,
          complete: done ? done.startTime : null, ttfb: nav ? nav.responseStart : null};
}"""


def pages(url: str, key: str) -> list[tuple[str, str]]:
    auth = {"Authorization": f"Bearer {key}"}
    out = [("login", "/login"), ("search (no query)", "/search")]
    for q in QUERIES:
        out.append((f"search: {q}", "/search?" + urlencode({"q": q})))
    out.append(("search: newest, 7 days, no grouping",
                "/search?" + urlencode({"q": QUERIES[0], "sort": "newest", "collapse": "0",
                                        "from": (datetime.now(UTC) - timedelta(days=6)).date().isoformat()})))  # fmt: skip
    hits = httpx.get(f"{url}/v1/search", params={"size": 1}, headers=auth, timeout=30).json().get("hits", [])
    if hits:
        out.append(("article", f"/article/{quote(hits[0]['id'])}"))
    out += [("monitors", "/monitors"), ("sources", "/sources")]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8002")
    ap.add_argument("--key", help="admin API key (default: read --key-file)")
    ap.add_argument("--key-file", default=".stack/admin-key")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=str(RESULTS / "web.json"))
    a = ap.parse_args(argv)
    key = a.key or Path(a.key_file).read_text().strip()
    url = a.url.rstrip("/")

    from playwright.sync_api import sync_playwright

    auth = {"Authorization": f"Bearer {key}"}
    total = httpx.get(f"{url}/v1/search", params={"size": 1}, headers=auth, timeout=30).json()["total"]
    plan = pages(url, key)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="warta-bench-") as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                                                    viewport={"width": 1280, "height": 900})  # fmt: skip
        # Logged in as admin before any script runs (sessionStorage is per tab, so per page).
        ctx.add_init_script(f"sessionStorage.setItem('warta.key', {json.dumps(key)}); "
                            "sessionStorage.setItem('warta.role', 'admin');")  # fmt: skip
        page = ctx.new_page()
        for name, path in plan:
            samples: list[dict[str, float]] = []
            for run in range(a.runs + 1):  # run 0 warms the cache and the server
                page.goto("about:blank")
                t0 = time.perf_counter()
                page.goto(url + path, wait_until="load")
                page.wait_for_selector("html[data-ready]", timeout=30_000)
                wall = (time.perf_counter() - t0) * 1000
                m = page.evaluate(MEASURE)
                if run:
                    samples.append({"load_ms": m["load"], "rendered_ms": m["rendered"], "complete_ms": m["complete"],
                                    "ttfb_ms": m["ttfb"], "wall_ms": wall})  # fmt: skip
            row: dict[str, Any] = {"page": name, "path": path, "runs": len(samples)}
            for metric in ("load_ms", "rendered_ms", "complete_ms", "wall_ms"):
                vals = [s[metric] for s in samples if s[metric] is not None]
                row[metric] = {"p50": round(statistics.median(vals), 1), "max": round(max(vals), 1)} if vals else None
            row["within_budget"] = bool(row["rendered_ms"] and row["rendered_ms"]["max"] < BUDGET_MS
                                        and row["load_ms"] and row["load_ms"]["max"] < BUDGET_MS)  # fmt: skip
            results.append(row)
            print(f"{name:40s} load p50 {row['load_ms']['p50']:7.1f} ms  rendered p50 {row['rendered_ms']['p50']:7.1f} ms"
                  f"  max {row['rendered_ms']['max']:7.1f} ms  {'ok' if row['within_budget'] else 'OVER BUDGET'}")  # fmt: skip
        ctx.close()
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    out = {
        "benchmark": "web page load", "url": url, "indexed_articles": total, "runs_per_page": a.runs,
        "budget_ms": BUDGET_MS, "browser": version, "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "all_within_budget": all(r["within_budget"] for r in results), "pages": results,
    }  # fmt: skip
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {a.out}")
    return 0 if out["all_within_budget"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
