"""The contract between the enrich bridge and the enrich task: the task's name, its argument and its
result, as typed models, and the one description of how the stage recovers from failures.

The bridge (``bridge.py``) sends :data:`TASK_NAME` with a single argument, an :class:`EnrichBatch`
dumped to JSON primitives (Celery's json serializer, never pickle). The task (``tasks.py``) validates
it once, when it starts, and returns an :class:`EnrichResult` dumped the same way, which the bridge
validates once, when it reads it from Celery's result backend. Nothing else knows these shapes.

A result answers for every record of the task, by its Kafka coordinates: ``ok`` (Kafka acknowledged
the enriched article) or ``dlq`` (Kafka acknowledged a DLQ record for it). Only then does the bridge
report the record done, which lets the runtime commit its offset. A task of a format the worker does
not accept fails (path 3 below); after a deploy that changes these models the new bridge re-reads
unfinished records from the committed offsets, so nothing is lost.

Recovery
--------
At least once: an offset is committed only after the output of its record is durable, and every
record must get an answer, or its partition stops committing. Duplicates are harmless (every sink is
keyed by the article id), so recovery may redo work, but never lose it, never multiply it without
bound and never stall a partition. That needs three paths:

1. **The task retries a failing record itself** (``tasks.py`` lists the kinds of failure), with
   backoff and a bound (``max_retries`` for enrichment, ``kafka_retry_window_s`` for a Kafka outage),
   then writes its DLQ record and answers ``dlq``. Needed: only the task knows which record failed
   and why; transient failures are retried next to the work, and the bound turns a permanent one into
   a DLQ record instead of a stall. A retry is a new run of the same task id carrying the records
   still to do (``done`` and ``retrying_since`` carry the rest of the chain's state).
2. **The bridge re-dispatches a task that gives no answer**: no result and no sign of life for
   ``redispatch_after_s``; at once when sending it failed or when Redis restarted (its ``run_id``
   changed, so every queued task, unacked message and result is gone). Needed: Celery on Redis can
   lose a task or its result (a restart or flush, a failover, a failed result write, a lost worker
   host) and nothing else would ever answer for those records. The two immediate triggers only
   shorten the wait: without them a Redis restart would stall every partition for
   ``redispatch_after_s``. Two rules keep it from multiplying work:

   - a sign of life is any change of the task's unfinished state: every retry writes a RETRY state
     naming its attempt, so a live retry chain is never re-dispatched, however long its bounded
     retries last;
   - the records go out under a new task id, after the old id is marked superseded in Redis
     (``EnrichSettings.superseded_key``): a retry of the old task still running somewhere sees the
     mark and stops without writing (Celery ``Ignore``), and a result of the old id is ignored.

3. **The bridge settles a task that failed** (Celery FAILURE: a hard time limit, a worker lost twice,
   a record that reached neither Kafka nor the DLQ within its retries, an argument or result that
   does not validate). A FAILURE does not say which record caused it, so a task of several records
   is split once: each record is tried again in a task of its own, and one poison record cannot send
   its neighbours to the DLQ. A task of one record that fails goes to the DLQ from the bridge
   (``failed``, with the error). A result that does not answer for one of its records is a failure
   for that record. Needed: FAILURE is final in Celery; without this path the records would never be
   answered, and splitting once before the DLQ keeps it bounded.

Before issue 14 a result that missed records re-dispatched them as a path of its own, without bound
(a task that always dropped a record was sent again forever); it is now part of path 3. A failed
send and a Redis restart were separate paths; they are now triggers of path 2.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

TASK_NAME = "warta.enrich_articles"
# The most records one task carries (EnrichSettings.task_batch_size is capped at it).
MAX_RECORDS = 100

Status = Literal["ok", "dlq"]


class RawRecord(BaseModel):
    """One ``articles.raw`` record: its value as text and its coordinates."""

    payload: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class RecordOutcome(BaseModel):
    """What became of one record: its output (the enriched article, or a DLQ record) is in Kafka."""

    status: Status
    partition: int
    offset: int


class EnrichBatch(BaseModel):
    """The task's argument: records of one topic to enrich, and the state of a retry chain."""

    topic: str  # where the records come from (named in DLQ records)
    records: list[RawRecord] = Field(min_length=1, max_length=MAX_RECORDS)
    # A retry run: the outcomes of the chain's earlier runs, and when its first failure was (wall clock).
    done: list[RecordOutcome] = Field(default_factory=list)
    retrying_since: float | None = None

    def to_celery(self) -> dict[str, Any]:
        """The argument as Celery sends it: JSON primitives."""
        return self.model_dump(mode="json")


class EnrichResult(BaseModel):
    """The task's result: one outcome per record it was given."""

    items: list[RecordOutcome]

    def to_celery(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def by_coordinates(self) -> dict[tuple[int, int], Status]:
        """``(partition, offset) -> status``."""
        return {(item.partition, item.offset): item.status for item in self.items}
