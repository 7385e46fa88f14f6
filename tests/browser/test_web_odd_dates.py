"""The search page with articles dated 0001-01-01 and 1970-01-01 in the index (issue 13, item 2):
the chart is drawn per month, as the API counted it, instead of an error."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.browser.test_web import login, search_ready
from tests.pipeline import Pipeline
from tests.security.test_search_api import doc, index_docs

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_search_page_charts_a_timeline_spanning_decades(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["search-api"])
    token = f"w{uuid.uuid4().hex[:8]}"
    dates = ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2025-05-01T03:00:00Z", "2025-05-03T03:00:00Z"]
    index_docs(p.ns.prefix, [doc(token, i, d) for i, d in enumerate(dates)])

    login(page, p)
    page.get_by_role("searchbox").fill(token)
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    expect(page.locator("#result-count")).to_contain_text("4 artikel")
    chart = page.locator("#timeline")
    expect(chart.get_by_role("alert")).to_have_count(0)
    bars = chart.locator("svg rect")
    expect(bars.first).to_be_attached()
    # 1970-01 to 2025-05 per month: 665 bars, labelled as months (not re-bucketed as days).
    expect(bars).to_have_count(665)
    label: Any = chart.locator("svg").get_attribute("aria-label")
    assert re.search(r"per bulan: total 3\b", label), label
    shoot(page, "search-odd-dates", phone=False)
