"""``GET /v1/reports`` on real Elasticsearch: every figure of the report (articles, stories, the
timeline and its tone split, the tone mix, the top outlets, people and institutions with the tone
toward them, regions, and the stories with their outlets) equals a brute-force count over the same
articles; the PDF is a valid A4 PDF with page numbers; the HTML carries the stories, in Indonesian
or in English; bad parameters are 4xx.

The search API runs in process (its real lifespan) under its own index prefix; generated articles
(tests/report_articles.py) are written straight to the index as the indexer projects them.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pypdf
import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from services.search.api import create_app
from services.search.criteria import JAKARTA
from services.search.index import ensure_index, to_document
from services.search.settings import SearchSettings
from tests.pipeline import ES_URL, new_prefix
from tests.report_articles import make_articles

pytestmark = [pytest.mark.elasticsearch]

ADMIN_KEY = "reports-api-test-admin-key-0123456789ab"
ARTICLES = make_articles(60, seed=11)
DOCS = [to_document(a, datetime.now(UTC).isoformat()) for a in ARTICLES]
FROM, TO = "2025-05-03", "2025-05-10"
LABELS = ("positive", "negative", "neutral")


class Api:
    def __init__(self, settings: SearchSettings) -> None:
        self.settings = settings

    def get(self, *calls: tuple[str, dict[str, Any]], key: str | None = ADMIN_KEY) -> list[httpx.Response]:
        async def run() -> list[httpx.Response]:
            app = create_app(self.settings)
            async with app.router.lifespan_context(app):
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://search.test",
                                             headers=headers, timeout=60) as http:  # fmt: skip
                    return [await http.get(path, params=params) for path, params in calls]

        return asyncio.run(run())


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    es = Elasticsearch(ES_URL, request_timeout=60)
    prefix = new_prefix()
    try:
        alias = ensure_index(es, prefix)
        bulk(es, ({"_index": alias, "_id": d["id"], "_source": d} for d in DOCS), refresh=True)
        yield Api(SearchSettings(es_url=ES_URL, index_prefix=prefix, admin_key=ADMIN_KEY))
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        es.close()


class ReportPage(HTMLParser):
    """The machine-readable parts of a report page: the ``data-*`` attributes of its figures, bars,
    tone rows, top lists and stories, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.values: dict[str, int] = {}
        self.bars: list[dict[str, str]] = []
        self.tone: dict[str, int] = {}
        self.tops: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.stories: list[dict[str, str]] = []
        self.lang = ""
        self.text: list[str] = []
        self._list = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if "data-value" in a:
            self.values[a["id"]] = int(a["data-value"])
        if tag == "g" and "data-key" in a:
            self.bars.append(a)
        if tag == "tr" and "data-tone" in a and "data-key" not in a:
            self.tone[a["data-tone"]] = int(a["data-count"])
        if "data-list" in a:
            self._list = a["data-list"]
        if tag == "tr" and "data-key" in a:
            self.tops[self._list].append(a)
        if tag == "li" and "data-articles" in a:
            self.stories.append(a)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _selected(docs: list[dict[str, Any]], topics: set[str], outlet: str | None = None) -> list[dict[str, Any]]:
    lo = datetime.fromisoformat(FROM).replace(tzinfo=JAKARTA)
    hi = datetime.fromisoformat(TO).replace(tzinfo=JAKARTA) + timedelta(days=1)
    return [d for d in docs if d["keywords"][0] in topics and lo <= datetime.fromisoformat(d["published_at"]) < hi
            and (outlet is None or (d.get("outlet") or d["source"]) == outlet)]  # fmt: skip


def _tone_toward(sel: list[dict[str, Any]], name: str) -> dict[str, int]:
    return {label: sum(f"{name}|{label}" in d.get("entity_tone_keys", []) for d in sel) for label in LABELS}


