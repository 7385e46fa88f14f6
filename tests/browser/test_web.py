"""The web app in a real browser (Debian's Chromium, headless) against real Warta processes:
log in, boolean search, filters, article page, story badge, query errors, monitors with a match
arriving after ingest, and the sources page. Screenshots go to ``artifacts/screenshots/``."""

from __future__ import annotations

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
from tests.pipeline import Pipeline, wait_for
from tests.webhooks import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

STORY = (
    "Pemerintah Kabupaten Blora menggelar rapat koordinasi penanganan banjir bersama BPBD Jawa Tengah. "
    "Rapat membahas pembangunan tanggul baru di sepanjang Sungai Lusi dan bantuan logistik bagi warga terdampak. "
    "Wakil Bupati Blora Sri Setyorini meminta seluruh camat mendata rumah yang rusak paling lambat pekan depan. "
    "Dana darurat sebesar Rp2 miliar disiapkan untuk perbaikan jalan desa yang terputus akibat luapan sungai. "
    "Warga Desa Ngawen menyambut baik rencana itu dan berharap tanggul selesai sebelum musim hujan berikutnya."
)


def _when(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def corpus(token: str) -> list[dict[str, object]]:
    """Two outlets carrying the same flood story (one syndicated story), plus two other stories."""
    return [
        {"url": f"https://suarablora.example/berita/{token}-banjir", "title": f"Pemkab Blora bahas tanggul {token}",
         "text": f"BLORA – {STORY} Kode liputan {token}.", "published_at": _when(1), "source": "suarablora.example"},
        {"url": f"https://kabarjateng.example/read/{token}-banjir", "title": f"Blora siapkan tanggul baru {token}",
         "text": f"Kabarjateng, Blora – {STORY} Kode liputan {token}.", "published_at": _when(0.5),
         "source": "kabarjateng.example"},
        {"url": f"https://kabarjateng.example/read/{token}-festival", "title": f"Festival budaya Pati meriah {token}",
         "text": (f"PATI – Festival budaya tahunan digelar di alun-alun Pati dengan ratusan penari. Bupati Pati membuka "
                  f"acara itu dan mengajak warga menjaga tradisi. Kode liputan {token}."),
         "published_at": _when(2), "source": "kabarjateng.example"},
        {"url": f"https://suarablora.example/berita/{token}-pasar", "title": f"Harga beras di pasar Blora stabil {token}",
         "text": (f"BLORA – Harga beras di pasar tradisional Blora stabil menjelang akhir bulan, kata pedagang. "
                  f"Dinas Perdagangan memantau stok setiap hari. Kode liputan {token}."),
         "published_at": _when(40), "source": "suarablora.example"},
    ]  # fmt: skip


def login(page: Any, p: Pipeline, key: str | None = None) -> None:
    page.goto(f"{p.search_url}/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label(re.compile("Kunci API|API key")).fill(key or p.ns.admin_key)
    page.get_by_role("button", name=re.compile("^(Masuk|Log in)$")).click()
    expect(page).to_have_url(re.compile(r"/search"))
    page.wait_for_selector("html[data-ready=search]")


def search_ready(page: Any) -> None:
    page.wait_for_selector("html[data-ready=search]")


def test_search_article_and_query_errors(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory()
    token = f"w{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": corpus(token)}, headers=p.ns.auth, timeout=60)
    assert r.json()["accepted"] == 4, r.text
    wait_for(lambda: p.search(token)["total"] == 4, 90, message="corpus indexed")
    wait_for(lambda: p.search(f"{token} tanggul", collapse="true").get("total_stories") == 1, 30, message="one story")

    # A wrong key is refused on the login page.
    page.goto(f"{p.search_url}/login")
    page.get_by_label("Kunci API").fill("wk_nope")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_contain_text("tidak dikenal")
    expect(page.locator("header")).not_to_contain_text("null")
    shoot(page, "login")

    login(page, p)
    # Admin key: the admin pages are in the navigation.
    expect(page.get_by_role("link", name="Monitor")).to_be_visible()
    expect(page.get_by_role("link", name="Sumber")).to_be_visible()

    # Boolean query: the two tanggul articles form one story carried by two outlets.
    page.get_by_role("searchbox").fill(f"{token} AND (tanggul OR festival) NOT beras")
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    expect(page.locator("#result-count")).to_have_text("3 artikel dalam 2 cerita")
    hits = page.locator("#hits > li")
    expect(hits).to_have_count(2)
    expect(page.locator("#hits mark").first).to_be_visible()  # highlights from the API
    assert "q=" in page.url and "NOT+beras" in page.url.replace("%20", "+")
    expect(page.locator("#timeline svg rect").first).to_be_attached()
    expect(page.locator(".facets")).to_contain_text("kabarjateng.example")
    badge = page.get_by_role("button", name="dimuat 2 media")
    expect(badge).to_be_visible()
    badge.click()
    expect(badge).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".story-panel:visible .story-list li")).to_have_count(1)
    shoot(page, "search")

    # Export CSV downloads every match of the current search.
    with page.expect_download() as dl:
        page.get_by_role("link", name="Ekspor CSV").click()
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["id", "published_at (Asia/Jakarta)", "outlet", "source"] and len(rows) == 4, rows

    # Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
    page.reload()
    search_ready(page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Lompat ke konten utama")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("searchbox")).to_be_focused()

    # The URL holds the state: reload it and get the same page.
    page.reload()
    search_ready(page)
    expect(page.locator("#result-count")).to_have_text("3 artikel dalam 2 cerita")

    # Filter by outlet from the facet list, then a date preset.
    page.locator(".facets").get_by_role("link", name=re.compile("suarablora.example")).click()
    search_ready(page)
    assert "source=suarablora.example" in page.url
    expect(page.locator("#result-count")).to_contain_text("1 artikel")
    expect(page.get_by_role("link", name=re.compile("Hapus filter Media: suarablora.example"))).to_be_visible()
    page.get_by_role("link", name=re.compile("Hapus filter Media")).click()
    search_ready(page)
    page.get_by_label("Kelompokkan per cerita").uncheck()
    page.get_by_role("button", name="Terapkan").click()
    search_ready(page)
    expect(page.locator("#result-count")).to_have_text("3 artikel")
    page.get_by_role("button", name="Hari ini").click()
    search_ready(page)
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^[0-2] artikel$"))
    page.get_by_role("button", name="7 hari").click()
    search_ready(page)
    expect(page.locator("#result-count")).to_have_text("3 artikel")
    assert "from=" in page.url and "collapse=0" in page.url

    # Open an article: full text with entities highlighted, original link, same story elsewhere.
    page.get_by_role("link", name=re.compile(f"Pemkab Blora bahas tanggul {token}")).click()
    page.wait_for_selector("html[data-ready=article]")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Pemkab Blora bahas tanggul {token}")
    expect(page.locator("#original-link")).to_have_attribute(
        "href", f"https://suarablora.example/berita/{token}-banjir"
    )
    expect(page.locator("#article-body")).to_contain_text("Sungai Lusi")
    expect(page.locator("#article-body mark.ent").first).to_be_visible()
    expect(page.locator("#story")).to_contain_text(f"Blora siapkan tanggul baru {token}")
    shoot(page, "article")

    # English toggle.
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[data-ready=article][lang=en]")
    expect(page.get_by_role("heading", name="Full text")).to_be_visible()
    page.get_by_role("button", name="Bahasa Indonesia").click()
    page.wait_for_selector("html[data-ready=article][lang=id]")

    # A malformed query shows the error and marks the position.
    page.go_back()
    search_ready(page)
    page.get_by_role("searchbox").fill(f"{token} AND (banjir OR")
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    err = page.locator("#q-error")
    expect(err).to_be_visible()
    expect(err).to_contain_text("Kueri tidak valid")
    expect(page.get_by_role("searchbox")).to_have_attribute("aria-invalid", "true")
    bad = f"{token} AND (banjir OR"
    pos = httpx.get(f"{p.search_url}/v1/search", params={"q": bad}, headers=p.ns.auth).json()["position"]
    expect(err.locator("mark.err-pos")).to_have_text(bad[pos : pos + 1] or " ")
    expect(err).to_contain_text(f"karakter {pos + 1}")
    shoot(page, "search-error")


def test_monitor_sees_a_match_arrive(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory()
    token = f"m{uuid.uuid4().hex[:8]}"
    docs = corpus(token)
    assert p.post(docs[2]).status_code == 202
    wait_for(lambda: p.search(token)["total"] == 1, 90, message="first article indexed")
    login(page, p)

    # Create the monitor from the current query.
    page.goto(f"{p.search_url}/search?q={token}+AND+tanggul&source=suarablora.example")
    search_ready(page)
    expect(page.locator("#result-count")).to_contain_text("0 artikel")
    page.get_by_role("link", name="Simpan sebagai monitor").click()
    page.wait_for_selector("html[data-ready=monitors]")
    expect(page.get_by_label("Kueri")).to_have_value(f'({token} AND tanggul) source:"suarablora.example"')
    page.get_by_label("Nama").fill(f"Banjir Blora {token}")
    page.get_by_role("button", name="Buat monitor").click()
    page.wait_for_selector("html[data-ready=monitors]")
    card = page.locator("#monitor-list > li", has_text=f"Banjir Blora {token}")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Belum ada kecocokan")
    expect(card.locator("svg.spark")).to_be_attached()

    # A malformed query in the form shows the error.
    page.locator("#new-monitor summary").click()
    page.get_by_label("Nama").fill("rusak")
    page.get_by_label("Kueri").fill("(banjir")
    page.get_by_role("button", name="Buat monitor").click()
    expect(page.locator("#new-monitor [role=alert]")).to_contain_text("Kueri tidak valid")

    # Ingest a matching article (and one from another outlet, which does not match): the match
    # appears on the page without a reload.
    assert p.post(docs[1]).status_code == 202
    assert p.post(docs[0]).status_code == 202
    expect(card.locator(".match-list li")).to_have_count(1, timeout=60_000)
    expect(card.locator(".match-list")).to_contain_text(f"Pemkab Blora bahas tanggul {token}")
    spark = card.locator("svg.spark polyline")
    expect(spark).to_have_attribute("points", re.compile(r"(\S+ ){29}\S+$"))  # 30 days
    # The matching article (published yesterday) lifts the trend above the baseline.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#monitor-list svg.spark polyline')].some((el) =>"
        " el.getAttribute('points').split(' ').some((p) => parseFloat(p.split(',')[1]) < 30))",
        timeout=15_000,
    )
    card.locator("details.deliveries summary").click()
    expect(card.locator("details.deliveries")).to_contain_text("Belum ada pengiriman")
    shoot(page, "monitors")

    # Edit, disable, delete.
    card.get_by_role("button", name="Ubah").click()
    page.locator("[id^=edit-][id$=-name]").fill(f"Tanggul Blora {token}")
    page.get_by_role("button", name="Simpan").click()
    card = page.locator("#monitor-list > li", has_text=f"Tanggul Blora {token}")
    expect(card).to_be_visible()
    card.get_by_role("button", name="Nonaktifkan").click()
    expect(card).to_contain_text("nonaktif")
    page.once("dialog", lambda d: d.accept())
    card.get_by_role("button", name="Hapus").click()
    expect(page.locator("#monitor-list > li")).to_have_count(0)
    assert p.get("/v1/saved-searches").json() == []


def test_monitor_shows_a_failing_webhook(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver(status=500)
    try:
        p: Pipeline = pipeline_factory(extra_env={"WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"})
        token = f"w{uuid.uuid4().hex[:8]}"
        login(page, p)
        page.goto(f"{p.search_url}/monitors")
        page.wait_for_selector("html[data-ready=monitors]")

        # A refused webhook URL: the reason next to the field, in the page's language; nothing stored.
        page.get_by_label("Nama").fill(f"Tanggul {token}")
        page.get_by_label("Kueri").fill(f"{token} AND tanggul")
        hook = page.get_by_label("URL webhook (opsional)")
        hook.fill("http://169.254.169.254/latest/meta-data/")
        page.get_by_role("button", name="Buat monitor").click()
        refusal = page.locator("#new-webhook-error")
        expect(refusal).to_contain_text("URL webhook ditolak: host mengarah ke alamat privat")
        expect(refusal).to_contain_text("169.254.169.254")
        expect(hook).to_have_attribute("aria-invalid", "true")
        assert p.get("/v1/saved-searches").json() == []

        # The local receiver (allowed by WARTA_WEBHOOK_ALLOW_HOSTS) answers 500 to every delivery.
        hook.fill(receiver.url)
        page.get_by_role("button", name="Buat monitor").click()
        card = page.locator("#monitor-list > li", has_text=f"Tanggul {token}")
        expect(card).to_contain_text("Webhook: " + receiver.url)
        expect(card.locator(".webhook-badge")).to_have_count(0)  # nothing delivered yet
        assert p.post(corpus(token)[0]).status_code == 202

        # The badge and the reason appear without a reload.
        badge = card.locator(".webhook-badge")
        expect(badge).to_have_text("webhook gagal", timeout=90_000)
        expect(badge).to_have_class(re.compile(r"\bbad\b"))
        reason = card.locator(".webhook-reason")
        expect(reason).to_contain_text("berturut-turut")
        expect(reason).to_contain_text("HTTP 500")
        shoot(page, "monitor-webhook-failing")

        page.get_by_role("button", name="English").click()
        page.wait_for_selector("html[data-ready=monitors][lang=en]")
        card = page.locator("#monitor-list > li", has_text=f"Tanggul {token}")
        expect(card.locator(".webhook-badge")).to_have_text("webhook failing")
        expect(card.locator(".webhook-reason")).to_contain_text("in a row")

        # The receiver recovers: the next retry is delivered and the badge turns ok.
        receiver.status = 204
        expect(card.locator(".webhook-badge")).to_have_text("webhook ok", timeout=60_000)
        expect(card.locator(".webhook-reason")).to_have_count(0)
        page.get_by_role("button", name="Bahasa Indonesia").click()
        page.wait_for_selector("html[data-ready=monitors][lang=id]")
    finally:
        receiver.close()


def test_sources_page(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.procs["search-api"].env["WARTA_INGEST_URL"] = p.ingest_url  # the web app's sources proxy
    p.start(["search-api", "ingest-api"])
    sid = f"src-{uuid.uuid4().hex[:6]}"
    # These hosts do not exist: stored without the URL check (a site down for now).
    r = httpx.post(f"{p.ingest_url}/v1/sources", headers=p.ns.auth, timeout=10, params={"check": "false"}, json={
        "id": sid, "type": "rss", "name": "Suara Blora (RSS)", "url": "https://suarablora.example/feed/",
        "outlet": "Suara Blora", "region": "Jawa Tengah"})  # fmt: skip
    assert r.status_code == 201, r.text

    # A reader key does not see the admin pages.
    reader = httpx.post(f"{p.search_url}/v1/keys", json={"name": "r", "role": "reader"}, headers=p.ns.auth).json()[
        "key"
    ]
    login(page, p, key=reader)
    expect(page.get_by_role("link", name="Sumber")).to_have_count(0)
    page.goto(f"{p.search_url}/sources")
    expect(page.get_by_role("alert")).to_contain_text("hanya untuk admin")
    page.get_by_role("button", name="Keluar").click()
    expect(page).to_have_url(re.compile(r"/login"))

    login(page, p)
    page.get_by_role("link", name="Sumber").click()
    page.wait_for_selector("html[data-ready=sources]")
    row = page.locator(f"#source-{sid}")
    expect(row).to_contain_text("Suara Blora (RSS)")
    expect(row).to_contain_text("RSS/Atom")
    expect(row).to_contain_text("menunggu")  # health: no crawler runs in this test
    expect(row).to_contain_text("Menunggu perayapan pertama")
    row.get_by_role("button", name="Rayapi sekarang").click()
    expect(page.locator("#source-status")).to_contain_text(f"Perayapan {sid} dijadwalkan")

    # Add a source from the page, then disable it.
    page.locator("#add-source summary").click()
    page.get_by_label("Nama", exact=True).fill("Kabar Jateng sitemap")
    page.get_by_label("ID (opsional)").fill(f"{sid}-b")
    page.get_by_label("Jenis").select_option("sitemap")
    page.get_by_label("URL").fill("https://kabarjateng.example/sitemap.xml")
    page.get_by_role("button", name="Tambah sumber").click()
    # The URL is checked: this host does not resolve, so the source is refused with the reason...
    expect(page.locator("#add-source [role=alert]")).to_contain_text("nama host tidak ditemukan")
    # ...unless the check is skipped.
    page.get_by_label("Lewati pemeriksaan alamat").check()
    page.get_by_role("button", name="Tambah sumber").click()
    page.wait_for_selector("html[data-ready=sources]")
    row_b = page.locator(f"#source-{sid}-b")
    expect(row_b).to_contain_text("Sitemap")
    shoot(page, "sources")
    row_b.get_by_role("button", name="Nonaktifkan").click()
    page.wait_for_selector("html[data-ready=sources]")
    expect(page.locator(f"#source-{sid}-b")).to_contain_text("nonaktif")
    src = httpx.get(f"{p.ingest_url}/v1/sources/{sid}-b", headers=p.ns.auth).json()
    assert src["enabled"] is False
