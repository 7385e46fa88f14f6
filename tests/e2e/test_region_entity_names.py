"""Places and institutions as people write them (issue 15, item 1), on the real stack: articles
pushed through ingest and enrich are found by ``region:`` with a code, the official name, the bare
name or a province's short form, and by ``entity:`` with an alias; an ambiguous or unknown region
name is reported in ``notices``; ``/v1/suggest`` offers values that exist in the index."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.pipeline import Pipeline, wait_for

pytestmark = [pytest.mark.e2e]


def corpus(token: str) -> list[dict[str, object]]:
    """Kabupaten Blora, Kota Semarang, Kabupaten Semarang and the Central Java provincial
    government (all in Jawa Tengah), and Kota Denpasar (Bali)."""
    articles = {
        "blora": ("Pemkab Blora perbaiki jalan", "BLORA – Pemerintah Kabupaten Blora memperbaiki jalan desa yang rusak. "
                  "Bupati Blora meninjau pekerjaan di Kecamatan Cepu."),
        "kota-semarang": ("Pemkot Semarang tata Simpang Lima", "SEMARANG – Pemerintah Kota Semarang menata kawasan Simpang "
                          "Lima. Wali Kota Semarang meminta pedagang tertib."),
        "kab-semarang": ("Pemkab Semarang bangun pasar Ungaran", "UNGARAN – Pemerintah Kabupaten Semarang membangun pasar "
                         "baru di Ungaran. Bupati Semarang meresmikan proyek itu."),
        "pemprov": ("Pemprov Jateng salurkan bantuan", "Pemprov Jateng menyalurkan bantuan beras kepada warga. "
                    "Gubernur Jawa Tengah meminta penyaluran tepat sasaran."),
        "denpasar": ("Festival budaya Denpasar", "DENPASAR – Pemerintah Kota Denpasar menggelar festival budaya. "
                     "Wali Kota Denpasar membuka acara di Bali."),
    }  # fmt: skip
    return [{"url": f"https://warta-names.example/{key}/{token}", "title": f"{title} {token}",
             "text": f"{text} Kode liputan {token}.", "published_at": "2025-05-02T09:00:00+07:00",
             "outlet": "Kabar Nama"} for key, (title, text) in articles.items()]  # fmt: skip


@pytest.fixture
def loaded(pipeline_factory) -> tuple[Pipeline, str]:  # type: ignore[no-untyped-def]
    p = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "100000"})
    token = f"n{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{p.ingest_url}/v1/articles/batch", json={"articles": corpus(token)}, headers=p.ns.auth, timeout=60)
    assert r.json()["accepted"] == 5, r.text
    wait_for(lambda: p.search(token)["total"] == 5, 90, message="corpus indexed")
    return p, token


def keys(result: dict[str, object]) -> set[str]:
    return {str(hit["url"]).split("/")[3] for hit in result["hits"]}  # type: ignore[attr-defined]


def test_region_and_entity_as_people_write_them(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token = loaded
    jateng = {"blora", "kota-semarang", "kab-semarang", "pemprov"}
    for q in ("region:Blora", "region:blora", 'region:"Kabupaten Blora"', 'region:"Kab. Blora"', "region:3316"):
        result = p.search(f"{token} {q}", size=20)
        assert keys(result) == {"blora"}, q
        assert result["notices"] == [], q
    for q in ("region:Jateng", 'region:"Jawa Tengah"', "region:33", "region:ID-JT"):
        assert keys(p.search(f"{token} {q}", size=20)) == jateng, q
    assert keys(p.search(f"{token} region:Denpasar", size=20)) == {"denpasar"}
    assert keys(p.search(f"{token} -region:Jateng", size=20)) == {"denpasar"}
    assert keys(p.search(f'{token} region:"Kota Semarang"', size=20)) == {"kota-semarang"}

    # The filter parameters resolve names the same way.
    assert keys(p.search(token, region=["Blora"], size=20)) == {"blora"}
    assert keys(p.search(token, region=["Jateng"], entity=["Pemprov Jateng"], size=20)) == {"pemprov"}

    # An alias finds the articles of its canonical entity, as the canonical name does.
    canonical = keys(p.search(f'{token} entity:"Pemerintah Provinsi Jawa Tengah"', size=20))
    assert "pemprov" in canonical
    alias = p.search(f'{token} entity:"Pemprov Jateng"', size=20)
    assert keys(alias) == canonical
    assert [(n["code"], n["params"]["matches"]) for n in alias["notices"]] == [  # type: ignore[index]
        ("entity_alias", ["Pemerintah Provinsi Jawa Tengah"])
    ]
    assert "blora" in keys(p.search(f'{token} entity:"Pemkab Blora"', size=20))


def test_ambiguous_and_unknown_region_names_are_reported(loaded) -> None:  # type: ignore[no-untyped-def]
    p, token = loaded
    q = f"{token} region:Semarang"
    result = p.search(q, size=20)
    assert keys(result) == {"kota-semarang", "kab-semarang"}
    (notice,) = result["notices"]  # type: ignore[misc]
    assert notice["code"] == "region_ambiguous"
    assert notice["position"] == q.index("region:")
    assert sorted(notice["params"]["matches"]) == ["Kabupaten Semarang", "Kota Semarang"]
    assert notice["message"] == "region:Semarang matched Kabupaten Semarang and Kota Semarang"

    result = p.search(f"{token} region:Blorra", size=20)
    assert result["total"] == 0
    (notice,) = result["notices"]  # type: ignore[misc]
    assert notice["code"] == "region_unknown"
    assert notice["params"]["suggestions"][0] == "Kabupaten Blora"
    assert notice["message"].startswith("no region named 'Blorra' exists; did you mean Kabupaten Blora")

    # A filter parameter gets the same notice, without a position in q.
    (notice,) = p.search(token, region=["Semarang"])["notices"]  # type: ignore[misc]
    assert (notice["code"], notice["position"]) == ("region_ambiguous", None)


def test_suggest_offers_values_in_the_index(loaded) -> None:  # type: ignore[no-untyped-def]
    p, _ = loaded

    def values(field: str, prefix: str) -> list[str]:
        r = p.get("/v1/suggest", field=field, prefix=prefix)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["field"] == field and body["prefix"] == prefix
        assert all(v["count"] >= 1 for v in body["values"])
        return [v["value"] for v in body["values"]]

    assert values("region", "blo") == ["Kabupaten Blora"]  # a word of the name, any case
    assert "Kabupaten Blora" in values("region", "Kabupaten B")
    assert values("region", "jaten") == ["Jawa Tengah"]  # a short form: the name it stands for
    assert set(values("region", "semarang")) == {"Kota Semarang", "Kabupaten Semarang"}
    assert "Kota Denpasar" in values("region", "")  # no prefix: the most frequent values
    assert values("region", "atlantis") == []
    assert "Pemerintah Kabupaten Blora" in values("entity", "pemerintah kab")
    assert "Pemerintah Provinsi Jawa Tengah" in values("entity", "Pemprov Jat")  # an alias
    assert values("source", "kabar n") == ["Kabar Nama"]
    assert values("source", "warta-names") == ["warta-names.example"]

    for params in ({"field": "place", "prefix": "x"}, {"field": "region", "prefix": "x" * 101},
                   {"field": "region", "size": 0}):  # fmt: skip
        r = p.get("/v1/suggest", **params)
        assert r.status_code == 422, r.text
    assert httpx.get(f"{p.search_url}/v1/suggest", params={"field": "region"}).status_code == 401
