"""CLI handlers for the search processes: ``warta search indexer|alerts|digests|serve``."""

from __future__ import annotations

import argparse
import logging

from services.search.settings import AlertsSettings, SearchSettings
from shared.logs import configure_logging

log = logging.getLogger(__name__)


def indexer(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta search indexer").parse_args(argv)
    from services.search.indexer import run
    from shared.metrics import serve_metrics
    from shared.process import StopSignal

    settings = SearchSettings()
    configure_logging("search-indexer", settings.log_level, settings.log_format)
    serve_metrics(settings.metrics_port, settings.metrics_host)
    run(settings, StopSignal())
    return 0


def alerts(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta search alerts").parse_args(argv)
    from services.search.alerts.consumer import run
    from shared.metrics import serve_metrics
    from shared.process import StopSignal

    settings = AlertsSettings()
    configure_logging("search-alerts", settings.log_level, settings.log_format)
    if not settings.webhook_secret_set:
        log.warning("WARTA_WEBHOOK_SECRET is not set: alert webhooks are signed with a random secret no receiver "
                    "can verify; set it (make up does)")  # fmt: skip
    serve_metrics(settings.metrics_port, settings.metrics_host)
    run(settings, StopSignal())
    return 0


def digests(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta search digests").parse_args(argv)
    from services.search.digests.runner import run
    from services.search.settings import DigestSettings
    from shared.metrics import serve_metrics
    from shared.process import StopSignal

    settings = DigestSettings()
    configure_logging("search-digests", settings.log_level, settings.log_format)
    if not settings.smtp_host:
        log.warning("WARTA_SMTP_HOST is not set: e-mail digests fail (chat digests still go out)")
    serve_metrics(settings.metrics_port, settings.metrics_host)
    run(settings, StopSignal())
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
