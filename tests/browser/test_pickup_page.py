"""The "Bukti tayang" (press-release pickups) page in Chromium against a real search API: an analyst
tracks a release from the form; its page lists exactly the three outlets that carried it (the
unrelated article and the copy after the window are not there), with the changed title marked,
the delay, the share kept and the lead's diff; a new pickup written to the index appears on the open
page by itself; the PDF proof sheet downloads; the list and the partner scorecard show the counts;
English toggle; a reader key sees the team's releases without the form.

The articles (tests/integration/search/pickup_corpus.py) are written straight into the
namespace's index as the indexer writes them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from services.search.criteria import JAKARTA
from tests.browser.conftest import shoot
from tests.browser.test_web import login
from tests.integration.search.pickup_corpus import RELEASE_TEXT, RELEASE_TITLE, REWRITES, corpus, document
from tests.pipeline import Pipeline
from tests.security.test_search_api import index_docs

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _key(p: Pipeline, role: str) -> str:
    r = httpx.post(f"{p.search_url}/v1/keys", json={"name": f"humas-{role}", "role": role, "team": "humas-blora"},
                   headers=p.ns.auth, timeout=30)  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def test_track_a_release_and_read_its_pickups(pipeline_factory: Callable[..., Pipeline], page: Any,
                                              tmp_path: Path) -> None:  # fmt: skip
    p: Pipeline = pipeline_factory(start=False)
    p.start(["search-api"])
    token = f"k{uuid.uuid4().hex[:8]}"
    # Released two hours ago (to the minute, as the form takes it): still tracked, so the page refreshes itself.
    released = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    index_docs(p.ns.prefix, corpus(token, released))
    analyst, reader = _key(p, "analyst"), _key(p, "reader")

    login(page, p, analyst)
    page.get_by_role("link", name="Bukti tayang", exact=True).click()
    page.wait_for_selector("html[data-ready=pickups]")
    expect(page.locator("#release-list")).to_have_text(re.compile("Belum ada siaran pers"))
    local = released.astimezone(JAKARTA)
    page.get_by_label("Judul siaran pers").fill(RELEASE_TITLE)
    page.get_by_label("Naskah siaran pers").fill(RELEASE_TEXT)
    page.get_by_label("Tanggal rilis (WIB)").fill(local.strftime("%d/%m/%Y"))
    page.get_by_label("Jam rilis (WIB)").fill(local.strftime("%H:%M"))
    page.get_by_role("button", name="Lacak").click()

    expect(page).to_have_url(re.compile(r"/pickups/[0-9a-f]{24}$"))
    page.wait_for_selector("html[data-ready=pickups]")
    expect(page.locator("#release-title")).to_have_text(RELEASE_TITLE)
    rows = page.locator("#pickup-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#pickup-count")).to_have_text("Dimuat 3 berita di 3 media.")
    for i, (outlet, *_rest) in enumerate(REWRITES):
        expect(rows.nth(i).locator("td").first).to_have_text(outlet)
    expect(rows.nth(0).locator(".kept")).to_have_text("100%")
    expect(rows.nth(0).locator(".delay")).to_have_text("35 mnt")
    expect(page.locator(".title-changed")).to_have_count(1)
    expect(rows.nth(1).locator(".title-changed")).to_have_text("judul diubah")
    rows.nth(1).locator("details.lead summary").click()
    expect(rows.nth(1).locator(".lead-diff del").first).to_be_visible()
    expect(rows.nth(1).locator(".lead-diff ins").first).to_contain_text("Kabar gembira")
    shoot(page, "pickup-release")

    # A new pickup written to the index appears on the open page by itself (it refreshes every 15 s).
    late = document(f"{token}-new", "Murianews", RELEASE_TITLE, RELEASE_TEXT, released + timedelta(hours=1))
    index_docs(p.ns.prefix, [late])
    expect(rows).to_have_count(4, timeout=40_000)
    expect(page.locator("#pickup-count")).to_have_text("Dimuat 4 berita di 4 media.")

    with page.expect_download() as download:
        page.locator("#pickup-pdf").click()
    pdf = tmp_path / "proof.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert download.value.suggested_filename.startswith("bukti-tayang-")

    page.get_by_role("link", name="← Bukti tayang").click()
    page.wait_for_selector("html[data-ready=pickups]")
    listed = page.locator("#release-list tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first.locator("td").nth(2)).to_have_text("4")
    scorecard = page.locator("#scorecard-table tbody tr")
    expect(scorecard).to_have_count(4)
    expect(scorecard.first).to_contain_text("1 dari 1 (100%)")
    shoot(page, "pickup-list")

    page.locator("#lang-toggle").click()
    page.wait_for_selector("html[data-ready=pickups]")
    expect(page.get_by_role("heading", name="Press-release pickups", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Partner scorecard")).to_be_visible()
    page.locator("#lang-toggle").click()

    # A reader of the team sees the release, without the form.
    page.get_by_role("button", name="Keluar").click()
    login(page, p, reader)
    page.goto(f"{p.search_url}/pickups")
    page.wait_for_selector("html[data-ready=pickups]")
    expect(page.locator("#pickups-readonly")).to_be_visible()
    expect(page.locator("#new-pickup")).to_have_count(0)
    expect(page.locator("#release-list tbody tr")).to_have_count(1)
    # Its page, loaded directly: the pickups, without the delete button.
    page.locator("#release-list tbody tr a").first.click()
    page.wait_for_selector("html[data-ready=pickups]")
    page.reload()
    page.wait_for_selector("html[data-ready=pickups]")
    expect(page.locator("#pickup-table tbody tr")).to_have_count(4)
    expect(page.locator("#pickup-delete")).to_have_count(0)
