"""The consumer runtime: one loop for every Kafka consumer, shaped like getsentry/arroyo.

A consumer is a :class:`StreamProcessor` plus a :class:`Strategy`. The processor polls, decodes
with the topic registry's schema, sends undecodable records to the DLQ, pauses under backpressure,
follows rebalances, commits what the strategy reported done, and keeps the metrics and the health
beat. The strategy does the stage's work and reports each message through :class:`Outcomes`
(``done`` or ``dlq``) once that work is durable. Reusable steps compose like snuba's
(batch -> write -> commit)::

    def indexer(outcomes: Outcomes) -> Strategy[Message[EnrichedArticle]]:
        write = RunInThread(bulk, Apply(finish), on_done=outcomes.wakeup)  # one bulk in flight
        return Batch(write, max_size=500, max_ms=500)

    StreamProcessor(consumer, Topic.ARTICLES_ENRICHED, settings, indexer,
                    DlqPublisher(settings, Stage.SEARCH)).run(stop)

- :mod:`.processor`: the loop, its contract on commits, backpressure and rebalances.
- :mod:`.strategy`: the protocol (submit / poll / join / close / forget), ``MessageRejected``
  and ``Outcomes``.
- :mod:`.message`: what a strategy receives.
- :mod:`.dlq`: the one classification of undecodable records.
- :mod:`.coordinator`: a bounded backoff of kafka-python's group-coordinator lookups (the processor
  installs it on every client).
- :mod:`.batch`, :mod:`.run_in_thread`, :mod:`.apply`: reusable steps.
"""

from shared.consumer.apply import Apply
from shared.consumer.batch import Batch
from shared.consumer.dlq import DlqReason, dlq_reason
from shared.consumer.message import Message
from shared.consumer.processor import Consumer, RebalanceStuck, StreamProcessor
from shared.consumer.run_in_thread import RunInThread
from shared.consumer.strategy import MessageRejected, Outcomes, Strategy, StrategyFactory

__all__ = [
    "Apply",
    "Batch",
    "Consumer",
    "DlqReason",
    "Message",
    "MessageRejected",
    "Outcomes",
    "RebalanceStuck",
    "RunInThread",
    "Strategy",
    "StrategyFactory",
    "StreamProcessor",
    "dlq_reason",
]
