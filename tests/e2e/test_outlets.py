"""Outlets by name and exports people can open (issue 15, items 2 and 7), on the real stack:
``source:`` takes the outlet's name or its domain, hits and facets show the name (the domain when
there is none), /v1/analytics/top answers in display form, and the CSV export has an outlet
column, a UTF-8 byte order mark and every time in one stated zone."""

from __future__ import annotations

import codecs
import csv
import io
import json
import uuid

import httpx
import pytest

from tests.pipeline import Pipeline, wait_for

pytestmark = [pytest.mark.e2e]

BODY = ("BLORA – Pemerintah Kabupaten Blora menggelar rapat koordinasi penanganan banjir di Jawa Tengah. "
        "Wakil Bupati Blora Sri Setyorini meminta camat mendata rumah yang rusak pekan depan.")  # fmt: skip


def corpus(token: str) -> list[dict[str, object]]:
    """Lintas Muria (named; one URL with www.), Pena Dewata (named, published in WITA) and
    kabarjateng.example (pushed without a name)."""
    docs: list[dict[str, object]] = []
    for i, host in enumerate(["lintasmuria.example", "www.lintasmuria.example", "lintasmuria.example"]):
        docs.append({"url": f"https://{host}/berita/{token}-{i}", "title": f"Banjir Blora – “tanggul” {token} {i}",
                     "text": f"{BODY} Kode {token} nomor {i}.", "outlet": "Lintas Muria",
                     "published_at": f"2024-06-0{i + 1}T09:15:00+07:00"})  # fmt: skip
    docs.append({"url": f"https://penadewata.example/kabar/{token}", "title": f"Kabar Denpasar {token}",
                 "text": f"DENPASAR – Festival budaya di Denpasar, Bali. Kode {token}.", "outlet": "Pena Dewata",
                 "published_at": "2024-06-08T13:20:00+08:00"})  # fmt: skip
    for i in range(2):
        docs.append({"url": f"https://kabarjateng.example/read/{token}-{i}", "title": f"Pasar Kudus {token} {i}",
                     "text": f"KUDUS – Harga beras di pasar Kudus stabil. Kode {token} nomor {i}.",
                     "published_at": f"2024-06-1{i}T23:30:00+07:00"})  # fmt: skip
    return docs


@pytest.fixture
def loaded(pipeline_factory) -> tuple[Pipeline, str, str]:  # type: ignore[no-untyped-def]
    p = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "100000"})
    token = f"o{uuid.uuid4().hex[:8]}"
    # A monitor by outlet name, in place before the articles arrive (it sees new articles only).
    r = httpx.post(f"{p.search_url}/v1/saved-searches", headers=p.ns.auth, timeout=30,
                   json={"name": "Lintas Muria", "query": f'{token} source:"Lintas Muria"'})  # fmt: skip
    assert r.status_code == 201, r.text
    monitor_id = r.json()["id"]
    r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": corpus(token)}, headers=p.ns.auth, timeout=60)
    assert r.json()["accepted"] == 6, r.text
    wait_for(lambda: p.search(token)["total"] == 6, 90, message="corpus indexed")
    return p, token, monitor_id


