"""Prometheus metrics shared by every process. Label values come from small fixed sets.

Consumers call :func:`serve_metrics` to expose ``/metrics`` and ``/healthz`` on a port; the APIs
mount :func:`metrics_asgi_app` instead.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_asgi_app, make_wsgi_app
from prometheus_client import multiprocess as prom_multiprocess

STAGES = ("ingest", "crawl", "bridge", "enrich", "index", "search", "alerts")

MESSAGES = Counter("warta_messages_total", "Messages handled per stage and outcome", ["stage", "outcome"])
STAGE_SECONDS = Histogram(
    "warta_stage_seconds",
    "Time spent handling one unit of work per stage",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DLQ = Counter("warta_dlq_total", "Records sent to a DLQ", ["stage", "reason"])
CONSUMER_LAG = Gauge(
    "warta_consumer_lag", "Consumer lag per partition", ["stage", "partition"], multiprocess_mode="max"
)
CELERY_QUEUE = Gauge("warta_celery_queue_length", "Tasks waiting in the Celery queue", multiprocess_mode="max")
IN_FLIGHT = Gauge("warta_in_flight", "Records consumed but not yet committed", ["stage"], multiprocess_mode="max")
PAUSED = Gauge(
    "warta_partitions_paused",
    "1 while a stage has paused its partitions for backpressure",
    ["stage"],
    multiprocess_mode="max",
)
REBALANCE_RECOVERIES = Counter(
    "warta_consumer_rebalance_recoveries_total",
    "Group rebalances a consumer gave up waiting for (shared.consumer), by the recovery taken: rejoin "
    "the group, re-create the Kafka client, or stop the process",
    ["stage", "action"],
)
FRESHNESS = Histogram(
    "warta_freshness_seconds",
    "End-to-end freshness: index time minus ingest time",
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, 1800),
)

# The alerts consumer (`warta search alerts`).
ALERT_MATCHES = Counter("warta_alert_matches", "New saved-search matches recorded by the alerts consumer")
ALERT_DELIVERIES = Counter(
    "warta_alert_deliveries",
    "Webhook deliveries: created (one per batch of new matches of a saved search with a webhook), then the "
    "outcome of each attempt (delivered, retry, failed after the last attempt, cancelled)",
    ["outcome"],
)
ALERT_MATCH_SECONDS = Histogram(
    "warta_alert_match_seconds",
    "Index to match: from an article's indexing (its articles.indexed record) to the end of matching it "
    "against every saved search and recording the matches",
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, 1800),
)
ALERT_MONITORS = Gauge(
    "warta_alert_monitors",
    "Enabled saved searches by query status: ok, or failing (Elasticsearch rejects the query)",
    ["status"],
    multiprocess_mode="max",
)


class _Heartbeat:
    """Liveness for consumer loops: stale when the loop has not beaten for ``max_age_s``."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.max_age_s = 120.0

    def beat(self) -> None:
        self.last = time.monotonic()

    def healthy(self) -> bool:
        return time.monotonic() - self.last < self.max_age_s


HEARTBEAT = _Heartbeat()


def _registry() -> CollectorRegistry | None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return None


def metrics_asgi_app() -> Callable[..., Any]:
    registry = _registry()
    return make_asgi_app(registry) if registry else make_asgi_app()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def serve_metrics(port: int, host: str | None = None) -> WSGIServer | None:
    """Serve /metrics and /healthz in a daemon thread. Port 0 disables it. Binds ``host``, else
    ``WARTA_METRICS_HOST``, else 127.0.0.1: nothing is exposed beyond the machine unless asked."""
    if not port:
        return None
    host = host or os.environ.get("WARTA_METRICS_HOST") or "127.0.0.1"
    registry = _registry()
    metrics_app = make_wsgi_app(registry) if registry else make_wsgi_app()

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO") == "/healthz":
            ok = HEARTBEAT.healthy()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"status":"ok"}' if ok else b'{"status":"stalled"}']
        return metrics_app(environ, start_response)

    server = make_server(host, port, app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