def test_every_figure_equals_a_brute_force_count(api: Api) -> None:
    (r,) = api.get(("/v1/reports", {"q": "banjir OR pasar", "from": FROM, "to": TO}))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "style-src 'sha256-" in r.headers["content-security-policy"] and r.headers["cache-control"] == "no-store"
    page = ReportPage(r.text)
    sel = _selected(DOCS, {"banjir", "pasar"})
    assert 20 < len(sel) < len(DOCS)  # the query and the dates both select

    assert page.values == {"report-articles": len(sel), "report-stories": len({d["story_id"] for d in sel})}
    # The timeline: one bar per day from `from` to `to`, each the articles published that day (WIB).
    per_day = Counter(datetime.fromisoformat(d["published_at"]).astimezone(JAKARTA).date().isoformat() for d in sel)
    assert [(b["data-key"][:10], int(b["data-count"])) for b in page.bars] == [
        (f"2025-05-{day:02d}", per_day.get(f"2025-05-{day:02d}", 0)) for day in range(3, 11)]  # fmt: skip
    for bar in page.bars:
        day = bar["data-key"][:10]
        on_day = [d for d in sel if datetime.fromisoformat(d["published_at"]).date().isoformat() == day]
        assert bar["data-tone"] == ",".join(f"{k}:{sum(d.get('tone', {}).get('label') == k for d in on_day)}"
                                            for k in ("negative", "neutral", "positive")), day  # fmt: skip
    # The tone mix, with the articles enriched before tone apart.
    tones = Counter(d["tone"]["label"] for d in sel if "tone" in d)
    assert page.tone == {**{k: tones[k] for k in LABELS}, "none": sum("tone" not in d for d in sel)}
    assert page.tone["none"] > 0 and all(page.tone[k] > 0 for k in LABELS)

    def top(name: str) -> dict[str, int]:
        return {row["data-key"]: int(row["data-count"]) for row in page.tops[name]}

    assert top("outlets") == Counter(d.get("outlet") or d["source"] for d in sel)
    assert "suarablora.example" in top("outlets")  # an outlet without a name, by its domain
    assert top("people") == Counter(p for d in sel for p in d["persons"])
    assert top("institutions") == Counter(o for d in sel for o in d["organizations"])
    assert top("regions") == Counter(r for d in sel for r in d["region_names"])
    for name in ("people", "institutions"):  # the tone toward each of them
        for row in page.tops[name]:
            want = _tone_toward(sel, row["data-key"])
            assert row["data-tone"] == ",".join(f"{k}:{want[k]}" for k in ("negative", "neutral", "positive"))
    for row in page.tops["outlets"]:  # the overall tone of each outlet's articles
        mine = [d for d in sel if (d.get("outlet") or d["source"]) == row["data-key"]]
        assert row["data-tone"] == ",".join(f"{k}:{sum(d.get('tone', {}).get('label') == k for d in mine)}"
                                            for k in ("negative", "neutral", "positive"))  # fmt: skip

    # The stories: the most articles first (ties: the earliest first), each with the title and link
    # of its first article and the outlets of its articles.
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in sel:
        members[d["story_id"]].append(d)
    order = sorted(members.values(), key=lambda ms: (-len(ms), min(m["published_at"] for m in ms)))
    assert [int(s["data-articles"]) for s in page.stories] == [len(ms) for ms in order]
    for shown, ms in zip(page.stories, order, strict=True):
        assert set(shown["data-outlets"].split("|")) == {m.get("outlet") or m["source"] for m in ms}
    text = "".join(page.text)
    for ms in order:
        first = min(ms, key=lambda m: m["published_at"])
        assert first["title"] in text and first["url"] in r.text
    assert max(len(ms) for ms in order) > 1  # syndicated stories are in the set


def test_filters_narrow_the_report_as_they_narrow_search(api: Api) -> None:
    report, search = api.get(
        ("/v1/reports", {"q": "banjir", "from": FROM, "to": TO, "source": "Lintas Muria", "top": 3, "stories": 2}),
        ("/v1/search", {"q": "banjir", "from": FROM, "to": TO, "source": "Lintas Muria", "size": 0}),
    )
    assert report.status_code == 200, report.text
    page = ReportPage(report.text)
    sel = _selected(DOCS, {"banjir"}, outlet="Lintas Muria")
    assert page.values["report-articles"] == len(sel) == search.json()["total"] > 0
    assert {row["data-key"] for row in page.tops["outlets"]} == {"Lintas Muria"}
    assert len(page.stories) == min(2, len({d["story_id"] for d in sel})) and len(page.tops["people"]) <= 3
    assert "Media" in page.text and "Lintas Muria" in "".join(page.text)  # the filter is named in the report


