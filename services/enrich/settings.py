"""Settings of the enrich stage (bridge and workers)."""

from __future__ import annotations

from pydantic import Field

from services.enrich.protocol import MAX_RECORDS
from shared.settings import CommonSettings


class EnrichSettings(CommonSettings):
    # Bridge: bound the work handed to Celery. Past either bound the bridge pauses its partitions.
    max_in_flight: int = Field(default=2000, ge=1)
    max_queue_length: int = Field(default=1000, ge=1)
    # A dispatched task with no result after this long is assumed lost (e.g. Redis lost it) and is
    # dispatched again. Longer than the task's hard time limit plus queueing.
    redispatch_after_s: float = 300.0
    # Records per Celery task, at most (a task takes what one poll returned, up to this). Sharing a
    # task's fixed cost matters: about 3 ms of broker, pool and Kafka work against 12-15 ms of NLP.
    task_batch_size: int = Field(default=16, ge=1, le=MAX_RECORDS)
    commit_interval_s: float = 1.0
    result_poll_interval_s: float = 0.2
    # Workers.
    task_soft_time_limit_s: int = 30
    task_time_limit_s: int = 60
    # Longer than the slowest task, so Redis never re-delivers a task that is still running.
    visibility_timeout_s: int = 120
    # Attempts at enriching a record whose NLP fails (a bug, a time limit) before it goes to the DLQ.
    max_retries: int = 3
    retry_backoff_s: float = 1.0
    # A record whose Kafka write keeps failing with a retriable error (an outage) is retried with
    # backoff doubling from ``retry_backoff_s`` up to ``kafka_retry_backoff_max_s``, for at most
    # ``kafka_retry_window_s`` after its first failure; then it goes to the DLQ ("failed").
    kafka_retry_window_s: float = Field(default=900.0, ge=0.0)
    # Capped at half the visibility timeout (see ``kafka_backoff_cap_s``).
    kafka_retry_backoff_max_s: float = Field(default=30.0, gt=0.0)
    # Chaos/testing hook: an article whose text contains this marker fails enrichment on every try.
    # Empty (the default) disables it.
    fault_inject_marker: str = ""
    # Seconds to sleep in each task; a testing hook to simulate slow workers. 0 in production.
    fault_inject_delay_s: float = 0.0

    @property
    def kafka_backoff_cap_s(self) -> float:
        # Redis re-delivers a task that a worker holds (waiting for its countdown) longer than the
        # visibility timeout, which would start a second chain for the same records.
        return min(self.kafka_retry_backoff_max_s, self.visibility_timeout_s / 2)

    @property
    def queue(self) -> str:
        return "enrich"

    def superseded_key(self, task_id: str) -> str:
        """Redis key the bridge sets when it dispatched a task's records again under a new id: a
        retry chain of the old task stops when it sees it (see services/enrich/protocol.py)."""
        return f"{self.redis_prefix}enrich:superseded:{task_id}"

    @property
    def superseded_ttl_s(self) -> int:
        # Outlives any chain of the old task: its retry window, plus queueing and one run.
        return int(self.kafka_retry_window_s + self.redispatch_after_s + self.task_time_limit_s) + 3600
