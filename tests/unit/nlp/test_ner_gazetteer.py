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
