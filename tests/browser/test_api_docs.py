"""The APIs' /docs (Swagger UI) in a real browser with the internet cut off (issue 15, item 3): every
request to a host other than the API is aborted, and the pages still render every operation; the
Authorize button takes a key, and "Try it out" then calls the API with it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.pipeline import Pipeline

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _offline(page: Any) -> list[str]:
    """Abort every request that leaves this machine; returns the list of those aborted."""
    blocked: list[str] = []

    def handle(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", handle)
    return blocked


def test_swagger_ui_renders_offline(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["ingest-api", "search-api"])
    blocked = _offline(page)
    for name, url in (("ingest", p.ingest_url), ("search", p.search_url)):
        schema = httpx.get(f"{url}/openapi.json").json()
        operations = sum(len(ops) for ops in schema["paths"].values())
        webhooks = sum(len(ops) for ops in schema.get("webhooks", {}).values())
        page.goto(f"{url}/docs")
        expect(page.locator(".opblock")).to_have_count(operations + webhooks, timeout=20_000)
        expect(page.locator(".info .title")).to_contain_text(schema["info"]["title"])
        # Every operation that needs a key shows the lock; the health checks do not.
        expect(page.locator(".opblock .authorization__btn")).to_have_count(operations - 2)
        if webhooks:
            expect(page.get_by_text("Webhooks", exact=True)).to_be_visible()
            expect(page.locator(".opblock-summary-path", has_text="alert")).to_be_visible()
        shoot(page, f"api-docs-{name}", phone=False)
    assert blocked == [], f"the docs pages tried to reach the internet: {blocked}"


def test_authorize_sends_the_key_from_try_it_out(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["ingest-api"])
    blocked = _offline(page)
    page.goto(f"{p.ingest_url}/docs")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux")
    expect(dialog).to_contain_text("bearerAuth")
    dialog.locator("input").fill(p.ns.admin_key)
    dialog.locator("button.modal-btn.authorize").click()
    expect(dialog.locator("button.modal-btn.authorize")).to_have_count(0)  # now "Logout": authorized
    dialog.locator("button.btn-done").click()

    operation = page.locator("#operations-sources-list_sources_v1_sources_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(re.compile(r"/v1/sources")) as answer:
        operation.get_by_role("button", name="Execute").click()
    assert answer.value.request.headers.get("authorization") == f"Bearer {p.ns.admin_key}"
    assert answer.value.status == 200, answer.value.text()
    expect(operation.locator(".live-responses-table")).to_contain_text("200")
    assert blocked == []
