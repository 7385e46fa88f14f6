"""Extraction quality: word-level P/R/F1 of the article text against hand-labelled pages.

Run from the repo root: ``python -m evals.eval_extraction [--limit N] [--workers 2]``.
Writes ``evals/results/extraction.json``.

Data:
- ``../shared/data/extraction/wcxb-dev-articles/`` (WCXB dev split, article pages): each page is
  scored for OUR ``services.ingest.extract.extract`` and for plain
  ``trafilatura.extract(html, url=url)``, in the same run.
- ``tests/unit/extract/fixtures/`` Indonesian pages written for Warta, each with the expected
  body text in a ``.expected.txt`` file, scored the same way.
- ``tests/unit/extract/fixtures/idnoise/{tune,eval}/``: Indonesian pages of the three noisy page
  types (photo galleries, related-article lists with dates, reporter/editor credits) in the
  layouts of national portals, a news agency and regional WordPress themes, each with its gold
  text and its known publication date (``.json``). ``tune`` is what the extractor's rules were
  developed on; ``eval`` was written at the same time and is reported apart, never tuned on.

Dates: day accuracy of ``published_at`` (the calendar day in the page's own offset) on every
page with a known date (WCXB ``publish_date``, the idnoise fixtures), against
``htmldate.find_date(html, url=url)`` alone (default options, and with ``original_date=True``);
on the fixtures also whether the offset (WIB/WITA/WIT) is the one the page states.

Score: for each page, multisets of lowercased ``\\w+`` tokens of the prediction and of the
ground truth; P = overlap / predicted, R = overlap / truth, F1 their harmonic mean (0 when
either side is empty). The reported numbers are averages over pages. Pages are grouped into
page types inferred from the markup (CMS generator, structured data, language).

``--sets idnoise`` scores only the idnoise fixtures (seconds instead of minutes).
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

import htmldate
import trafilatura

from services.ingest.extract import extract

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "extraction" / "wcxb-dev-articles"
FIXTURES = ROOT / "tests" / "unit" / "extract" / "fixtures"
NOISE_FIXTURES = FIXTURES / "idnoise"
NOISE_SPLITS = ("tune", "eval")
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


Job = tuple[str, str, str, str, str, str]


def _same_day(predicted: str | None, gold: str) -> bool:
    """``gold`` is ``YYYY-MM-DD``, ``YYYY-MM`` or an ISO datetime with offset (the page's own
    day); ``predicted`` is an ISO date or datetime, read in its own offset."""
    if not predicted:
        return False
    return predicted[: len(gold[:10])] == gold[:10]


def _score_page(job: Job) -> dict[str, Any]:
    page_id, html_path, url, truth, dataset, known_date = job
    raw = Path(html_path).read_bytes()
    if html_path.endswith(".gz"):
        raw = gzip.decompress(raw)
    html = raw.decode("utf-8", errors="replace")
    started = time.perf_counter()
    article = extract(raw, url)
    ours = article.text
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    plain = trafilatura.extract(html, url=url or None) or ""
    plain_seconds = time.perf_counter() - started
    types = [*page_types(html, url), f"dataset:{dataset}"]
    result: dict[str, Any] = {
        "id": page_id,
        "types": types,
        "ours": prf(ours, truth),
        "trafilatura": prf(plain, truth),
        "ours_seconds": ours_seconds,
        "trafilatura_seconds": plain_seconds,
    }
    if known_date:
        published = article.published_at.isoformat() if article.published_at else None
        result["date"] = {
            "gold": known_date,
            "ours": published,
            "ours_day": _same_day(published, known_date),
            "htmldate_day": _same_day(htmldate.find_date(html, url=url or None), known_date),
            "htmldate_original_day": _same_day(
                htmldate.find_date(html, url=url or None, original_date=True), known_date
            ),
        }
        if len(known_date) > 10:
            # the fixtures state their zone: the offset must be the page's own
            result["date"]["ours_offset"] = published is not None and published[19:] == known_date[19:]
    return result


def wcxb_jobs(limit: int | None) -> list[Job]:
    jobs = []
    for truth_file in sorted((DATA / "ground-truth").glob("*.json")):
        record = json.loads(truth_file.read_text(encoding="utf-8"))
        truth = (record.get("ground_truth") or {}).get("main_content") or ""
        if not truth.strip():
            continue  # two pages carry no ground truth; the benchmark skips them too
        page_id = truth_file.stem
        known_date = (record.get("ground_truth") or {}).get("publish_date") or ""
        jobs.append(
            (page_id, str(DATA / "html" / f"{page_id}.html.gz"), record.get("url") or "", truth, "wcxb", known_date)
        )
    return jobs[:limit] if limit else jobs


def fixture_jobs() -> list[Job]:
    jobs = []
    for expected in sorted(FIXTURES.glob("*.expected.txt")):
        name = expected.name.removesuffix(".expected.txt")
        page = FIXTURES / f"{name}.html"
        meta_file = FIXTURES / f"{name}.url"
        if page.exists():
            url = meta_file.read_text().strip() if meta_file.exists() else f"https://fixture.example.id/{name}"
            jobs.append((name, str(page), url, expected.read_text(encoding="utf-8"), "indonesian-fixtures", ""))
    return jobs


def noise_jobs() -> list[Job]:
    """The idnoise fixtures: ``NAME.html``, ``NAME.expected.txt`` and ``NAME.json`` (url,
    published, page_type) per page; the dataset name says the split (tune or eval)."""
    jobs = []
    for split in NOISE_SPLITS:
        for meta_file in sorted((NOISE_FIXTURES / split).glob("*.json")):
            name = meta_file.stem
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            truth = (meta_file.parent / f"{name}.expected.txt").read_text(encoding="utf-8")
            page = meta_file.parent / f"{name}.html"
            jobs.append(
                (f"{split}/{name}", str(page), meta["url"], truth, f"idnoise-{split}", meta.get("published") or "")
            )
    return jobs


def _noise_types(result: dict[str, Any]) -> None:
    """Tag idnoise pages with their page type (gallery / related / credits) from the file name."""
    dataset = next((t for t in result["types"] if t.startswith("dataset:idnoise")), None)
    if dataset:
        kind = result["id"].split("/", 1)[1].split("_", 1)[0]
        result["types"].append(f"{dataset}:{kind}")


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
    sets = {
        name: block(rows)
        for name, rows in (
            ("wcxb_dev_articles", wcxb),
            ("idnoise_tune", by_type.get("dataset:idnoise-tune", [])),
            ("idnoise_eval", by_type.get("dataset:idnoise-eval", [])),
        )
        if rows
    }
    return {
        **sets,
        "dates": date_summary(results),
        "by_page_type": {t: block(rows) for t, rows in sorted(by_type.items())},
        "seconds_per_page": {
            "ours": round(sum(r["ours_seconds"] for r in results) / max(1, len(results)), 4),
            "trafilatura_default": round(sum(r["trafilatura_seconds"] for r in results) / max(1, len(results)), 4),
        },
    }


def date_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Day accuracy per dataset: ours, htmldate alone (default and ``original_date=True``)."""
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        if "date" in r:
            dataset = next(t for t in r["types"] if t.startswith("dataset:")).removeprefix("dataset:")
            by_dataset[dataset].append(r["date"])
    summary: dict[str, Any] = {}
    for dataset, rows in sorted(by_dataset.items()):
        n = len(rows)
        block: dict[str, Any] = {
            "pages": n,
            "ours_day_accuracy": round(sum(r["ours_day"] for r in rows) / n, 4),
            "htmldate_day_accuracy": round(sum(r["htmldate_day"] for r in rows) / n, 4),
            "htmldate_original_day_accuracy": round(sum(r["htmldate_original_day"] for r in rows) / n, 4),
        }
        offsets = [r["ours_offset"] for r in rows if "ours_offset" in r]
        if offsets:
            block["ours_offset_accuracy"] = round(sum(offsets) / len(offsets), 4)
        summary[dataset] = block
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="score only the first N WCXB pages")
    parser.add_argument("--workers", type=int, default=_MAX_WORKERS)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--per-page", action="store_true", help="include per-page scores in the output")
    parser.add_argument(
        "--sets", choices=("all", "idnoise"), default="all", help="idnoise: only the Indonesian noise fixtures"
    )
    args = parser.parse_args(argv)
    if args.sets == "idnoise":
        jobs = noise_jobs()
    else:
        if not DATA.exists():
            raise SystemExit(f"missing development data: {DATA}")
        jobs = wcxb_jobs(args.limit) + fixture_jobs() + noise_jobs()
    workers = max(1, min(args.workers, _MAX_WORKERS))
    started = time.time()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = []
        for done, result in enumerate(pool.map(_score_page, jobs, chunksize=4), start=1):
            _noise_types(result)
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
                "ours_precision": round(r["ours"][0], 4),
                "ours_recall": round(r["ours"][1], 4),
                **({"date": r["date"]} if "date" in r else {}),
            }
            for r in results
        ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for set_name in ("wcxb_dev_articles", "idnoise_tune", "idnoise_eval"):
        if set_name not in summary:
            continue
        head = summary[set_name]
        plain = head["trafilatura_default"]
        print(
            f"{set_name} ({head['pages']} pages): ours F1 {head['ours']['f1']:.4f} "
            f"(P {head['ours']['precision']:.4f} R {head['ours']['recall']:.4f}) | trafilatura default F1 "
            f"{plain['f1']:.4f} (P {plain['precision']:.4f} R {plain['recall']:.4f})"
        )
    for dataset, block in summary["dates"].items():
        print(
            f"dates {dataset} ({block['pages']} pages): ours day {block['ours_day_accuracy']:.4f} | htmldate "
            f"{block['htmldate_day_accuracy']:.4f} (original_date {block['htmldate_original_day_accuracy']:.4f})"
            + (f" | offset {block['ours_offset_accuracy']:.4f}" if "ours_offset_accuracy" in block else "")
        )
    print(f"-> {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    for name, block in summary["by_page_type"].items():
        print(
            f"  {name:40s} n={block['pages']:4d} ours {block['ours']['f1']:.4f}  trafilatura {block['trafilatura_default']['f1']:.4f}"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
