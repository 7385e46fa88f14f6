"""The Sources page shows what the crawler really knows: pending before the first crawl, failing
after the first failure of a source that never worked (with the cause), ok with the articles
collected per day; and the add form says what the URL check found."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from services.ingest.demo_sites import DemoWeb, start_demo_sites
from services.ingest.demo_sites.blocked import blocked_sources
from tests.browser.conftest import shoot
from tests.browser.test_web import login
from tests.pipeline import Pipeline, free_port, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def demo_web() -> Iterator[DemoWeb]:
    web = start_demo_sites("127.0.0.1", 0)
    try:
        yield web
    finally:
        web.stop()


def test_source_states_on_the_sources_page(pipeline_factory: Any, page: Any, demo_web: DemoWeb) -> None:
    env = {
        "WARTA_CRAWL_ALLOW_HOSTS": ",".join(demo_web.allow_hosts),
        "WARTA_CRAWL_MIN_DELAY_S": "0",
        "WARTA_CRAWL_TICK_S": "0.2",
    }
    p: Pipeline = pipeline_factory(extra_env=env, start=False)
    p.procs["search-api"].env["WARTA_INGEST_URL"] = p.ingest_url  # the web app's sources proxy
    p._add("crawler", ["ingest", "crawler"]).env["WARTA_METRICS_PORT"] = str(free_port())
    p.start(["search-api", "ingest-api"])
    base = demo_web.base_urls["lintasmuria"]

    def add(body: dict[str, Any], **params: Any) -> None:
        r = httpx.post(f"{p.ingest_url}/v1/sources", json=body, params=params, headers=p.ns.auth, timeout=30)
        assert r.status_code == 201, r.text

    add({"id": "lm-rss", "type": "rss", "name": "Lintas Muria (RSS)", "url": f"{base}/feed/"})
    add({"id": "hilang", "type": "rss", "name": "Feed hilang", "url": f"{base}/tidak-ada/feed/"}, check="false")
    challenged = next(s for s in blocked_sources(demo_web.base_urls["kabarserayu"]) if s["id"] == "kasus-tantangan")
    add(challenged, check="false")  # article pages are Cloudflare "Just a moment..." challenges

    login(page, p)
    page.get_by_role("link", name="Sumber").click()
    page.wait_for_selector("html[data-ready=sources]")
    for sid in ("lm-rss", "hilang"):
        row = page.locator(f"#source-{sid}")
        expect(row.locator(".badge")).to_have_text("menunggu")
        expect(row).to_contain_text("Menunggu perayapan pertama.")

    p.start(["crawler"])

    def crawled(sid: str) -> dict[str, Any]:
        r = httpx.get(f"{p.ingest_url}/v1/sources/{sid}/health", headers=p.ns.auth, timeout=10)
        return r.json()  # type: ignore[no-any-return]

    wait_for(lambda: crawled("hilang")["crawls"] >= 1, 60, message="first crawl of the 404 source")
    wait_for(lambda: crawled("lm-rss")["published"] == 7, 90, message="the feed's articles collected")
    wait_for(lambda: crawled("kasus-tantangan")["crawls"] >= 1, 60, message="first crawl of the challenged source")
    page.reload()
    page.wait_for_selector("html[data-ready=sources]")
    failing = page.locator("#source-hilang")
    expect(failing.locator(".badge")).to_have_text("gagal")
    expect(failing.locator(".reason")).to_contain_text("Belum pernah berhasil dirayapi; gagal 1×")
    expect(failing.locator(".reason")).to_contain_text("HTTP 404")
    ok = page.locator("#source-lm-rss")
    expect(ok.locator(".badge")).to_have_text("sehat")
    # Articles per day: the 7 articles collected today, over 7 days (by collection time; the demo
    # articles were published in 2024).
    expect(ok.locator("td.rate")).to_contain_text("1")
    expect(ok.locator("td.rate")).to_contain_text("7 dalam 7 hari")
    blocked = page.locator("#source-kasus-tantangan")
    expect(blocked.locator(".badge")).to_have_text("diblokir")
    expect(blocked.locator(".reason")).to_contain_text("Situs menampilkan halaman tantangan bot (Cloudflare")
    expect(blocked.locator(".reason")).to_contain_text("minta pengelola situs memasukkan WartaBot ke daftar izin")
    shoot(page, "sources-health")

    # Adding a page without article links: the form says what the check found.
    page.locator("#add-source summary").click()
    page.get_by_label("Nama", exact=True).fill("Tentang Lintas Muria")
    page.get_by_label("Jenis").select_option("listing")
    page.get_by_label("URL").fill(f"{base}/tentang-kami/")
    page.get_by_role("button", name="Tambah sumber").click()
    alert = page.locator("#add-source [role=alert]")
    expect(alert).to_contain_text("tidak dapat dipakai sebagai sumber")
    expect(alert).to_contain_text("halaman HTML tanpa tautan artikel")
    # The same feed URL again, written another way: refused, naming the source that has it.
    page.get_by_label("Jenis").select_option("rss")
    page.get_by_label("URL").fill(base.replace("http:", "https:") + "/feed?utm_source=wa")
    page.get_by_role("button", name="Tambah sumber").click()
    expect(alert).to_contain_text(re.compile(r"sudah dipakai sumber “Lintas Muria \(RSS\)” \(lm-rss\)"))
