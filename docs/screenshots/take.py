"""Take the screenshots in this folder from a running demo stack (`make up`), with the Chromium
the browser tests use, at 1366 px and 390 px (a phone):

- as the admin: search (with tone badges), sources, and the two APIs' docs;
- as an analyst of the team ``humas-jateng`` (the PR-team pages, docs/pr-workflows.md): search
  filtered by tone, an article's tone toward the people and institutions it names (with the
  evidence sentence), the Laporan page (the demo week, 3-9 June 2024), the Monitors page with the
  monitor "Pemprov Jateng" (a daily digest at 07:00) and its digest fields, the monitor's next
  digest as its e-mail shows it (``digest-*.png``), and Bukti tayang: the releases with the partner
  scorecard, and the demo press release (Pemprov Jateng's operasi pasar murah, carried by three
  demo outlets) with its pickups.

    make screenshots            # or: .venv/bin/python -m docs.screenshots.take

Reads the admin key from ``.stack/admin-key`` and the search API's address from
``WARTA_SEARCH_URL`` (default http://127.0.0.1:8002). The pages show the demo data as it is, so
run it after the demo sites have been crawled (``warta status`` shows the articles).

What the analyst's pages show is made through the API, idempotently: the analyst key (created
with the admin key by ``POST /v1/keys`` and kept in ``.stack/humas-jateng-key``; a key of that
name whose secret was lost is disabled), the monitor (created if the team has none of its name)
and the tracked release (``POST /v1/pickups`` answers the one already tracked). A monitor records
matches only for articles indexed after it was made, so on a fresh stack its card lists none and
its digest is empty."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = os.environ.get("WARTA_CHROMIUM", "/usr/bin/chromium")
SEARCH = os.environ.get("WARTA_SEARCH_URL", "http://127.0.0.1:8002").rstrip("/")
INGEST = os.environ.get("WARTA_INGEST_URL", "http://127.0.0.1:8001").rstrip("/")
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}

TEAM = "humas-jateng"
KEY_NAME = "humas-jateng analis"
KEY_FILE = ROOT / ".stack" / "humas-jateng-key"
MONITOR = {
    "name": "Pemprov Jateng",
    "query": 'entity:"Pemprov Jateng"',
    "schedule": {"frequency": "daily", "time": "07:00", "timezone": "Asia/Jakarta", "language": "id"},
    "channels": {"email": ["humas@jatengprov.example", "kabag.humas@jatengprov.example"]},
}
# The release as the Pemprov's press office sent it; the demo outlets carried it on 5 June 2024
# (services/ingest/demo_sites/data/*.yaml: Lintas Muria word for word, Kabar Serayu and Pena
# Dewata with a title of their own, Kabar Serayu with a local paragraph instead of the last one).
RELEASE = {
    "title": "Pemprov Jateng Gelar Operasi Pasar Murah Jelang Iduladha",
    "text": "\n\n".join(
        [
            "Pemerintah Provinsi Jawa Tengah menggelar operasi pasar murah di 35 kabupaten dan kota menjelang Hari "
            "Raya Iduladha 1445 Hijriah.",
            "Dalam operasi tersebut, masyarakat dapat membeli beras medium, minyak goreng, gula pasir, dan telur ayam "
            "dengan harga di bawah harga pasar. Setiap warga dibatasi membeli paling banyak lima kilogram beras dan "
            "dua liter minyak goreng.",
            "Kepala Dinas Perindustrian dan Perdagangan Jawa Tengah menyampaikan bahwa kegiatan ini bertujuan menjaga "
            "daya beli masyarakat serta menekan laju inflasi daerah selama periode hari besar keagamaan.",
            "Jadwal dan lokasi operasi pasar murah di tiap daerah diumumkan melalui kantor kecamatan dan akun media "
            "sosial resmi pemerintah kabupaten dan kota.",
        ]
    ),
    "released_at": "2024-06-05T07:00:00+07:00",
    "window_days": 7,
}
DEMO_PERIOD = {"from": "2024-06-01", "to": "2024-06-30"}  # the demo articles' month
DEMO_WEEK = {"from": "2024-06-03", "to": "2024-06-09"}  # the week with most of them
REPORT_TITLE = "Kliping Media: data demo Warta"


@dataclass
class Shot:
    name: str
    path: str
    ready: str  # the page's html[data-ready] value
    widths: tuple[str, ...] = ("1366", "390")
    wait_for: str | None = None  # a selector the picture needs
    prepare: Callable[[Any], None] | None = None  # runs on the page before the picture
    max_height: int | None = None  # at 1366 px the whole page is taken, down to this height


def _api(key: str) -> httpx.Client:
    return httpx.Client(base_url=SEARCH, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _check(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        raise SystemExit(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}")
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text


def analyst_key(admin: httpx.Client) -> str:
    """The team's analyst key: the one kept in KEY_FILE while it still works, else a new one."""
    if KEY_FILE.exists():
        key = KEY_FILE.read_text().strip()
        with _api(key) as c:
            r = c.get("/v1/keys/me")
        if r.status_code == 200 and r.json().get("team") == TEAM and r.json().get("role") == "analyst":
            return key
    made = _check(admin.post("/v1/keys", json={"name": KEY_NAME, "role": "analyst", "team": TEAM}))
    KEY_FILE.touch(mode=0o600)
    KEY_FILE.write_text(made["key"] + "\n")
    for k in _check(admin.get("/v1/keys")):  # earlier keys of that name: their secret is lost
        if k["name"] == KEY_NAME and k["id"] != made["id"] and not k["disabled"]:
            _check(admin.delete(f"/v1/keys/{k['id']}"))
    return str(made["key"])


