"""Take the screenshots in this folder from a running demo stack (`make up`), with the Chromium
the browser tests use: the search, monitors, sources and API-docs pages at 1366 px and 390 px.

    make screenshots            # or: .venv/bin/python -m docs.screenshots.take

Reads the admin key from ``.stack/admin-key`` and the search API's address from
``WARTA_SEARCH_URL`` (default http://127.0.0.1:8002). The pages show the demo data as it is, so
run it after the demo sites have been crawled (``warta status`` shows the articles)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = os.environ.get("WARTA_CHROMIUM", "/usr/bin/chromium")
SEARCH = os.environ.get("WARTA_SEARCH_URL", "http://127.0.0.1:8002").rstrip("/")
INGEST = os.environ.get("WARTA_INGEST_URL", "http://127.0.0.1:8001").rstrip("/")
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
PAGES = {
    "search": "/search?q=pasar&sort=newest",
    "monitors": "/monitors",
    "sources": "/sources",
}


def main() -> int:
    from playwright.sync_api import sync_playwright

    key = (ROOT / ".stack" / "admin-key").read_text().strip()
    with tempfile.TemporaryDirectory(prefix="warta-shots-") as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"],
            locale="id-ID",
        )  # fmt: skip
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{SEARCH}/login")
        page.get_by_label("Kunci API").fill(key)
        page.get_by_role("button", name="Masuk").click()
        page.wait_for_selector("html[data-ready=search]")
        for width, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            for name, path in PAGES.items():
                page.goto(f"{SEARCH}{path}")
                page.wait_for_selector(f"html[data-ready={name}]")
                page.wait_for_timeout(500)
                page.screenshot(path=str(HERE / f"{name}-{width}.png"), full_page=width == "1366")
            for api, base in (("search", SEARCH), ("ingest", INGEST)):
                page.goto(f"{base}/docs")
                page.wait_for_selector(".opblock", state="attached")
                page.wait_for_timeout(500)
                page.screenshot(path=str(HERE / f"docs-{api}-{width}.png"))
        ctx.close()
    print(f"screenshots written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
