"""The Celery application of the enrich workers.

Configured for at-least-once: late acks, prefetch 1, tasks requeued when a worker dies, time limits
on every task and a Redis visibility timeout longer than the slowest task. Tasks take primitive
arguments (JSON strings and integers); no pickle.
"""

from __future__ import annotations

from celery import Celery

from services.enrich.settings import EnrichSettings
from shared.redis_clients import celery_redis


def make_celery(settings: EnrichSettings) -> Celery:
    # Through Sentinel when WARTA_REDIS_SENTINELS is set (sentinel:// URLs and the master's name).
    url, sentinel = celery_redis(
        settings.redis_url, sentinels=settings.redis_sentinels, master=settings.redis_sentinel_master
    )
    app = Celery("warta-enrich", broker=url, backend=url, include=["services.enrich.tasks"])
    prefix = settings.redis_prefix
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit_s,
        task_time_limit=settings.task_time_limit_s,
        task_default_queue=settings.queue,
        task_track_started=False,
        result_expires=3600,
        result_extended=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "global_keyprefix": prefix,
            **sentinel,
        },
        result_backend_transport_options={"global_keyprefix": prefix, **sentinel},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_max_memory_per_child=900_000,  # KiB: recycle a child before it nears 1 GB
    )
    app.conf.warta_settings = settings
    return app


settings = EnrichSettings()
app = make_celery(settings)
