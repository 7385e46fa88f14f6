"""Train the tone models (``make train-tone``) and write ``models/tone.json``.

Training data (nothing of the evaluation sets):
- headline model: the CNBC Indonesia headlines dated before ``HEADLINE_CUT``
  (``../shared/data/sentiment/cnbci-headlines-dev.jsonl``); later dates are held out.
- body model: NusaX train (``nusax-id-train.jsonl``; the valid file is held out) and the bodies of
  the in-domain training sets labelled by reading (``evals/tone/train-articles.jsonl``,
  ``train2-articles.jsonl`` and ``train3-articles.jsonl``; labels in ``labels/<set>-*.jsonl``).
- entity model: the article–entity pairs of that in-domain training set (NusaX has no entities;
  adding its sentences lowered the cross-validated entity score).

Model selection: the regularisation ``C`` and class weighting of each model are chosen by
cross-validation on training data only (the headline model on its last two months before the
cut, the body and entity models by 5-fold cross-validation over in-domain training articles,
which also sets offsets on the neutral and positive scores for the best cross-validated
macro-F1). The choice and the cross-validated scores are written to the model file.
scikit-learn is needed here only; the product reads the weights with :mod:`.tone`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from .text import token_texts, tokenize_span
from .tone import (
    LABELS,
    MODEL_PATH,
    entity_contexts,
    headline_features,
    lexicon_polarity,
    prominence_features,
    text_features,
    words_of,
)

ROOT = Path(__file__).resolve().parents[3]
SENTIMENT = ROOT.parent / "shared" / "data" / "sentiment"
TONE_SETS = ROOT / "evals" / "tone"
HEADLINE_CUT = "2024/12/01"  # headlines dated on or after this are held out
HEADLINE_DEV_CUT = "2024/10/01"  # the last two months before the cut select the headline model's C
C_GRID = (0.5, 2.0, 8.0)
MIN_ABS_WEIGHT = 1e-3
SEED = 13
TRAINING_SETS = ("train", "train2", "train3")

Example = tuple[list[str], str]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def headline_rows() -> list[dict[str, Any]]:
    return read_jsonl(SENTIMENT / "cnbci-headlines-dev.jsonl")


def plain_features(text: str) -> list[str]:
    return text_features(words_of(token_texts(text)))


# --- the in-domain sets -------------------------------------------------------------------------


def article_layout(article: dict[str, Any]) -> tuple[str, list[tuple[int, int]], list[list[Any]]]:
    """The article's sentences joined into one text, with each sentence's span and tokens."""
    text = ""
    spans = []
    for s in article["sentences"]:
        if text:
            text += " "
        spans.append((len(text), len(text) + len(s)))
        text += s
    return text, spans, [tokenize_span(text, s, e) for s, e in spans]


def entity_mentions(
    article: dict[str, Any], entity: dict[str, Any], spans: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    return [(spans[k][0] + s, spans[k][0] + e) for k, s, e in entity["mentions"]]


def labelled(name: str, labels: dict[str, dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for article in read_jsonl(TONE_SETS / f"{name}-articles.jsonl"):
        if article["id"] in labels:
            yield article, labels[article["id"]]


def read_labels(paths: Sequence[Path]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        if path.exists():
            for row in read_jsonl(path):
                out[row["id"]] = row
    return out


def in_domain_examples(
    pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]],
) -> tuple[list[tuple[str, Example]], list[tuple[str, Example]]]:
    """(article id, example) lists: article bodies and article–entity pairs (invalid ones left out)."""
    bodies: list[tuple[str, Example]] = []
    entities: list[tuple[str, Example]] = []
    for article, label in pairs:
        bodies.append((article["id"], (body_example(article), label["body"])))
        for entity, feats in entity_examples(article):
            got = label["entities"].get(entity["key"], {}).get("label")
            if got in LABELS:
                entities.append((article["id"], (feats, got)))
    return bodies, entities


def body_example(article: dict[str, Any]) -> list[str]:
    _, _, toks = article_layout(article)
    return text_features(words_of([t.text for ts in toks for t in ts]))


def entity_examples(article: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
    """The features ``tone.tone_of`` computes for each listed entity of the article."""
    _, spans, toks = article_layout(article)
    polarity = lexicon_polarity(words_of([t.text for ts in toks for t in ts]))
    most = max(len(e["mentions"]) for e in article["entities"])
    out = []
    for entity in article["entities"]:
        contexts = entity_contexts(entity_mentions(article, entity, spans), spans, toks)
        feats = [f for _, fs in contexts for f in fs]
        n = len(entity["mentions"])
        feats += prominence_features(polarity, min(k for k, _, _ in entity["mentions"]) == 0, n == most, n)
        out.append((entity, feats))
    return out


# --- fitting ------------------------------------------------------------------------------------


def design(vectorizer: CountVectorizer, docs: Sequence[list[str]], fit: bool = False) -> sparse.csr_matrix:
    """Binary features scaled by 1/sqrt(distinct features), exactly as ``tone.LinearModel``."""
    x = vectorizer.fit_transform(docs) if fit else vectorizer.transform(docs)
    scale = np.array([1.0 / np.sqrt(max(1, len(set(d)))) for d in docs])
    return sparse.diags(scale) @ x


def new_vectorizer() -> CountVectorizer:
    return CountVectorizer(analyzer=lambda d: d, binary=True, min_df=1)


def fit(examples: Sequence[Example], c: float, balanced: bool) -> tuple[CountVectorizer, LogisticRegression]:
    vec = new_vectorizer()
    x = design(vec, [f for f, _ in examples], fit=True)
    y = [LABELS.index(label) for _, label in examples]
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None)
    clf.fit(x, y)
    return vec, clf


def predict(vec: CountVectorizer, clf: LogisticRegression, docs: Sequence[list[str]]) -> list[str]:
    return [LABELS[int(k)] for k in clf.predict(design(vec, docs))]


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    return round(float(f1_score(gold, pred, labels=list(LABELS), average="macro", zero_division=0)), 4)


def export(vec: CountVectorizer, clf: LogisticRegression, offsets: Sequence[float] = (0.0, 0.0, 0.0)) -> dict[str, Any]:
    """The weights and the bias, with the cross-validated ``offsets`` added to the bias."""
    coef = clf.coef_  # (3, n_features), classes in LABELS order
    assert list(clf.classes_) == [0, 1, 2]
    weights = {}
    for feature, j in vec.vocabulary_.items():
        w = coef[:, j]
        if np.abs(w).max() >= MIN_ABS_WEIGHT:
            weights[feature] = [round(float(v), 4) for v in w]
    bias = [round(float(b + o), 4) for b, o in zip(clf.intercept_, offsets, strict=True)]
    return {"bias": bias, "weights": weights}


def tune_offsets(
    general: Sequence[Example], in_domain: Sequence[tuple[str, Example]], c: float, balanced: bool
) -> tuple[list[float], float]:
    """Offsets added to the neutral and positive scores (negative's fixed at 0) that maximise the
    cross-validated macro-F1 of the chosen model: the class weighting of logistic regression
    balances recall, not macro-F1. Returns (offsets, macro-F1 with them)."""
    gold: list[str] = []
    scores = []
    for part in folds([i for i, _ in in_domain]):
        vec, clf = fit(list(general) + [e for i, e in in_domain if i not in part], c, balanced)
        test = [e for i, e in in_domain if i in part]
        gold += [y for _, y in test]
        scores.append(clf.decision_function(design(vec, [f for f, _ in test])))
    s = np.vstack(scores)
    grid = [round(float(x), 1) for x in np.arange(-1.0, 1.01, 0.1)]
    best = (-1.0, [0.0, 0.0, 0.0])
    for dn in grid:
        for dp in grid:
            pred = [LABELS[k] for k in (s + np.array([0.0, dn, dp])).argmax(axis=1)]
            f1 = macro_f1(gold, pred)
            if f1 > best[0]:
                best = (f1, [0.0, dn, dp])
    return best[1], best[0]


def select_headline(rows: Sequence[dict[str, Any]]) -> tuple[float, bool, dict[str, float]]:
    train = [(headline_features(r["text"]), r["label"]) for r in rows if r["date"] < HEADLINE_DEV_CUT]
    dev = [(headline_features(r["text"]), r["label"]) for r in rows if HEADLINE_DEV_CUT <= r["date"] < HEADLINE_CUT]
    scores = {}
    for c in C_GRID:
        for balanced in (False, True):
            vec, clf = fit(train, c, balanced)
            scores[f"C={c},balanced={balanced}"] = macro_f1([y for _, y in dev], predict(vec, clf, [f for f, _ in dev]))
    best = max(scores, key=lambda k: scores[k])
    c, balanced = float(best.split(",")[0][2:]), best.endswith("True")
    return c, balanced, scores


def folds(ids: Sequence[str], k: int = 5) -> list[set[str]]:
    unique = sorted(set(ids))
    random.Random(SEED).shuffle(unique)
    return [set(unique[i::k]) for i in range(k)]


def select_cv(
    general: Sequence[Example], in_domain: Sequence[tuple[str, Example]]
) -> tuple[float, bool, dict[str, float]]:
    """5-fold CV over in-domain training articles (``general`` examples always train), scored by
    macro-F1 on the held-out folds."""
    scores = {}
    parts = folds([i for i, _ in in_domain])
    for c in C_GRID:
        for balanced in (False, True):
            gold: list[str] = []
            pred: list[str] = []
            for part in parts:
                train = list(general) + [e for i, e in in_domain if i not in part]
                test = [e for i, e in in_domain if i in part]
                vec, clf = fit(train, c, balanced)
                gold += [y for _, y in test]
                pred += predict(vec, clf, [f for f, _ in test])
            scores[f"C={c},balanced={balanced}"] = macro_f1(gold, pred)
    best = max(scores, key=lambda k: scores[k])
    return float(best.split(",")[0][2:]), best.endswith("True"), scores


def training_data() -> tuple[list[Example], list[Example], list[tuple[str, Example]], list[tuple[str, Example]]]:
    rows = headline_rows()
    headlines = [(headline_features(r["text"]), r["label"]) for r in rows if r["date"] < HEADLINE_CUT]
    nusax = [(plain_features(r["text"]), r["label"]) for r in read_jsonl(SENTIMENT / "nusax-id-train.jsonl")]
    bodies, entities = in_domain_examples(training_pairs())
    return headlines, nusax, bodies, entities


def training_pairs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The labelled in-domain training articles: both batches (``train``, ``train2``)."""
    out = []
    for name in TRAINING_SETS:
        labels = read_labels(sorted((TONE_SETS / "labels").glob(f"{name}-*.jsonl")))
        out += list(labelled(name, labels))
    return out


def main() -> int:
    rows = headline_rows()
    headlines, nusax, bodies, entities = training_data()
    print(
        f"headlines {len(headlines)}, nusax {len(nusax)}, in-domain bodies {len(bodies)}, entity pairs {len(entities)}"
    )
    hc, hb, hscores = select_headline(rows)
    print(f"headline model: C={hc} balanced={hb} (dev macro-F1 {hscores[f'C={hc},balanced={hb}']})")
    bc, bb, bscores = select_cv(nusax, bodies)
    print(f"body model: C={bc} balanced={bb} (5-fold CV macro-F1 {bscores[f'C={bc},balanced={bb}']})")
    ec, eb, escores = select_cv([], entities)
    print(f"entity model: C={ec} balanced={eb} (5-fold CV macro-F1 {escores[f'C={ec},balanced={eb}']})")
    boffsets, bf1 = tune_offsets(nusax, bodies, bc, bb)
    eoffsets, ef1 = tune_offsets([], entities, ec, eb)
    print(f"score offsets: body {boffsets} (CV macro-F1 {bf1}), entity {eoffsets} (CV macro-F1 {ef1})")
    hvec, hclf = fit(headlines, hc, hb)
    bvec, bclf = fit(list(nusax) + [e for _, e in bodies], bc, bb)
    evec, eclf = fit([e for _, e in entities], ec, eb)
    model = {
        "labels": list(LABELS),
        "selection": {
            "headline": hscores,
            "body_cv": bscores,
            "entity_cv": escores,
            "offsets": {"body": boffsets, "body_cv": bf1, "entity": eoffsets, "entity_cv": ef1},
        },
        "training": {
            "headlines": len(headlines),
            "nusax": len(nusax),
            "bodies": len(bodies),
            "entity_pairs": len(entities),
        },
        "headline": export(hvec, hclf),
        "body": export(bvec, bclf, boffsets),
        "entity": export(evec, eclf, eoffsets),
    }
    with open(MODEL_PATH, "w", encoding="utf-8") as fh:
        json.dump(model, fh, ensure_ascii=False, separators=(",", ":"))
    print(f"wrote {MODEL_PATH.relative_to(ROOT)} ({MODEL_PATH.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
