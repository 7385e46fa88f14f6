"""Train-name gazetteer feature of the CRF tagger."""

from services.enrich.nlp.ner import sentence_features
from services.enrich.nlp.train_ner import build_gazetteer


def test_build_gazetteer_majority_type() -> None:
    sents = [
        (["Persib", "menang"], ["B-ORG", "O"]),
        (["Persib", "Bandung", "kalah"], ["B-ORG", "I-ORG", "O"]),
        (["di", "Persib"], ["O", "B-LOC"]),
        (["ke", "Persib"], ["O", "B-ORG"]),
    ]
    gaz = build_gazetteer(sents)
    assert gaz[("persib",)] == "ORG"
    assert gaz[("persib", "bandung")] == "ORG"


def test_longest_match_and_neighbours() -> None:
    gaz = {("persib",): "ORG", ("persib", "bandung"): "ORG", ("bandung",): "LOC"}
    f = sentence_features(["pemain", "Persib", "Bandung", "itu"], gaz)
    assert [x.get("gz") for x in f] == [None, "B-ORG", "I-ORG", None]
    assert f[0]["+1gz"] == "B-ORG" and f[3]["-1gz"] == "E-ORG"


def test_single_lower_case_token_does_not_match() -> None:
    f = sentence_features(["kota", "bandung"], {("bandung",): "LOC"})
    assert all("gz" not in x for x in f)


def test_empty_gazetteer_adds_nothing() -> None:
    f = sentence_features(["Persib", "Bandung"], {})
    assert all("gz" not in x and "+1gz" not in x and "-1gz" not in x for x in f)


def test_gazetteer_token_features_generalise_name_words() -> None:
    gaz = {("persib", "bandung", "fc"): "ORG", ("kota", "bandung"): "LOC"}
    f = sentence_features(["Arema", "FC", "di", "Bandung"], gaz)
    assert f[1]["glORG"] == 1.0 and f[1]["gaORG"] == 1.0 and "gfORG" not in f[1]
    assert f[3]["gaORG"] == 1.0 and f[3]["glLOC"] == 1.0
    assert not any(k[:2] in ("gf", "gl", "ga") for k in f[2])


def test_dictionary_features_mark_alias_names() -> None:
    f = sentence_features(["kunjungan", "ke", "Pemkab", "Blora", "kemarin"], {})
    assert [x.get("dz") for x in f] == [None, None, "B-ORG", "I-ORG", None]
    assert f[1]["+1dz"] == "ORG" and f[4]["-1dz"] == "ORG"


def test_truecase_only_touches_all_lower_case_sentences() -> None:
    from services.enrich.nlp.ner import truecase

    cased = ["Bupati", "Blora", "datang", "ke", "kantor"]
    assert truecase(cased) is cased
    assert truecase(["ke", "kantor"]) == ["ke", "kantor"]
    out = truecase(["presiden", "datang", "ke", "jakarta", "kemarin"])
    assert out[0] == "Presiden" and out[3] == "Jakarta" and out[1] == "datang"
