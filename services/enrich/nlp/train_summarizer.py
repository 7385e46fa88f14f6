"""Choose and fit the summariser by cross-validation: ``make train-summarizer``.

Training pool: IndoSum ``dev.01`` + ``dev.02`` (de-duplicated by id: 1,465 articles). Target:
the extractive oracle ``gold_labels``; the title is the slug at the end of the id; a dateline
("Jakarta, CNN Indonesia -- …") is cut from the first sentence as ``annotate`` does at run time.

1. Every candidate configuration (feature subset x L2 x selection rule, ``CANDIDATES``) is
   fitted on four of ``CV_FOLDS`` seeded folds of the pool and measured (ROUGE-1/2/L F1, and
   LEAD-3 on the same articles) on the fifth, for every fold.
2. The configuration with the best mean ROUGE-1 gain over LEAD-3 wins, except that a model with
   fewer weights whose mean gain is within one standard error of the best is preferred (the
   one-standard-error rule; the standard error is the spread of the per-fold gains / sqrt(folds)).
3. That configuration is refitted on the whole pool and written to ``models/summarizer.json``
   with its cross-validated figures and provenance; the full table goes to
   ``evals/results/summarizer_cv.json``.

``dev.03`` (the dev split reported by ``evals/eval_nlp.py``) is never used to choose or fit
anything here. Only ``models/idf.json`` (document frequencies for keywords, not the summariser)
counts words over all three files. Deterministic: same data, same output, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from .dateline import find_dateline
from .keywords import IDF_PATH
from .rouge import rouge
from .summarize import (
    BASE_FEATURES,
    FEATURE_NAMES,
    MODEL_PATH,
    SummaryModel,
    score_sentences,
    select,
    select_within_budget,
    sentence_features,
    word_count,
)

REPO = Path(__file__).resolve().parents[3]
CV_RESULTS_PATH = REPO / "evals" / "results" / "summarizer_cv.json"
TRAIN_FOLDS = ("dev.01.jsonl", "dev.02.jsonl")
HELD_OUT_FOLDS = ("dev.03.jsonl",)
CV_FOLDS = 5
CV_SEED = 16
ROUGE_KEYS = ("rouge1", "rouge2", "rougeL")

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    # Everything, including the 42 position x content interactions (the model shipped before CV).
    "full": FEATURE_NAMES,
    "base": BASE_FEATURES,
    # A position prior plus the content signals that carry most weight.
    "compact": (
        "bias",
        "pos0",
        "pos1",
        "pos2",
        "pos3_5",
        "rel_pos",
        "inv_pos",
        "len_words",
        "len_short",
        "sim_centroid",
        "sim_title",
        "quote",
        "junk",
        "question",
        "n_sent_log",
    ),
    # A learned position prior alone: what content features add is measured against it.
    "position": ("bias", "pos0", "pos1", "pos2", "pos3_5", "rel_pos", "inv_pos", "para0", "first_in_para", "junk"),
}
L2_GRID = (0.1, 1.0, 10.0)
MIN_SENTENCES = 2
_DASHES = frozenset({"-", "--", "–", "—", "|"})


@dataclass(frozen=True)
class Selection:
    """At most ``max_sentences``, best first, within ``budget_words`` (None: plain top-k)."""

    max_sentences: int
    budget_words: int | None

    @property
    def name(self) -> str:
        if self.budget_words is None:
            return f"top{self.max_sentences}"
        return f"budget{self.budget_words}w-max{self.max_sentences}"


SELECTIONS = (Selection(3, None), *(Selection(m, b) for b in (60, 70, 75, 80, 90) for m in (3, 4, 5)))


@dataclass(frozen=True)
class Candidate:
    feature_set: str
    l2: float
    selection: Selection

    @property
    def name(self) -> str:
        return f"{self.feature_set}/l2={self.l2:g}/{self.selection.name}"

    @property
    def n_weights(self) -> int:
        return len(FEATURE_SETS[self.feature_set])


CANDIDATES = tuple(Candidate(f, l2, s) for f in FEATURE_SETS for l2 in L2_GRID for s in SELECTIONS)
# The configuration of the model shipped before this selection (63 weights, L2 1, top 3).
PREVIOUS = Candidate("full", 1.0, Selection(3, None))


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


def disjoint_from(docs: list[dict[str, Any]], pool: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``docs`` without the articles that are also in ``pool`` (same id, URL or first sentence).

    IndoSum's dev files overlap: 67 of the 747 ``dev.03`` articles are in ``dev.01``/``dev.02``.
    """
    ids = {d["id"] for d in pool}
    urls = {d["source_url"] for d in pool}
    firsts = {_first_sentence(d) for d in pool}
    return [d for d in docs if d["id"] not in ids and d["source_url"] not in urls and _first_sentence(d) not in firsts]


