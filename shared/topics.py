"""The one registry of Kafka topics.

Code refers to logical names only. The physical name is the logical name with the configured prefix
(``WARTA_TOPIC_PREFIX``), so tests and parallel deployments can share one cluster without colliding.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Topic(StrEnum):
    ARTICLES_RAW = "articles.raw"
    ARTICLES_ENRICHED = "articles.enriched"
    ENRICH_DLQ = "enrich.dlq"
    SEARCH_DLQ = "search.dlq"
    ARTICLES_INDEXED = "articles.indexed"


class Stage(StrEnum):
    """A consuming stage: the owner of one DLQ topic."""

    ENRICH = "enrich"
    SEARCH = "search"

    @property
    def dlq(self) -> Topic:
        return {Stage.ENRICH: Topic.ENRICH_DLQ, Stage.SEARCH: Topic.SEARCH_DLQ}[self]

    @property
    def source(self) -> Topic:
        return {Stage.ENRICH: Topic.ARTICLES_RAW, Stage.SEARCH: Topic.ARTICLES_ENRICHED}[self]


@dataclass(frozen=True)
class TopicSpec:
    topic: Topic
    retention_ms: int


# Raw and enriched articles are kept for a week (enough to rebuild an index or replay a stage);
# DLQ records for a month, since a human has to look at them.
TOPIC_SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(Topic.ARTICLES_RAW, 7 * 24 * 3600 * 1000),
    TopicSpec(Topic.ARTICLES_ENRICHED, 7 * 24 * 3600 * 1000),
    TopicSpec(Topic.ENRICH_DLQ, 30 * 24 * 3600 * 1000),
    TopicSpec(Topic.SEARCH_DLQ, 30 * 24 * 3600 * 1000),
    # What the indexer made searchable, for the alerts consumer: a day covers any alerts outage
    # worth catching up on (older matches would no longer be news).
    TopicSpec(Topic.ARTICLES_INDEXED, 24 * 3600 * 1000),
)


def physical(topic: Topic | str, prefix: str = "") -> str:
    """Return the physical topic name for a logical one."""
    name = topic.value if isinstance(topic, Topic) else topic
    return f"{prefix}{name}"
