"""Source health on the real processes (ingest API, crawler, Kafka, Redis) against the demo sites:
the URL check of ``POST /v1/sources``, a source pending until its first crawl and failing after its
first failure, and the articles the crawler collected per day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.ingest.demo_sites import DemoWeb, start_demo_sites
from tests.pipeline import Pipeline, free_port, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_web() -> Iterator[DemoWeb]:
    web = start_demo_sites("127.0.0.1", 0)
    try:
        yield web
    finally:
        web.stop()


def crawler_pipeline(pipeline_factory: Any, demo_web: DemoWeb) -> Pipeline:
    """The ingest API and a crawler process on one private registry, allowed to reach the demo
    sites; the crawler is added but not started."""
    env = {
        "WARTA_CRAWL_ALLOW_HOSTS": ",".join(demo_web.allow_hosts),
        "WARTA_CRAWL_MIN_DELAY_S": "0",
        "WARTA_CRAWL_TICK_S": "0.2",
    }
    p: Pipeline = pipeline_factory(extra_env=env, start=False)
    p._add("crawler", ["ingest", "crawler"]).env["WARTA_METRICS_PORT"] = str(free_port())
    return p


def health(p: Pipeline, source_id: str) -> dict[str, Any]:
    r = httpx.get(f"{p.ingest_url}/v1/sources/{source_id}/health", headers=p.ns.auth, timeout=10)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def test_pending_then_failing_on_the_first_failure_and_articles_per_day(
    pipeline_factory: Any, demo_web: DemoWeb
) -> None:
    p = crawler_pipeline(pipeline_factory, demo_web)
    p.start(["ingest-api"])
    base = demo_web.base_urls["lintasmuria"]

    def add(body: dict[str, Any], **params: Any) -> httpx.Response:
        return httpx.post(f"{p.ingest_url}/v1/sources", json=body, params=params, headers=p.ns.auth, timeout=30)

    # The check, on the real API process: a 404 and a page without article links are refused.
    gone = add({"id": "hilang", "type": "rss", "name": "Hilang", "url": f"{base}/tidak-ada/feed/"})
    assert gone.status_code == 422, gone.text
    assert gone.json()["check"]["code"] == "http_404" and "HTTP 404" in gone.json()["error"]
    about = add({"type": "listing", "name": "Tentang", "url": f"{base}/tentang-kami/"})
    assert about.status_code == 422 and "HTML page without article links" in about.json()["error"]
    ok = add({"id": "lm-rss", "type": "rss", "name": "Lintas Muria (RSS)", "url": f"{base}/feed/"})
    assert ok.status_code == 201 and ok.json()["check"]["kind"] == "rss", ok.text
    dup = add({"type": "rss", "name": "Lagi", "url": base.replace("http:", "https:") + "/feed?utm_source=x"})
    assert dup.status_code == 409 and dup.json()["existing"]["id"] == "lm-rss", dup.text
    # A source that is down for now is stored unchecked.
    assert (
        add(
            {"id": "hilang", "type": "rss", "name": "Hilang", "url": f"{base}/tidak-ada/feed/"}, check="false"
        ).status_code
        == 201
    )

    for sid in ("hilang", "lm-rss"):
        assert health(p, sid)["status"] == "pending"
        assert health(p, sid)["reason"]["code"] == "not_crawled_yet"

    p.start(["crawler"])
    wait_for(lambda: health(p, "hilang")["crawls"] >= 1, 60, message="first crawl of the 404 source")
    failed = health(p, "hilang")
    # 65bf119: "ok" after one, and after two failed crawls.
    assert failed["status"] == "failing" and failed["consecutive_failures"] == 1, failed
    assert failed["reason"]["code"] == "never_succeeded"
    assert failed["last_error_code"] == "http_404"

    wait_for(lambda: health(p, "lm-rss")["published"] == 7, 90, message="the feed's 7 articles collected")
    collected = health(p, "lm-rss")
    assert collected["status"] == "ok" and collected["reason"]["code"] == "last_crawl_ok"
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
    # The demo articles were published in 2024: counted by the day the crawler collected them.
    assert collected["articles_by_day"][-1] == {"day": today, "articles": 7}
    assert sum(d["articles"] for d in collected["articles_by_day"]) == 7
    assert collected["articles_per_day"] == 1.0
