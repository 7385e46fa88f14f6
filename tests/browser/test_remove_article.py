"""An admin removes an article from its page: "Hapus artikel", a dialog that insists on a reason, then
the article is gone from search; a reader never sees the action. Real processes and Debian's
Chromium."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.browser.test_web import corpus, login
from tests.pipeline import Pipeline, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_an_admin_removes_an_article_with_a_reason(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory()
    token = f"r{uuid.uuid4().hex[:8]}"
    doc = corpus(token)[2]
    article_id = p.post(doc).json()["id"]
    wait_for(lambda: p.search(token)["total"] == 1, 90, message="indexed")
    reader = httpx.post(f"{p.search_url}/v1/keys", headers=p.ns.auth, timeout=30,
                        json={"name": "pembaca", "role": "reader"}).json()["key"]  # fmt: skip

    # A reader sees the article without the action.
    login(page, p, reader)
    page.goto(f"{p.search_url}/article/{article_id}")
    page.wait_for_selector("html[data-ready=article]")
    expect(page.get_by_role("heading", level=1)).to_have_text(str(doc["title"]))
    expect(page.get_by_role("button", name="Hapus artikel")).to_have_count(0)
    page.get_by_role("button", name="Keluar").click()

    login(page, p)
    page.goto(f"{p.search_url}/article/{article_id}")
    page.wait_for_selector("html[data-ready=article]")
    page.get_by_role("button", name="Hapus artikel").click()
    dialog = page.get_by_role("dialog", name="Hapus artikel ini?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(str(doc["title"]))
    expect(dialog).to_contain_text("log audit")
    shoot(page, "remove-article-dialog")

    # Cancel keeps it; an empty reason is refused by the form itself.
    dialog.get_by_role("button", name="Batal").click()
    expect(dialog).to_have_count(0)
    page.get_by_role("button", name="Hapus artikel").click()
    dialog = page.get_by_role("dialog", name="Hapus artikel ini?")
    dialog.get_by_role("button", name="Hapus", exact=True).click()
    expect(dialog).to_be_visible()
    assert p.get(f"/v1/articles/{article_id}").status_code == 200, "nothing removed without a reason"

    dialog.get_by_label("Alasan").fill("Putusan pengadilan")
    dialog.get_by_role("button", name="Hapus", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Artikel dihapus")
    expect(page.locator("#remove-done")).to_contain_text("Alasan: Putusan pengadilan")
    shoot(page, "remove-article-done")

    assert p.get(f"/v1/articles/{article_id}").status_code == 404
    assert p.search(token)["total"] == 0
    [event] = p.get("/v1/audit", target_id=article_id).json()
    assert (event["action"], event["reason"], event["actor_role"]) == ("article.remove", "Putusan pengadilan", "admin")

    # The search page no longer lists it.
    page.goto(f"{p.search_url}/search?q={token}")
    page.wait_for_selector("html[data-ready=search]")
    expect(page.get_by_text(str(doc["title"]))).to_have_count(0)
