"""Press-release pickups (issue 18, "bukti tayang") on real Elasticsearch: a release, three
outlets' rewrites of it, an unrelated article on the same topic and a copy outside the window ->
exactly the three, with their delay, how much each kept and whether the title changed; the
release by the URL of its indexed original; idempotent creation; a new pickup listed within
seconds of being written; the partner scorecard equal to a brute-force count over every article;
the CSV's columns and the PDF proof sheet; teams; 4xx on bad input.

The search API runs in process (its real lifespan) under its own index prefix; articles are
written to the index as the indexer projects them (:func:`services.search.index.to_document`).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pypdf
import pytest
from elasticsearch import Elasticsearch, helpers

from services.search.api import create_app
from services.search.index import ensure_index
from services.search.pickups import DEFAULT_SETTINGS, ReleaseText, pickup_of
from services.search.pickups.export import PICKUP_COLUMNS, SCORECARD_COLUMNS
from services.search.settings import SearchSettings
from shared.auth import KeyStore
from tests.integration.search.pickup_corpus import (
    ORIGINAL_URL,
    RELEASE_PARAGRAPHS,
    RELEASE_TEXT,
    RELEASE_TITLE,
    RELEASED_AT,
    REWRITES,
    corpus,
    document,
    original,
)
from tests.pipeline import ES_URL

pytestmark = [pytest.mark.elasticsearch]

ADMIN_KEY = "pickups-test-admin-key-0123456789abcdef"
Scenario = Callable[["Client"], Awaitable[None]]


class Client:
    """Requests to the in-process API, each with the key of a role and team."""

    def __init__(self, http: httpx.AsyncClient, keys: dict[str, str]) -> None:
        self.http = http
        self.keys = keys

    async def __call__(self, method: str, path: str, as_: str = "analyst", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[as_]}"}
        return await self.http.request(method, path, headers=headers, **kwargs)


class Api:
    def __init__(self, settings: SearchSettings, keys: dict[str, str]) -> None:
        self.settings = settings
        self.keys = keys

    def run(self, scenario: Scenario) -> None:
        async def main() -> None:
            app = create_app(self.settings)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://search.test") as http:
                    await scenario(Client(http, self.keys))

        asyncio.run(main())


@pytest.fixture
def alias(es: Elasticsearch, prefix: str) -> str:
    return ensure_index(es, prefix)


@pytest.fixture
def api(es: Elasticsearch, prefix: str, alias: str) -> Api:
    store = KeyStore(es, prefix)
    store.ensure_index()
    keys = {"admin": ADMIN_KEY}
    for name, role, team in (("analyst", "analyst", "humas-blora"), ("reader", "reader", "humas-blora"),
                             ("other", "analyst", "humas-kudus")):  # fmt: skip
        keys[name], _ = store.create(name, role, team=team)
    return Api(SearchSettings(es_url=ES_URL, index_prefix=prefix, admin_key=ADMIN_KEY), keys)


def _seed(es: Elasticsearch, alias: str, docs: list[dict[str, Any]]) -> None:
    helpers.bulk(es, ({"_index": alias, "_id": d["id"], "_source": d} for d in docs), refresh="wait_for")


def _release(**extra: Any) -> dict[str, Any]:
    return {"title": RELEASE_TITLE, "text": RELEASE_TEXT, "released_at": RELEASED_AT.isoformat(), **extra}


def test_a_release_lists_exactly_its_three_rewrites(es: Elasticsearch, alias: str, api: Api) -> None:
    token = f"t{uuid.uuid4().hex[:8]}"
    _seed(es, alias, corpus(token))

    async def scenario(call: Client) -> None:
        created = await call("POST", "/v1/pickups", json=_release())
        assert created.status_code == 201, created.text
        release = created.json()
        assert release["team"] == "humas-blora" and release["window_days"] == 7
        assert release["outlets"] == 3 and release["pickup_count"] == 3
        again = await call("POST", "/v1/pickups", json=_release())  # idempotent: the same release
        assert again.status_code == 200 and again.json()["id"] == release["id"], again.text

        detail = await call("GET", f"/v1/pickups/{release['id']}")
        assert detail.status_code == 200, detail.text
        pickups = detail.json()["pickups"]
        # Oldest first; the unrelated article and the copy after the window are not listed.
        assert [p["article_id"] for p in pickups] == [f"{token}-p0", f"{token}-p1", f"{token}-p2"]
        assert [p["outlet"] for p in pickups] == [outlet for outlet, *_ in REWRITES]
        assert [p["delay_s"] for p in pickups] == [int(delay.total_seconds()) for *_, delay in REWRITES]
        assert [p["title_changed"] for p in pickups] == [False, True, False]  # case and "!" do not count
        kept = [p["kept"] for p in pickups]
        assert kept[0] == 1.0 and 0.8 < kept[1] < 1.0 and 0.5 < kept[2] < 0.7, kept
        assert pickups[2]["share"] == 1.0  # all of the third is the release
        assert pickups[0]["lead_diff"] == [{"op": "equal", "text": RELEASE_PARAGRAPHS[0]}]
        assert pickups[0]["lead_similarity"] == 1.0
        ops = {part["op"] for part in pickups[1]["lead_diff"]}
        assert ops == {"equal", "delete", "insert"} and pickups[1]["lead_similarity"] < 0.6
        assert pickups[0]["first_seen"].startswith("2025-06-02T02:35")

        listed = await call("GET", "/v1/pickups", as_="reader")  # the team's reader sees it
        assert [r["id"] for r in listed.json()] == [release["id"]] and listed.json()[0]["outlets"] == 3

    api.run(scenario)


def test_a_release_given_by_the_url_of_its_indexed_original(es: Elasticsearch, alias: str, api: Api) -> None:
    token = f"t{uuid.uuid4().hex[:8]}"
    _seed(es, alias, [*corpus(token), original(token)])

    async def scenario(call: Client) -> None:
        r = await call("POST", "/v1/pickups", json={"url": f"{ORIGINAL_URL}?t={token}"})
        assert r.status_code == 201, r.text
        release = r.json()
        # Title and release time from the original; the original itself is not its own pickup.
        assert release["title"] == RELEASE_TITLE and release["original_id"] == f"{token}-orig"
        assert datetime.fromisoformat(release["released_at"]) == RELEASED_AT
        detail = (await call("GET", f"/v1/pickups/{release['id']}")).json()
        assert [p["article_id"] for p in detail["pickups"]] == [f"{token}-p0", f"{token}-p1", f"{token}-p2"]

        missing = await call("POST", "/v1/pickups", json={"url": "https://blorakab.example/berita/belum-diindeks"})
        assert missing.status_code == 422, missing.text
        assert "no indexed article has this URL" in missing.json()["error"]
        assert missing.json()["detail"][0]["loc"] == ["body", "url"]

    api.run(scenario)


def test_a_new_pickup_is_listed_within_seconds_of_being_indexed(es: Elasticsearch, alias: str, api: Api) -> None:
    token = f"t{uuid.uuid4().hex[:8]}"
    _seed(es, alias, corpus(token))
    waited: list[float] = []

    async def scenario(call: Client) -> None:
        release = (await call("POST", "/v1/pickups", json=_release())).json()
        assert release["pickup_count"] == 3
        # Written as the indexer writes: acknowledged, no forced refresh.
        late = document(f"{token}-new", "Murianews", RELEASE_TITLE, RELEASE_TEXT, RELEASED_AT + timedelta(days=2))
        es.index(index=alias, id=late["id"], document=late)
        written = time.monotonic()
        while time.monotonic() - written < 60:
            detail = (await call("GET", f"/v1/pickups/{release['id']}")).json()
            if any(p["article_id"] == late["id"] for p in detail["pickups"]):
                waited.append(time.monotonic() - written)
                return
            await asyncio.sleep(0.2)
        pytest.fail("the new pickup was not listed within 60 s")

    api.run(scenario)
    print(f"pickup visible {waited[0]:.2f} s after it was indexed")
    assert waited[0] < 60


def _brute_force(es: Elasticsearch, alias: str, releases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The scorecard from every article in the index against every release, with the pure
    matching function (no candidate search), counted by hand."""
    articles = [h["_source"] for h in helpers.scan(es, index=alias, query={"query": {"match_all": {}}})]
    per_outlet: dict[str, dict[str, Any]] = {}
    for release in releases:
        released_at = datetime.fromisoformat(release["released_at"])
        text = ReleaseText.of(release["title"], release["text"])
        lo, hi = released_at - DEFAULT_SETTINGS.lookback, released_at + timedelta(days=release["window_days"])
        carried: dict[str, list[dict[str, Any]]] = {}
        for src in articles:
            if not lo <= datetime.fromisoformat(src["published_at"]) <= hi:
                continue
            found = pickup_of(text, released_at, src)
            if found:
                carried.setdefault(found["outlet"], []).append(found)
        for outlet, items in carried.items():
            acc = per_outlet.setdefault(outlet, {"releases": 0, "articles": 0, "delays": [], "kept": []})
            acc["releases"] += 1
            acc["articles"] += len(items)
            acc["delays"].append(min(p["delay_s"] for p in items))
            acc["kept"].append(max(p["kept"] for p in items))
    return {
        outlet: {
            "releases_carried": acc["releases"],
            "articles": acc["articles"],
            "carried_share": round(acc["releases"] / len(releases), 4),
            "median_delay_s": statistics.median(acc["delays"]),
            "mean_kept": round(sum(acc["kept"]) / len(acc["kept"]), 4),
        }
        for outlet, acc in per_outlet.items()
    }