def test_source_by_outlet_name_or_domain_and_top_in_display_form(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token, monitor_id = loaded
    total = {q: p.search(f"{token} {q}")["total"] for q in (
        'source:"Lintas Muria"', 'source:"lintas MURIA"', "source:lintasmuria.example",
        "source:www.lintasmuria.example", "source:kabarjateng.example", 'source:"Pena Dewata"',
        'NOT source:"Lintas Muria"', "source:Lintas")}  # fmt: skip
    assert total == {'source:"Lintas Muria"': 3, 'source:"lintas MURIA"': 3, "source:lintasmuria.example": 3,
                     "source:www.lintasmuria.example": 3, "source:kabarjateng.example": 2,
                     'source:"Pena Dewata"': 1, 'NOT source:"Lintas Muria"': 3, "source:Lintas": 0}  # fmt: skip
    # The filter parameter (what a facet click sets) takes the same values.
    assert p.search(token, source="Lintas Muria")["total"] == 3
    assert p.search(token, source=["lintas muria", "kabarjateng.example"])["total"] == 5

    # Hits: the outlet by name, the domain kept apart; no name: the domain.
    by_outlet = {(h["outlet"], h["source"]) for h in p.search(token, size=10)["hits"]}
    assert by_outlet == {("Lintas Muria", "lintasmuria.example"), ("Pena Dewata", "penadewata.example"),
                         ("kabarjateng.example", "kabarjateng.example")}  # fmt: skip
    story = p.search(f"{token} banjir", collapse="true")["hits"][0]["story"]
    assert story is None or story["outlets"] == ["Lintas Muria"]

    # The monitor by name matched the outlet's three articles; its matches show the name.
    path = f"/v1/saved-searches/{monitor_id}/matches"
    wait_for(lambda: len(p.get(path).json()) == 3, 60, message="monitor matches")
    assert {(m["outlet"], m["source"]) for m in p.get(path).json()} == {("Lintas Muria", "lintasmuria.example")}

    # Top outlets by name (the domain for unnamed articles), counting articles or stories.
    top = p.get("/v1/analytics/top", q=token, field="source").json()
    assert [(b["key"], b["count"]) for b in top["values"]] == [("Lintas Muria", 3), ("kabarjateng.example", 2),
                                                               ("Pena Dewata", 1)]  # fmt: skip
    # Every article is enriched with a tone: each outlet's tone mix accounts for all its articles.
    assert all(sum(b["tone"].values()) == b["count"] for b in top["values"]), top["values"]
    stories = p.get("/v1/analytics/top", q=token, field="source", count="stories").json()
    assert {b["key"] for b in stories["values"]} == {"Lintas Muria", "kabarjateng.example", "Pena Dewata"}
    assert p.get("/v1/analytics/top", q=token, field="source", size=1).json()["values"] == top["values"][:1]

    # Every field in display form: the spelling articles carry, never the index's lower-case.
    hits = p.search(token, size=10)["hits"]
    spelled = {"entity": {e["canonical"] for h in hits for e in h["entities"]},
               "region": {r["name"] for h in hits for r in h["regions"]}}  # fmt: skip
    for field, forms in spelled.items():
        keys = [b["key"] for b in p.get("/v1/analytics/top", q=token, field=field, size=50).json()["values"]]
        assert keys and set(keys) <= forms, (field, keys, forms)
        assert any(k != k.lower() for k in keys), (field, keys)
    assert "Jawa Tengah" in spelled["region"]
    for field in ("person", "org", "location", "language"):
        r = p.get("/v1/analytics/top", q=token, field=field)
        assert r.status_code == 200, (field, r.text)


def test_export_has_outlet_bom_and_one_stated_time_zone(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token, _ = loaded
    r = p.get("/v1/export", q=token, format="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(codecs.BOM_UTF8) and not r.content[3:].startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 6
    assert list(rows[0])[:4] == ["id", "published_at (Asia/Jakarta)", "outlet", "source"]
    times = [row["published_at (Asia/Jakarta)"] for row in rows]
    assert all(t.endswith("+07:00") for t in times), times
    assert "2024-06-08T12:20:00+07:00" in times  # published 13:20 WITA
    assert "2024-06-10T23:30:00+07:00" in times
    assert {(row["outlet"], row["source"]) for row in rows} == {
        ("Lintas Muria", "lintasmuria.example"), ("Pena Dewata", "penadewata.example"),
        ("kabarjateng.example", "kabarjateng.example")}  # fmt: skip
    assert sum("Blora – “tanggul”" in row["title"] for row in rows) == 3  # what Excel garbled without the BOM

    wita = p.get("/v1/export", q=token, format="csv", tz="Asia/Makassar")
    rows = list(csv.DictReader(io.StringIO(wita.content.decode("utf-8-sig"))))
    times = [row["published_at (Asia/Makassar)"] for row in rows]
    assert len(times) == 6 and all(t.endswith("+08:00") for t in times), times
    assert "2024-06-08T13:20:00+08:00" in times and "2024-06-11T00:30:00+08:00" in times

    bad = p.get("/v1/export", q=token, format="csv", tz="Mars/Base")
    assert bad.status_code == 422 and "Mars/Base" in bad.json()["error"], bad.text

    nd = p.get("/v1/export", q=token, format="ndjson")
    records = [json.loads(line) for line in nd.text.splitlines()]
    assert len(records) == 6 and all(x["published_at"].endswith("+07:00") for x in records)
    assert {x["outlet"] for x in records} == {"Lintas Muria", "Pena Dewata", "kabarjateng.example"}
