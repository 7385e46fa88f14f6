"""Language identification: multinomial naive Bayes over character n-grams and words.

Fitted at load time (a few milliseconds) on the small, self-written corpus in ``data/langid/``
so the model is fully reproducible from the repo. Languages: id, jv, su, ms, en.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from itertools import chain
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data" / "langid"
LANGUAGES = ("id", "jv", "su", "ms", "en")
NGRAM_ORDERS = (1, 2, 3, 4)
# Only the start of long articles is needed; bounding it keeps the cost per article constant.
MAX_CHARS = 800
ALPHA = 0.1
# Naive Bayes over-counts correlated n-grams; dividing the log-likelihood by this before the
# softmax gives confidences that are not all 1.0 (checked on the eval set, see docs/nlp.md).
TEMPERATURE = 3.0

# Class priors: Warta ingests Indonesian regional news, so most text is Indonesian. The
# likelihood of a whole article still overrides the prior easily; it matters for short or
# mixed id/ms text, where character statistics alone are nearly tied.
PRIORS = {"id": 0.2, "jv": 0.2, "su": 0.2, "ms": 0.2, "en": 0.2}

_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
WORD_CACHE_SIZE = 20_000


def word_features(word: str) -> list[str]:
    """The features of one lower-cased word: the word itself, then its padded n-grams."""
    out = ["w:" + word]
    padded = f" {word} "
    size = len(padded)
    for n in NGRAM_ORDERS:
        out += [padded[i : i + n] for i in range(size - n + 1)]
    return out


def features(text: str, max_chars: int | None = MAX_CHARS) -> Iterable[str]:
    """Character n-grams of each padded lower-cased word, plus the word itself.

    Only the first ``max_chars`` characters are read (``None``: all, used for fitting).
    """
    head = text if max_chars is None else text[:max_chars]
    for word in _WORD_RE.findall(head.lower()):
        yield from word_features(word)


class LanguageIdentifier:
    """Immutable after fitting; safe to share between threads."""

    def __init__(self, corpus: dict[str, str]) -> None:
        self.languages = tuple(corpus)
        counts = {lang: Counter(features(text, None)) for lang, text in corpus.items()}
        vocab = set().union(*counts.values())
        self._logp: dict[str, dict[str, float]] = {}
        self._unk: dict[str, float] = {}
        for lang, c in counts.items():
            total = sum(c.values()) + ALPHA * (len(vocab) + 1)
            self._logp[lang] = {f: math.log((n + ALPHA) / total) for f, n in c.items()}
            self._unk[lang] = math.log(ALPHA / total)
        self._vocab = frozenset(vocab)
        # Per-feature vector of log-probabilities, language order fixed: one lookup per feature.
        self._vec = {f: tuple(self._logp[lang].get(f, self._unk[lang]) for lang in self.languages) for f in vocab}
        # Word -> its known features, in ``features`` order. Words recur across articles, so
        # this saves rebuilding their n-grams; bounded, and only ever filled with pure results.
        self._word_cache: dict[str, tuple[str, ...]] = {}
        self._canonical = {f: f for f in vocab}  # cached tuples share the vocabulary's strings

    def _known_features(self, word: str) -> tuple[str, ...]:
        feats = self._word_cache.get(word)
        if feats is None:
            canonical = self._canonical
            feats = tuple(canonical[f] for f in word_features(word) if f in canonical)
            if len(self._word_cache) >= WORD_CACHE_SIZE:
                self._word_cache.clear()
            self._word_cache[word] = feats
        return feats

    def predict(self, text: str) -> tuple[str, float]:
        """Most likely language and its posterior confidence in [0, 1].

        Text without letters, or with no known n-gram, returns ("und", 0.0).
        """
        # The same multiset, in the same first-seen order, as
        # ``Counter(f for f in features(text) if f in self._vocab)``, so the float sums below
        # are computed in exactly the same order.
        known = self._known_features
        counts = Counter(chain.from_iterable(known(w) for w in _WORD_RE.findall(text[:MAX_CHARS].lower())))
        if not counts:
            return "und", 0.0
        vec = self._vec
        if len(self.languages) == 5:
            t0 = t1 = t2 = t3 = t4 = 0.0
            for f, n in counts.items():
                l0, l1, l2, l3, l4 = vec[f]
                t0 += n * l0
                t1 += n * l1
                t2 += n * l2
                t3 += n * l3
                t4 += n * l4
            totals = [t0, t1, t2, t3, t4]
        else:
            totals = [0.0] * len(self.languages)
            for f, n in counts.items():
                for i, lp in enumerate(vec[f]):
                    totals[i] += n * lp
        scale = TEMPERATURE * math.sqrt(sum(counts.values()))
        scores = {
            lang: t / scale + math.log(PRIORS.get(lang, 0.1)) for lang, t in zip(self.languages, totals, strict=True)
        }
        best = max(scores, key=scores.__getitem__)
        z = sum(math.exp(s - scores[best]) for s in scores.values())
        return best, 1.0 / z


@lru_cache(maxsize=1)
def load_identifier(data_dir: Path = DATA_DIR) -> LanguageIdentifier:
    """Fit the identifier on ``data_dir/<lang>.txt`` once per process."""
    corpus = {lang: (data_dir / f"{lang}.txt").read_text(encoding="utf-8") for lang in LANGUAGES}
    return LanguageIdentifier(corpus)
