"""The Laporan (reports) page in Chromium against a real search API: the Search page's "Buat
laporan" button carries the query and filters over; the report shows in a frame with its stylesheet applied
(allowed by hash, with no Content-Security-Policy violation), with the figures of the articles;
"Buka HTML" opens it as its own page; "Unduh PDF" downloads a PDF; the English toggle gives the
English report; a malformed query is shown at its position.

The articles are generated (tests/report_articles.py) and written straight into the namespace's
index as the indexer writes them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pypdf
import pytest
from playwright.sync_api import expect

from services.search.index import to_document
from tests.browser.conftest import shoot
from tests.browser.test_web import login, search_ready
from tests.pipeline import Pipeline
from tests.report_articles import make_articles
from tests.security.test_search_api import index_docs

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

FROM, TO = "2025-05-01", "2025-05-14"


def reports_ready(page: Any) -> None:
    page.wait_for_selector("html[data-ready=reports]")
    page.wait_for_selector("#report-frame[data-loaded=true]")


def test_report_page_shows_opens_and_downloads_the_report(pipeline_factory: Callable[..., Pipeline], page: Any,
                                                          tmp_path: Any) -> None:  # fmt: skip
    p: Pipeline = pipeline_factory(start=False)
    p.start(["search-api"])
    docs = [to_document(a, datetime.now(UTC).isoformat()) for a in make_articles(12, seed=3)]
    index_docs(p.ns.prefix, docs)
    banjir = [d for d in docs if d["keywords"] == ["banjir"]]
    stories = {d["story_id"] for d in banjir}
    first = min(banjir, key=lambda d: d["published_at"])
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    login(page, p)
    page.goto(f"{p.search_url}/search?q=banjir&from={FROM}&to={TO}")
    search_ready(page)
    expect(page.locator("#make-report")).to_have_text("Buat laporan")
    page.locator("#make-report").click()
    reports_ready(page)
    expect(page).to_have_url(re.compile(rf"/reports\?q=banjir&from={FROM}&to={TO}$"))
    expect(page.get_by_role("link", name="Laporan", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator("#r-q")).to_have_value("banjir")

    report = page.frame_locator("#report-frame")
    expect(report.locator("#report-articles")).to_have_text(str(len(banjir)))
    expect(report.locator("#report-stories")).to_have_text(str(len(stories)))
    expect(report.locator("h1")).to_have_text("Laporan Pemberitaan")
    expect(report.locator("#report-query")).to_have_text("banjir")
    expect(report.locator("li.story")).to_have_count(len(stories))
    expect(report.get_by_role("link", name=first["title"], exact=True)).to_have_attribute("target", "_blank")
    expect(report.locator("svg.timeline")).to_be_visible()
    # The report's stylesheet applies inside the frame (20pt headings): the page's policy allows it.
    expect(report.locator("h1")).to_have_css("font-size", "26.6667px")
    shoot(page, "reports", phone=True)

    # A title typed into the form is the report's.
    page.fill("#r-title", "Kliping Banjir Blora")
    page.click("#report-submit")
    reports_ready(page)
    expect(page).to_have_url(re.compile(r"title=Kliping\+Banjir\+Blora"))
    expect(report.locator("h1")).to_have_text("Kliping Banjir Blora")

    # Buka HTML: the report as its own page, styled.
    with page.expect_popup() as popup_info:
        page.locator("#report-open").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url.startswith("blob:")
    expect(popup.locator("#report-articles")).to_have_text(str(len(banjir)))
    expect(popup.locator("h1")).to_have_css("font-size", "26.6667px")
    popup.close()

    # Unduh PDF: a PDF with the report's title.
    with page.expect_download() as download_info:
        page.locator("#report-pdf").click()
    download = download_info.value
    assert re.fullmatch(r"laporan-\d{4}-\d{2}-\d{2}\.pdf", download.suggested_filename)
    path = tmp_path / "laporan.pdf"
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    pdf = pypdf.PdfReader(path)
    assert len(pdf.pages) >= 1 and "Kliping Banjir Blora" in pdf.pages[0].extract_text()

    # English: the interface and the report.
    page.locator("#lang-toggle").click()
    reports_ready(page)
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(report.locator("html")).to_have_attribute("lang", "en")
    expect(report.get_by_text("Tone of coverage")).to_be_visible()
    expect(page.locator("#report-pdf")).to_have_text("Download PDF")
    page.locator("#lang-toggle").click()
    reports_ready(page)

    # A malformed query is shown at its position, with nothing to open.
    page.goto(f"{p.search_url}/reports?q=(banjir")
    page.wait_for_selector("html[data-ready=reports]")
    expect(page.locator("#q-error")).to_be_visible()
    expect(page.locator("#report-open")).to_have_attribute("aria-disabled", "true")
    assert not violations, violations
