"""The ``spike`` setting of ``/v1/saved-searches`` on real Elasticsearch with the search API in
process: stored and returned on create, changed and removed with PATCH, and every bad value a 422
naming the field (an unknown window or sensitivity, an unknown key, a spike without a webhook, or
removing the webhook of a monitor that has one)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from services.search.alerts.store import AlertIndices
from services.search.api import create_app
from services.search.index import ensure_index
from services.search.settings import SearchSettings
from tests.pipeline import ES_URL, new_prefix

pytestmark = [pytest.mark.elasticsearch]
ADMIN_KEY = "spike-api-test-admin-key-0123456789abcd"
HOOK = "http://127.0.0.1:9/hook"  # allow-listed; nothing listens (the API only checks the URL)


@pytest.fixture
def settings() -> Iterator[SearchSettings]:
    es = Elasticsearch(ES_URL, request_timeout=60)
    p = new_prefix()
    ensure_index(es, p)
    AlertIndices(p).ensure(es)
    yield SearchSettings(es_url=ES_URL, index_prefix=p, admin_key=ADMIN_KEY, webhook_allow_hosts="127.0.0.1:9")
    es.options(ignore_status=404).indices.delete(index=f"{p}*", expand_wildcards="all")
    es.close()


def session(settings: SearchSettings, script: Any) -> Any:
    async def run() -> Any:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://search.test",
                                         headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as http:  # fmt: skip
                return await script(http)

    return asyncio.run(run())


def test_spike_settings_are_stored_changed_and_validated(settings: SearchSettings) -> None:
    async def script(http: httpx.AsyncClient) -> None:
        monitor = {"name": "Banjir", "query": "banjir", "webhook_url": HOOK}
        r = await http.post("/v1/saved-searches", json={**monitor, "spike": {"window": "day"}})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["spike"] == {"window": "day", "sensitivity": "medium"}
        saved = f"/v1/saved-searches/{created['id']}"
        assert (await http.get(saved)).json()["spike"] == created["spike"]

        for bad, field in (({"window": "week"}, "spike.window"), ({"sensitivity": "extreme"}, "spike.sensitivity"),
                           ({"window": "hour", "threshold": 3}, "spike.threshold")):  # fmt: skip
            r = await http.post("/v1/saved-searches", json={**monitor, "spike": bad})
            assert r.status_code == 422 and field in r.text, r.text
        r = await http.post("/v1/saved-searches", json={"name": "x", "query": "banjir", "spike": {}})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "spike_needs_webhook", r.text

        r = await http.patch(saved, json={"webhook_url": None})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "spike"], r.text
        r = await http.patch(saved, json={"spike": {"window": "hour", "sensitivity": "high"}})
        assert r.status_code == 200 and r.json()["spike"] == {"window": "hour", "sensitivity": "high"}
        r = await http.patch(saved, json={"name": "Banjir Blora"})  # other fields leave it alone
        assert r.json()["spike"] == {"window": "hour", "sensitivity": "high"}
        r = await http.patch(saved, json={"spike": None, "webhook_url": None})
        assert r.status_code == 200 and r.json()["spike"] is None and r.json()["webhook_url"] is None
        plain = await http.post("/v1/saved-searches", json={"name": "Plain", "query": "banjir"})
        assert plain.status_code == 201 and plain.json()["spike"] is None

    session(settings, script)
