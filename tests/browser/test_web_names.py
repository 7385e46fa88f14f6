"""Region and entity names in the web app (issue 15, item 1), in Chromium against real Warta
processes: an ambiguous or unknown region name is explained above the results, in Indonesian and
in English, and the filter boxes suggest values that exist in the index as the user types."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.browser.test_web import login, search_ready
from tests.e2e.test_region_entity_names import corpus
from tests.pipeline import Pipeline, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_region_notices_and_filter_suggestions(pipeline_factory, page: Any) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory()
    token = f"b{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": corpus(token)}, headers=p.ns.auth, timeout=60)
    assert r.json()["accepted"] == 5, r.text
    wait_for(lambda: p.search(token)["total"] == 5, 90, message="corpus indexed")
    login(page, p)

    # An ambiguous bare name: both regions are searched, and the page says which.
    page.fill("#q", f"{token} region:Semarang")
    page.press("#q", "Enter")
    search_ready(page)
    expect(page.locator("#result-count")).to_contain_text("2")
    notice = page.locator("#q-notices")
    expect(notice).to_contain_text("region:Semarang cocok dengan Kabupaten Semarang dan Kota Semarang")
    assert notice.get_attribute("role") == "status"
    # ... above the results.
    assert notice.bounding_box()["y"] < page.locator("#hits").bounding_box()["y"]  # type: ignore[index]
    shoot(page, "search-region-ambiguous")

    # An unknown name: no silent zero, with the close name.
    page.fill("#q", f"{token} region:Blorra")
    page.press("#q", "Enter")
    search_ready(page)
    expect(page.locator("#q-notices")).to_contain_text(
        "Tidak ada wilayah bernama “Blorra”. Mungkin maksud Anda Kabupaten Blora?"
    )

    # The region box suggests regions in the index as the user types; a short form too.
    region_box = page.locator("#f-region")
    region_box.fill("")
    region_box.press_sequentially("blo", delay=30)
    expect(page.locator('#dl-region option[value="Kabupaten Blora"]')).to_have_count(1)
    region_box.fill("")
    region_box.press_sequentially("Jaten", delay=30)
    expect(page.locator('#dl-region option[value="Jawa Tengah"]')).to_have_count(1)
    # After a comma the next value is completed, keeping the first.
    region_box.fill("Jawa Tengah, ")
    region_box.press_sequentially("denp", delay=30)
    expect(page.locator('#dl-region option[value="Jawa Tengah, Kota Denpasar"]')).to_have_count(1)
    # Entities by alias, and outlets.
    page.locator("#f-entity").press_sequentially("Pemprov Jat", delay=30)
    expect(page.locator('#dl-entity option[value="Pemerintah Provinsi Jawa Tengah"]')).to_have_count(1)
    page.locator("#f-source").press_sequentially("kabar", delay=30)
    expect(page.locator('#dl-source option[value="Kabar Nama"]')).to_have_count(1)

    # A suggested value, chosen with the keyboard (Enter submits), filters the results.
    page.locator("#f-entity").fill("")
    page.locator("#f-source").fill("")
    page.fill("#q", token)
    region_box.fill("Kabupaten Blora")
    region_box.press("Enter")
    search_ready(page)
    expect(page).to_have_url(re.compile(r"region=Kabupaten"))
    expect(page.locator("#result-count")).to_contain_text("1")
    expect(page.locator("#q-notices")).to_have_count(0)

    # English keeps English.
    page.locator("#lang-toggle").click()
    search_ready(page)
    page.fill("#q", f"{token} region:Semarang")
    page.press("#q", "Enter")
    search_ready(page)
    expect(page.locator("#q-notices")).to_contain_text("region:Semarang matched Kabupaten Semarang and Kota Semarang")
