"""Kafka errors and sizes (shared/kafka.py): which failed writes are permanent, the one size limit
that the broker, the compose file and the producer agree on, and DLQ records that always fit."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from kafka import errors as E

import shared.kafka as kafka_mod
from shared.kafka import (
    BROKER_MESSAGE_MAX_BYTES,
    KAFKA_BATCH_OVERHEAD_BYTES,
    DlqPublisher,
    KafkaErrorKind,
    RecordTooLarge,
    check_record_size,
    classify_kafka_error,
    ensure_topics,
    fit_dlq_record,
    make_producer,
    record_size,
    truncate_encoded,
)
from shared.limits import KAFKA_MESSAGE_MAX_BYTES, encoded_size
from shared.schemas import DlqRecord, decode, utcnow
from shared.settings import CommonSettings
from shared.stack import infra
from shared.topics import Stage

ROOT = Path(__file__).resolve().parents[3]

# --- classification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        E.MessageSizeTooLargeError("broker: RecordTooLarge"),
        E.RecordListTooLargeError(),
        E.InvalidRecordError(),
        E.InvalidTimestampError(),
        RecordTooLarge(2_000_000),
    ],
)
def test_a_record_kafka_refuses_is_permanent_and_the_records_fault(exc: BaseException) -> None:
    assert classify_kafka_error(exc) is KafkaErrorKind.RECORD
    assert classify_kafka_error(exc).permanent


@pytest.mark.parametrize(
    "exc",
    [
        E.TopicAuthorizationFailedError(),
        E.ClusterAuthorizationFailedError(),
        E.TransactionalIdAuthorizationFailedError(),
        E.SaslAuthenticationFailedError(),
        E.InvalidTopicError(),
        E.UnsupportedVersionError(),
        E.KafkaConfigurationError(),
    ],
)
def test_authorization_and_configuration_errors_are_permanent(exc: BaseException) -> None:
    assert classify_kafka_error(exc) is KafkaErrorKind.DEPLOYMENT
    assert classify_kafka_error(exc).permanent


@pytest.mark.parametrize(
    "exc",
    [
        E.KafkaTimeoutError(),
        E.NoBrokersAvailable(),
        E.KafkaConnectionError(),
        E.NotLeaderForPartitionError(),
        E.LeaderNotAvailableError(),
        E.RequestTimedOutError(),
        E.NotEnoughReplicasError(),
        E.UnknownTopicOrPartitionError(),
        # kafka-python marks these not retriable, but they are outages (the Java client retries
        # them): trusting the attribute would send good records to the DLQ during a restart.
        E.BrokerNotAvailableError(),
        E.CorruptRecordError(),
        E.KafkaError("something unexpected"),
        RuntimeError("not a Kafka error at all"),
    ],
)
def test_outages_and_unknown_errors_are_retriable(exc: BaseException) -> None:
    assert classify_kafka_error(exc) is KafkaErrorKind.RETRIABLE
    assert not classify_kafka_error(exc).permanent


def test_no_error_kafka_python_calls_retriable_is_treated_as_permanent() -> None:
    for name in dir(E):
        cls = getattr(E, name)
        if isinstance(cls, type) and issubclass(cls, E.KafkaError) and cls.retriable:
            assert classify_kafka_error(cls()) is KafkaErrorKind.RETRIABLE, name


# --- the one size limit -----------------------------------------------------------------------


def test_record_size_is_what_the_producer_checks() -> None:
    key, value = b"a" * 40, b"x" * 1000
    # Never less than the bytes themselves, and at most one batch overhead more.
    assert len(key) + len(value) < record_size(key, value) <= len(key) + len(value) + KAFKA_BATCH_OVERHEAD_BYTES + 6
    room = KAFKA_MESSAGE_MAX_BYTES - record_size(key, b"")
    fits = b"x" * (room - 8)
    assert check_record_size(key, fits) <= KAFKA_MESSAGE_MAX_BYTES
    with pytest.raises(RecordTooLarge) as raised:
        check_record_size(key, b"x" * KAFKA_MESSAGE_MAX_BYTES, what="enriched article")
    assert "1,048,576 bytes" in str(raised.value) and "enriched article" in str(raised.value)
    assert raised.value.size > raised.value.limit == KAFKA_MESSAGE_MAX_BYTES


def test_broker_accepts_more_than_a_producer_may_send() -> None:
    # Kafka compares message.max.bytes with the whole batch; producers check one record's estimate.
    assert BROKER_MESSAGE_MAX_BYTES >= KAFKA_MESSAGE_MAX_BYTES + KAFKA_BATCH_OVERHEAD_BYTES


def test_producer_compose_and_local_broker_agree_on_the_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The producer.
    seen: dict[str, Any] = {}
    monkeypatch.setattr(kafka_mod, "KafkaProducer", lambda **config: seen.update(config))
    make_producer(CommonSettings())
    assert seen["max_request_size"] == KAFKA_MESSAGE_MAX_BYTES

    # docker-compose.yml's Kafka service (the apache/kafka image maps KAFKA_X_Y to x.y).
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert int(compose["services"]["kafka"]["environment"]["KAFKA_MESSAGE_MAX_BYTES"]) == BROKER_MESSAGE_MAX_BYTES

    # The broker config that `warta stack up` writes (no jars or JDK needed to generate it).
    paths = infra.Paths(tmp_path)
    paths.ensure()
    (paths.data / "kafka").mkdir(parents=True)
    (paths.data / "kafka" / "meta.properties").write_text("formatted")
    monkeypatch.setattr(infra, "kafka_jars", lambda _paths: tmp_path / "jars")
    monkeypatch.setattr(infra, "find_java_home", lambda _version: tmp_path / "jdk")
    infra.kafka_command(paths, 19092, 19093)
    props = dict(
        line.split("=", 1) for line in (paths.conf / "kafka.properties").read_text().splitlines() if "=" in line
    )
    assert int(props["message.max.bytes"]) == BROKER_MESSAGE_MAX_BYTES


def test_topics_are_created_with_the_broker_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Any] = []

    class Admin:
        def __init__(self, **_: Any) -> None: ...
        def list_topics(self) -> list[str]:
            return []

        def create_topics(self, topics: list[Any]) -> None:
            created.extend(topics)

        def close(self) -> None: ...

    monkeypatch.setattr(kafka_mod, "KafkaAdminClient", Admin)
    ensure_topics(CommonSettings(topic_prefix="t-"))
    assert created
    for topic in created:
        assert dict(topic.topic_configs)["max.message.bytes"] == str(BROKER_MESSAGE_MAX_BYTES)


# --- DLQ records always fit ---------------------------------------------------------------------


def _dlq(payload: str, article_id: str | None = "a1") -> DlqRecord:
    return DlqRecord(
        stage="enrich", reason="invalid", error="too large", attempts=1, failed_at=utcnow(),
        article_id=article_id, source_topic="articles.raw", source_partition=0, source_offset=7, payload=payload,
    )  # fmt: skip


def test_a_dlq_record_that_fits_is_unchanged() -> None:
    record = _dlq('{"id": "a1"}')
    out, key, value = fit_dlq_record(record, b"a1", KAFKA_MESSAGE_MAX_BYTES)
    assert out == record and key == b"a1" and value == record.to_bytes()


@pytest.mark.parametrize(
    "payload",
    [
        '{"text": "' + "\U0001f600" * 400_000 + '"}',  # 1.6 MB of 4-byte characters
        '"' * 900_000,  # each quote doubles when escaped inside the DLQ record
        "\x01" * 400_000,  # each control character becomes six bytes
    ],
    ids=["emoji", "quotes", "control"],
)
def test_a_dlq_record_too_large_keeps_a_prefix_with_size_and_digest(payload: str) -> None:
    record = _dlq(payload)
    out, key, value = fit_dlq_record(record, b"a1", KAFKA_MESSAGE_MAX_BYTES)
    assert record_size(key, value) <= KAFKA_MESSAGE_MAX_BYTES
    back = decode(DlqRecord, value)
    assert back == out
    assert payload.startswith(back.payload) and len(back.payload) > 0
    # Most of the room is used: the cut is not needlessly short.
    assert encoded_size(back.payload) > KAFKA_MESSAGE_MAX_BYTES - 8 * 1024
    original = payload.encode()
    assert f"of {len(original):,} bytes" in back.error
    assert hashlib.sha256(original).hexdigest() in back.error
    assert f"kept {len(back.payload.encode()):,}" in back.error
    assert back.error.startswith("too large")


def test_a_forged_huge_article_id_still_fits() -> None:
    huge_id = "x" * 600_000
    out, key, value = fit_dlq_record(_dlq("p" * 600_000, article_id=huge_id), huge_id.encode(), 64 * 1024)
    assert record_size(key, value) <= 64 * 1024
    assert len(key) == 64 and out.article_id == huge_id[:256]


def test_dlq_publisher_never_sends_a_record_kafka_would_refuse() -> None:
    sent: list[tuple[bytes, bytes]] = []

    class Producer:
        def send(self, topic: str, key: bytes, value: bytes) -> Any:
            assert check_record_size(key, value)  # raises if the producer would refuse it
            sent.append((key, value))

            class Done:
                def get(self, timeout: float) -> None: ...

            return Done()

    publisher = DlqPublisher(CommonSettings(), Stage.ENRICH, producer=Producer())  # type: ignore[arg-type]
    raw = orjson.dumps({"id": "a1", "text": "\U0001f600" * 300_000})
    record = publisher.publish(reason="invalid", error="enriched article too large", payload=raw,
                               source_topic="articles.raw", partition=1, offset=2, article_id="a1")  # fmt: skip
    assert len(sent) == 1 and "payload truncated" in record.error
    assert sent[0][0] == b"a1"


def test_truncate_encoded_cuts_between_characters() -> None:
    text = "ab\U0001f600" * 10
    for limit in range(0, 70):
        cut = truncate_encoded(text, limit)
        assert text.startswith(cut) and encoded_size(cut) <= limit
        assert len(cut) == len(text) or encoded_size(text[: len(cut) + 1]) > limit
