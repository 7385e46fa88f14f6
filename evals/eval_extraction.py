"""Extraction quality: word-level P/R/F1 of the article text against hand-labelled pages.

Run from the repo root: ``python -m evals.eval_extraction [--limit N] [--workers 2]``.
Writes ``evals/results/extraction.json``.

Data:
- ``../shared/data/extraction/wcxb-dev-articles/`` (WCXB dev split, article pages): each page is
  scored for OUR ``services.ingest.extract.extract`` and for plain
  ``trafilatura.extract(html, url=url)``, in the same run.
- ``tests/unit/extract/fixtures/`` Indonesian pages written for Warta, each with the expected
  body text in a ``.expected.txt`` file, scored the same way.

Score: for each page, multisets of lowercased ``\\w+`` tokens of the prediction and of the
ground truth; P = overlap / predicted, R = overlap / truth, F1 their harmonic mean (0 when
either side is empty). The reported numbers are averages over pages. Pages are grouped into
page types inferred from the markup (CMS generator, structured data, language).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import trafilatura

from services.ingest.extract import extract

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "extraction" / "wcxb-dev-articles"
FIXTURES = ROOT / "tests" / "unit" / "extract" / "fixtures"
RESULTS = ROOT / "evals" / "results" / "extraction.json"
_TOKEN = re.compile(r"\w+")
# A fixed "now" keeps runs reproducible; it only affects date plausibility, not text.
_MAX_WORKERS = 2


def tokens(text: str | None) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN.findall(text or ""))


def prf(predicted: str | None, truth: str) -> tuple[float, float, float]:
    """Word-level precision, recall and F1 over token multisets."""
    pred, gold = tokens(predicted), tokens(truth)
    overlap = sum((pred & gold).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    precision = overlap / sum(pred.values())
    recall = overlap / sum(gold.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def page_types(html: str, url: str) -> list[str]:
    """Coarse, markup-derived page types: CMS family, structured data, declared language."""
    low = html.lower()
    generator = re.search(r"<meta[^>]+name=[\"']generator[\"'][^>]*content=[\"']([^\"']+)", low)
    gen = generator.group(1) if generator else ""
    if "wordpress" in gen or "wp-content" in low:
        cms = "wordpress"
    elif "drupal" in gen or "drupal-settings-json" in low:
        cms = "drupal"
    elif "hubspot" in gen or "hs-scripts" in low:
        cms = "hubspot"
    elif (
        any(k in gen for k in ("gatsby", "astro", "next.js", "hugo", "jekyll", "framer", "eleventy")) or "__next" in low
    ):
        cms = "static/js-framework"
    elif gen:
        cms = "other-cms"
    else:
        cms = "unknown-cms"
    structured = (
        "jsonld-articlebody"
        if '"articlebody"' in low
        else (
            "jsonld-article"
            if re.search(r'"@type"\s*:\s*"(news)?article"|"@type"\s*:\s*"blogposting"', low)
            else "no-jsonld-article"
        )
    )
    lang = re.search(r"<html[^>]*\blang=[\"']?([a-z]{2})", low)
    return [f"cms:{cms}", f"structured:{structured}", f"lang:{lang.group(1) if lang else 'undeclared'}"]


def _score_page(job: tuple[str, str, str, str, str]) -> dict[str, Any]:
    page_id, html_path, url, truth, dataset = job
    raw = Path(html_path).read_bytes()
    if html_path.endswith(".gz"):
        raw = gzip.decompress(raw)
    html = raw.decode("utf-8", errors="replace")
    started = time.perf_counter()
    ours = extract(raw, url).text
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    plain = trafilatura.extract(html, url=url or None) or ""
    plain_seconds = time.perf_counter() - started
    types = [*page_types(html, url), f"dataset:{dataset}"]
    return {
        "id": page_id,
        "types": types,
        "ours": prf(ours, truth),
        "trafilatura": prf(plain, truth),
        "ours_seconds": ours_seconds,
        "trafilatura_seconds": plain_seconds,
    }


def wcxb_jobs(limit: int | None) -> list[tuple[str, str, str, str, str]]:
    jobs = []
    for truth_file in sorted((DATA / "ground-truth").glob("*.json")):
        record = json.loads(truth_file.read_text(encoding="utf-8"))
        truth = (record.get("ground_truth") or {}).get("main_content") or ""
        if not truth.strip():
            continue  # two pages carry no ground truth; the benchmark skips them too
        page_id = truth_file.stem
        jobs.append((page_id, str(DATA / "html" / f"{page_id}.html.gz"), record.get("url") or "", truth, "wcxb"))
    return jobs[:limit] if limit else jobs


def fixture_jobs() -> list[tuple[str, str, str, str, str]]:
    jobs = []
    for expected in sorted(FIXTURES.glob("*.expected.txt")):
        name = expected.name.removesuffix(".expected.txt")
        page = FIXTURES / f"{name}.html"
        meta_file = FIXTURES / f"{name}.url"
        if page.exists():
            url = meta_file.read_text().strip() if meta_file.exists() else f"https://fixture.example.id/{name}"
            jobs.append((name, str(page), url, expected.read_text(encoding="utf-8"), "indonesian-fixtures"))
    return jobs


def _mean(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    n = len(rows) or 1
    return {k: round(sum(r[i] for r in rows) / n, 4) for i, k in enumerate(("precision", "recall", "f1"))}


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    def block(rows: list[dict[str, Any]]) -> dict[str, Any]:
        ours = _mean([r["ours"] for r in rows])
        plain = _mean([r["trafilatura"] for r in rows])
        return {
            "pages": len(rows),
            "ours": ours,
            "trafilatura_default": plain,
            "f1_delta": round(ours["f1"] - plain["f1"], 4),
            "ours_better_pages": sum(r["ours"][2] > r["trafilatura"][2] + 1e-9 for r in rows),
            "ours_worse_pages": sum(r["ours"][2] < r["trafilatura"][2] - 1e-9 for r in rows),
        }

    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        for t in r["types"]:
            by_type[t].append(r)
    wcxb = [r for r in results if "dataset:wcxb" in r["types"]]
    return {
        "wcxb_dev_articles": block(wcxb),
        "by_page_type": {t: block(rows) for t, rows in sorted(by_type.items())},
        "seconds_per_page": {
            "ours": round(sum(r["ours_seconds"] for r in results) / max(1, len(results)), 4),
            "trafilatura_default": round(sum(r["trafilatura_seconds"] for r in results) / max(1, len(results)), 4),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="score only the first N WCXB pages")
    parser.add_argument("--workers", type=int, default=_MAX_WORKERS)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--per-page", action="store_true", help="include per-page scores in the output")
    args = parser.parse_args(argv)
    if not DATA.exists():
        raise SystemExit(f"missing development data: {DATA}")
    jobs = wcxb_jobs(args.limit) + fixture_jobs()
    workers = max(1, min(args.workers, _MAX_WORKERS))
    started = time.time()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = []
        for done, result in enumerate(pool.map(_score_page, jobs, chunksize=4), start=1):
            results.append(result)
            if done % 100 == 0:
                print(f"  {done}/{len(jobs)} pages", file=sys.stderr, flush=True)
    summary = {
        "metric": "mean over pages of word-level F1 (multisets of lowercased \\w+ tokens)",
        "baseline": "trafilatura.extract(html, url=url), default options, trafilatura " + trafilatura.__version__,
        "ours": "services.ingest.extract.extract(html_bytes, url).text",
        **summarise(results),
        "wall_seconds": round(time.time() - started, 1),
        "workers": workers,
    }
    if args.per_page:
        summary["pages"] = [
            {
                "id": r["id"],
                "types": r["types"],
                "ours_f1": round(r["ours"][2], 4),
                "trafilatura_f1": round(r["trafilatura"][2], 4),
            }
            for r in results
        ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    head = summary["wcxb_dev_articles"]
    print(
        f"WCXB dev articles ({head['pages']} pages): ours F1 {head['ours']['f1']:.4f} "
        f"(P {head['ours']['precision']:.4f} R {head['ours']['recall']:.4f}) | trafilatura default F1 "
        f"{head['trafilatura_default']['f1']:.4f} -> {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
    )
    for name, block in summary["by_page_type"].items():
        print(
            f"  {name:40s} n={block['pages']:4d} ours {block['ours']['f1']:.4f}  trafilatura {block['trafilatura_default']['f1']:.4f}"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
