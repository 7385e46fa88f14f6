"""``consumer_lag`` runs inside consumer loops: it must never raise while Kafka is unreachable."""

from __future__ import annotations

from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError

from shared.kafka import consumer_lag

TP0, TP1 = TopicPartition("t", 0), TopicPartition("t", 1)


class FakeConsumer:
    def __init__(
        self, ends: dict[TopicPartition, int] | Exception, positions: dict[TopicPartition, int | None]
    ) -> None:
        self.ends, self.positions = ends, positions
        self.timeouts: list[int | None] = []
        self._fetcher = self  # consumer_lag asks the fetcher, whose end_offsets takes a timeout

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None) -> dict[TopicPartition, int]:
        self.timeouts.append(timeout_ms)
        if isinstance(self.ends, Exception):
            raise self.ends
        return self.ends

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int | None:
        return self.positions[tp]


def test_lag_is_end_minus_position() -> None:
    c = FakeConsumer({TP0: 10, TP1: 5}, {TP0: 7, TP1: None})
    assert consumer_lag(c) == {TP0: 3}  # type: ignore[arg-type]
    assert c.timeouts == [2000], "the call must be bounded"


def test_kafka_down_gives_no_lag_instead_of_an_exception() -> None:
    c = FakeConsumer(KafkaTimeoutError("Failed to get offsets by timestamps in 30000 ms"), {TP0: 1})
    assert consumer_lag(c) == {}  # type: ignore[arg-type]
