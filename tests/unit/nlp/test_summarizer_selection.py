"""The summariser's model selection (``train_summarizer``) and the provenance of the shipped model.

The shipped ``models/summarizer.json`` is rebuilt by ``make train-summarizer``; these tests check
its recorded provenance and digest instead of retraining (a run takes about 1.5 CPU minutes).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from services.enrich.nlp import annotate
from services.enrich.nlp.summarize import MODEL_PATH, SummaryModel, load_model, select, select_within_budget
from services.enrich.nlp.train_summarizer import (
    CANDIDATES,
    CV_FOLDS,
    CV_RESULTS_PATH,
    CV_SEED,
    FEATURE_SETS,
    PREVIOUS,
    TRAIN_FOLDS,
    Candidate,
    Selection,
    choose_candidate,
    disjoint_from,
    kfold,
    model_digest,
    strip_dateline,
)

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data" / "summarization" / "indosum"


@pytest.mark.parametrize(("n", "k"), [(10, 2), (11, 3), (1465, 5), (7, 7)])
def test_folds_are_disjoint_cover_everything_and_balanced(n: int, k: int) -> None:
    folds = kfold(n, k, seed=16)
    assert len(folds) == k
    seen = [i for fold in folds for i in fold]
    assert sorted(seen) == list(range(n))  # disjoint and complete
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    assert all(fold == sorted(fold) for fold in folds)


def test_folds_are_deterministic_per_seed_and_shuffled() -> None:
    assert kfold(100, 5, seed=16) == kfold(100, 5, seed=16)
    assert kfold(100, 5, seed=16) != kfold(100, 5, seed=17)
    # Not contiguous blocks of the file order (IndoSum files are grouped by time and source).
    assert kfold(100, 5, seed=16)[0] != list(range(20))


@pytest.mark.parametrize(("n", "k"), [(5, 1), (3, 4)])
def test_kfold_refuses_impossible_splits(n: int, k: int) -> None:
    with pytest.raises(ValueError):
        kfold(n, k, seed=0)


def _result(mean: float, sd: float) -> dict:
    return {"gain_rouge1": {"mean": mean, "sd": sd}}


def test_one_standard_error_rule_prefers_fewer_weights_within_reach() -> None:
    big = Candidate("full", 1.0, Selection(3, None))  # 63 weights
    small = Candidate("compact", 1.0, Selection(3, None))  # 15 weights
    # Best 4.0, SE = 1.0 / sqrt(4) = 0.5: 3.6 is within reach, so the smaller model wins.
    best, chosen = choose_candidate({big: _result(4.0, 1.0), small: _result(3.6, 1.0)}, n_folds=4)
    assert (best, chosen) == (big, small)
    # 3.4 is not.
    best, chosen = choose_candidate({big: _result(4.0, 1.0), small: _result(3.4, 1.0)}, n_folds=4)
    assert (best, chosen) == (big, big)


def test_candidates_cover_the_previous_configuration_and_simpler_scorers() -> None:
    assert PREVIOUS in CANDIDATES
    assert {c.feature_set for c in CANDIDATES} == set(FEATURE_SETS)
    assert len(set(CANDIDATES)) == len(CANDIDATES)
    assert all(set(FEATURE_SETS[f]) <= set(FEATURE_SETS["full"]) for f in FEATURE_SETS)


def test_budget_selection_takes_best_first_and_skips_what_does_not_fit() -> None:
    scores = [5.0, 4.0, 3.0, 2.0, 1.0]
    lengths = [30, 40, 20, 10, 10]
    # 30 + 40 (the first two are taken whatever their length), 20 would pass 80, 10 fits, then
    # the next 10 would pass it.
    assert select_within_budget(scores, lengths, 4, 2, 80) == [0, 1, 3]
    assert select_within_budget(scores, lengths, 4, 2, 75) == [0, 1]
    assert select_within_budget(scores, [100, 100, 1, 1, 1], 4, 2, 75) == [0, 1]
    assert select_within_budget(scores, lengths, 4, 2, 1000) == [0, 1, 2, 3]
    assert select_within_budget(scores, lengths, 4, 2, None) == select(scores, 4)
    assert select_within_budget([1.0, 1.0], [5, 5], 4, 2, 75) == [0, 1]


def test_dateline_is_cut_from_the_first_sentence_only() -> None:
    paragraphs = [
        [["Jakarta", ",", "CNN", "Indonesia", "-", "-", "Harga", "cabai", "naik", "."], ["Kedua", "."]],
        [["Ketiga", "."]],
    ]
    out = strip_dateline(paragraphs)
    assert out[0][0] == ["Harga", "cabai", "naik", "."]
    assert out[0][1:] == paragraphs[0][1:] and out[1:] == paragraphs[1:]
    plain = [[["Harga", "cabai", "naik", "."]]]
    assert strip_dateline(plain) == plain


def test_summary_at_run_time_does_not_start_with_the_dateline() -> None:
    text = (
        "KUDUS, Lintas Muria – Pemerintah Kabupaten Kudus membuka pasar murah di alun-alun pada Senin.\n"
        "Pasar murah itu menjual beras, minyak goreng dan gula dengan harga di bawah pasar.\n"
        "Bupati Kudus mengatakan kegiatan ini digelar untuk menekan inflasi menjelang Lebaran.\n"
        "Warga mulai antre sejak pagi."
    )
    summary = annotate(text, title="Pemkab Kudus gelar pasar murah")["summary"]
    assert summary
    assert all("Lintas Muria" not in s for s in summary)


def test_overlapping_dev_articles_are_left_out() -> None:
    pool = [{"id": "1-a", "source_url": "u1", "paragraphs": [[["A", "."]]]}]
    docs = [
        {"id": "1-a", "source_url": "x", "paragraphs": [[["Z", "."]]]},
        {"id": "2-b", "source_url": "u1", "paragraphs": [[["Y", "."]]]},
        {"id": "3-c", "source_url": "u3", "paragraphs": [[["A", "."]]]},
        {"id": "4-d", "source_url": "u4", "paragraphs": [[["B", "."]]]},
    ]
    assert [d["id"] for d in disjoint_from(docs, pool)] == ["4-d"]


def test_shipped_model_records_its_provenance_and_digest() -> None:
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert model["sha256"] == model_digest(model)
    assert model["provenance"]["command"] == "make train-summarizer"
    assert model["provenance"]["dev_files_read"] is False
    assert set(model["provenance"]["train_files"]) == set(TRAIN_FOLDS)
    assert model["cv"]["folds"] == CV_FOLDS and model["cv"]["seed"] == CV_SEED
    assert isinstance(load_model(), SummaryModel)
    # The chosen configuration is one of the candidates, and its features are the model's.
    chosen = next(c for c in CANDIDATES if c.name == model["config"])
    assert model["features"] == list(FEATURE_SETS[chosen.feature_set])
    assert model["selection"]["budget_words"] == chosen.selection.budget_words
    assert model["selection"]["max_sentences"] == chosen.selection.max_sentences


def test_cv_table_belongs_to_the_shipped_model() -> None:
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    table = json.loads(CV_RESULTS_PATH.read_text(encoding="utf-8"))
    assert model["cv"]["table"] == str(CV_RESULTS_PATH.relative_to(REPO))
    assert table["chosen"] == model["config"] and table["model_sha256"] == model["sha256"]
    assert table["subsample"] is None and table["articles"] == model["cv"]["articles"]
    row = next(r for r in table["candidates"] if r["name"] == model["config"])
    assert row["gain_rouge1"]["mean"] == model["cv"]["gain_rouge1"]["mean"]
    assert len(row["per_fold"]) == CV_FOLDS
    assert {r["name"] for r in table["candidates"]} == {c.name for c in CANDIDATES}


@pytest.mark.skipif(not DATA.is_dir(), reason="development data (../shared/data) not present")
def test_shipped_model_was_trained_on_the_data_beside_the_repo() -> None:
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    for name, digest in model["provenance"]["train_files"].items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest
