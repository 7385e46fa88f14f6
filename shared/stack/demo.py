"""Demo data for ``make up``: the crawler collects the local demo news sites (its sources are
seeded from ``services/ingest/demo_sites/sources.yaml``); this waits until their articles are
searchable and reports how many there are."""

from __future__ import annotations

import time

import httpx

from shared.stack.infra import Paths, StackError

EXPECTED_DEMO_ARTICLES = 21


def load(s, paths: Paths, timeout_s: float = 300.0) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from shared.stack.manager import admin_key

    headers = {"Authorization": f"Bearer {admin_key(paths)}"}
    url = f"http://127.0.0.1:{s.search_port}/v1/search"
    deadline = time.monotonic() + timeout_s
    total = 0
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, params={"q": "", "size": 1}, headers=headers, timeout=10)
            if r.status_code == 200:
                total = int(r.json()["total"])
                if total >= EXPECTED_DEMO_ARTICLES:
                    break
        except httpx.HTTPError:
            pass
        time.sleep(2)
    if total == 0:
        raise StackError(
            f"no demo article became searchable within {timeout_s:.0f}s; see {paths.logs}/ingest-crawler.log"
        )
    return {"demo_articles_searchable": total}
