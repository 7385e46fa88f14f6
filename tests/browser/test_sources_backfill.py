"""The Sources page backfills a source to a date: "Backfill sejak…" queues it, the crawler
process walks the demo site's history, and the row shows the progress until it is done."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from services.ingest.demo_sites import DemoWeb, start_demo_sites
from tests.browser.conftest import shoot
from tests.browser.test_web import login
from tests.pipeline import Pipeline, free_port, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def history_web() -> Iterator[DemoWeb]:
    web = start_demo_sites("127.0.0.1", 0, history=True)
    try:
        yield web
    finally:
        web.stop()


def test_backfill_from_the_sources_page(pipeline_factory: Any, page: Any, history_web: DemoWeb) -> None:
    env = {
        "WARTA_CRAWL_ALLOW_HOSTS": ",".join(history_web.allow_hosts),
        "WARTA_CRAWL_MIN_DELAY_S": "0",
        "WARTA_CRAWL_TICK_S": "0.2",
        "WARTA_CRAWL_WP_PER_PAGE": "5",
    }
    p: Pipeline = pipeline_factory(extra_env=env, start=False)
    p.procs["search-api"].env["WARTA_INGEST_URL"] = p.ingest_url  # the web app's sources proxy
    p._add("crawler", ["ingest", "crawler"]).env["WARTA_METRICS_PORT"] = str(free_port())
    p.start(["search-api", "ingest-api"])
    body = {
        "id": "lm-wp",
        "type": "wordpress",
        "name": "Lintas Muria (WP)",
        "url": history_web.base_urls["lintasmuria"] + "/",
    }
    r = httpx.post(f"{p.ingest_url}/v1/sources", json=body, headers=p.ns.auth, timeout=30)
    assert r.status_code == 201, r.text

    login(page, p)
    page.get_by_role("link", name="Sumber").click()
    page.wait_for_selector("html[data-ready=sources]")
    row = page.locator("#source-lm-wp")
    row.get_by_label("Backfill lm-wp sejak tanggal").fill("2024-03-01")
    row.get_by_role("button", name="Backfill sejak…").click()
    expect(page.locator("#source-status")).to_contain_text("Backfill lm-wp sejak 2024-03-01 dijadwalkan.")
    row = page.locator("#source-lm-wp")
    expect(row.locator(".backfill-progress")).to_contain_text("Backfill sejak 2024-03-01: menunggu")
    expect(row.get_by_role("button", name="Batalkan backfill")).to_be_visible()

    p.start(["crawler"])

    def backfill() -> dict[str, Any]:
        resp = httpx.get(f"{p.ingest_url}/v1/sources/lm-wp/backfill", headers=p.ns.auth, timeout=10)
        return resp.json()  # type: ignore[no-any-return]

    wait_for(lambda: backfill()["state"] == "done", 120, message="the backfill walked the history")
    page.reload()
    page.wait_for_selector("html[data-ready=sources]")
    progress = page.locator("#source-lm-wp .backfill-progress")
    expect(progress).to_contain_text("Backfill sejak 2024-03-01: selesai")
    done = backfill()
    assert done["published"] + done["skipped_seen"] >= 14  # 7 live + 7 history articles since March
    expect(progress).to_contain_text(f"{done['published']} terbit")
    shoot(page, "sources-backfill")
