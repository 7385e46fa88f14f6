"""The project's reference example (Klikjateng, Pemkab Blora's IPP 2024 award)."""

from pathlib import Path

import pytest

from services.enrich.nlp import annotate

SEED = Path(__file__).parent / "fixtures" / "klikjateng-blora-ipp-2024.txt"


@pytest.fixture(scope="module")
def result() -> dict:
    return annotate(SEED.read_text(encoding="utf-8"))


def _canon(result: dict, etype: str) -> set[str]:
    return {e["canonical"] for e in result["entities"] if e["type"] == etype}


def test_expected_organisations(result: dict) -> None:
    assert {
        "Pemerintah Kabupaten Blora",
        "Kementerian Pendayagunaan Aparatur Negara dan Reformasi Birokrasi",
    } <= _canon(result, "ORG")


def test_expected_places(result: dict) -> None:
    assert {"Semarang", "Jawa Tengah"} <= _canon(result, "LOC")


def test_people_with_roles_and_without_honorifics(result: dict) -> None:
    roles = {e["canonical"]: e.get("role") for e in result["entities"] if e["type"] == "PER"}
    assert roles["Sri Setyorini"] == "Wakil Bupati Blora"
    assert roles["Arief Rohman"] == "Bupati Blora"
    assert roles["Rini Widyantini"] == "Menteri PAN RB"
    assert "Otok Kuswandaru" in roles
    assert not any(name.startswith(("H.", "Hj.", "Dr.")) for name in roles)


def test_every_mention_of_a_person_shares_the_role(result: dict) -> None:
    sri = [e for e in result["entities"] if e["canonical"] == "Sri Setyorini"]
    assert len(sri) == 2  # "Wakil Bupati Blora Hj. Sri Setyorini" and "Wabup Sri Setyorini"
    assert {e["role"] for e in sri} == {"Wakil Bupati Blora"}


def test_regions_are_blora_and_central_java(result: dict) -> None:
    assert result["regions"] == [
        {"code": "3316", "name": "Kabupaten Blora", "level": "kabupaten_kota"},
        {"code": "33", "name": "Jawa Tengah", "level": "provinsi"},
    ]


def test_offsets_point_at_the_surface_text(result: dict) -> None:
    text = SEED.read_text(encoding="utf-8")
    for e in result["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["type"] in {"PER", "ORG", "LOC"}


def test_language_summary_keywords(result: dict) -> None:
    text = SEED.read_text(encoding="utf-8")
    assert result["language"] == "id"
    assert 0.5 < result["language_confidence"] <= 1.0
    assert 2 <= len(result["summary"]) <= 4
    positions = [text.index(s) for s in result["summary"]]
    assert positions == sorted(positions)
    assert 5 <= len(result["keywords"]) <= 10
    assert "pelayanan publik" in result["keywords"]


def test_output_validates_against_the_shared_schema(result: dict) -> None:
    from shared.schemas import Entity, Region

    for e in result["entities"]:
        Entity.model_validate(e)
    for r in result["regions"]:
        Region.model_validate(r)
