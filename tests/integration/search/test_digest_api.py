"""The digest fields of ``/v1/saved-searches`` and the ``/digests`` routes, on real Elasticsearch
with the search API in process (its real lifespan): create and change a monitor's ``schedule`` and
``channels``, every refusal a 422 naming the field, a digest listed once the scheduler sent it, the
preview, and the fields described in the OpenAPI document."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from services.search.alerts.store import AlertIndices
from services.search.api import create_app
from services.search.digests.runner import DigestRunner
from services.search.digests.store import DigestDeliveries
from services.search.index import ensure_index
from services.search.settings import DigestSettings, SearchSettings
from tests.digest_support import SmtpSink, just_ended_schedule, seed_monitor
from tests.pipeline import ES_URL, new_prefix

pytestmark = [pytest.mark.elasticsearch]
ADMIN_KEY = "digest-api-test-admin-key-0123456789abc"
ALLOWED = "127.0.0.1:9"  # allow-listed (nothing listens: the API only checks the URL)


def call(settings: SearchSettings, *calls: tuple[str, str, Any]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://search.test",
                                         headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as http:  # fmt: skip
                return [await http.request(method, path, json=body) for method, path, body in calls]

    return asyncio.run(run())


@pytest.fixture
def prefix() -> Iterator[str]:
    es = Elasticsearch(ES_URL, request_timeout=60)
    p = new_prefix()
    ensure_index(es, p)
    AlertIndices(p).ensure(es)
    DigestDeliveries(es, p).ensure()
    yield p
    es.options(ignore_status=404).indices.delete(index=f"{p}*", expand_wildcards="all")
    es.close()


@pytest.fixture
def settings(prefix: str) -> SearchSettings:
    return SearchSettings(es_url=ES_URL, index_prefix=prefix, admin_key=ADMIN_KEY, webhook_allow_hosts=ALLOWED)


def _loc(response: httpx.Response) -> list[str]:
    return [".".join(str(p) for p in d["loc"] if p != "body") for d in response.json()["detail"]]


def test_create_and_change_a_digest(settings: SearchSettings) -> None:
    chat = f"http://{ALLOWED}/hooks/warta"
    base = {"name": "Pemkab Blora", "query": "Blora AND banjir"}
    made, listed = call(settings, ("POST", "/v1/saved-searches", {**base,
                        "schedule": {"frequency": "weekly", "time": "08:30", "timezone": "asia/makassar"},
                        "channels": {"email": ["humas@blora.example"], "chat_webhook_url": chat}}),
                        ("GET", "/v1/saved-searches", None))  # fmt: skip
    assert made.status_code == 201, made.text
    m = made.json()
    assert m["schedule"] == {"frequency": "weekly", "time": "08:30", "timezone": "Asia/Makassar", "weekday": "monday",
                             "language": "id"}  # fmt: skip
    assert m["channels"] == {"email": ["humas@blora.example"], "chat_webhook_url": chat}
    assert m["schedule_updated_at"] is not None and listed.json()[0]["schedule"] == m["schedule"]
    path = f"/v1/saved-searches/{m['id']}"
    renamed, rescheduled, no_channel, stopped, digests, preview = call(
        settings,
        ("PATCH", path, {"name": "Blora"}),  # the digest is left as it was
        ("PATCH", path, {"schedule": {"time": "07:00"}}),
        ("PATCH", path, {"channels": {"email": []}}),
        ("PATCH", path, {"schedule": None}),
        ("GET", path + "/digests", None),
        ("GET", path + "/digests/preview", None),
    )
    assert (
        renamed.json()["schedule"] == m["schedule"]
        and renamed.json()["schedule_updated_at"] == m["schedule_updated_at"]
    )
    assert rescheduled.json()["schedule"] == {"frequency": "daily", "time": "07:00", "timezone": "Asia/Jakarta",
                                              "weekday": None, "language": "id"}  # fmt: skip
    assert rescheduled.json()["schedule_updated_at"] > m["schedule_updated_at"]
    assert no_channel.status_code == 422 and _loc(no_channel) == ["channels"]
    assert "a schedule needs a channel" in no_channel.json()["error"]
    assert stopped.json()["schedule"] is None and stopped.json()["schedule_updated_at"] is None
    assert digests.json() == {"next_at": None, "digests": []}
    assert preview.status_code == 409 and "no schedule" in preview.json()["error"]


INVALID = [
        ({"schedule": {}}, "channels", "a schedule needs a channel"),
        ({"schedule": {"weekday": "monday"}, "channels": {"email": ["a@b.id"]}}, "schedule",
         "weekday applies to weekly schedules only"),
        ({"schedule": {"time": "7 pagi"}, "channels": {"email": ["a@b.id"]}}, "schedule.time", "should match pattern"),
        ({"schedule": {"timezone": "WIB"}, "channels": {"email": ["a@b.id"]}}, "schedule.timezone", "unknown time zone"),
        ({"schedule": {"frequency": "hourly"}, "channels": {"email": ["a@b.id"]}}, "schedule.frequency", "daily"),
        ({"channels": {"email": ["humas at blora"]}}, "channels.email", "not an e-mail address"),
        ({"channels": {"email": [f"a{i}@b.id" for i in range(21)]}}, "channels.email", "at most 20"),
        ({"channels": {"chat_webhook_url": "http://127.0.0.1:6379/"}}, "channels.chat_webhook_url", "loopback"),
        ({"channels": {"chat_webhook_url": "http://u:p@chat.example/hook"}}, "channels.chat_webhook_url",
         "credentials"),
        ({"channels": {"slack": "https://x"}}, "channels.slack", "Extra inputs are not permitted"),
    ]  # fmt: skip


def test_invalid_digest_fields_are_a_422_naming_the_field(settings: SearchSettings) -> None:
    answers = call(
        settings, *[("POST", "/v1/saved-searches", {"name": "x", "query": "banjir", **d}) for d, _, _ in INVALID]
    )
    for r, (digest, loc, message) in zip(answers, INVALID, strict=True):
        assert r.status_code == 422, (digest, r.text)
        assert loc in _loc(r) and message in r.json()["error"], (digest, r.json())


def test_sent_digests_are_listed_and_previewed(settings: SearchSettings, prefix: str) -> None:
    es = Elasticsearch(ES_URL, request_timeout=60)
    smtp = SmtpSink().start()
    try:
        seeded = seed_monitor(es, prefix, "Dinkes Blora", {"email": ["dinkes@blora.example"]}, just_ended_schedule())
        runner = DigestRunner(es, DigestSettings(es_url=ES_URL, index_prefix=prefix, smtp_host="127.0.0.1",
                                                 smtp_port=smtp.port, smtp_security="none"))  # fmt: skip
        runner.ensure()
        assert runner.run_once() == 1
        path = f"/v1/saved-searches/{seeded.saved['id']}"
        listed, html, chat = call(settings, ("GET", path + "/digests", None),
                                  ("GET", path + "/digests/preview", None),
                                  ("GET", path + "/digests/preview?format=chat", None))  # fmt: skip
        body = listed.json()
        assert body["next_at"] is not None and len(body["digests"]) == 1
        d = body["digests"][0]
        assert (d["status"], d["articles"], d["stories"], d["attempts"]) == ("sent", 3, 2, 1)
        assert d["channels"]["email"]["status"] == "sent" and d["channels"]["email"]["recipients"] == [
            "dinkes@blora.example"
        ]
        # the preview covers the period running now: only the match recorded at its start
        assert html.headers["content-type"].startswith("text/html") and "Dinkes Blora" in html.text
        assert "1 artikel dalam 1 cerita" in chat.text and seeded.outside[1]["url"] in chat.text
    finally:
        smtp.stop()
        es.close()


def test_openapi_describes_the_digest_fields(settings: SearchSettings) -> None:
    (r,) = call(settings, ("GET", "/openapi.json", None))
    schemas = r.json()["components"]["schemas"]
    create = schemas["SavedSearchIn"]["properties"]
    assert "daily, or weekly on `weekday`" in str(create["schedule"]) and "Slack-compatible" in str(create["channels"])
    assert "HH:MM" in str(schemas["Schedule"]) and "Mattermost" in str(schemas["Channels"])
    assert "/v1/saved-searches/{saved_id}/digests" in r.json()["paths"]