def test_scorecard_equals_a_brute_force_count(es: Elasticsearch, alias: str, api: Api) -> None:
    # Three releases a week apart: the first carried by all three outlets, the second by two
    # (one of them twice), the third by none; plus everything unrelated.
    tokens = [f"t{uuid.uuid4().hex[:8]}" for _ in range(3)]
    starts = [RELEASED_AT + timedelta(days=8 * i) for i in range(3)]
    second = [f"Paragraf khusus rilis kedua nomor {i} tentang jembatan Desa Ngawen yang diresmikan bupati dan "
              f"dibuka untuk warga setelah perbaikan selama enam bulan oleh dinas pekerjaan umum." for i in range(5)]  # fmt: skip
    third = [f"Rilis ketiga bagian {i}: lomba desa bersih tingkat kabupaten diikuti seratus desa dengan penilaian "
             f"kebersihan lingkungan, pengelolaan sampah dan partisipasi warga." for i in range(4)]  # fmt: skip
    texts = [RELEASE_TEXT, "\n\n".join(second), "\n\n".join(third)]
    docs = corpus(tokens[0], starts[0])
    docs += [document(f"{tokens[1]}-a", "Suara Blora", "Jembatan Ngawen dibuka", "BLORA – " + texts[1], starts[1] + timedelta(hours=1)),
             document(f"{tokens[1]}-b", "Suara Blora", "Jembatan Ngawen dibuka lagi", "\n\n".join(second[:3]), starts[1] + timedelta(hours=6)),
             document(f"{tokens[1]}-c", "Jateng Pos", "Jembatan baru", texts[1] + "\n\nEditor: Ika", starts[1] + timedelta(days=2))]  # fmt: skip
    _seed(es, alias, docs)
    releases = [{"title": f"Rilis {i}", "text": texts[i], "released_at": starts[i].isoformat(), "window_days": 7}
                for i in range(3)]  # fmt: skip
    expected = _brute_force(es, alias, releases)
    assert expected["Suara Blora"]["releases_carried"] == 2 and expected["Suara Blora"]["articles"] == 3
    got: dict[str, Any] = {}

    async def scenario(call: Client) -> None:
        for release in releases:
            assert (await call("POST", "/v1/pickups", json=release)).status_code == 201
        period = {"from": starts[0].date().isoformat(), "to": (starts[2] + timedelta(days=1)).date().isoformat()}
        r = await call("GET", "/v1/pickups/scorecard", params=period, as_="reader")
        assert r.status_code == 200, r.text
        got.update(r.json())
        csv_r = await call("GET", "/v1/pickups/scorecard", params={**period, "format": "csv"})
        assert csv_r.status_code == 200 and csv_r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(csv_r.content.decode("utf-8-sig"))))
        assert rows[0] == SCORECARD_COLUMNS and len(rows) == 1 + len(expected)
        # Another team's scorecard has none of these releases.
        other = (await call("GET", "/v1/pickups/scorecard", params=period, as_="other")).json()
        assert other["releases"] == 0 and other["outlets"] == []

    api.run(scenario)
    assert got["releases"] == 3
    assert {o["outlet"]: {k: v for k, v in o.items() if k != "outlet"} for o in got["outlets"]} == expected
    assert got["outlets"][0]["outlet"] == "Suara Blora"  # most releases carried first


