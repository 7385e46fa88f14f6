"""Publishing raw articles to Kafka: the one exit of the ingest service."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from kafka.errors import KafkaError

from services.ingest.settings import IngestSettings
from shared.kafka import make_producer
from shared.metrics import MESSAGES, STAGE_SECONDS
from shared.schemas import RawArticle
from shared.topics import Topic

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """Kafka did not acknowledge the write in time; the caller must not report success."""


class ArticlePublisher:
    """Thread-safe (kafka-python's producer is). ``publish`` blocks until acks=all or raises."""

    def __init__(self, settings: IngestSettings, stage: str = "ingest") -> None:
        self.settings = settings
        self.topic = settings.topic(Topic.ARTICLES_RAW)
        self.stage = stage
        self._producer = make_producer(settings)

    def publish(self, article: RawArticle) -> None:
        """Publish one article; raises PublishError unless Kafka acknowledged it."""
        error = self.publish_many([article])[0]
        if error is not None:
            raise error

    def publish_many(self, articles: Sequence[RawArticle]) -> list[Exception | None]:
        """Send all, then wait for every ack. Returns one entry per article: None or the error."""
        t0 = time.perf_counter()
        futures = []
        for a in articles:
            try:
                futures.append(self._producer.send(self.topic, key=a.id.encode(), value=a.to_bytes()))
            except KafkaError as exc:
                futures.append(exc)
        results: list[Exception | None] = []
        for a, fut in zip(articles, futures, strict=True):
            if isinstance(fut, Exception):
                results.append(PublishError(str(fut)))
                continue
            try:
                fut.get(timeout=self.settings.publish_timeout_s)
                results.append(None)
                MESSAGES.labels(self.stage, "published").inc()
                log.info("published", extra={"article_id": a.id, "url": a.url})
            except KafkaError as exc:
                MESSAGES.labels(self.stage, "error").inc()
                results.append(PublishError(f"Kafka did not acknowledge the write: {exc}"))
        STAGE_SECONDS.labels(self.stage).observe(time.perf_counter() - t0)
        return results

    def ready(self) -> bool:
        try:
            return self._producer.partitions_for(self.topic) is not None
        except KafkaError:
            return False

    def close(self) -> None:
        self._producer.flush(timeout=10)
        self._producer.close(timeout=10)
