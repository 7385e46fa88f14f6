"""region: and entity: values as people write them (services.search.query.names), resolved with the
committed gazetteer (shared/gazetteer), and the notices the search API shows for them."""

from __future__ import annotations

import pytest

from services.search.criteria import Criteria
from services.search.query import parse
from services.search.query.brute import analyze_document, search
from services.search.query.names import entity_names, filter_notice, gazetteer, notices, region_codes
from shared.gazetteer import read_provinces


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("3316", ("3316",)),  # BPS code
        ("33.16", ("3316",)),  # BPS code as regions.csv writes it
        ("Kabupaten Blora", ("3316",)),  # official name
        ("kabupaten blora", ("3316",)),
        ("Blora", ("3316",)),  # without "Kabupaten"
        ("BLORA", ("3316",)),
        ("Kab. Blora", ("3316",)),
        ("Kab Blora", ("3316",)),
        ("Kudus", ("3319",)),
        ("Banyumas", ("3302",)),
        ("Denpasar", ("5171",)),  # without "Kota"
        ("Kota Denpasar", ("5171",)),
        ("Jawa Tengah", ("33",)),
        ("Provinsi Jawa Tengah", ("33",)),
        ("Prov. Jawa Tengah", ("33",)),
        ("Jateng", ("33",)),  # short forms
        ("Jatim", ("35",)),
        ("Jabar", ("32",)),
        ("DIY", ("34",)),
        ("Sulsel", ("73",)),
        ("Sumut", ("12",)),
        ("NTB", ("52",)),
        ("NTT", ("53",)),
        ("Kalbar", ("61",)),
        ("ID-JT", ("33",)),  # ISO 3166-2
        ("id-pd", ("96",)),
        ("Solo", ("3372",)),  # another name of Kota Surakarta
        ("Kota Semarang", ("3374",)),  # the kind picks one of two
        ("Kab. Semarang", ("3322",)),
    ],
)
def test_region_values_resolve_to_codes(value: str, codes: tuple[str, ...]) -> None:
    assert region_codes(value) == codes
    assert filter_notice("region", value) is None


def test_every_province_resolves_by_name_iso_code_and_short_forms() -> None:
    provinces = read_provinces()
    assert len(provinces) == 38
    for province in provinces:
        for form in (province.name, province.iso_3166_2, province.code, *province.short_forms):
            assert province.code in region_codes(form), form


def test_ambiguous_bare_name_matches_both_and_says_so() -> None:
    assert set(region_codes("Semarang")) == {"3322", "3374"}
    notice = filter_notice("region", "Semarang")
    assert notice is not None and notice.code == "region_ambiguous"
    assert set(notice.matches) == {"Kota Semarang", "Kabupaten Semarang"}
    assert "region:Semarang matched" in notice.message
    assert "Kota Semarang" in notice.message and "Kabupaten Semarang" in notice.message


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [("Blorra", "Kabupaten Blora"), ("Kota Blora", "Kabupaten Blora"), ("Banyumass", "Kabupaten Banyumas")],
)
def test_unknown_region_says_no_region_has_that_name_with_close_names(value: str, suggestion: str) -> None:
    assert region_codes(value) == ()
    notice = filter_notice("region", value)
    assert notice is not None and notice.code == "region_unknown"
    assert f"no region named {value!r} exists" in notice.message
    assert notice.suggestions[0] == suggestion and suggestion in notice.message


def test_unknown_region_without_anything_close_has_no_suggestions() -> None:
    notice = filter_notice("region", "Qwxzv")
    assert notice is not None and notice.suggestions == () and notice.message == "no region named 'Qwxzv' exists"


def test_entity_alias_matches_its_canonical_name() -> None:
    assert entity_names("Pemprov Jateng") == ("Pemprov Jateng", "Pemerintah Provinsi Jawa Tengah")
    assert entity_names("Pemkab Blora") == ("Pemkab Blora", "Pemerintah Kabupaten Blora")
    assert entity_names("Pemerintah Kabupaten Blora") == ("Pemerintah Kabupaten Blora",)  # canonical: itself
    assert entity_names("Arief Rohman") == ("Arief Rohman",)  # not in the dictionary: as typed
    notice = filter_notice("entity", "Pemprov Jateng")
    assert notice is not None and notice.code == "entity_alias"
    assert notice.matches == ("Pemerintah Provinsi Jawa Tengah",)


def test_brute_force_evaluator_uses_the_same_resolution() -> None:
    documents = [
        analyze_document({"id": "blora", "region_codes": ["3316", "33"], "region_names": ["Kabupaten Blora", "Jawa Tengah"],
                          "entity_names": ["Pemerintah Provinsi Jawa Tengah"]}),
        analyze_document({"id": "kota", "region_codes": ["3374", "33"], "region_names": ["Kota Semarang", "Jawa Tengah"]}),
        analyze_document({"id": "kab", "region_codes": ["3322", "33"], "region_names": ["Kabupaten Semarang", "Jawa Tengah"]}),
        analyze_document({"id": "bali", "region_codes": ["5171", "51"], "region_names": ["Kota Denpasar", "Bali"]}),
    ]  # fmt: skip
    assert search(parse("region:Blora"), documents) == {"blora"}
    assert search(parse("region:Jateng"), documents) == {"blora", "kota", "kab"}
    assert search(parse("region:Semarang"), documents) == {"kota", "kab"}
    assert search(parse('region:"Kota Semarang"'), documents) == {"kota"}
    assert search(parse("region:Denpasar"), documents) == {"bali"}
    assert search(parse('entity:"Pemprov Jateng"'), documents) == {"blora"}
    assert search(parse("region:Blorra"), documents) == set()


def test_notices_come_once_each_with_the_filter_position() -> None:
    text = 'banjir region:Semarang OR (region:semarang -region:Blorra) entity:"Pemprov Jateng"'
    found = notices(parse(text), [("region", "Semarang"), ("region", "Jateng"), ("source", "x")])
    assert [(n.code, n.value, n.position) for n in found] == [
        ("region_ambiguous", "Semarang", text.index("region:Semarang")),
        ("region_unknown", "Blorra", text.index("region:Blorra")),
        ("entity_alias", "Pemprov Jateng", text.index("entity:")),
    ]


def test_criteria_filters_resolve_like_the_query_and_report_notices() -> None:
    criteria = Criteria(regions=["Semarang"], entities=["Pemprov Jateng"])
    query = criteria.es_query()
    text = str(query)
    assert "'3322'" in text and "'3374'" in text and "Pemerintah Provinsi Jawa Tengah" in text
    codes = [n["code"] for n in criteria.name_notices()]
    assert codes == ["region_ambiguous", "entity_alias"]
    assert criteria.name_notices()[0]["position"] is None
    assert Criteria(q="region:(").name_notices() == []  # a query that does not parse has no notices


def test_prefix_lookups_for_suggestions() -> None:
    g = gazetteer()
    assert g.regions_with_prefix("jaten") == ("Jawa Tengah",)
    assert set(g.regions_with_prefix("Semar")) == {"Kabupaten Semarang", "Kota Semarang"}
    assert "Kabupaten Blora" in g.regions_with_prefix("3316")
    assert "Pemerintah Provinsi Jawa Tengah" in g.entities_with_prefix("pemprov jat")
    assert g.entities_with_prefix("p") == ()
