"""One Kafka record as a processing strategy sees it: where it came from and what it decoded to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from kafka import TopicPartition

from shared.schemas import payload_text

T = TypeVar("T")


@dataclass(frozen=True, slots=True, eq=False)
class Message(Generic[T]):
    """A record the runtime decoded with its topic's schema. ``payload`` is the model instance;
    ``value`` the raw bytes, kept so a DLQ record can carry the original verbatim.

    Equality is identity: a message stands for one delivery of one offset.
    """

    partition: TopicPartition
    offset: int
    key: bytes | None
    value: bytes | None
    payload: T

    @property
    def article_id(self) -> str | None:
        """The payload's ``id`` when it has one (every article message does), for DLQ records and logs."""
        article_id = getattr(self.payload, "id", None)
        return article_id if isinstance(article_id, str) else None

    @property
    def payload_text(self) -> str:
        """The raw value as text for a DLQ record; never fails."""
        return payload_text(self.value)
