"""The Monitors page when Elasticsearch rejects a monitor's query: a badge next to the monitor's name
and the reason under its query, in Indonesian and English, without a reload; an edit clears them
and the monitor matches again. Real processes (the alerts consumer marks the query failing) and
Debian's Chromium."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.browser.test_web import corpus, login
from tests.e2e.test_alerts import too_deep
from tests.pipeline import Pipeline

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_monitor_shows_a_query_elasticsearch_rejects(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory()
    token = f"k{uuid.uuid4().hex[:8]}"
    login(page, p)
    page.goto(f"{p.search_url}/monitors")
    page.wait_for_selector("html[data-ready=monitors]")
    page.get_by_label("Nama").fill(f"Dalam {token}")
    page.get_by_label("Kueri").fill(too_deep(token))
    page.get_by_role("button", name="Buat monitor").click()
    card = page.locator("#monitor-list > li", has_text=f"Dalam {token}")
    expect(card.locator(".query-badge")).to_have_count(0)  # not evaluated yet
    assert p.post(corpus(token)[0]).status_code == 202

    # The alerts consumer marks it failing: the badge and the reason appear without a reload.
    badge = card.locator(".query-badge")
    expect(badge).to_have_text("kueri ditolak", timeout=90_000)
    expect(badge).to_have_class(re.compile(r"\bbad\b"))
    reason = card.locator(".query-reason")
    expect(reason).to_contain_text("Elasticsearch menolak kueri ini sejak")
    expect(reason).to_contain_text("nests too deeply")
    shoot(page, "monitor-query-failing")

    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[data-ready=monitors][lang=en]")
    card = page.locator("#monitor-list > li", has_text=f"Dalam {token}")
    expect(card.locator(".query-badge")).to_have_text("query failing")
    expect(card.locator(".query-reason")).to_contain_text("skipped until the query is changed")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    page.wait_for_selector("html[data-ready=monitors][lang=id]")

    # The owner fixes the query: the badge goes at once, and the next article matches.
    card = page.locator("#monitor-list > li", has_text=f"Dalam {token}")
    card.get_by_role("button", name="Ubah").click()
    card.locator('textarea[id$="-query"]').fill(f"{token} AND tanggul")
    page.get_by_role("button", name="Simpan").click()
    card = page.locator("#monitor-list > li", has_text=f"Dalam {token}")
    expect(card.locator(".query-badge")).to_have_count(0)
    expect(card.locator(".query-reason")).to_have_count(0)
    assert p.post(corpus(token)[1]).status_code == 202
    expect(card.locator(".match-list li")).to_have_count(1, timeout=60_000)
    expect(card.locator(".query-badge")).to_have_count(0)