def test_csv_and_pdf_exports(es: Elasticsearch, alias: str, api: Api) -> None:
    token = f"t{uuid.uuid4().hex[:8]}"
    _seed(es, alias, corpus(token))

    async def scenario(call: Client) -> None:
        release = (await call("POST", "/v1/pickups", json=_release())).json()
        r = await call("GET", f"/v1/pickups/{release['id']}/export", params={"format": "csv"}, as_="reader")
        assert r.status_code == 200 and r.content.startswith(codecs.BOM_UTF8), r.text
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert list(rows[0]) == PICKUP_COLUMNS
        assert [row["outlet"] for row in rows] == [outlet for outlet, *_ in REWRITES]
        assert [row["delay_minutes"] for row in rows] == ["35", "180", "1560"]
        assert rows[0]["published_at (Asia/Jakarta)"] == "2025-06-02T09:35:00+07:00"
        assert [row["title_changed"] for row in rows] == ["no", "yes", "no"] and rows[0]["kept_percent"] == "100.0"
        for lang in ("id", "en"):
            pdf = await call("GET", f"/v1/pickups/{release['id']}/export", params={"format": "pdf", "lang": lang})
            assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
            assert pdf.content.startswith(b"%PDF-") and len(pdf.content) > 5000
            # the delays to the minute, as on the release page, never decimal hours; the page's term
            text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
            want = {"id": ["35 mnt", "3 jam", "1 hari 2 jam", "Isi dipertahankan"],
                    "en": ["35 min", "3 h", "1 d 2 h", "Text kept"]}[lang]  # fmt: skip
            assert all(w in text for w in want), (want, text[:800])
            assert not re.search(r"\d\.\d (jam|h|hari|days)\b", text), text[:800]

    api.run(scenario)


