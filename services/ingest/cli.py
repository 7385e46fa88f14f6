"""CLI handlers for the ingest processes: ``warta ingest serve|crawler|robots``, ``warta extract``,
``warta demo sites``. Each wires settings, logging, signals and the loop; nothing else."""

from __future__ import annotations

import argparse
import sys

from services.ingest.settings import IngestSettings
from shared.logs import configure_logging


def serve(argv: list[str]) -> int:
    import uvicorn

    p = argparse.ArgumentParser(prog="warta ingest serve")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    a = p.parse_args(argv)
    settings = IngestSettings()
    configure_logging("ingest-api", settings.log_level, settings.log_format)
    from services.ingest.api import create_app

    uvicorn.run(
        create_app(settings),
        host=a.host or settings.host,
        port=a.port or settings.port,
        log_level="warning",
        timeout_graceful_shutdown=20,
    )
    return 0


def crawler(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta ingest crawler").parse_args(argv)
    from services.ingest.crawler.runner import run_crawler
    from services.ingest.publisher import ArticlePublisher
    from shared.metrics import serve_metrics
    from shared.process import StopSignal

    settings = IngestSettings()
    configure_logging("ingest-crawler", settings.log_level, settings.log_format)
    serve_metrics(settings.metrics_port, settings.metrics_host)
    stop = StopSignal()
    publisher = ArticlePublisher(settings, stage="crawl")
    try:
        run_crawler(settings, publisher, stop.event)
    finally:
        publisher.close()
    return 0


def robots(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="warta ingest robots",
        description='Answer robots.txt cases with the crawler\'s own decision: JSON lines {"robots", "agent", '
        '"url", "status"?} in, {"allowed"} out.',
    )
    p.add_argument("file", nargs="?", help="JSON-lines file (default: standard input)")
    a = p.parse_args(argv)
    from services.ingest.crawler.robots import replay

    if a.file is None:
        return replay(sys.stdin, sys.stdout)
    with open(a.file, encoding="utf-8") as lines:
        return replay(lines, sys.stdout)


def migrate_registry(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="warta ingest migrate-registry",
        description="Copy a SQLite source registry (sources, scheduling state, counters, crawl runs, article "
        "times) into the Elasticsearch registry of WARTA_ES_URL under WARTA_INDEX_PREFIX. Idempotent: running it "
        "twice gives the same result. Run it before the crawlers start; prints the counts as JSON.",
    )
    p.add_argument("--from", dest="path", required=True, metavar="PATH", help="the SQLite file (sources.sqlite3)")
    a = p.parse_args(argv)
    import json
    import sqlite3
    from pathlib import Path

    from services.ingest.crawler.migrate import migrate_sqlite
    from services.ingest.crawler.registry import SourceRegistry

    settings = IngestSettings()
    configure_logging("ingest-migrate", settings.log_level, "text")
    registry = SourceRegistry.from_settings(settings)
    try:
        counts = migrate_sqlite(Path(a.path), registry)
    except (FileNotFoundError, sqlite3.Error) as exc:
        print(f"warta ingest migrate-registry: {a.path}: {exc}", file=sys.stderr)
        return 2
    finally:
        registry.close()
    print(json.dumps({"sources": counts.sources, "runs": counts.runs, "articles": counts.articles}))
    return 0


def extract(argv: list[str]) -> int:
    from services.ingest.extract.cli import extract_main

    return extract_main(argv, sys.stdin, sys.stdout)


def demo_sites(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta demo sites", description="Serve the local regional news web.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8101)
    p.add_argument("--history", action="store_true", help="also serve older articles, for backfills")
    a = p.parse_args(argv)
    from services.ingest.demo_sites import serve_demo_sites
    from shared.process import StopSignal

    configure_logging("demo-sites")
    stop = StopSignal()
    serve_demo_sites(host=a.host, base_port=a.port, stop_event=stop.event, history=a.history)
    return 0