def _first_sentence(doc: dict[str, Any]) -> str:
    return " ".join(doc["paragraphs"][0][0]) if doc["paragraphs"] and doc["paragraphs"][0] else ""


def flat_sentences(doc: dict[str, Any]) -> list[list[str]]:
    return [s for p in doc["paragraphs"] for s in p]


def slug_title(doc: dict[str, Any]) -> list[str] | None:
    """IndoSum has no title field, but its id ends with the (truncated) title slug."""
    _, _, slug = doc["id"].partition("-")
    return slug.split("-") if slug else None


def strip_dateline(paragraphs: list[list[list[str]]]) -> list[list[list[str]]]:
    """The article with the dateline's tokens cut from its first sentence (as ``annotate`` does).

    ``find_dateline`` runs on the first sentence's tokens joined by spaces; a token is cut when it
    starts inside the dateline, and so are dashes right after it. A dateline that would leave the
    sentence empty is kept.
    """
    if not paragraphs or not paragraphs[0]:
        return paragraphs
    first = paragraphs[0][0]
    dateline = find_dateline(" ".join(first))
    if dateline is None:
        return paragraphs
    pos, keep_from = 0, len(first)
    for i, token in enumerate(first):
        if pos >= dateline.end:
            keep_from = i
            break
        pos += len(token) + 1
    # IndoSum tokenises CNN's "--" as "- -"; the second dash is not part of the story either.
    while keep_from < len(first) and first[keep_from] in _DASHES:
        keep_from += 1
    if keep_from >= len(first):
        return paragraphs
    return [[first[keep_from:], *paragraphs[0][1:]], *paragraphs[1:]]


def kfold(n: int, k: int, seed: int) -> list[list[int]]:
    """``k`` disjoint folds covering ``range(n)`` (sizes differ by at most one), each sorted.

    A seeded shuffle, so the same ``(n, k, seed)`` always gives the same folds. Raises
    ``ValueError`` when ``k < 2`` or ``k > n``.
    """
    if not 2 <= k <= n:
        raise ValueError(f"need 2 <= k <= n, got k={k}, n={n}")
    order = np.random.default_rng(seed).permutation(n)
    return [sorted(int(i) for i in order[f::k]) for f in range(k)]


@dataclass
class Prepared:
    """One training article, featurised once for every candidate."""

    features: np.ndarray  # sentences x FEATURE_NAMES, with the title slug
    features_no_title: np.ndarray
    features_raw: np.ndarray  # with the title, dateline not cut: the pipeline before CV
    labels: np.ndarray
    sentences: list[list[str]]  # dateline cut from the first
    raw_sentences: list[list[str]]  # as IndoSum has them (for LEAD-3)
    lengths: list[int]
    reference: list[str]


def prepare(doc: dict[str, Any]) -> Prepared:
    paragraphs = strip_dateline(doc["paragraphs"])
    sentences = [s for p in paragraphs for s in p]
    return Prepared(
        features=np.array(sentence_features(paragraphs, slug_title(doc))),
        features_no_title=np.array(sentence_features(paragraphs, None)),
        features_raw=np.array(sentence_features(doc["paragraphs"], slug_title(doc))),
        labels=np.array([float(y) for p in doc["gold_labels"] for y in p]),
        sentences=sentences,
        raw_sentences=flat_sentences(doc),
        lengths=[word_count(s) for s in sentences],
        reference=[t for s in doc["summary"] for t in s],
    )