def ensure_monitor(analyst: httpx.Client) -> dict[str, Any]:
    for m in _check(analyst.get("/v1/saved-searches")):
        if m["name"] == MONITOR["name"]:
            return m  # type: ignore[no-any-return]
    return _check(analyst.post("/v1/saved-searches", json=MONITOR))  # type: ignore[no-any-return]


def ensure_release(analyst: httpx.Client) -> dict[str, Any]:
    return _check(analyst.post("/v1/pickups", json=RELEASE))  # type: ignore[no-any-return]


def _qs(params: dict[str, str]) -> str:
    return "?" + str(httpx.QueryParams(params))


def _fold_filters_on_phone(page: Any) -> None:
    """On a phone the filter box opens whenever a filter is set and fills the screen: fold it, as a
    reader would, so the results (and the chips of the filters set) show."""
    if page.viewport_size["width"] < 800:
        page.eval_on_selector("details.filters-box", "d => { d.open = false; }")


def _edit_monitor(monitor_id: str) -> Callable[[Any], None]:
    def run(page: Any) -> None:
        page.locator(f"#monitor-{monitor_id}").get_by_role("button", name="Ubah").click()
        page.wait_for_selector(f"#edit-{monitor_id}-digest")
        page.evaluate("document.activeElement.blur()")
        page.wait_for_timeout(200)

    return run


def article_with_evidence(admin: httpx.Client) -> str:
    """A demo article whose tone toward an institution comes with its evidence sentence (the one
    with the most such entities, then the most entity tones; ties by id, so the pick is stable)."""
    hits = _check(admin.get("/v1/search", params={"q": "", "size": 100}))["hits"]
    if not any(h.get("tone") for h in hits):
        raise SystemExit(
            "the demo articles have no tone: they were enriched before tone (docs/tone.md), and the "
            "pictures need them enriched by this Warta"
        )

    def rank(h: dict[str, Any]) -> tuple[int, int, str]:
        ets = h.get("entity_tones") or []
        return (-sum(1 for e in ets if e.get("evidence")), -len(ets), h["id"])

    return str(min(hits, key=rank)["id"])


def login(ctx: Any, key: str) -> Any:
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{SEARCH}/login")
    page.get_by_label("Kunci API").fill(key)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_selector("html[data-ready=search]")
    return page


def take(page: Any, shots: list[Shot]) -> None:
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        for s in shots:
            if width not in s.widths:
                continue
            page.goto(f"{SEARCH}{s.path}")
            page.wait_for_selector(f"html[data-ready={s.ready}]")
            if s.wait_for:
                page.wait_for_selector(s.wait_for, state="attached")
            if s.prepare:
                s.prepare(page)
            page.wait_for_timeout(500)
            clip = None
            if width == "1366" and s.max_height:
                height = page.evaluate("document.documentElement.scrollHeight")
                clip = {"x": 0, "y": 0, "width": viewport["width"], "height": min(height, s.max_height)}
            page.screenshot(path=str(HERE / f"{s.name}-{width}.png"), full_page=width == "1366", clip=clip)


def main() -> int:
    from playwright.sync_api import sync_playwright

    admin_key = (ROOT / ".stack" / "admin-key").read_text().strip()
    with _api(admin_key) as admin:
        key = analyst_key(admin)
        article = article_with_evidence(admin)
    with _api(key) as analyst:
        monitor = ensure_monitor(analyst)
        release = ensure_release(analyst)
        digest = _check(analyst.get(f"/v1/saved-searches/{monitor['id']}/digests/preview", params={"format": "html"}))

    admin_shots = [
        Shot("search", "/search?q=pasar&sort=newest", "search", prepare=_fold_filters_on_phone),
        Shot("sources", "/sources", "sources"),
    ]
    team_shots = [
        Shot("search-tone", "/search" + _qs({"tone": "negative", "sort": "newest"}), "search",
             prepare=_fold_filters_on_phone),
        Shot("article", f"/article/{article}", "article", wait_for="#entity-tones"),
        Shot("reports", "/reports" + _qs({**DEMO_WEEK, "title": REPORT_TITLE}), "reports",
             wait_for="#report-frame[data-loaded=true]", max_height=2600),
        Shot("monitors", "/monitors", "monitors"),
        Shot("monitor-digest", "/monitors", "monitors", widths=("1366",), prepare=_edit_monitor(monitor["id"])),
        Shot("pickups", "/pickups" + _qs(DEMO_PERIOD), "pickups", wait_for="#scorecard-table"),
        Shot("pickup", f"/pickups/{release['id']}", "pickups", wait_for="#pickup-table"),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="warta-shots-") as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"],
            locale="id-ID", timezone_id="Asia/Jakarta",
        )  # fmt: skip
        page = login(ctx, admin_key)
        take(page, admin_shots)
        for width, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            for api, base in (("search", SEARCH), ("ingest", INGEST)):
                page.goto(f"{base}/docs")
                page.wait_for_selector(".opblock", state="attached")
                page.wait_for_timeout(500)
                page.screenshot(path=str(HERE / f"docs-{api}-{width}.png"))
            # The next digest of the monitor as its e-mail shows it (the HTML part; nothing is sent).
            page.set_content(digest)
            page.wait_for_timeout(300)
            page.screenshot(path=str(HERE / f"digest-{width}.png"), full_page=width == "1366")
        page.close()
        take(login(ctx, key), team_shots)  # a new tab: a new session (the key is in sessionStorage)
        ctx.close()
    print(f"screenshots written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
