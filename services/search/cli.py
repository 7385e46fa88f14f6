"""CLI handlers for the search processes: ``warta search indexer|serve``."""

from __future__ import annotations

import argparse
import logging

from services.search.settings import IndexerSettings, SearchSettings
from shared.logs import configure_logging

log = logging.getLogger(__name__)


def indexer(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta search indexer").parse_args(argv)
    from services.search.alerts import AlertIndices, AlertMatcher, WebhookDispatcher
    from services.search.indexer import Indexer, make_es
    from shared.metrics import serve_metrics
    from shared.process import StopSignal
    from shared.ssrf import SsrfGuard

    settings = IndexerSettings()
    configure_logging("search-indexer", settings.log_level, settings.log_format)
    if not settings.webhook_secret_set:
        log.warning("WARTA_WEBHOOK_SECRET is not set: alert webhooks are signed with a random secret no receiver "
                    "can verify; set it (make up does)")  # fmt: skip
    serve_metrics(settings.metrics_port, settings.metrics_host)
    es = make_es(settings)
    stop = StopSignal()
    matcher = AlertMatcher(es, settings.index_prefix, settings.alias)
    guard = SsrfGuard(allow_hosts=settings.webhook_allow_hosts.split(","))
    dispatcher = WebhookDispatcher(es, settings.index_prefix, settings.alias, settings.webhook_secret, guard)
    indexer = Indexer(settings, es=es, on_indexed=matcher.match)

    def on_ready() -> None:
        AlertIndices(settings.index_prefix).ensure(es)
        dispatcher.start()

    indexer.on_ready = on_ready
    try:
        indexer.run(stop)
    finally:
        dispatcher.stop()
    return 0


def serve(argv: list[str]) -> int:
    import uvicorn

    p = argparse.ArgumentParser(prog="warta search serve")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    a = p.parse_args(argv)
    settings = SearchSettings()
    configure_logging("search-api", settings.log_level, settings.log_format)
    from services.search.api import create_app

    uvicorn.run(create_app(settings), host=a.host or settings.host, port=a.port or settings.port,
                log_level="warning", access_log=False, timeout_graceful_shutdown=20)  # fmt: skip
    return 0
