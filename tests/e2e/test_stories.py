"""Syndication end to end: copies of one press release published by several outlets, enriched by
several real worker processes, become one story; search collapses them."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.pipeline import wait_for

pytestmark = [pytest.mark.e2e]

RELEASE = [
    "Pemerintah Provinsi Jawa Tengah menggelar operasi pasar murah di 35 kabupaten dan kota menjelang Iduladha. "
    "Kegiatan ini bertujuan menjaga stabilitas harga bahan pokok yang biasanya naik menjelang hari raya.",
    "Kepala Dinas Perindustrian dan Perdagangan Jawa Tengah mengatakan operasi pasar menyediakan beras, minyak "
    "goreng, gula pasir dan telur dengan harga di bawah harga pasar. Setiap warga dapat membeli paling banyak "
    "lima kilogram beras dan dua liter minyak goreng.",
    "Menurut dia, pasokan bahan pokok di Jawa Tengah dalam kondisi aman hingga akhir tahun. Pemerintah provinsi "
    "juga bekerja sama dengan Bulog dan distributor lokal untuk memastikan barang tersedia di setiap titik.",
    "Operasi pasar akan berlangsung selama dua pekan di balai desa, kantor kecamatan dan pasar tradisional. "
    "Warga diminta membawa kartu tanda penduduk saat membeli dan tetap menjaga ketertiban di lokasi.",
]
OTHER = [
    "Pemerintah Kabupaten Kudus memperbaiki empat puluh dua ruas jalan desa tahun ini dengan anggaran daerah. "
    "Perbaikan dimulai dari ruas yang paling rusak di wilayah utara.",
    "Kepala Dinas Pekerjaan Umum Kudus mengatakan pengerjaan ditargetkan rampung sebelum musim hujan tiba. "
    "Warga diminta melapor bila menemukan kerusakan baru di jalan desa mereka.",
]


def article(outlet: str, token: str, paragraphs: list[str], dateline: str, extra: str = "") -> dict[str, object]:
    body = "\n\n".join([f"{dateline} – {paragraphs[0]}", *paragraphs[1:]]) + extra
    return {"url": f"https://{outlet}/berita/{token}", "title": f"Operasi pasar murah {token}", "text": body,
            "source": outlet, "published_at": "2024-06-05T09:00:00+07:00"}  # fmt: skip


def test_syndicated_copies_become_one_story_across_workers(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(workers=2, concurrency=1)
    token = f"st{uuid.uuid4().hex[:8]}"
    copies = [
        article("lintasmuria.example", token, RELEASE, "SEMARANG"),
        article("kabarpantura.example", token, RELEASE, "KUDUS",
                "\n\nBaca juga: Harga Cabai di Pasar Kliwon Turun\n\nEditor: Rina"),
        article("suarabanyumas.example", token, RELEASE[:2], "PURWOKERTO"),  # only the first half
        article("jatengkini.example", token, [RELEASE[0], RELEASE[2], RELEASE[1], RELEASE[3]], "Semarang (ANTARA)"),
    ]  # fmt: skip
    first = p.post(copies[0])
    assert first.status_code == 202
    original_id = first.json()["id"]
    wait_for(lambda: p.search(token)["total"] == 1, 60, message="original indexed")
    batch = httpx.post(f"{p.ingest_url}/v1/articles/batch", headers=p.ns.auth, timeout=30, json={"articles": [
        *copies[1:], article("kudusnews.example", token, OTHER, "KUDUS")]})  # fmt: skip
    assert batch.json()["accepted"] == 4
    wait_for(lambda: p.search(token)["total"] == 5, 90, message="all five indexed")

    collapsed = p.search(token, collapse="true", size=10)
    assert collapsed["total"] == 5 and collapsed["total_stories"] == 2
    by_size = sorted(collapsed["hits"], key=lambda h: -h["story"]["story_size"])
    story = by_size[0]["story"]
    assert story["story_id"] == original_id, "the first article seen is the story's canonical article"
    assert story["story_size"] == 4
    assert sorted(story["outlets"]) == sorted(c["source"] for c in copies)
    assert by_size[1]["story"]["story_size"] == 1

    members = p.get(f"/v1/stories/{original_id}").json()
    assert len(members["members"]) == 4 and members["story"]["story_size"] == 4
    assert p.get("/v1/stories/nope").status_code == 404
    timeline = p.get("/v1/analytics/timeline", q=token, count="stories").json()
    assert sum(b["count"] for b in timeline["buckets"]) == 2
    top = p.get("/v1/analytics/top", q=token, field="source", count="stories").json()
    assert sum(b["count"] for b in top["values"]) == 5  # every outlet carried one story

    # Re-processing an article keeps its story (idempotent).
    assert p.post(copies[2]).status_code == 202
    doc_id = httpx.post(f"{p.ingest_url}/v1/articles", json=copies[2], headers=p.ns.auth, timeout=30).json()["id"]
    wait_for(lambda: p.get(f"/v1/articles/{doc_id}").json().get("story_id") == original_id, 30, message="same story")
