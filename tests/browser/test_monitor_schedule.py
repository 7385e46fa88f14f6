"""The digest form on the Monitors page: a weekly digest to two addresses and a chat webhook is
created, a refused chat URL and a schedule without a channel are explained next to the form (in
Indonesian, and in English after the toggle), the card shows the schedule, the edit form comes back
filled in, and switching the digest off removes it. The real search API process and Debian's
Chromium; what was saved is read back from the API."""

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
CHAT = "http://127.0.0.1:9/hooks/warta"  # allow-listed below; the API only checks it


def test_monitor_schedule_form(pipeline_factory: Callable[..., Pipeline], page: Any) -> None:
    p = pipeline_factory(extra_env={"WARTA_WEBHOOK_ALLOW_HOSTS": "127.0.0.1:9"}, start=False)
    p.start(["search-api"])
    login(page, p)
    page.goto(f"{p.search_url}/monitors")
    page.wait_for_selector("html[data-ready=monitors]")
    form = page.locator("#new-monitor form")
    form.get_by_label("Nama").fill("Pemkab Blora mingguan")
    form.get_by_label("Kueri", exact=True).fill('"Kabupaten Blora" AND banjir')
    expect(form.get_by_label("Pukul")).to_be_hidden()  # no digest until one is chosen
    form.get_by_label("Kirim ringkasan").select_option("daily")
    expect(form.get_by_label("Hari", exact=True)).to_be_hidden()  # daily: no weekday

    # a schedule without a channel: refused, and said so next to the digest fields
    page.get_by_role("button", name="Buat monitor").click()
    error = page.locator("#new-digest-error")
    expect(error).to_contain_text(
        "Ringkasan tidak dapat disimpan: isi minimal satu email penerima atau URL webhook chat."
    )

    form.get_by_label("Kirim ringkasan").select_option("weekly")
    form.get_by_label("Hari", exact=True).select_option("friday")
    form.get_by_label("Pukul").fill("16:30")
    form.get_by_label("Email penerima (satu per baris)").fill("humas@blora.example\nkabag@blora.example")
    chat = form.get_by_label("URL incoming webhook chat (Slack, Mattermost, Rocket.Chat; opsional)")
    chat.fill("http://127.0.0.1:6379/")  # Redis: a loopback address that is not allowed
    page.get_by_role("button", name="Buat monitor").click()
    expect(error).to_contain_text("Ringkasan tidak dapat disimpan")
    expect(chat).to_have_attribute("aria-invalid", "true")
    expect(chat).to_be_focused()
    shoot(page, "monitor-schedule-refused", phone=False)

    chat.fill(CHAT)
    page.get_by_role("button", name="Buat monitor").click()
    card = page.locator("#monitor-list > li", has_text="Pemkab Blora mingguan")
    line = card.locator(".digest-line")
    expect(line).to_have_text(
        "Ringkasan setiap Jumat pukul 16:30 (Asia/Jakarta) → humas@blora.example, kabag@blora.example, chat"
    )
    shoot(page, "monitor-schedule")
    saved = httpx.get(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth).json()
    (m,) = [x for x in saved if x["name"] == "Pemkab Blora mingguan"]
    assert m["schedule"] == {"frequency": "weekly", "time": "16:30", "timezone": "Asia/Jakarta", "weekday": "friday",
                             "language": "id"}  # fmt: skip
    assert m["channels"] == {"email": ["humas@blora.example", "kabag@blora.example"], "chat_webhook_url": CHAT}

    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[data-ready=monitors][lang=en]")
    card = page.locator("#monitor-list > li", has_text="Pemkab Blora mingguan")
    expect(card.locator(".digest-line")).to_contain_text("Digest every Friday at 16:30 (Asia/Jakarta)")

    # the edit form comes back filled in; switching the digest off removes it
    card.get_by_role("button", name="Edit").click()
    edit = card.locator("form")
    expect(edit.get_by_label("Send a digest")).to_have_value("weekly")
    expect(edit.get_by_label("Day", exact=True)).to_have_value("friday")
    expect(edit.get_by_label("Recipient e-mail addresses (one per line)")).to_have_value(
        "humas@blora.example\nkabag@blora.example"
    )
    edit.get_by_label("Send a digest").select_option("off")
    card.get_by_role("button", name="Save").click()
    expect(card.locator(".digest-line")).to_have_text("No scheduled digest.")
    m = httpx.get(f"{p.search_url}/v1/saved-searches/{m['id']}", headers=p.ns.auth).json()
    assert m["schedule"] is None and m["channels"]["email"] == ["humas@blora.example", "kabag@blora.example"]