def _columns(feature_set: str) -> list[int]:
    index = {name: i for i, name in enumerate(FEATURE_NAMES)}
    return [index[name] for name in FEATURE_SETS[feature_set]]


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Logistic regression weights maximising oracle-label likelihood (L2 on all but column 0, the bias)."""
    reg = np.ones(x.shape[1])
    reg[0] = 0.0

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = 1.0 / (1.0 + np.exp(-z))
        ll = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * l2 * np.sum(reg * w * w)
        grad = x.T @ (p - y) + l2 * reg * w
        return float(ll), grad

    res = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
    return np.asarray(res.x)


class _Scorer:
    """ROUGE of chosen sentence sets, cached per article (candidates often choose the same)."""

    def __init__(self, articles: Sequence[Prepared]) -> None:
        self.articles = articles
        self._cache: dict[tuple[int, tuple[int, ...]], tuple[float, float, float]] = {}

    def rouge(self, i: int, chosen: Sequence[int], raw: bool = False) -> tuple[float, float, float]:
        key = (-1 - i if raw else i, tuple(chosen))
        if key not in self._cache:
            art = self.articles[i]
            sents = art.raw_sentences if raw else art.sentences
            r = rouge([t for j in chosen for t in sents[j]], art.reference)
            self._cache[key] = (r["rouge1"], r["rouge2"], r["rougeL"])
        return self._cache[key]

    def mean(self, idx: Sequence[int], choose: Any, raw: bool = False) -> dict[str, float]:
        tot = np.zeros(3)
        for i in idx:
            tot += self.rouge(i, choose(i), raw)
        return {k: float(v) for k, v in zip(ROUGE_KEYS, 100 * tot / len(idx), strict=True)}


def _stats(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "mean": round(float(a.mean()), 2),
        "sd": round(float(a.std(ddof=1)), 2),
        "min": round(float(a.min()), 2),
        "max": round(float(a.max()), 2),
    }


def _summarise(per_fold: list[dict[str, float]], lead3: list[dict[str, float]]) -> dict[str, Any]:
    gains = [f["rouge1"] - b["rouge1"] for f, b in zip(per_fold, lead3, strict=True)]
    return {
        "per_fold": [
            {**{k: round(v, 2) for k, v in f.items()}, "gain_rouge1": round(g, 2)}
            for f, g in zip(per_fold, gains, strict=True)
        ],
        **{k: _stats([f[k] for f in per_fold]) for k in ROUGE_KEYS},
        "gain_rouge1": _stats(gains),
    }


def cross_validate(
    articles: Sequence[Prepared],
    candidates: Sequence[Candidate] = CANDIDATES,
    k: int = CV_FOLDS,
    seed: int = CV_SEED,
    log: Any = None,
) -> dict[str, Any]:
    """Per-fold ROUGE of every candidate and of LEAD-3 (see the module docstring)."""
    folds = kfold(len(articles), k, seed)
    scorer = _Scorer(articles)

    def lead(i: int) -> list[int]:
        return list(range(min(3, len(articles[i].sentences))))

    lead3 = [scorer.mean(f, lead, raw=True) for f in folds]
    lead3_no_dateline = [scorer.mean(f, lead) for f in folds]
    per_fold: dict[Candidate, list[dict[str, float]]] = {c: [] for c in candidates}
    no_title: dict[Candidate, list[dict[str, float]]] = {}
    lead_budget: dict[Selection, list[dict[str, float]]] = {c.selection: [] for c in candidates}
    # The configuration shipped before, exactly as it was built (no dateline cut): what its
    # recipe is worth on articles it never saw.
    as_shipped: list[dict[str, float]] = []
    fits = sorted({(c.feature_set, c.l2) for c in candidates}, key=lambda t: (list(FEATURE_SETS).index(t[0]), t[1]))
    for f, test in enumerate(folds):
        train = [i for g, fold in enumerate(folds) if g != f for i in fold]
        for sel in lead_budget:
            lead_budget[sel].append(
                scorer.mean(
                    test,
                    lambda i, sel=sel: select_within_budget(
                        [-j for j in range(len(articles[i].sentences))],
                        articles[i].lengths,
                        sel.max_sentences,
                        MIN_SENTENCES,
                        sel.budget_words,
                    ),
                )
            )
        cols = _columns(PREVIOUS.feature_set)
        x = np.vstack([articles[i].features_raw[:, cols] for i in train])
        w = fit(x, np.concatenate([articles[i].labels for i in train]), PREVIOUS.l2)
        raw_scores = {i: (articles[i].features_raw[:, cols] @ w).tolist() for i in test}
        as_shipped.append(
            scorer.mean(test, lambda i, r=raw_scores: select(r[i], PREVIOUS.selection.max_sentences), raw=True)
        )
        for feature_set, l2 in fits:
            cols = _columns(feature_set)
            x = np.vstack([articles[i].features[:, cols] for i in train])
            y = np.concatenate([articles[i].labels for i in train])
            w = fit(x, y, l2)
            full = np.zeros(len(FEATURE_NAMES))
            full[cols] = w
            scores = {i: (articles[i].features @ full).tolist() for i in test}
            scores_nt = {i: (articles[i].features_no_title @ full).tolist() for i in test}
            for c in candidates:
                if (c.feature_set, c.l2) != (feature_set, l2):
                    continue
                for target, table in ((scores, per_fold), (scores_nt, no_title)):

                    def choose(i: int, c: Candidate = c, table_scores: dict[int, list[float]] = target) -> list[int]:
                        return select_within_budget(
                            table_scores[i],
                            articles[i].lengths,
                            c.selection.max_sentences,
                            MIN_SENTENCES,
                            c.selection.budget_words,
                        )

                    table.setdefault(c, []).append(scorer.mean(test, choose))
            if log:
                print(f"fold {f + 1}/{k} {feature_set} l2={l2:g} done", file=log, flush=True)
    return {
        "folds": [len(f) for f in folds],
        "lead3": _summarise(lead3, lead3),
        "lead3_without_dateline": _summarise(lead3_no_dateline, lead3),
        "lead_within_budget": {s.name: _summarise(v, lead3) for s, v in lead_budget.items()},
        "previous_as_shipped": _summarise(as_shipped, lead3),
        "candidates": {c: _summarise(per_fold[c], lead3) for c in candidates},
        "candidates_without_title": {c: _summarise(no_title[c], lead3) for c in candidates},
    }


def choose_candidate(results: dict[Candidate, dict[str, Any]], n_folds: int) -> tuple[Candidate, Candidate]:
    """(best by mean ROUGE-1 gain, chosen by the one-standard-error rule toward fewer weights).

    Ties break toward the higher mean gain, then the earlier candidate in ``results``.
    """
    order = list(results)
    best = max(order, key=lambda c: (results[c]["gain_rouge1"]["mean"], -order.index(c)))
    g = results[best]["gain_rouge1"]
    floor = g["mean"] - g["sd"] / np.sqrt(n_folds)
    within = [c for c in order if results[c]["gain_rouge1"]["mean"] >= floor]
    chosen = min(within, key=lambda c: (c.n_weights, -results[c]["gain_rouge1"]["mean"], order.index(c)))
    return best, chosen


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_digest(model: dict[str, Any]) -> str:
    """SHA-256 of what the summariser computes with: features, weights and selection."""
    core = {key: model[key] for key in ("features", "weights", "selection")}
    return hashlib.sha256(json.dumps(core, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _candidate_json(c: Candidate) -> dict[str, Any]:
    return {
        "feature_set": c.feature_set,
        "n_weights": c.n_weights,
        "l2": c.l2,
        "selection": {
            "max_sentences": c.selection.max_sentences,
            "min_sentences": MIN_SENTENCES,
            "budget_words": c.selection.budget_words,
        },
    }


def evaluate(docs: list[dict[str, Any]], model: SummaryModel | None) -> dict[str, float]:
    """Mean ROUGE F1 (x100) on tokenised IndoSum articles: the model (dateline cut as at run time),
    or raw LEAD-3 when ``model`` is None."""
    totals = dict.fromkeys(ROUGE_KEYS, 0.0)
    for doc in docs:
        if model is None:
            cand = [t for s in flat_sentences(doc)[:3] for t in s]
        else:
            paragraphs = strip_dateline(doc["paragraphs"])
            sents = [s for p in paragraphs for s in p]
            feats = sentence_features(paragraphs, slug_title(doc))
            chosen = select_within_budget(
                score_sentences(feats, model.weights),
                [word_count(s) for s in sents],
                model.max_sentences,
                model.min_sentences,
                model.budget_words,
            )
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


def _pool_statistics(articles: Sequence[Prepared]) -> dict[str, Any]:
    """What the selection rule is fitted to: summary lengths and how often a dateline is cut."""

    def pct(values: list[int]) -> dict[str, float]:
        return {f"p{q}": float(np.percentile(values, q)) for q in (10, 50, 90)}

    return {
        "reference_words": pct([word_count(a.reference) for a in articles]),
        "lead3_words": pct([sum(word_count(s) for s in a.raw_sentences[:3]) for a in articles]),
        "articles_with_dateline_cut": sum(a.sentences[0] != a.raw_sentences[0] for a in articles if a.sentences),
    }


def _row(c: Candidate, summary: dict[str, Any]) -> dict[str, Any]:
    return {"name": c.name, **_candidate_json(c), **summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", type=Path, default=Path.cwd().parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--cv-out", type=Path, default=CV_RESULTS_PATH)
    args = parser.parse_args(argv)
    t0 = time.process_time()
    docs = load_indosum(args.data_root, TRAIN_FOLDS)
    articles = [prepare(d) for d in docs]
    cv = cross_validate(articles, log=sys.stderr)
    best, chosen = choose_candidate(cv["candidates"], CV_FOLDS)

    cols = _columns(chosen.feature_set)
    x = np.vstack([a.features[:, cols] for a in articles])
    y = np.concatenate([a.labels for a in articles])
    weights = [round(float(w), 6) for w in fit(x, y, chosen.l2)]
    model: dict[str, Any] = {
        "features": list(FEATURE_SETS[chosen.feature_set]),
        "weights": weights,
        "selection": _candidate_json(chosen)["selection"],
        "config": chosen.name,
        "l2": chosen.l2,
    }
    fitted = SummaryModel.from_json(model)
    chosen_cv = cv["candidates"][chosen]
    model["cv"] = {
        "folds": CV_FOLDS,
        "seed": CV_SEED,
        "articles": len(docs),
        **{k: {s: chosen_cv[k][s] for s in ("mean", "sd")} for k in (*ROUGE_KEYS, "gain_rouge1")},
        "lead3_rouge1": {s: cv["lead3"]["rouge1"][s] for s in ("mean", "sd")},
        "table": str(args.cv_out.resolve().relative_to(REPO)) if args.cv_out.resolve().is_relative_to(REPO) else None,
    }
    model["fit_rouge"] = evaluate(docs, fitted)
    model["fit_lead3"] = evaluate(docs, None)
    model["provenance"] = {
        "command": "make train-summarizer",
        "train_files": {f: _sha256(args.data_root / "summarization" / "indosum" / f) for f in TRAIN_FOLDS},
        "dev_files_read": False,
    }
    model["sha256"] = model_digest(model)

    previous = cv["candidates"][PREVIOUS]
    report = {
        "what": (
            "ROUGE F1 x100 of summariser configurations, 5-fold cross-validation over the IndoSum "
            "training pool (dev.01 + dev.02, de-duplicated); every fold's LEAD-3 is the first three "
            "IndoSum sentences as they are; dev.03 is not read"
        ),
        "train_files": list(TRAIN_FOLDS),
        "articles": len(docs),
        "folds": CV_FOLDS,
        "seed": CV_SEED,
        "fold_sizes": cv["folds"],
        "subsample": None,
        "pool": _pool_statistics(articles),
        "selection_rule": (
            "best mean ROUGE-1 gain over LEAD-3; a model with fewer weights within one standard "
            "error (fold sd / sqrt(folds)) of the best is preferred"
        ),
        "best": best.name,
        "chosen": chosen.name,
        "previous": PREVIOUS.name,
        "summary": {
            "chosen": _row(chosen, chosen_cv),
            "best": _row(best, cv["candidates"][best]),
            "previous": _row(PREVIOUS, previous),
            "previous_as_shipped_no_dateline_cut": _row(PREVIOUS, cv["previous_as_shipped"]),
            "chosen_without_title": _row(chosen, cv["candidates_without_title"][chosen]),
            "previous_without_title": _row(PREVIOUS, cv["candidates_without_title"][PREVIOUS]),
            "lead_within_chosen_budget": cv["lead_within_budget"][chosen.selection.name],
            "lead3": cv["lead3"],
            "lead3_without_dateline": cv["lead3_without_dateline"],
        },
        "candidates": [_row(c, s) for c, s in cv["candidates"].items()],
        "model_sha256": model["sha256"],
    }
    write_idf(load_indosum(args.data_root, TRAIN_FOLDS + HELD_OUT_FOLDS), IDF_PATH)
    args.out.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    args.cv_out.parent.mkdir(parents=True, exist_ok=True)
    args.cv_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                "chosen": chosen.name,
                "best": best.name,
                "cv_gain_rouge1": chosen_cv["gain_rouge1"],
                "previous_cv_gain_rouge1": previous["gain_rouge1"],
                "cpu_seconds": round(time.process_time() - t0),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
