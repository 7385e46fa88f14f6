"""Crawl throughput on the demo sites: ``python -m services.ingest.crawler.bench``.

Starts the demo sites on free ports, crawls every demo source once with an in-memory seen store
and a publisher that only counts, and prints requests per second. ``--min-delay`` is the
per-host politeness delay (0 measures the crawler itself; production uses 1s). The slow host is
left out unless ``--with-slow-host``.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

from services.ingest.crawler.models import SourceCreate
from services.ingest.crawler.registry import SourceRegistry
from services.ingest.crawler.runner import Crawler
from services.ingest.crawler.state import MemoryKeyValue
from services.ingest.demo_sites import start_demo_sites
from services.ingest.demo_sites.manifest import demo_sources
from services.ingest.settings import IngestSettings
from shared.schemas import RawArticle


class _CountingPublisher:
    def __init__(self) -> None:
        self.count = 0

    def publish(self, article: RawArticle) -> None:
        self.count += 1


def run(min_delay_s: float, workers: int, with_slow_host: bool, rounds: int) -> dict[str, float]:
    """Crawl all demo sources ``rounds`` times (fresh memory each round); return the numbers."""
    web = start_demo_sites("127.0.0.1", 0, slow_delay_s=1.0)
    totals = {"requests": 0.0, "articles": 0.0, "seconds": 0.0}
    try:
        for _ in range(rounds):
            # A fresh registry each round, under its own index prefix, removed afterwards.
            settings = IngestSettings(
                index_prefix=f"bench-crawler-{uuid.uuid4().hex[:10]}-",
                crawl_allow_hosts=web.allow_hosts,
                crawl_min_delay_s=min_delay_s,
                crawl_per_host_concurrency=workers,
                crawl_workers=workers,
                crawl_max_retry_wait_s=2.0,
            )
            registry = SourceRegistry.from_settings(settings)
            try:
                sources = [
                    registry.create(SourceCreate.model_validate(spec))
                    for spec in demo_sources(web.base_urls)
                    if with_slow_host or spec["id"] != "gemalereng-rss"
                ]
                publisher = _CountingPublisher()
                with Crawler(settings, registry, publisher, kv=MemoryKeyValue()) as crawler:
                    t0 = time.perf_counter()
                    for source in sources:
                        crawler.crawl(source)
                    totals["seconds"] += time.perf_counter() - t0
                    totals["requests"] += crawler.fetcher.requests_made
                    totals["articles"] += publisher.count
            finally:
                registry.es.options(ignore_status=404).indices.delete(
                    index=f"{settings.index_prefix}*", expand_wildcards="all"
                )
                registry.close()
    finally:
        web.stop()
    return {
        **totals,
        "pages_per_s": totals["requests"] / totals["seconds"],
        "articles_per_s": totals["articles"] / totals["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.ingest.crawler.bench", description=__doc__)
    parser.add_argument("--min-delay", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--with-slow-host", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.min_delay, args.workers, args.with_slow_host, args.rounds), indent=2))


if __name__ == "__main__":
    main()
