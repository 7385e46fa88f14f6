"""Outlets by name in the browser (issue 15, item 2): a hit card and the outlet facet show the
outlet's name ("Lintas Muria"), not its host; an article without a name shows its domain; a facet
click filters by the name; the CSV download opens with the outlet column."""

from __future__ import annotations

import codecs
import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.browser.test_web import login, search_ready
from tests.pipeline import Pipeline, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _when(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def corpus(token: str) -> list[dict[str, object]]:
    return [
        {"url": f"http://127.0.0.1:8101/{token}-waduk/", "title": f"Debit Waduk Gembong naik {token}",
         "text": f"PATI – Debit Waduk Gembong naik setelah hujan deras semalam. Kode {token}.",
         "outlet": "Lintas Muria", "published_at": _when(1)},
        {"url": f"http://127.0.0.1:8101/{token}-pasar/", "title": f"Pasar Kudus ramai {token}",
         "text": f"KUDUS – Pasar Kliwon Kudus ramai pembeli menjelang lebaran. Kode {token}.",
         "outlet": "Lintas Muria", "published_at": _when(2)},
        {"url": f"https://kabarjateng.example/read/{token}", "title": f"Festival budaya Pati {token}",
         "text": f"PATI – Festival budaya tahunan digelar di alun-alun Pati. Kode {token}.", "published_at": _when(3)},
    ]  # fmt: skip


def test_hit_cards_and_the_outlet_facet_show_the_outlet_name(pipeline_factory, page: Any) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory()
    token = f"n{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": corpus(token)}, headers=p.ns.auth, timeout=60)
    assert r.json()["accepted"] == 3, r.text
    wait_for(lambda: p.search(token)["total"] == 3, 90, message="corpus indexed")
    login(page, p)
    page.get_by_role("searchbox").fill(token)
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)

    card = page.locator("#hits > li").filter(has_text=f"Debit Waduk Gembong naik {token}")
    expect(card.locator(".outlet")).to_have_text("Lintas Muria")
    expect(page.locator("#hits .outlet")).to_have_count(3)
    assert sorted(page.locator("#hits .outlet").all_inner_texts()) == [
        "Lintas Muria",
        "Lintas Muria",
        "kabarjateng.example",
    ]
    expect(page.locator("#hits")).not_to_contain_text("127.0.0.1:8101")

    facet = page.locator("section.facet").filter(has=page.locator("#facet-source"))
    expect(facet.locator(".k")).to_have_text(["Lintas Muria", "kabarjateng.example"])
    expect(facet.locator(".n")).to_have_text(["2", "1"])
    expect(page.locator(".facets")).not_to_contain_text("127.0.0.1")
    shoot(page, "outlets", phone=False)

    # A facet click filters by the name; the chip and the count follow it.
    facet.get_by_role("link", name=re.compile("Lintas Muria")).click()
    search_ready(page)
    assert "source=Lintas+Muria" in page.url or "source=Lintas%20Muria" in page.url, page.url
    expect(page.locator("#result-count")).to_contain_text("2 artikel")
    expect(page.get_by_role("link", name=re.compile("Hapus filter Media: Lintas Muria"))).to_be_visible()

    # The query language takes the name too.
    page.get_by_role("searchbox").fill(f'{token} source:"lintas muria"')
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    expect(page.locator("#result-count")).to_contain_text("2 artikel")

    # The CSV download: byte order mark, outlet column, WIB.
    with page.expect_download() as dl:
        page.get_by_role("link", name="Ekspor CSV").click()
    raw = Path(dl.value.path()).read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [row["outlet"] for row in rows] == ["Lintas Muria", "Lintas Muria"], rows
    assert all(row["published_at (Asia/Jakarta)"].endswith("+07:00") for row in rows), rows
