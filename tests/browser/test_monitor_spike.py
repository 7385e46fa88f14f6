"""The spike alert setting on the Monitors form: a spike alert without a webhook or a chat is refused and
explained next to the spike fields (Indonesian), a monitor with an hourly spike alert at high
sensitivity is created and its card says so (in Indonesian, and in English after the toggle), the
edit form comes back filled in, a change to a daily window at low sensitivity is saved, and "off"
removes it; a monitor whose spike alerts go to its digest chat alone says "→ chat". The real search API process and Debian's Chromium; what was saved is read back from the
API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.browser.test_web import login
from tests.pipeline import Pipeline

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
HOOK = "http://127.0.0.1:9/hooks/spike"  # allow-listed below; the API only checks it


def test_monitor_spike_form(pipeline_factory: Callable[..., Pipeline], page: Any) -> None:
    p = pipeline_factory(extra_env={"WARTA_WEBHOOK_ALLOW_HOSTS": "127.0.0.1:9"}, start=False)
    p.start(["search-api"])
    login(page, p)
    page.goto(f"{p.search_url}/monitors")
    page.wait_for_selector("html[data-ready=monitors]")
    form = page.locator("#new-monitor form")
    form.get_by_label("Nama").fill("Banjir Blora lonjakan")
    form.get_by_label("Kueri", exact=True).fill('"Kabupaten Blora" AND banjir')
    window = form.get_by_label("Peringatkan lonjakan per")
    expect(window).to_have_value("off")
    expect(form.get_by_label("Kepekaan")).to_be_hidden()  # no sensitivity until a window is chosen
    window.select_option("hour")
    form.get_by_label("Kepekaan").select_option("high")

    # a spike alert without a webhook: refused, and said so next to the spike fields
    page.get_by_role("button", name="Buat monitor").click()
    error = page.locator("#new-spike-error")
    expect(error).to_contain_text(
        "Peringatan lonjakan tidak dapat disimpan: peringatan lonjakan dikirim ke webhook monitor atau ke webhook chat "
        "ringkasan: isi salah satunya dulu."
    )
    expect(window).to_have_attribute("aria-invalid", "true")
    expect(window).to_be_focused()
    shoot(page, "monitor-spike-refused", phone=False)

    form.get_by_label("URL webhook (opsional)").fill(HOOK)
    page.get_by_role("button", name="Buat monitor").click()
    card = page.locator("#monitor-list > li", has_text="Banjir Blora lonjakan")
    expect(card.locator(".spike-line")).to_have_text("Peringatan lonjakan per jam, kepekaan tinggi → webhook")
    shoot(page, "monitor-spike")
    saved = httpx.get(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth).json()
    (m,) = [x for x in saved if x["name"] == "Banjir Blora lonjakan"]
    assert m["spike"] == {"window": "hour", "sensitivity": "high"} and m["webhook_url"] == HOOK

    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[data-ready=monitors][lang=en]")
    card = page.locator("#monitor-list > li", has_text="Banjir Blora lonjakan")
    expect(card.locator(".spike-line")).to_have_text("Spike alerts per hour, high sensitivity → webhook")

    # the edit form comes back filled in; a daily window at low sensitivity is saved
    card.get_by_role("button", name="Edit").click()
    edit = card.locator("form")
    expect(edit.get_by_label("Alert on spikes per")).to_have_value("hour")
    expect(edit.get_by_label("Sensitivity")).to_have_value("high")
    edit.get_by_label("Alert on spikes per").select_option("day")
    edit.get_by_label("Sensitivity").select_option("low")
    card.get_by_role("button", name="Save").click()
    expect(card.locator(".spike-line")).to_have_text("Spike alerts per day, low sensitivity → webhook")
    m = httpx.get(f"{p.search_url}/v1/saved-searches/{m['id']}", headers=p.ns.auth).json()
    assert m["spike"] == {"window": "day", "sensitivity": "low"}

    # off: no spike alerts any more; the webhook stays
    card.get_by_role("button", name="Edit").click()
    edit = card.locator("form")
    edit.get_by_label("Alert on spikes per").select_option("off")
    expect(edit.get_by_label("Sensitivity")).to_be_hidden()
    card.get_by_role("button", name="Save").click()
    expect(card.locator(".spike-line")).to_have_text("No spike alerts.")
    m = httpx.get(f"{p.search_url}/v1/saved-searches/{m['id']}", headers=p.ns.auth).json()
    assert m["spike"] is None and m["webhook_url"] == HOOK

    # spike alerts to the digest's chat channel alone: allowed, and the card says where they go
    chat_only = {"name": "Banjir ke chat", "query": "banjir", "spike": {"window": "hour"},
                 "schedule": {"frequency": "daily"}, "channels": {"chat_webhook_url": "http://127.0.0.1:9/chat"}}  # fmt: skip
    r = httpx.post(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth, json=chat_only)
    assert r.status_code == 201, r.text
    page.reload()
    page.wait_for_selector("html[data-ready=monitors]")
    card = page.locator("#monitor-list > li", has_text="Banjir ke chat")
    expect(card.locator(".spike-line")).to_have_text("Spike alerts per hour, medium sensitivity → chat")