def test_teams_and_bad_input(es: Elasticsearch, alias: str, api: Api) -> None:
    token = f"t{uuid.uuid4().hex[:8]}"
    _seed(es, alias, corpus(token))

    async def scenario(call: Client) -> None:
        release = (await call("POST", "/v1/pickups", json=_release())).json()
        rid = release["id"]
        # Another team's key: 404 everywhere, an empty list; the admin sees it; a reader may not create or delete.
        for method, path in (("GET", f"/v1/pickups/{rid}"), ("GET", f"/v1/pickups/{rid}/export"),
                             ("DELETE", f"/v1/pickups/{rid}")):  # fmt: skip
            assert (await call(method, path, as_="other")).status_code == 404
        assert (await call("GET", "/v1/pickups", as_="other")).json() == []
        assert [r["id"] for r in (await call("GET", "/v1/pickups", as_="admin")).json()] == [rid]
        assert (await call("POST", "/v1/pickups", as_="reader", json=_release(title="x"))).status_code == 403
        assert (await call("DELETE", f"/v1/pickups/{rid}", as_="reader")).status_code == 403
        # The same text from another team is that team's own release.
        theirs = await call("POST", "/v1/pickups", as_="other", json=_release())
        assert theirs.status_code == 201 and theirs.json()["id"] != rid

        bad = [
            ({"title": "x"}, "text"),  # neither text nor url
            ({"text": RELEASE_TEXT, "url": ORIGINAL_URL}, "text"),  # both
            ({"text": "Terlalu pendek untuk dilacak."}, "too_short"),
            ({"text": RELEASE_TEXT, "window_days": 0}, "window_days"),
            ({"text": RELEASE_TEXT, "window_days": 40}, "window_days"),
            ({"text": RELEASE_TEXT, "released_at": "2025-06-02T09:00:00"}, "released_at"),  # no zone
            ({"url": "ftp://blorakab.example/x"}, "url"),
            ({"text": RELEASE_TEXT, "released_at": "0001-01-01T00:00:00+00:00"}, "after 1990"),
        ]
        for body, needle in bad:
            r = await call("POST", "/v1/pickups", json=body)
            assert r.status_code == 422, (body, r.text)
            assert needle in r.text, (body, r.text)
        reversed_period = await call("GET", "/v1/pickups/scorecard", params={"from": "2025-06-10", "to": "2025-06-01"})
        assert reversed_period.status_code == 400 and "from is after to" in reversed_period.text
        assert (await call("GET", "/v1/pickups/scorecard", params={"from": "kemarin"})).status_code == 400
        assert (await call("GET", f"/v1/pickups/{rid}/export", params={"format": "docx"})).status_code == 422
        assert (await call("GET", "/v1/pickups/no-such-release")).status_code == 404

        assert (await call("DELETE", f"/v1/pickups/{rid}")).status_code == 204
        assert (await call("GET", f"/v1/pickups/{rid}")).status_code == 404
        assert (await call("DELETE", f"/v1/pickups/{rid}")).status_code == 404

    api.run(scenario)
