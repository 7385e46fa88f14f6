"""The web app in Indonesian all the way, in a Chromium whose locale is id-ID (issue 15, items 5
and 9): a malformed query explained in Indonesian (English after the toggle), the "maksud Anda
AND?" hint, the monitor name prefilled readably, dates shown and typed as dd/mm/yyyy, a result
card without the summary repeating its snippet, and the chart saying which interval it used.
Only the search API runs; documents are indexed directly."""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, shoot
from tests.browser.test_web import login, search_ready
from tests.pipeline import Pipeline
from tests.security.test_search_api import doc, index_docs

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium with an Indonesian locale (navigator.language id-ID, Accept-Language id-ID)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `python -m tests.browser_setup` (make test does)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="warta-chromium-") as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=id-ID"],
                                                    headless=True, viewport=DESKTOP, locale="id-ID",
                                                    timezone_id="Asia/Jakarta")  # fmt: skip
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def site(pipeline_factory) -> Pipeline:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["search-api"])
    return p


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def test_query_errors_and_hints_in_indonesian(site: Pipeline, page: Any) -> None:
    tok = f"i{uuid.uuid4().hex[:8]}"
    index_docs(site.ns.prefix, [doc(tok, 0, _ago(1), body=f"{tok} pasar and murah"),
                                doc(tok, 1, _ago(2), body=f"{tok} pasar murah")])  # fmt: skip
    assert page.evaluate("navigator.language") == "id-ID"
    login(page, site)

    # A malformed query: the parser's error in Indonesian, by its code, with the position marked.
    page.get_by_role("searchbox").fill(f"{tok} AND (banjir OR")
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    err = page.locator("#q-error")
    expect(err).to_contain_text("Kueri tidak valid: OR tidak punya kata atau kelompok di sebelah kanannya")
    expect(err).not_to_contain_text("missing")
    shoot(page, "search-error-id", phone=False)
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[data-ready=search][lang=en]")
    expect(page.locator("#q-error")).to_contain_text("Invalid query: OR has no word or group on its right")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    page.wait_for_selector("html[data-ready=search][lang=id]")

    # An unbalanced quote and an unknown field, in Indonesian too.
    page.get_by_role("searchbox").fill('"wakil bupati')
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    expect(page.locator("#q-error")).to_contain_text("tanda kutip tidak ditutup")
    page.get_by_role("searchbox").fill("kota:Blora")
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    expect(page.locator("#q-error")).to_contain_text("kolom “kota” tidak dikenal")

    # A lower-case "and" stays a word, with a hint and a link to the query with AND.
    page.get_by_role("searchbox").fill(f"{tok} pasar and murah")
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    expect(page.locator("#result-count")).to_contain_text("1 artikel")
    hint = page.locator("#q-notices")
    expect(hint).to_contain_text("“and” dicari sebagai kata biasa. Maksud Anda AND?")
    hint.get_by_role("link", name="Cari dengan AND").click()
    search_ready(page)
    expect(page.get_by_role("searchbox")).to_have_value(f"{tok} pasar AND murah")
    expect(page.locator("#result-count")).to_contain_text("2 artikel")
    expect(page.locator("#q-notices")).to_have_count(0)


def test_monitor_name_dates_summary_and_chart(site: Pipeline, page: Any) -> None:
    tok = f"r{uuid.uuid4().hex[:8]}"
    repeated = doc(tok, 0, _ago(1), title=f"Tanggul Blora {tok}",
                   body=f"Wakil Bupati {tok} meninjau tanggul Sungai Lusi yang jebol kemarin sore.",
                   summary=[f"Wakil Bupati {tok} meninjau tanggul Sungai Lusi yang jebol kemarin sore."])  # fmt: skip
    distinct = doc(tok, 1, _ago(3), title=f"Bantuan banjir {tok}",
                   body=f"Bantuan logistik {tok} tiba di Desa Ngawen pada Senin pagi.",
                   summary=["Pemerintah menyiapkan dana darurat Rp2 miliar untuk perbaikan jalan desa."])  # fmt: skip
    index_docs(site.ns.prefix, [repeated, distinct])
    login(page, site)

    # No duplicated summary: shown only where it adds something to the snippet.
    page.get_by_role("searchbox").fill(tok)
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    same = page.locator("#hits > li", has_text=f"Tanggul Blora {tok}")
    expect(same.locator(".snippet")).to_contain_text("Sungai Lusi")
    expect(same.locator(".summary")).to_have_count(0)
    other = page.locator("#hits > li", has_text=f"Bantuan banjir {tok}")
    expect(other.locator(".snippet")).to_contain_text("Desa Ngawen")
    expect(other.locator(".summary")).to_have_text(
        "Pemerintah menyiapkan dana darurat Rp2 miliar untuk perbaikan jalan desa."
    )

    # The chart says which interval the API picked (all time, three days apart: per day).
    expect(page.locator("#chart-interval")).to_have_text(re.compile("per hari"))

    # Dates: dd/mm/yyyy in the fields whatever the browser's date format; ISO in the URL.
    page.get_by_role("button", name="7 hari").click()
    search_ready(page)
    start = page.url.split("from=")[1][:10]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", start), page.url
    from_field = page.get_by_label(re.compile("^Dari tanggal"))
    expect(from_field).to_have_value(f"{start[8:10]}/{start[5:7]}/{start[:4]}")
    expect(from_field).to_have_attribute("placeholder", "hh/bb/tttt")
    chip = f"Hapus filter {start[8:10]}/{start[5:7]}/{start[:4]}"  # a substring of the chip's name
    expect(page.get_by_role("link", name=chip)).to_be_visible()
    from_field.fill("1/5/2025")
    page.get_by_label(re.compile("^Sampai tanggal")).fill("31/12/2099")
    page.get_by_role("button", name="Terapkan").click()
    search_ready(page)
    assert "from=2025-05-01" in page.url and "to=2099-12-31" in page.url, page.url
    expect(page.get_by_label(re.compile("^Dari tanggal"))).to_have_value("01/05/2025")
    # A date that does not exist is refused in place, in Indonesian.
    page.get_by_label(re.compile("^Dari tanggal")).fill("31/02/2025")
    page.get_by_role("button", name="Terapkan").click()
    expect(page.locator("#date-error")).to_contain_text("Tanggal “31/02/2025” tidak dikenali. Tulis hh/bb/tttt")
    expect(page.get_by_label(re.compile("^Dari tanggal"))).to_have_attribute("aria-invalid", "true")
    assert "from=2025-05-01" in page.url
    shoot(page, "search-dates-id", phone=False)

    # "Simpan sebagai monitor": a readable name, the exact query.
    query = f'"Wakil Bupati" AND (tanggul OR banjir) -hoaks {tok}'
    page.goto(f"{site.search_url}/search?q={query.replace(' ', '+')}")
    search_ready(page)
    page.get_by_role("link", name="Simpan sebagai monitor").click()
    page.wait_for_selector("html[data-ready=monitors]")
    expect(page.get_by_label("Kueri")).to_have_value(query)
    expect(page.get_by_label("Nama")).to_have_value(f"Wakil Bupati tanggul / banjir {tok}")
