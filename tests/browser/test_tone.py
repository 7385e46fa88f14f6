"""Tone in the web app (issue 17), in Chromium against a real search API: tone badges on the
results (a headline that differs from the body shows both), the tone mix of the timeline with its
legend, the tone filter and the "headline differs from body" box kept in the URL, and the article
page with the tone toward each entity and the sentence that decided it.

The articles are written straight into the index the way the indexer writes them
(:func:`services.search.index.to_document` of an ``EnrichedArticle``), with known tones."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from services.search.index import to_document
from shared.schemas import ArticleTone, EnrichedArticle, Entity, EntityTone
from tests.browser.conftest import shoot
from tests.browser.test_web import login, search_ready
from tests.pipeline import Pipeline
from tests.security.test_search_api import index_docs

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PEMKAB = "Pemerintah Kabupaten Blora"
EVIDENCE = "Warga menilai Pemerintah Kabupaten Blora lamban memperbaiki tanggul yang jebol."
PRAISE = "Pemerintah Kabupaten Blora dipuji karena cepat menyalurkan bantuan."


def article(token: str, i: int, day: int, title: str, body: str, tone: ArticleTone | None,
            entity_tones: list[EntityTone] | None = None) -> dict[str, Any]:  # fmt: skip
    """One indexed document as the indexer writes it; ``tone=None`` is an article enriched before tone."""
    ents = [Entity(start=m.start(), end=m.end(), type="ORG", text=PEMKAB, canonical=PEMKAB)
            for m in re.finditer(PEMKAB, body)]  # fmt: skip
    enriched = EnrichedArticle(
        schema_version=2 if tone else 1, id=f"{token}{i:04d}", url=f"https://suarablora.example/{token}/{i}",
        canonical_url=f"https://suarablora.example/{token}/{i}", title=title, source="suarablora.example",
        outlet="Suara Blora", published_at=datetime(2025, 5, day, 3, tzinfo=UTC), ingested_at=datetime.now(UTC),
        enriched_at=datetime.now(UTC),
        text=body, body=body, language="id", language_confidence=0.99, word_count=len(body.split()),
        entities=ents, story_id=f"{token}{i:04d}", story_size=1, tone=tone, entity_tones=entity_tones or [],
    )  # fmt: skip
    return to_document(enriched, datetime.now(UTC).isoformat())


def corpus(token: str) -> list[dict[str, Any]]:
    mismatch_body = f"{PRAISE} Kode {token}."
    negative_body = f"Banjir kembali merendam Desa Ngawen. {EVIDENCE} Kode {token}."
    return [
        article(token, 0, 1, f"Panen raya meriah {token}", f"Petani Blora panen raya dengan hasil melimpah. Kode {token}.",
                ArticleTone(label="positive", score=0.7, headline="positive", body="positive")),
        # The headline is negative, the body positive: "Judul: Negatif · Isi: Positif".
        article(token, 1, 2, f"Warga kecewa bantuan terlambat {token}", mismatch_body,
                ArticleTone(label="negative", score=-0.2, headline="negative", body="positive"),
                [EntityTone(type="ORG", canonical=PEMKAB, label="positive", score=0.6, mentions=1, evidence=PRAISE,
                            evidence_start=0, evidence_end=len(PRAISE))]),
        article(token, 2, 2, f"Rapat anggaran digelar {token}", f"Rapat anggaran digelar di gedung dewan. Kode {token}.",
                ArticleTone(label="neutral", score=0.0, headline="neutral", body="neutral")),
        article(token, 3, 4, f"Tanggul jebol lagi {token}", negative_body,
                ArticleTone(label="negative", score=-0.8, headline="negative", body="negative"),
                [EntityTone(type="ORG", canonical=PEMKAB, label="negative", score=-0.75, mentions=2, evidence=EVIDENCE,
                            evidence_start=negative_body.index(EVIDENCE),
                            evidence_end=negative_body.index(EVIDENCE) + len(EVIDENCE))]),
        # Enriched before tone: no badge, counted as "no tone" in the chart.
        article(token, 4, 4, f"Pasar malam dibuka {token}", f"Pasar malam dibuka di alun-alun Blora. Kode {token}.", None),
    ]  # fmt: skip


def hit(page: Any, title: str) -> Any:
    return page.locator("#hits li.hit").filter(has=page.locator("h3", has_text=title))


def test_tone_badges_timeline_filter_and_evidence(pipeline_factory, page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["search-api"])
    token = f"t{uuid.uuid4().hex[:8]}"
    index_docs(p.ns.prefix, corpus(token))
    login(page, p)

    page.get_by_role("searchbox").fill(token)
    page.get_by_role("button", name="Cari", exact=True).click()
    search_ready(page)
    expect(page.locator("#result-count")).to_contain_text("5 artikel")

    # Badges: the overall tone in words, and both when the headline and the body differ.
    expect(hit(page, "Panen raya meriah").locator(".badge.tone")).to_have_text("Positif")
    expect(hit(page, "Rapat anggaran").locator(".badge.tone")).to_have_text("Netral")
    expect(hit(page, "Tanggul jebol").locator(".badge.tone")).to_have_text("Negatif")
    mixed = hit(page, "Warga kecewa").locator(".badge.tone")
    expect(mixed).to_have_text("Judul: Negatif · Isi: Positif")
    expect(mixed).to_have_attribute("aria-label", re.compile(r"Nada judul: Negatif; nada isi: Positif"))
    expect(page.get_by_role("img", name=re.compile(r"^Nada artikel: Positif \(skor \+0,7\)"))).to_have_count(1)
    expect(hit(page, "Pasar malam").locator(".badge.tone")).to_have_count(0)

    # The timeline stacks each day's bar by tone, with a legend in words.
    legend = page.locator("#timeline-legend")
    expect(legend).to_have_accessible_name("Nada")
    for text in ("Positif: 1", "Negatif: 2", "Netral: 1", "Tanpa nada: 1"):
        expect(legend).to_contain_text(text)
    chart = page.locator("#timeline svg")
    negative = chart.locator("rect.tone-negative")
    expect(negative).to_have_count(2)  # 2 May (the mismatched article) and 4 May
    assert sorted(int(n) for n in negative.evaluate_all("rs => rs.map((r) => r.dataset.count)")) == [1, 1]
    expect(chart.locator("rect.tone-none")).to_have_count(1)
    assert "Menurut nada: positif 1, netral 1, negatif 2, tanpa nada 1." in (chart.get_attribute("aria-label") or "")
    shoot(page, "search-tone", phone=True)

    # The tone filter narrows the results and stays in the URL.
    page.select_option("#f-tone", label="Negatif")
    page.click("#apply")
    search_ready(page)
    expect(page).to_have_url(re.compile(r"[?&]tone=negative(&|$)"))
    expect(page.locator("#result-count")).to_contain_text("2 artikel")
    expect(page.locator("#hits li.hit")).to_have_count(2)
    expect(hit(page, "Panen raya meriah")).to_have_count(0)
    expect(page.get_by_role("link", name="Hapus filter Nada: Negatif")).to_be_visible()

    # "Judul beda dengan isi" on top of it: only the mismatched article.
    page.check("#f-tone-mismatch")
    page.click("#apply")
    search_ready(page)
    expect(page).to_have_url(re.compile(r"[?&]tone_mismatch=true(&|$)"))
    expect(page.locator("#result-count")).to_contain_text("1 artikel")
    expect(page.locator("#hits .badge.tone")).to_have_text("Judul: Negatif · Isi: Positif")

    # A reload keeps both; the chip removes one.
    page.reload()
    search_ready(page)
    expect(page.locator("#f-tone")).to_have_value("negative")
    expect(page.locator("#f-tone-mismatch")).to_be_checked()
    page.get_by_role("link", name="Hapus filter Judul beda dengan isi").click()
    search_ready(page)
    expect(page.locator("#result-count")).to_contain_text("2 artikel")
    expect(page.locator("#f-tone-mismatch")).not_to_be_checked()

    # With an entity filter the tone is the tone toward that entity, and the page says so: the
    # mismatched article is negative overall but positive toward the Pemkab.
    page.fill("#f-entity", PEMKAB)
    page.click("#apply")
    search_ready(page)
    expect(page.locator("#result-count")).to_contain_text("1 artikel")
    expect(hit(page, "Tanggul jebol")).to_have_count(1)
    expect(page.locator("#q-notices")).to_contain_text(f"Nada “Negatif” adalah nada terhadap {PEMKAB}.")
    # "Save as monitor" says the same in the query language.
    href = page.locator("#save-monitor").get_attribute("href") or ""
    assert parse_qs(urlsplit(href).query)["new_q"] == [f'({token}) entity:"{PEMKAB}" tone:negatif'], href

    # The article page: headline and body tone, the tone toward each entity and its evidence.
    hit(page, "Tanggul jebol").get_by_role("link", name=re.compile("Tanggul jebol")).click()
    page.wait_for_selector("html[data-ready=article]")
    section = page.locator("#article-tone")
    expect(section.locator(".tone-line")).to_have_text("Keseluruhan: Negatif · Judul: Negatif · Isi: Negatif")
    row = section.locator("#entity-tones li")
    expect(row).to_have_count(1)
    expect(row.locator("a.chip")).to_have_text(PEMKAB)
    expect(row.locator(".badge.tone")).to_have_text("Negatif")
    expect(row.locator(".badge.tone")).to_have_attribute("aria-label", f"{PEMKAB}: Negatif (skor -0,75)")
    expect(row).to_contain_text("disebut dalam 2 kalimat")
    expect(row.locator("blockquote.evidence")).to_have_text(f"Kalimat penentu: “{EVIDENCE}”")
    shoot(page, "article-tone", phone=True)

    # In English: the labels and both readings of a mismatched article.
    page.goto(f"{p.search_url}/search?q={token}&tone_mismatch=true")
    search_ready(page)
    page.locator("#lang-toggle").click()
    search_ready(page)
    expect(page.locator("#hits .badge.tone")).to_have_text("Headline: Negative · Body: Positive")
    expect(page.locator("#f-tone option[value=negative]")).to_have_text("Negative")
    page.goto(f"{p.search_url}/article/{token}0001")
    page.wait_for_selector("html[data-ready=article]")
    expect(page.locator("#article-tone .tone-line")).to_have_text(
        "Overall: Negative · Headline: Negative · Body: Positive"
    )
    expect(page.locator("#entity-tones blockquote.evidence")).to_have_text(f"Deciding sentence: “{PRAISE}”")

    # A tone the API does not know, typed into the URL: the API's error, translated.
    page.goto(f"{p.search_url}/search?q={token}&tone=marah")
    search_ready(page)
    expect(page.get_by_role("alert")).to_contain_text("tone: does not accept “marah”; accepted values: negatif")
