"""The OpenAPI documents and /docs of both APIs (issue 15, item 3): the bearer scheme on every
operation that needs a key, a description on every operation (routes added later included), every
field of the saved-search and source models described, the alert webhook as an OpenAPI 3.1
``webhooks`` entry that matches docs/alerts.md, and the docs pages served without a CDN."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ingest.api import create_app as create_ingest_app
from services.search.api import create_app as create_search_app
from services.search.api.models import AlertPayload
from shared.apidocs import BEARER_SCHEME
from tests.docs_examples import query_examples

ALERTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
# The models a monitor or a source is made of, and what the webhook sends: each field described.
DESCRIBED_MODELS = {
    "search": {"SavedSearch", "SavedSearchIn", "SavedSearchPatch", "Match", "Delivery", "AlertPayload",
               "AlertSavedSearch", "AlertArticle", "ToneOut", "EntityToneOut", "ToneCounts",
               "Schedule", "Channels", "DigestDelivery", "ChannelState", "DigestList"},
    "ingest": {"Source", "SourceCreate", "SourceUpdate"},
}  # fmt: skip
ROLE_LINE = "\n\nWho may call it:"


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    return {"ingest": create_ingest_app(), "search": create_search_app()}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


@pytest.mark.parametrize("api", ["ingest", "search"])
def test_bearer_scheme_on_every_operation_that_needs_a_key(apps: dict[str, FastAPI], api: str) -> None:
    schema = apps[api].openapi()
    assert schema["openapi"].startswith("3.1")
    assert schema["components"]["securitySchemes"][BEARER_SCHEME] | {"description": ""} == {
        "type": "http", "scheme": "bearer", "bearerFormat": "API key (wk_...)", "description": ""}  # fmt: skip
    for method, path, op in _operations(schema):
        if path in ("/healthz", "/readyz"):
            assert op["security"] == [], (method, path)
            assert op["description"].endswith("Who may call it: anyone, no key."), (method, path)
        else:
            assert op["security"] == [{BEARER_SCHEME: []}], (method, path)
            assert re.search(r"Who may call it: .*`(reader|admin)`", op.get("description", "")), (method, path)
    assert schema == apps[api].openapi(), "the document is built once and stays the same"


def test_every_operation_has_a_summary_and_a_description(apps: dict[str, FastAPI]) -> None:
    missing = []
    for api, app in apps.items():
        schema = app.openapi()
        operations = _operations(schema)
        operations += [(m.upper(), f"webhook {name}", op) for name, ops in schema["webhooks"].items()
                       for m, op in ops.items()] if "webhooks" in schema else []  # fmt: skip
        for method, path, op in operations:
            own = op.get("description", "").split(ROLE_LINE)[0].strip()
            if not op.get("summary") or len(own) < 20:
                missing.append(f"{api}: {method} {path}")
    assert not missing, "operations without a summary and a description: " + ", ".join(missing)


def test_saved_search_and_source_fields_are_described(apps: dict[str, FastAPI]) -> None:
    undescribed = []
    for api, names in DESCRIBED_MODELS.items():
        schemas = apps[api].openapi()["components"]["schemas"]
        for name in names:
            for field, spec in schemas[name]["properties"].items():
                if not spec.get("description"):
                    undescribed.append(f"{name}.{field}")
    assert not undescribed, "fields without a description: " + ", ".join(sorted(undescribed))


def test_the_alert_webhook_matches_docs_alerts(apps: dict[str, FastAPI]) -> None:
    schema = apps["search"].openapi()
    alert = schema["webhooks"]["alert"]["post"]
    assert alert["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AlertPayload"
    }
    headers = {p["name"] for p in alert["parameters"] if p["in"] == "header"}
    doc = ALERTS_DOC.read_text(encoding="utf-8")
    table = doc.split("### Headers", 1)[1].split("\n\n", 2)[1]
    documented = set(re.findall(r"^\| `([A-Za-z-]+)` \|", table, re.M)) - {"Content-Type"}
    assert documented == headers == {"X-Warta-Signature", "X-Warta-Timestamp", "X-Warta-Delivery", "User-Agent"}
    # The example body in docs/alerts.md is a valid payload (the model forbids unknown fields).
    example = next(b for b in re.findall(r"```json\n(.*?)```", doc, re.S) if '"delivery_id"' in b)
    payload = AlertPayload.model_validate(json.loads(example))
    assert payload.articles and payload.saved_search.query


def _get(app: FastAPI, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.get(path)

    return asyncio.run(go())


@pytest.mark.parametrize("api", ["ingest", "search"])
def test_docs_pages_load_their_assets_from_the_api(apps: dict[str, FastAPI], api: str) -> None:
    app = apps[api]
    assert _get(app, "/redoc").status_code == 404  # ReDoc's page would load its logo from a CDN
    for page, assets in (("/docs", ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")),):
        r = _get(app, page)
        assert r.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']?([^"'\s>]+)""", r.text)
        assert urls and all(u.startswith("/") for u in urls), urls  # nothing from another host
        assert "https://" not in r.headers["content-security-policy"]
        for asset in assets:
            assert f"/docs/assets/{asset}" in urls
            served = _get(app, f"/docs/assets/{asset}")
            assert served.status_code == 200 and len(served.content) > 1000, asset


def test_the_query_doc_examples_are_found() -> None:
    # tests/e2e/test_docs_examples.py runs them; here, that reading the doc still finds them.
    examples = query_examples()
    assert "banjir" in examples.valid and 'entity:"Pemerintah Kabupaten Blora"' in examples.valid
    assert ("banjir AND", {"error": "AND is missing its right operand", "position": 7}) in [
        (q, {k: v for k, v in e.items() if k != "code"}) for q, e in examples.errors
    ]
    assert [q for q, _ in examples.answers] == ["(banjir OR longsor"]
