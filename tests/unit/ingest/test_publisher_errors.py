"""What a failed Kafka write becomes at ingest (services/ingest/publisher.py): a permanent error is
a PublishRejected (the API answers 413 or 422 naming the reason, and clients stop retrying); an
outage stays a PublishError (503 with Retry-After). A fake producer and a fake authenticator; no
network."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from kafka import errors as E

from services.ingest import publisher as publisher_mod
from services.ingest.api import create_app
from services.ingest.publisher import ArticlePublisher, PublishError, PublishRejected, publish_failure
from services.ingest.settings import IngestSettings
from shared.auth import ApiKey
from shared.limits import KAFKA_MESSAGE_MAX_BYTES
from shared.schemas import RawArticle, utcnow


class _Future:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def get(self, timeout: float) -> None:
        if self.error is not None:
            raise self.error


@dataclass
class FakeProducer:
    error: BaseException | None = None
    sent: list[bytes] = field(default_factory=list)

    def send(self, topic: str, key: bytes, value: bytes) -> _Future:
        self.sent.append(key)
        return _Future(self.error)


def _publisher(monkeypatch: pytest.MonkeyPatch, error: BaseException | None = None) -> tuple[ArticlePublisher, Any]:
    producer = FakeProducer(error)
    monkeypatch.setattr(publisher_mod, "make_producer", lambda settings: producer)
    return ArticlePublisher(IngestSettings()), producer


def _article(text: str = "Isi berita.", article_id: str = "a1") -> RawArticle:
    return RawArticle(
        id=article_id, url="https://berita.example/a1", canonical_url="https://berita.example/a1", title="Banjir",
        source="berita.example", text=text, ingested_at=utcnow(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (E.MessageSizeTooLargeError("RecordTooLarge"), 413),
        (E.RecordListTooLargeError(), 413),
        (E.InvalidRecordError(), 422),
        (E.InvalidTimestampError(), 422),
    ],
)
def test_a_permanent_kafka_error_is_a_rejection(monkeypatch: pytest.MonkeyPatch, error: Exception, status: int) -> None:
    publisher, _ = _publisher(monkeypatch, error)
    with pytest.raises(PublishRejected) as raised:
        publisher.publish(_article())
    rejected = raised.value
    assert rejected.status_code == status and rejected.retry_after_s is None
    assert type(error).__name__ in str(rejected)
    assert "did not acknowledge" not in str(rejected)
    if status == 413:
        assert f"{KAFKA_MESSAGE_MAX_BYTES:,} bytes" in str(rejected)


def test_an_article_too_large_for_a_record_is_rejected_with_its_size_before_sending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publisher, producer = _publisher(monkeypatch)
    big = _article("\U0001f600" * 300_000, article_id="big")  # 1.2 MB: past an edge that was misconfigured
    results = publisher.publish_many([big, _article()])
    assert producer.sent == [b"a1"]
    rejected, ok = results
    assert ok is None
    assert isinstance(rejected, PublishRejected) and rejected.status_code == 413
    assert f"{KAFKA_MESSAGE_MAX_BYTES:,} bytes" in str(rejected) and "1,200," in str(rejected)


@pytest.mark.parametrize(
    "error",
    [
        E.KafkaTimeoutError("Batch expired"),
        E.NotLeaderForPartitionError(),
        E.NoBrokersAvailable(),
        # The article is fine; the server's configuration is not. A 4xx would make a client drop it.
        E.TopicAuthorizationFailedError(),
    ],
)
def test_an_outage_stays_retriable(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    publisher, _ = _publisher(monkeypatch, error)
    with pytest.raises(PublishError) as raised:
        publisher.publish(_article())
    assert not isinstance(raised.value, PublishRejected)
    assert raised.value.status_code == 503 and raised.value.retry_after_s


def test_a_send_that_raises_is_classified_too(monkeypatch: pytest.MonkeyPatch) -> None:
    publisher, producer = _publisher(monkeypatch)

    def send(topic: str, key: bytes, value: bytes) -> Any:
        raise E.MessageSizeTooLargeError("the producer's own check")

    monkeypatch.setattr(producer, "send", send)
    (error,) = publisher.publish_many([_article()])
    assert isinstance(error, PublishRejected) and error.status_code == 413


def test_publish_failure_is_total() -> None:
    assert publish_failure(RuntimeError("?")).status_code == 503


# --- what the API answers -------------------------------------------------------------------------


class _Auth:
    """Lets every request in as admin (the perimeter and ``require`` read ``app.state.auth``)."""

    def __init__(self) -> None:
        self.limiter = self

    async def authenticate(self, header: str, client: str) -> ApiKey:
        return ApiKey(id="k", name="test", role="admin")

    async def allow(self, key_id: str) -> tuple[bool, int]:
        return True, 0


def _post(publisher: ArticlePublisher, path: str, body: dict[str, Any]) -> httpx.Response:
    app = create_app(IngestSettings(), publisher=publisher)
    app.state.publisher = publisher  # no lifespan: the state the routes read
    app.state.auth = _Auth()

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest.test") as http:
            return await http.post(path, json=body, headers={"Authorization": "Bearer k"})

    return asyncio.run(call())


ARTICLE = {"url": "https://berita.example/2025/banjir", "title": "Banjir di Kudus", "text": "Isi berita."}


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (E.MessageSizeTooLargeError(), 413, None),
        (E.InvalidRecordError(), 422, None),
        (E.KafkaTimeoutError(), 503, "5"),
    ],
)
def test_the_api_answers_a_permanent_kafka_error_with_a_4xx(
    monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, retry_after: str | None
) -> None:
    publisher, _ = _publisher(monkeypatch, error)
    r = _post(publisher, "/v1/articles", ARTICLE)
    assert r.status_code == status, r.text
    assert r.headers.get("retry-after") == retry_after
    assert type(error).__name__ in r.json()["error"]
    batch = _post(publisher, "/v1/articles/batch", {"articles": [ARTICLE]})
    assert batch.status_code == 200, batch.text
    assert [item["status"] for item in batch.json()["results"]] == [status]
