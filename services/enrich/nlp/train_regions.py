"""Choose the region-prominence weights (``models/regions.json``) by cross-validation.

Run from the repo root: ``python -m services.enrich.nlp.train_regions`` (``make
train-regions``). Reads the tuning labels (``data/region_tuning.jsonl``: IndoSum articles from
``../shared/data/`` labelled by reading, kept apart from the evaluation set in
``evals/regions/``) and computes every candidate region's evidence once, exactly as ``annotate``
does (dateline found and blanked, CRF + dictionary entities, story tokens). Then, over a small
grid of weights and cut-offs (:data:`GRID`):

- model selection: the setting with the best mean F1 over ``K`` folds (ties: higher mean
  precision, then the earlier grid point) is written to ``models/regions.json``;
- its estimate: nested cross-validation (each fold scored with the setting chosen on the other
  folds), reported as mean and spread over folds next to the chosen setting's own fold scores.

The evaluation set is never read here. Deterministic: fixed fold assignment, no randomness.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .canonical import Dictionary, load_dictionary
from .dateline import find_dateline
from .entities import extract_entities
from .ner import NerTagger
from .region_labels import TUNING_LABELS, closure, indosum_text, indosum_title, load_indosum_by_id, read_labels
from .regions import PARAMS_PATH, Evidence, ProminenceParams, choose_regions, region_evidence
from .text import split_sentences, tokenize_span

REPO = Path(__file__).resolve().parents[3]
K = 5
GRID: dict[str, list[float]] = {
    "w_dateline": [0.0, 0.5, 1.0, 1.5],
    "w_title": [0.0, 0.5, 1.0, 2.0, 3.0],
    "w_lead": [0.5, 1.0, 2.0, 3.0, 4.0],
    "w_mention": [1.0],
    "mention_cap": [3, 5],
    "w_institution": [0.0, 0.5, 1.0],
    "threshold": [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0],
    "relative": [0.0, 0.25, 0.5, 0.75],
}


def article_evidence(text: str, title: str | None, dictionary: Dictionary, tagger: NerTagger) -> dict[str, Evidence]:
    """Candidate evidence as ``annotate`` computes it (same dateline, story and entity steps)."""
    dateline = find_dateline(text, dictionary)
    story = text if dateline is None else " " * dateline.end + text[dateline.end :]
    sentences = split_sentences(story)
    sentence_tokens = [tokenize_span(story, s, e) for s, e in sentences]
    entities = extract_entities(story, sentences, tagger, dictionary, sentence_tokens)
    tokens = [t for toks in sentence_tokens for t in toks]
    return region_evidence(story, title, entities, dictionary, tokens, dateline=dateline)


def _counts(
    evidence: dict[str, Evidence], gold: set[str], dictionary: Dictionary, p: ProminenceParams
) -> tuple[int, int, int]:
    primary, _ = choose_regions(evidence, dictionary, p)
    pred = closure(primary, dictionary)
    return len(pred & gold), len(pred - gold), len(gold - pred)


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def grid() -> list[ProminenceParams]:
    keys = list(GRID)
    return [
        ProminenceParams.from_dict(dict(zip(keys, values, strict=True))) for values in itertools.product(*GRID.values())
    ]


def cross_validate(
    evidence: Sequence[dict[str, Evidence]], gold: Sequence[set[str]], dictionary: Dictionary, k: int = K
) -> dict[str, Any]:
    folds = [i % k for i in range(len(evidence))]
    settings = grid()
    # counts[s][f] = (tp, fp, fn) of setting s on fold f
    counts: list[list[list[int]]] = []
    for p in settings:
        per_fold = [[0, 0, 0] for _ in range(k)]
        for ev, g, f in zip(evidence, gold, folds, strict=True):
            tp, fp, fn = _counts(ev, g, dictionary, p)
            per_fold[f][0] += tp
            per_fold[f][1] += fp
            per_fold[f][2] += fn
        counts.append(per_fold)

    def fold_scores(s: int, which: Sequence[int]) -> list[tuple[float, float, float]]:
        return [_f1(*counts[s][f]) for f in which]

    def key(s: int, which: Sequence[int]) -> tuple[float, float, int]:
        sc = fold_scores(s, which)
        return (statistics.fmean(x[2] for x in sc), statistics.fmean(x[0] for x in sc), -s)

    every = list(range(k))
    best = max(range(len(settings)), key=lambda s: key(s, every))
    chosen_folds = fold_scores(best, every)
    nested = []
    for f in every:
        train = [g for g in every if g != f]
        s = max(range(len(settings)), key=lambda s: key(s, train))
        nested.append(_f1(*counts[s][f]))

    def summary(sc: Sequence[tuple[float, float, float]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, name in enumerate(("precision", "recall", "f1")):
            vals = [x[i] for x in sc]
            out[name] = {"mean": round(statistics.fmean(vals), 4), "sd": round(statistics.pstdev(vals), 4),
                         "folds": [round(v, 4) for v in vals]}  # fmt: skip
        return out

    return {
        "params": asdict(settings[best]),
        "k": k,
        "settings_tried": len(settings),
        "chosen_setting_folds": summary(chosen_folds),
        "nested_cv_estimate": summary(nested),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--labels", type=Path, default=TUNING_LABELS)
    parser.add_argument("--out", type=Path, default=PARAMS_PATH)
    args = parser.parse_args(argv)
    dictionary = load_dictionary()
    tagger = NerTagger()
    labels = read_labels(args.labels)
    docs = load_indosum_by_id(args.data_root)
    evidence = []
    gold = []
    for row in labels:
        doc = docs[row["id"]]
        evidence.append(article_evidence(indosum_text(doc), indosum_title(doc), dictionary, tagger))
        gold.append(closure(row["primary"], dictionary))
    result = cross_validate(evidence, gold, dictionary)
    model = {
        **result,
        "tuning_labels": str(args.labels.resolve().relative_to(REPO)),
        "articles": len(labels),
        "articles_with_a_region": sum(bool(g) for g in gold),
        "objective": "mean over folds of micro F1 of primary region codes (closed under 'and its province')",
        "grid": GRID,
    }
    args.out.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: model[k] for k in ("params", "chosen_setting_folds", "nested_cv_estimate")}), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
