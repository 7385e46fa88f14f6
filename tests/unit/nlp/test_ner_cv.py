"""NER model selection by cross-validation: folds are per corpus and the shipped training
configuration is the setting the committed cross-validation chose."""

from __future__ import annotations

import json

from services.enrich.nlp.cv_ner import RESULTS_PATH, fold_of, summarise
from services.enrich.nlp.train_ner import DEFAULT_CONFIG


def test_folds_split_each_corpus_evenly() -> None:
    corpora = {"a": [([f"a{i}"], ["O"]) for i in range(7)], "b": [([f"b{i}"], ["O"]) for i in range(3)]}
    rows = fold_of(corpora, 3)
    assert len(rows) == 10
    for corpus, sentences in corpora.items():
        folds = [f for c, f, _ in rows if c == corpus]
        assert sorted(folds.count(k) for k in range(3)) == sorted(len(sentences[k::3]) for k in range(3))


def test_summary_is_mean_and_spread_over_folds() -> None:
    folds = [{"score": 0.7, "f1": {"x": 0.6}}, {"score": 0.8, "f1": {"x": 0.8}}]
    s = summarise(folds)
    assert s["score"]["mean"] == 0.75 and s["score"]["std"] == 0.05
    assert s["per_corpus"]["x"]["min"] == 0.6 and s["per_corpus"]["x"]["max"] == 0.8


def test_training_config_is_the_cross_validated_choice() -> None:
    cv = json.loads(RESULTS_PATH.read_text(encoding="utf-8"))
    chosen = cv["chosen"]
    assert max(row["score"]["mean"] for row in cv["grid"]) == cv["chosen_score"]["mean"]
    for key in ("c1", "c2"):
        assert DEFAULT_CONFIG[key] == chosen[key]
    assert DEFAULT_CONFIG["gazetteer_folds"] == chosen.get("gazetteer_folds", cv["fixed"]["gazetteer_folds"])
