"""Fit the summary sentence scorer: ``python -m services.enrich.nlp.train_summarizer``.

Fits an L2-regularised logistic regression on IndoSum folds ``dev.01`` and ``dev.02``
(target: the extractive oracle ``gold_labels``; the title is the slug at the end of the id), picks the summary length on those same folds,
and writes ``models/summarizer.json``. ``dev.03`` is never read here: it is the held-out fold
reported by ``evals/eval_nlp.py``. Deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from .keywords import IDF_PATH
from .rouge import rouge
from .summarize import FEATURE_NAMES, MODEL_PATH, score_sentences, select, sentence_features

FIT_FOLDS = ("dev.01.jsonl", "dev.02.jsonl")
HELD_OUT_FOLDS = ("dev.03.jsonl",)
L2 = 1.0


def load_indosum(data_root: Path, folds: tuple[str, ...]) -> list[dict[str, Any]]:
    """IndoSum articles from the given fold files, de-duplicated by id."""
    seen: set[str] = set()
    docs = []
    for fold in folds:
        with (data_root / "summarization" / "indosum" / fold).open(encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                if doc["id"] not in seen:
                    seen.add(doc["id"])
                    docs.append(doc)
    return docs


def flat_sentences(doc: dict[str, Any]) -> list[list[str]]:
    return [s for p in doc["paragraphs"] for s in p]


def slug_title(doc: dict[str, Any]) -> list[str] | None:
    """IndoSum has no title field, but its id ends with the (truncated) title slug."""
    _, _, slug = doc["id"].partition("-")
    return slug.split("-") if slug else None


def fit(docs: list[dict[str, Any]]) -> np.ndarray:
    """Logistic regression weights maximising oracle-label likelihood (L2 on non-bias)."""
    xs: list[list[float]] = []
    ys: list[float] = []
    for doc in docs:
        xs.extend(sentence_features(doc["paragraphs"], slug_title(doc)))
        ys.extend(float(y) for p in doc["gold_labels"] for y in p)
    x = np.array(xs)
    y = np.array(ys)
    reg = np.ones(x.shape[1])
    reg[0] = 0.0

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = 1.0 / (1.0 + np.exp(-z))
        ll = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * L2 * np.sum(reg * w * w)
        grad = x.T @ (p - y) + L2 * reg * w
        return float(ll), grad

    res = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
    return np.asarray(res.x)


def evaluate(docs: list[dict[str, Any]], weights: list[float] | None, k: int) -> dict[str, float]:
    """Mean ROUGE F1 (x100) of the scorer (or LEAD-k when ``weights`` is None)."""
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for doc in docs:
        sents = flat_sentences(doc)
        if weights is None:
            chosen = list(range(min(k, len(sents))))
        else:
            feats = sentence_features(doc["paragraphs"], slug_title(doc))
            chosen = select(score_sentences(feats, weights), k)
        cand = [t for i in chosen for t in sents[i]]
        ref = [t for s in doc["summary"] for t in s]
        for key, v in rouge(cand, ref).items():
            totals[key] += v
    return {key: round(100 * v / len(docs), 2) for key, v in totals.items()}


def write_idf(docs: list[dict[str, Any]], path: Path, min_df: int = 2) -> None:
    """Document frequencies of lower-cased words (only counts are stored, never text)."""
    df: Counter[str] = Counter()
    for doc in docs:
        df.update({t.lower() for s in flat_sentences(doc) for t in s if t.isalpha()})
    table = {w: n for w, n in sorted(df.items()) if n >= min_df}
    path.write_text(json.dumps({"n_docs": len(docs), "df": table}, ensure_ascii=False, separators=(",", ":")) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", type=Path, default=Path.cwd().parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    docs = load_indosum(args.data_root, FIT_FOLDS)
    weights = [round(float(w), 6) for w in fit(docs)]
    by_k = {k: evaluate(docs, weights, k) for k in (2, 3)}
    best_k = max(by_k, key=lambda k: by_k[k]["rouge1"])
    model = {
        "features": list(FEATURE_NAMES),
        "weights": weights,
        "k": best_k,
        "fit_folds": list(FIT_FOLDS),
        "fit_rouge_by_k": {str(k): v for k, v in by_k.items()},
        "fit_lead3": evaluate(docs, None, 3),
        "l2": L2,
    }
    write_idf(load_indosum(args.data_root, FIT_FOLDS + HELD_OUT_FOLDS), IDF_PATH)
    args.out.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"k": best_k, "fit_rouge": by_k[best_k], "fit_lead3": model["fit_lead3"]}), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
