"""Publishing raw articles to Kafka: the one exit of the ingest service.

A write that failed is one of two errors (the kinds are :func:`shared.kafka.classify_kafka_error`'s):

- :class:`PublishRejected`: Kafka refuses this article for good (a record over the size limit, an
  invalid record). Sending it again cannot succeed; an API answers 413 (too large) or 422.
- :class:`PublishError`: Kafka did not acknowledge the write (an outage, a timeout, or a
  deployment problem such as authorization). Nothing is wrong with the article; an API answers 503
  with ``Retry-After`` and the client sends it again later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from kafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError

from services.ingest.settings import IngestSettings
from shared.kafka import KafkaErrorKind, RecordTooLarge, check_record_size, classify_kafka_error, make_producer
from shared.limits import KAFKA_MESSAGE_MAX_BYTES
from shared.metrics import MESSAGES, STAGE_SECONDS
from shared.schemas import RawArticle
from shared.topics import Topic

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """Kafka did not acknowledge the write; the caller must not report success. Retriable: the
    article is fine. ``status_code`` and ``retry_after_s`` are what an HTTP API answers."""

    status_code: int = 503
    retry_after_s: int | None = 5


class PublishRejected(PublishError):
    """Kafka refuses this article for good: retrying cannot succeed. ``str()`` names the reason
    (for a record too large, its size and the limit); ``status_code`` is 413 or 422."""

    retry_after_s = None

    def __init__(self, message: str, too_large: bool) -> None:
        super().__init__(message)
        self.too_large = too_large
        self.status_code = 413 if too_large else 422


def publish_failure(exc: BaseException) -> PublishError:
    """The error a failed write of one article becomes (see the module docstring). Pure. Its text
    is for the client: the reason and, for a size, the numbers; never the broker's own message
    (topic names, addresses), which the publisher logs."""
    if isinstance(exc, RecordTooLarge):
        return PublishRejected(
            f"article too large: {exc.size:,} bytes as a Kafka message, over the limit of {exc.limit:,} bytes",
            too_large=True,
        )
    kind = classify_kafka_error(exc)
    name = type(exc).__name__
    if kind is KafkaErrorKind.RECORD:
        if isinstance(exc, MessageSizeTooLargeError | RecordListTooLargeError):
            message = f"article too large: Kafka refused it ({name}); the limit is {KAFKA_MESSAGE_MAX_BYTES:,} bytes"
            return PublishRejected(message, too_large=True)
        return PublishRejected(f"article refused by Kafka for good ({name}); sending it again cannot succeed", False)
    if kind is KafkaErrorKind.DEPLOYMENT:
        return PublishError(f"Kafka refused the write ({name}): a server configuration problem; try again later")
    return PublishError(f"Kafka did not acknowledge the write ({name}); try again later")


class ArticlePublisher:
    """Thread-safe (kafka-python's producer is). ``publish`` blocks until acks=all or raises."""

    def __init__(self, settings: IngestSettings, stage: str = "ingest") -> None:
        self.settings = settings
        self.topic = settings.topic(Topic.ARTICLES_RAW)
        self.stage = stage
        self._producer = make_producer(settings)

    def publish(self, article: RawArticle) -> None:
        """Publish one article; raises PublishRejected or PublishError unless Kafka acknowledged it."""
        error = self.publish_many([article])[0]
        if error is not None:
            raise error

    def publish_many(self, articles: Sequence[RawArticle]) -> list[PublishError | None]:
        """Send all, then wait for every ack (blocks up to ``publish_timeout_s``). Returns one entry
        per article: None, or the PublishRejected/PublishError it failed with. Never raises
        KafkaError."""
        t0 = time.perf_counter()
        futures = []
        for a in articles:
            key, value = a.id.encode(), a.to_bytes()
            try:
                # The producer would refuse it too, but without the size; this names it.
                check_record_size(key, value, what="article")
                futures.append(self._producer.send(self.topic, key=key, value=value))
            except (KafkaError, RecordTooLarge) as exc:
                futures.append(exc)
        results: list[PublishError | None] = []
        for a, fut in zip(articles, futures, strict=True):
            if isinstance(fut, Exception):
                MESSAGES.labels(self.stage, "error").inc()
                results.append(self._failed(a, fut))
                continue
            try:
                fut.get(timeout=self.settings.publish_timeout_s)
                results.append(None)
                MESSAGES.labels(self.stage, "published").inc()
                log.info("published", extra={"article_id": a.id, "url": a.url})
            except KafkaError as exc:
                MESSAGES.labels(self.stage, "error").inc()
                results.append(self._failed(a, exc))
        STAGE_SECONDS.labels(self.stage).observe(time.perf_counter() - t0)
        return results

    @staticmethod
    def _failed(article: RawArticle, exc: BaseException) -> PublishError:
        error = publish_failure(exc)
        log.warning(
            "not published", extra={"article_id": article.id, "error": repr(exc)[:500], "status": error.status_code}
        )
        return error

    def ready(self) -> bool:
        try:
            return self._producer.partitions_for(self.topic) is not None
        except KafkaError:
            return False

    def close(self) -> None:
        self._producer.flush(timeout=10)
        self._producer.close(timeout=10)
