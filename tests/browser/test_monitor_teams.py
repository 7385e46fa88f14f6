"""The Monitors page for team keys (issue 18, part 5): an analyst sees and manages its team's
monitors only; a reader of the same team sees them read-only (no create form, no edit, pause or
delete); neither sees another team's. The search API on the real Elasticsearch and Debian's
Chromium."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_web import login
from tests.pipeline import Pipeline

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_monitors_page_for_an_analyst_and_a_reader(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["search-api"])
    token = f"tim{uuid.uuid4().hex[:8]}"

    def key(role: str, team: str) -> str:
        r = httpx.post(f"{p.search_url}/v1/keys", headers=p.ns.auth, timeout=30,
                       json={"name": f"{role} {team}", "role": role, "team": team})  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["key"])

    analyst, reader, stranger = key("analyst", "humas-blora"), key("reader", "humas-blora"), key("analyst", "dinkes")
    theirs = httpx.post(f"{p.search_url}/v1/saved-searches", headers={"Authorization": f"Bearer {stranger}"},
                        json={"name": f"Dinkes {token}", "query": f"{token} AND dbd"}, timeout=30)  # fmt: skip
    assert theirs.status_code == 201 and theirs.json()["team"] == "dinkes"

    # The analyst: Monitors in the menu (Sources is the admin's), the team's monitors, the form.
    login(page, p, analyst)
    expect(page.locator("#key-role")).to_have_text("analis · humas-blora")
    expect(page.locator("#nav")).to_contain_text("Monitor")
    expect(page.locator("#nav")).not_to_contain_text("Sumber")
    page.goto(f"{p.search_url}/monitors")
    page.wait_for_selector("html[data-ready=monitors]")
    page.get_by_label("Nama").fill(f"Banjir {token}")
    page.get_by_label("Kueri").fill(f"{token} AND banjir")
    page.get_by_role("button", name="Buat monitor").click()
    card = page.locator("#monitor-list > li", has_text=f"Banjir {token}")
    expect(card).to_be_visible()
    expect(card.get_by_role("button", name="Ubah")).to_be_visible()
    expect(page.locator("#monitor-list > li")).to_have_count(1)  # not the other team's
    listed = httpx.get(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth).json()
    assert {m["name"]: m["team"] for m in listed} == {f"Banjir {token}": "humas-blora", f"Dinkes {token}": "dinkes"}

    # The reader of the same team: the same monitor, read-only.
    page.get_by_role("button", name="Keluar").click()
    login(page, p, reader)
    expect(page.locator("#key-role")).to_have_text("pembaca · humas-blora")
    expect(page.locator("#save-monitor")).to_have_count(0)
    page.goto(f"{p.search_url}/monitors")
    page.wait_for_selector("html[data-ready=monitors]")
    expect(page.locator("#monitors-readonly")).to_be_visible()
    expect(page.locator("#new-monitor")).to_have_count(0)
    card = page.locator("#monitor-list > li", has_text=f"Banjir {token}")
    expect(card).to_be_visible()
    expect(card.locator(".matches")).to_contain_text("Belum ada")
    for name in ("Ubah", "Nonaktifkan", "Aktifkan", "Hapus"):
        expect(card.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.locator("#monitor-list > li")).to_have_count(1)
    expect(page.get_by_text(f"Dinkes {token}")).to_have_count(0)
