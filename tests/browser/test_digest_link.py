"""A digest's "see the matches" link opens what the digest counted. A digest lists what the
monitor matched in its period (by ``matched_at``); an article crawled days after it was published
matches today, so a search of the period by publication date (the link's old target) does not find
it. The link opens the monitor's card on the Monitors page instead (``/monitors?monitor=<id>``):
through the login page, scrolled to and marked, its matches listing the late article. The real
search API process and Debian's Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from playwright.sync_api import expect

from services.search.alerts.store import AlertIndices, SavedSearchStore
from services.search.digests.build import build_digest
from services.search.digests.render import render
from services.search.digests.schedule import digest_key
from services.search.index import ensure_index
from shared.settings import articles_alias
from tests.digest_support import just_ended_schedule, seed_monitor
from tests.pipeline import ES_URL, Pipeline

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_the_digest_link_opens_the_monitors_matches(pipeline_factory: Callable[..., Pipeline], page: Any) -> None:
    p = pipeline_factory(start=False)
    prefix = p.ns.prefix
    with Elasticsearch(ES_URL) as es:
        ensure_index(es, prefix)
        AlertIndices(prefix).ensure(es)
        store = SavedSearchStore(es, prefix)
        for i in range(6):  # cards above the digest's monitor, so that it is below the fold
            store.create(f"Monitor lain {i}", f"kata{i}", None)
        schedule = just_ended_schedule()
        seeded = seed_monitor(es, prefix, "Pemkab Blora", {"email": ["humas@blora.example"]}, schedule)
        saved, period = seeded.saved, seeded.period
        # Crawled late: published five days before the period, indexed and matched inside it.
        late = {"id": f"{saved['id'][:6]}-late", "title": "Banjir lama baru terindeks", "body": "Banjir di Blora.",
                "source": "kabarjateng.example", "url": "https://kabarjateng.example/berita/late",
                "published_at": (period.start - timedelta(days=5)).isoformat(),
                "ingested_at": (period.start + timedelta(hours=2)).isoformat(), "story_id": "late-story"}  # fmt: skip
        es.index(index=articles_alias(prefix), id=late["id"], document=late)
        es.index(index=AlertIndices(prefix).matches, id=f"{saved['id']}:{late['id']}", document={
            "saved_search_id": saved["id"], "team": "default", "article_id": late["id"],
            "matched_at": (period.start + timedelta(hours=2)).isoformat(), "published_at": late["published_at"],
            "title": late["title"], "url": late["url"], "source": late["source"], "outlet": None})  # fmt: skip
        es.indices.refresh(index=f"{prefix}*")
        p.start(["search-api"])
        digest = build_digest(es, prefix, articles_alias(prefix), saved, schedule, period,
                              digest_key(saved["id"], period), p.search_url)  # fmt: skip
    rendered = render(digest)
    assert late["url"] in rendered.text  # the digest counts the late article...
    (link,) = re.findall(r"Lihat kecocokan monitor ini di Warta: (\S+)", rendered.text)
    assert link == f"{p.search_url}/monitors?monitor={saved['id']}"
    assert f'href="{link}"' in rendered.html and f"<{link}|" in rendered.chat
    # ...which a search of the period by publication date, the link's old target, does not find
    zone_days = [at.astimezone(period.start.tzinfo).date().isoformat() for at in (period.start, period.end)]
    found = httpx.get(f"{p.search_url}/v1/search", headers=p.ns.auth,
                      params={"q": "banjir", "from": zone_days[0], "to": zone_days[1], "size": 100}).json()  # fmt: skip
    assert found["total"] > 0 and late["id"] not in {h["id"] for h in found["hits"]}

    # Opened from the e-mail, logged out: the login page, then the monitor's card.
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label(re.compile("Kunci API|API key")).fill(p.ns.admin_key)
    page.get_by_role("button", name=re.compile("^(Masuk|Log in)$")).click()
    page.wait_for_selector("html[data-ready=monitors]")
    assert page.url == link
    card = page.locator(f"#monitor-{saved['id']}")
    expect(card).to_have_class(re.compile(r"\btarget\b"))
    expect(page.locator(".card.monitor.target")).to_have_count(1)
    expect(card).to_be_in_viewport()
    expect(page.locator("#monitor-list > li").first).not_to_be_in_viewport()
    matches = card.locator(".match-list li")
    expect(matches.filter(has_text="Banjir lama baru terindeks")).to_have_count(1)
    # the card lists up to 50 of the monitor's matches, not the usual 5: every one the digest listed
    recorded = httpx.get(f"{p.search_url}/v1/saved-searches/{saved['id']}/matches", headers=p.ns.auth).json()
    assert len(recorded) > 5
    expect(matches).to_have_count(len(recorded))
    for a in seeded.inside:
        expect(card.locator(f'a[href="/article/{a["id"]}"]')).to_have_count(1)

    # A monitor that is gone: said so, and the page still lists the others.
    page.goto(f"{p.search_url}/monitors?monitor=nosuchmonitor")
    page.wait_for_selector("html[data-ready=monitors]")
    expect(page.locator("#monitor-status")).to_contain_text("Monitor dari tautan itu tidak ada")
    expect(page.locator("#monitor-list > li")).to_have_count(7)
