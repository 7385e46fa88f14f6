import json

import pytest

from services.enrich.nlp import annotate
from services.enrich.nlp.build_dictionary import OUT_PATH, render
from services.enrich.nlp.canonical import load_dictionary, normalize_alias

KEMENPAN = "Kementerian Pendayagunaan Aparatur Negara dan Reformasi Birokrasi"


def test_committed_dictionary_is_up_to_date() -> None:
    # Regenerate with `python -m services.enrich.nlp.build_dictionary` when this fails.
    assert OUT_PATH.read_text(encoding="utf-8") == render()


def test_dictionary_covers_every_region() -> None:
    data = json.loads(OUT_PATH.read_text(encoding="utf-8"))
    levels = [r["level"] for r in data["regions"]]
    assert levels.count("provinsi") == 38
    assert levels.count("kabupaten_kota") == 514


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("Pemkab Blora", "Pemerintah Kabupaten Blora"),
        ("Pemerintah Kabupaten Blora", "Pemerintah Kabupaten Blora"),
        ("Pemerintah Kabupaten (Pemkab) Blora", "Pemerintah Kabupaten Blora"),
        ("Pemkot Semarang", "Pemerintah Kota Semarang"),
        ("Pemkab Semarang", "Pemerintah Kabupaten Semarang"),
        ("Pemprov Jateng", "Pemerintah Provinsi Jawa Tengah"),
        ("DPRD Blora", "DPRD Kabupaten Blora"),
        ("Polres Blora", "Kepolisian Resor Blora"),
        ("Polda Jateng", "Kepolisian Daerah Jawa Tengah"),
        ("Dinkes Blora", "Dinas Kesehatan Kabupaten Blora"),
        ("BPBD Kota Semarang", "Badan Penanggulangan Bencana Daerah Kota Semarang"),
        ("Kemenpan RB", KEMENPAN),
        ("KemenPAN-RB", KEMENPAN),
        ("Kementerian PAN RB", KEMENPAN),
        (KEMENPAN, KEMENPAN),
        ("Jateng", "Jawa Tengah"),
    ],
)
def test_aliases_resolve(alias: str, canonical: str) -> None:
    entry = load_dictionary().lookup(alias)
    assert entry is not None and entry["canonical"] == canonical


def test_roles_include_abbreviations() -> None:
    roles = load_dictionary().roles
    assert roles["wabup"] == "Wakil Bupati"
    assert roles["wakil bupati"] == "Wakil Bupati"
    assert roles["walikota"] == roles["wali kota"] == "Wali Kota"
    assert roles["sekda"] == "Sekretaris Daerah"


def test_normalize_alias() -> None:
    assert normalize_alias("KemenPAN-RB") == "kemenpan rb"
    assert normalize_alias("Pj. Bupati") == "pj bupati"


def test_aliases_in_running_text_share_one_canonical_entity() -> None:
    text = (
        "Pemkab Blora dan Kemenpan RB menandatangani kerja sama. Pemerintah Kabupaten Blora "
        "menyebut Kementerian PAN RB sebagai mitra. Wakil Gubernur Jateng hadir di Semarang."
    )
    ents = annotate(text)["entities"]
    canon = {e["text"]: e["canonical"] for e in ents}
    assert canon["Pemkab Blora"] == canon["Pemerintah Kabupaten Blora"] == "Pemerintah Kabupaten Blora"
    assert canon["Kemenpan RB"] == canon["Kementerian PAN RB"] == KEMENPAN
    assert canon["Jateng"] == "Jawa Tengah"


def test_person_honorifics_stripped_role_kept_and_short_name_resolved() -> None:
    text = (
        "Gubernur Jawa Tengah, Drs. H. Ahmad Luthfi, S.H., M.Si., meresmikan jembatan itu. "
        "Menurut Luthfi, jembatan itu penting bagi warga."
    )
    people = [e for e in annotate(text)["entities"] if e["type"] == "PER"]
    assert people, "no person found"
    assert {e["canonical"] for e in people} == {"Ahmad Luthfi"}
    assert {e.get("role") for e in people} == {"Gubernur Jawa Tengah"}


def test_role_in_apposition_after_the_name() -> None:
    text = "Arief Rohman, Bupati Blora, mengatakan pasar itu dibangun tahun ini."
    people = [e for e in annotate(text)["entities"] if e["type"] == "PER"]
    assert [(e["canonical"], e.get("role")) for e in people] == [("Arief Rohman", "Bupati Blora")]
