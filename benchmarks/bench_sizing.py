"""Two inputs of the sizing guide (docs/operations.md, "Sizing a deployment") that no other
benchmark measures. Writes ``benchmarks/results/sizing.json`` (``--out``) and prints it.

1. **Kafka record sizes.** ``--articles`` IndoSum development articles (default 200, the first in
   file order) go through the real enrichment (``enrich()``; no Redis: the story id is set as the
   scale benchmark sets it), and each record is encoded as the producers encode it (``to_bytes()``,
   JSON without nulls): ``RawArticle`` (``articles.raw``), ``EnrichedArticle``
   (``articles.enriched``) and ``IndexedArticle`` (``articles.indexed``). Per topic: the mean,
   median and p95 of key plus value. Kafka adds a few bytes per record and about 61 per batch, and
   stores the records as sent (Warta's producers do not compress).
2. **Publication hours.** The IndoSum articles whose source URL carries the publication time to
   the second (CNN Indonesia ``/YYYYMMDDHHMMSS-``, Suara ``/YYYY/MM/DD/HHMMSS/``, both in Western
   Indonesian Time): articles per hour of the day and per weekday, each over its mean. The busiest
   hour over the mean hour is the peak-to-average ratio of a day's publishing.

Run: ``python -m benchmarks.bench_sizing``. Cost: loading the models plus about 15 ms of one core
per article; no Kafka, Elasticsearch or Redis.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import statistics
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchmarks.corpus import INDOSUM, ROOT, indosum_articles
from shared.ids import article_id
from shared.schemas import IndexedArticle, RawArticle

# Publication time in the URL, Western Indonesian Time (UTC+7): year, month, day, hour, minute, second.
PUBLISHED_IN_URL = (
    re.compile(r"cnnindonesia\.com/[^/]+/(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})-"),
    re.compile(r"suara\.com/[^/]+/(\d{4})/(\d{2})/(\d{2})/(\d{2})(\d{2})(\d{2})/"),
)


def summary(sizes: list[int]) -> dict[str, float]:
    ordered = sorted(sizes)
    return {
        "records": len(sizes),
        "mean_bytes": round(statistics.fmean(sizes), 1),
        "median_bytes": float(statistics.median(sizes)),
        "p95_bytes": float(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]),  # nearest rank
    }


def record_sizes(n: int) -> dict[str, Any]:
    from services.enrich.enrichment import enrich

    now = datetime.now(UTC)
    sizes: dict[str, list[int]] = {"articles.raw": [], "articles.enriched": [], "articles.indexed": []}
    articles = indosum_articles(n)
    for i, a in enumerate(articles):
        url = f"https://bench.example/berita/{i}"
        aid = article_id(url)
        key = len(aid.encode())
        raw = RawArticle(id=aid, url=url, canonical_url=url, title=a["title"], text=a["text"],
                         source="bench.example", published_at=now, ingested_at=now, origin="crawler")  # fmt: skip
        enriched = enrich(raw).model_copy(update={"story_id": f"{a['id'][:20]}-0", "story_size": 1})
        indexed = IndexedArticle(id=aid, index="articles-v1", indexed_at=now, ingested_at=now,
                                 story_id=enriched.story_id)  # fmt: skip
        sizes["articles.raw"].append(key + len(raw.to_bytes()))
        sizes["articles.enriched"].append(key + len(enriched.to_bytes()))
        sizes["articles.indexed"].append(key + len(indexed.to_bytes()))
    return {
        "articles": len(articles),
        "text_bytes": summary([len(a["text"].encode()) for a in articles]),
        "key_plus_value": {topic: summary(s) for topic, s in sizes.items()},
    }


def publication_hours(folder: Path = INDOSUM) -> dict[str, Any]:
    """Articles per hour of the day and weekday, from the publication times in the URLs of the
    IndoSum files in ``folder``; hours and weekdays are over their means."""
    times: list[datetime] = []
    for path in sorted(folder.glob("dev.*.jsonl")):
        for line in path.read_text().splitlines():
            url = json.loads(line).get("source_url") or ""
            for pattern in PUBLISHED_IN_URL:
                if m := pattern.search(url):
                    y, mo, d, h, mi, s = (int(g) for g in m.groups())
                    if h < 24:
                        times.append(datetime(y, mo, d, h, mi, s))
                    break
    hours = Counter(t.hour for t in times)
    weekdays = Counter(t.weekday() for t in times)
    per_hour, per_weekday = len(times) / 24, len(times) / 7
    days = sorted({t.date() for t in times})
    return {
        "articles": len(times),
        "days": len(days),
        "first_day": days[0].isoformat() if days else None,
        "last_day": days[-1].isoformat() if days else None,
        "zone": "Asia/Jakarta (WIB)",
        "per_hour": {h: hours[h] for h in range(24)},
        "hour_over_mean": {h: round(hours[h] / per_hour, 2) for h in range(24)},
        "weekday_over_mean": {
            date(2024, 1, 1 + wd).strftime("%a"): round(weekdays[wd] / per_weekday, 2) for wd in range(7)
        },
        "busiest_hour": max(range(24), key=lambda h: hours[h]),
        "busiest_hour_over_mean": round(max(hours.values()) / per_hour, 2),
        "busiest_weekday_over_mean": round(max(weekdays.values()) / per_weekday, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Kafka record sizes and publication hours for the sizing guide.")
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sizing.json")
    args = parser.parse_args()
    result = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version()},
        "source": "IndoSum dev.*.jsonl (../shared/data/summarization/indosum)",
        "records": record_sizes(args.articles),
        "publication_hours": publication_hours(),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
