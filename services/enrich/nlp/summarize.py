"""Extractive summaries: a logistic sentence scorer fitted on IndoSum, best sentences in order.

The model lives in ``models/summarizer.json``: the feature subset, its weights and the selection
rule (at most ``max_sentences`` sentences, taken best first while they fit a word budget), all
chosen by cross-validation in ``train_summarizer`` (``make train-summarizer``). Feature
extraction and selection are shared by fitting, evaluation and run time.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from pathlib import Path
from typing import Any

from .stopwords import stopwords

MODEL_PATH = Path(__file__).resolve().parent / "models" / "summarizer.json"
_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Boilerplate that news sites paste into the body; never summary material.
_JUNK_RE = re.compile(r"^(baca juga|lihat juga|simak juga|tonton juga|editor|penulis|sumber)\b", re.I)


def _content_words(tokens: Sequence[str]) -> list[str]:
    sw = stopwords()
    return [t for t in (w.lower() for w in tokens) if _WORD_RE.fullmatch(t) and t not in sw and not t.isdigit()]


def _cos(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb)


def _cos_minus(bag: Counter[str], centroid: Counter[str], centroid_norm2: float | None = None) -> float:
    """Cosine of ``bag`` with ``centroid - bag`` without materialising the difference.

    ``centroid_norm2`` may pass ``_norm2(centroid)`` when it is reused for many bags.
    """
    if not bag:
        return 0.0
    dot = sum(v * (centroid[k] - v) for k, v in bag.items())
    nb = math.sqrt(sum(v * v for v in bag.values()))
    # |c - b|^2 = |c|^2 - 2 c.b + |b|^2
    cn2 = _norm2(centroid) if centroid_norm2 is None else centroid_norm2
    cb = sum(v * centroid[k] for k, v in bag.items())
    rest = cn2 - 2 * cb + nb * nb
    return dot / (nb * math.sqrt(rest)) if rest > 1e-12 else 0.0


def _norm2(c: Counter[str]) -> float:
    return float(sum(v * v for v in c.values()))


BASE_FEATURES = (
    "bias",
    "pos0",
    "pos1",
    "pos2",
    "pos3_5",
    "rel_pos",
    "inv_pos",
    "para0",
    "first_in_para",
    "len_words",
    "len_short",
    "len_long",
    "sim_centroid",
    "sim_title",
    "sim_lead",
    "quote",
    "digits",
    "caps_ratio",
    "junk",
    "question",
    "n_sent_log",
)
# Position x content interactions: a linear model cannot otherwise express "an early sentence
# matters more when it is also central/long". Whether a model uses them (or a smaller subset of
# features) is decided by cross-validation in ``train_summarizer``.
_POS_IDX = (1, 2, 3, 4, 5, 6)
_CONTENT_IDX = (9, 12, 13, 14, 15, 16, 17)
FEATURE_NAMES = BASE_FEATURES + tuple(f"{BASE_FEATURES[a]}*{BASE_FEATURES[b]}" for a in _POS_IDX for b in _CONTENT_IDX)


def sentence_features(
    paragraphs: Sequence[Sequence[Sequence[str]]], title: Sequence[str] | None = None
) -> list[list[float]]:
    """One feature vector per sentence (article order) for paragraph > sentence > token input."""
    flat: list[tuple[int, int, Sequence[str]]] = []
    for p, para in enumerate(paragraphs):
        for k, sent in enumerate(para):
            flat.append((p, k, sent))
    n = len(flat)
    bags = [Counter(_content_words(s)) for _, _, s in flat]
    centroid: Counter[str] = Counter()
    for b in bags:
        centroid.update(b)
    title_bag = Counter(_content_words(title)) if title else Counter()
    lead_bag = bags[0] if bags else Counter()
    centroid_norm2 = _norm2(centroid)
    feats: list[list[float]] = []
    for i, (p, k, sent) in enumerate(flat):
        words = [w for w in sent if _WORD_RE.search(w)]
        nw = len(words)
        text = " ".join(sent)
        caps = sum(1 for w in words if w[:1].isupper())
        feats.append(
            [
                1.0,
                float(i == 0),
                float(i == 1),
                float(i == 2),
                float(3 <= i <= 5),
                i / max(n - 1, 1),
                1.0 / (i + 1),
                float(p == 0),
                float(k == 0),
                min(nw, 60) / 60.0,
                float(nw < 8),
                float(nw > 40),
                _cos_minus(bags[i], centroid, centroid_norm2),
                _cos(bags[i], title_bag),
                _cos(bags[i], lead_bag) if i > 0 else 1.0,
                float(any(q in text for q in ('"', "“", "”"))),
                float(any(map(str.isdigit, text))),
                caps / nw if nw else 0.0,
                float(bool(_JUNK_RE.match(text.strip('"“ ')))),
                float(text.rstrip().endswith("?")),
                math.log1p(n) / 5.0,
            ]
        )
    for f in feats:
        f.extend([f[a] * f[b] for a in _POS_IDX for b in _CONTENT_IDX])
    return feats


@dataclass(frozen=True)
class SummaryModel:
    """A fitted scorer and its selection rule.

    ``weights`` is aligned to ``FEATURE_NAMES`` (zero for features the model does not use).
    Selection takes sentences best first, skipping one that would take the summary past
    ``budget_words`` words (``None``: no budget, plain top-``max_sentences``), until
    ``max_sentences`` are chosen; the first ``min_sentences`` are taken whatever their length.
    """

    weights: tuple[float, ...]
    max_sentences: int
    min_sentences: int = 1
    budget_words: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SummaryModel:
        """Build from ``models/summarizer.json``; raises ``KeyError`` for an unknown feature name."""
        index = {name: i for i, name in enumerate(FEATURE_NAMES)}
        full = [0.0] * len(FEATURE_NAMES)
        for name, w in zip(data["features"], data["weights"], strict=True):
            full[index[name]] = float(w)
        # Models written before selection was cross-validated store only a top-k ("k").
        sel = data.get("selection") or {"max_sentences": data["k"], "min_sentences": 1, "budget_words": None}
        return cls(tuple(full), int(sel["max_sentences"]), int(sel["min_sentences"]), sel["budget_words"])


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> SummaryModel:
    """The shipped model (cached per path); raises ``FileNotFoundError`` if the file is missing."""
    with path.open(encoding="utf-8") as fh:
        return SummaryModel.from_json(json.load(fh))


def word_count(tokens: Sequence[str]) -> int:
    """Words of a sentence as the budget (and ROUGE) count them: tokens with a word character."""
    return sum(1 for t in tokens if _WORD_RE.search(t))


def score_sentences(feats: Sequence[Sequence[float]], weights: Sequence[float]) -> list[float]:
    """Linear scores (log-odds of being in the extractive oracle)."""
    n = len(weights)
    # Same products, summed in the same order, as ``sum(w * x for w, x in zip(...))``.
    return [
        sum(map(mul, weights, f)) if len(f) == n else sum(w * x for w, x in zip(weights, f, strict=True)) for f in feats
    ]


def select(scores: Sequence[float], k: int) -> list[int]:
    """Indices of the ``k`` best sentences, returned in article order."""
    best = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    return sorted(best)


def select_within_budget(
    scores: Sequence[float], lengths: Sequence[int], max_sentences: int, min_sentences: int, budget_words: int | None
) -> list[int]:
    """Best sentences first while they fit ``budget_words`` (see ``SummaryModel``), in article order.

    Ties in score go to the earlier sentence. With ``budget_words=None`` this is ``select``.
    """
    if budget_words is None:
        return select(scores, max_sentences)
    chosen: list[int] = []
    words = 0
    for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
        if len(chosen) >= max_sentences:
            break
        if len(chosen) < min_sentences or words + lengths[i] <= budget_words:
            chosen.append(i)
            words += lengths[i]
    return sorted(chosen)


def summarize_tokens(
    paragraphs: Sequence[Sequence[Sequence[str]]],
    title: Sequence[str] | None = None,
    model: SummaryModel | None = None,
) -> list[int]:
    """Indices (flat, article order) of the summary sentences of a tokenised article.

    ``model`` defaults to the shipped one. Pure; never raises on well-formed input.
    """
    model = model or load_model()
    feats = sentence_features(paragraphs, title)
    if not feats:
        return []
    lengths = [word_count(s) for para in paragraphs for s in para]
    return select_within_budget(
        score_sentences(feats, model.weights), lengths, model.max_sentences, model.min_sentences, model.budget_words
    )
