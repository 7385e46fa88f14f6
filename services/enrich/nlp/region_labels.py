"""Hand-labelled primary regions: reading the label files, rebuilding the labelled articles'
text from the development data, and scoring predicted regions against the labels.

Shared by ``train_regions`` (which tunes the prominence weights by cross-validation on the
tuning labels, ``data/region_tuning.jsonl``) and by ``evals/regions_eval.py`` (which measures
the tagger on the separate labelled evaluation set, ``evals/regions/labelled.jsonl``), so the
tuning objective and the reported measure are the same function. Not used at run time.

A label line is ``{"source": "indosum", "id", "primary": [codes], "names": [names]}`` (or
``"source": "demo"`` with ``"site"``). ``primary`` is the region(s) the article is about, at the
most specific level the article gives; their provinces are implied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .canonical import Dictionary

TUNING_LABELS = Path(__file__).parent / "data" / "region_tuning.jsonl"
INDOSUM_FOLDS = ("dev.01.jsonl", "dev.02.jsonl", "dev.03.jsonl")


def read_labels(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_indosum_by_id(data_root: Path) -> dict[str, dict[str, Any]]:
    """Every IndoSum article of the development data by id (the first copy of a duplicate)."""
    docs: dict[str, dict[str, Any]] = {}
    for fold in INDOSUM_FOLDS:
        with (data_root / "summarization" / "indosum" / fold).open(encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                docs.setdefault(doc["id"], doc)
    return docs


def indosum_text(doc: dict[str, Any]) -> str:
    """An IndoSum article as running text: paragraphs on lines, tokens joined and roughly
    detokenised (the same reconstruction as ``evals/eval_nlp.py``)."""
    text = "\n".join(" ".join(" ".join(s) for s in para) for para in doc["paragraphs"])
    for p in (" ,", " .", " ?", " !", " )", " :", " ;"):
        text = text.replace(p, p[1:])
    return text.replace("( ", "(")


def indosum_title(doc: dict[str, Any]) -> str | None:
    """IndoSum has no title; its id ends with the (truncated, lower-cased) title slug, given back
    in title case as Indonesian news titles are written."""
    _, _, slug = doc["id"].partition("-")
    return " ".join(w.capitalize() for w in slug.split("-")) or None


def closure(codes: Iterable[str], dictionary: Dictionary) -> set[str]:
    """The codes plus the provinces they belong to."""
    out = set()
    for c in codes:
        out.add(c)
        parent = dictionary.regions[c].parent
        if parent:
            out.add(parent)
    return out


def score(predicted: Sequence[Iterable[str]], gold: Sequence[Iterable[str]], dictionary: Dictionary) -> dict[str, Any]:
    """Micro precision/recall/F1 of predicted region codes against labelled ones, per article
    both sides closed under "and its province" (a Jepara article is a Jawa Tengah article too);
    the same at province level only; and the share of articles tagged exactly right."""
    tp = fp = fn = 0
    ptp = pfp = pfn = 0
    exact = 0
    for pred, gold_codes in zip(predicted, gold, strict=True):
        p, g = closure(pred, dictionary), closure(gold_codes, dictionary)
        tp += len(p & g)
        fp += len(p - g)
        fn += len(g - p)
        exact += p == g
        pp = {c for c in p if dictionary.regions[c].level == "provinsi"}
        gp = {c for c in g if dictionary.regions[c].level == "provinsi"}
        ptp += len(pp & gp)
        pfp += len(pp - gp)
        pfn += len(gp - pp)
    return {
        "articles": len(gold),
        **_prf(tp, fp, fn),
        "province_level": _prf(ptp, pfp, pfn),
        "exact_articles": round(exact / len(gold), 4) if gold else 0.0,
    }


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}
