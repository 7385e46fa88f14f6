"""NER model selection by k-fold cross-validation on the train splits:
``python -m services.enrich.nlp.cv_ner`` (``make cv-ner``).

Only the *train* splits of the corpora the shipped model trains on are read (never dev/valid).
Each corpus is cut into ``k`` folds by sentence index (``i % k``, per corpus, so every fold holds
the same share of each corpus). For every candidate setting and fold a CRF is trained on the other
folds and scored (entity micro F1, exact span and type, CRF alone) on the held-out fold, per corpus.
Everything fold-specific is rebuilt from the training folds only: the train-name gazetteer (itself
jackknifed inside the training folds, as in ``train_ner``) and the gazetteer the held-out fold is
tagged with. The case lexicon and word clusters are unlabelled statistics of IndoSum and the train
sentences' words (no tags); they are the committed files, shared by all folds.

The setting with the highest mean over folds of the per-fold score (the mean of the per-corpus F1,
so NERGrit counts as much as the larger idner-news-2k part) is chosen. The table (every fold, mean
and standard deviation) and the choice go to ``evals/results/ner_cv.json``; ``train_ner``'s
``DEFAULT_CONFIG`` carries the chosen setting (a unit test checks they agree). Deterministic:
the same data and grid give the same numbers. CPU-heavy (one CRF per setting and fold, about a
minute each): run it niced on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pycrfsuite

from .ner import sentence_features, truecase
from .ner_data import Sentence, read_corpus, score_spans
from .train_ner import DEFAULT_CONFIG, build_gazetteer, default_data_root

REPO = Path(__file__).resolve().parents[3]
RESULTS_PATH = REPO / "evals" / "results" / "ner_cv.json"

# Small on purpose (the machine is shared): regularisation strength and type around the previous
# choice, and the one feature group that is itself fitted on train names (the gazetteer).
GRID: list[dict[str, Any]] = [
    {"name": "c2=0.3", "c1": 0.0, "c2": 0.3},
    {"name": "c2=0.6", "c1": 0.0, "c2": 0.6},
    {"name": "c2=1.2", "c1": 0.0, "c2": 1.2},
    {"name": "c1=0.05,c2=0.3", "c1": 0.05, "c2": 0.3},
    {"name": "c2=0.6,no-gazetteer", "c1": 0.0, "c2": 0.6, "gazetteer_folds": 0},
]
CRF_PARAM_KEYS = ("c1", "c2", "max_iterations", "feature.possible_transitions")


def fold_of(corpus_sentences: dict[str, list[Sentence]], k: int) -> list[tuple[str, int, Sentence]]:
    """``(corpus, fold, sentence)`` for every train sentence, folds by index within the corpus."""
    return [(c, i % k, s) for c, sents in corpus_sentences.items() for i, s in enumerate(sents)]


def run_fold(
    rows: list[tuple[str, int, Sentence]], fold: int, setting: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    """Train on every fold but ``fold`` with ``setting`` and score the held-out fold per corpus."""
    config = {**DEFAULT_CONFIG, **{k: v for k, v in setting.items() if k != "name"}}
    train = [s for _, f, s in rows if f != fold]
    held = [(c, s) for c, f, s in rows if f == fold]
    gz_folds = int(config.get("gazetteer_folds", 0))
    trainer = pycrfsuite.Trainer(algorithm=config["algorithm"], verbose=False)
    if gz_folds:
        jack = [build_gazetteer([s for j, s in enumerate(train) if j % gz_folds != g]) for g in range(gz_folds)]
    for j, (words, tags) in enumerate(train):
        trainer.append(sentence_features(words, jack[j % gz_folds] if gz_folds else {}), tags)
    trainer.set_params({k: config[k] for k in CRF_PARAM_KEYS})
    model = workdir / f"fold{fold}.crfsuite"
    t0 = time.perf_counter()
    trainer.train(str(model))
    seconds = time.perf_counter() - t0
    # The held-out fold is tagged with the names of the training folds only.
    gazetteer = build_gazetteer(train) if gz_folds else {}
    tagger = pycrfsuite.Tagger()
    tagger.open(str(model))
    by_corpus: dict[str, tuple[list[list[str]], list[list[str]]]] = {}
    for corpus, (words, tags) in held:
        gold, pred = by_corpus.setdefault(corpus, ([], []))
        gold.append(tags)
        pred.append(list(tagger.tag(sentence_features(truecase(words), gazetteer))))
    tagger.close()
    scores = {c: score_spans(g, p)["micro"]["f1"] for c, (g, p) in sorted(by_corpus.items())}
    return {
        "fold": fold,
        "f1": scores,
        "score": round(statistics.fmean(scores.values()), 4),
        "train_seconds": round(seconds, 1),
    }


def summarise(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and population standard deviation over folds, overall and per corpus."""

    def stats(values: list[float]) -> dict[str, float]:
        return {
            "mean": round(statistics.fmean(values), 4),
            "std": round(statistics.pstdev(values), 4),
            "min": min(values),
            "max": max(values),
        }

    corpora = sorted(folds[0]["f1"])
    return {
        "score": stats([f["score"] for f in folds]),
        "per_corpus": {c: stats([f["f1"][c] for f in folds]) for c in corpora},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", type=Path, default=default_data_root())
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    corpus_sentences = {c: read_corpus(args.data_root, c, "train") for c in DEFAULT_CONFIG["train_corpora"]}
    rows = fold_of(corpus_sentences, args.folds)
    table: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="warta-cv-ner-") as tmp:
        for setting in GRID:
            folds = []
            for fold in range(args.folds):
                result = run_fold(rows, fold, setting, Path(tmp))
                folds.append(result)
                print(json.dumps({"setting": setting["name"], **result}), file=sys.stderr, flush=True)
            table.append({"setting": setting, "folds": folds, **summarise(folds)})
    best = max(table, key=lambda row: row["score"]["mean"])  # first in grid order on ties
    report = {
        "method": (
            f"{args.folds}-fold cross-validation over the train splits of {', '.join(corpus_sentences)} "
            "(fold = sentence index % k within each corpus); CRF alone, entity micro F1 (exact span and "
            "type) on the held-out fold; score = mean of the per-corpus F1; chosen by the mean score over "
            "folds. Gazetteer rebuilt from the training folds only. Dev/valid splits are not read."
        ),
        "folds": args.folds,
        "train_sentences": {c: len(s) for c, s in corpus_sentences.items()},
        "fixed": {k: v for k, v in DEFAULT_CONFIG.items() if k not in ("c1", "c2")},
        "grid": table,
        "chosen": {k: v for k, v in best["setting"].items()},
        "chosen_score": best["score"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for row in table:
        s = row["score"]
        print(f"{row['setting']['name']:<24} {s['mean']:.4f} ± {s['std']:.4f}")
    print(f"chosen: {best['setting']['name']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