def test_the_pdf_is_a_paginated_a4_pdf_with_the_report(api: Api) -> None:
    (r,) = api.get(("/v1/reports", {"q": "banjir OR pasar", "from": FROM, "to": TO, "format": "pdf",
                                    "title": "Kliping Pemkab Blora"}))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('attachment; filename="laporan-')
    assert r.content.startswith(b"%PDF-") and r.content.rstrip().endswith(b"%%EOF")
    pdf = pypdf.PdfReader(io.BytesIO(r.content))
    pages = len(pdf.pages)
    assert pages >= 2
    for p in pdf.pages:
        assert (round(float(p.mediabox.width)), round(float(p.mediabox.height))) == (595, 842)  # A4 in points
    text = [p.extract_text() for p in pdf.pages]
    assert "Kliping Pemkab Blora" in text[0] and "Artikel" in text[0] and "Linimasa" in text[0]
    assert all(f"{i} / {pages}" in t for i, t in enumerate(text, 1))  # page numbers
    sel = _selected(DOCS, {"banjir", "pasar"})
    first = min(sel, key=lambda d: d["published_at"])
    assert first["title"] in " ".join(" ".join(t.split()) for t in text)


def test_english_report(api: Api) -> None:
    id_, en = api.get(("/v1/reports", {"q": "banjir", "from": FROM, "to": TO}),
                      ("/v1/reports", {"q": "banjir", "from": FROM, "to": TO, "lang": "en"}))  # fmt: skip
    assert id_.status_code == en.status_code == 200
    page_id, page_en = ReportPage(id_.text), ReportPage(en.text)
    assert (page_id.lang, page_en.lang) == ("id", "en")
    assert "Laporan Pemberitaan" in id_.text and "Nada pemberitaan" in id_.text and "Mei 2025" in id_.text
    assert "Coverage report" in en.text and "Tone of coverage" in en.text and "May 2025" in en.text
    assert "Laporan" not in en.text and "Linimasa" not in en.text
    assert page_id.values == page_en.values and page_id.tops == page_en.tops  # the same figures


def test_bad_parameters_are_4xx(api: Api) -> None:
    answers = api.get(
        ("/v1/reports", {"format": "docx"}),
        ("/v1/reports", {"lang": "fr"}),
        ("/v1/reports", {"stories": "0"}),
        ("/v1/reports", {"top": "51"}),
        ("/v1/reports", {"from": "kemarin"}),
        ("/v1/reports", {"from": "2025-05-10", "to": "2025-05-01"}),
        ("/v1/reports", {"q": "(banjir OR"}),
        ("/v1/reports", {"tone": "marah"}),
    )
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 400, 400, 400, 400], [a.text for a in answers]
    assert answers[4].json()["code"] == "invalid_date"
    assert answers[5].json()["code"] == "date_range_reversed"
    assert answers[6].json()["position"] is not None
    assert answers[7].json()["code"] == "unknown_tone_value"
    (anonymous,) = api.get(("/v1/reports", {}), key=None)
    assert anonymous.status_code == 401


def test_a_reader_key_may_make_a_report(api: Api) -> None:
    async def run() -> tuple[httpx.Response, httpx.Response]:
        app = create_app(api.settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://search.test") as http:
                created = await http.post("/v1/keys", json={"name": "humas-pembaca", "role": "reader"},
                                          headers={"Authorization": f"Bearer {ADMIN_KEY}"})  # fmt: skip
                assert created.status_code == 201, created.text
                reader = {"Authorization": f"Bearer {created.json()['key']}"}
                return await http.get("/v1/reports", params={"q": "banjir"}, headers=reader), await http.get(
                    "/v1/reports", params={"q": "banjir", "format": "pdf"}, headers=reader
                )

    html, pdf = asyncio.run(run())
    assert html.status_code == 200 and pdf.status_code == 200, (html.text, pdf.text)
    assert ReportPage(html.text).values["report-articles"] == sum(d["keywords"] == ["banjir"] for d in DOCS)
    assert pdf.content.startswith(b"%PDF-")


def test_an_empty_report(api: Api) -> None:
    (r,) = api.get(("/v1/reports", {"q": "gempa", "format": "html"}))
    assert r.status_code == 200
    page = ReportPage(r.text)
    assert page.values == {"report-articles": 0, "report-stories": 0} and not page.stories and not page.bars
    assert "Tidak ada artikel pada periode ini." in r.text
