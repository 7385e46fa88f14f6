"""CLI handlers for the enrich processes: ``warta enrich bridge|worker`` and ``warta nlp ...``."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from functools import partial

from shared.logs import configure_logging


def bridge(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta enrich bridge").parse_args(argv)
    from services.enrich.bridge import POLL_BATCH, EnrichDispatch
    from services.enrich.celery_app import app, settings
    from shared.consumer import Outcomes, StreamProcessor
    from shared.kafka import DlqPublisher, make_consumer
    from shared.metrics import serve_metrics
    from shared.process import StopSignal
    from shared.schemas import RawArticle
    from shared.topics import Stage, Topic

    configure_logging("enrich-bridge", settings.log_level, settings.log_format)
    serve_metrics(settings.metrics_port, settings.metrics_host)
    # The bridge reads results in its consumer loop: a Redis that stops answering must not hold the
    # loop for the backend's default socket timeout (120 s). Workers keep Celery's defaults.
    app.conf.update(redis_socket_timeout=5.0, redis_socket_connect_timeout=5.0)

    def dispatch(outcomes: Outcomes) -> EnrichDispatch:
        return EnrichDispatch(outcomes, settings, app)

    consumer = partial(make_consumer, settings, "enrich-bridge", max_poll_records=POLL_BATCH)
    processor: StreamProcessor[RawArticle] = StreamProcessor(
        consumer(),
        Topic.ARTICLES_RAW,
        settings,
        dispatch,
        DlqPublisher(settings, Stage.ENRICH),
        commit_interval_s=settings.commit_interval_s,
        max_poll_records=POLL_BATCH,
        consumer_factory=consumer,  # replaces the client after a stuck rebalance
    )
    processor.run(StopSignal())
    return 0


def worker(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta enrich worker")
    p.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    p.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    a = p.parse_args(argv)
    # Metrics from the pool's child processes are aggregated through files; this must be set
    # before prometheus_client is first imported.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="warta-metrics-"))
    from services.enrich.celery_app import app, settings
    from shared.metrics import HEARTBEAT, serve_metrics

    configure_logging("enrich-worker", settings.log_level, settings.log_format)
    from services.enrich.nlp import warm_up
    from shared.process import freeze_startup_heap

    # The models are loaded once, before the pool forks: every pool process starts ready and shares
    # them copy-on-write (frozen, so that garbage collection does not touch and copy their pages).
    warm_up()
    freeze_startup_heap()
    # Celery supervises its own pool; liveness is "the main process is up".
    HEARTBEAT.max_age_s = float("inf")
    serve_metrics(settings.metrics_port, settings.metrics_host)
    app.worker_main(
        ["worker", "--loglevel", settings.log_level, "--concurrency", str(a.concurrency), "--pool", a.pool,
         "--queues", settings.queue, "--without-gossip", "--without-mingle", "--hostname", f"enrich-{os.getpid()}@%h"]
    )  # fmt: skip
    return 0


def nlp_annotate(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta nlp annotate", description="JSON lines in, annotations out").parse_args(argv)
    from services.enrich.nlp.cli import annotate_main

    return annotate_main(sys.stdin, sys.stdout)


def nlp_cluster(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="warta nlp cluster", description="JSON lines in, story ids out").parse_args(argv)
    from services.enrich.cluster.cli import cluster_main

    return cluster_main(sys.stdin, sys.stdout)
