"""ROUGE-1/2/L F1 on lower-cased tokens (Lin, 2004), used to choose and evaluate summarisers.

No stemming (there is no standard Indonesian stemmer in ROUGE-1.5.5 either); LEAD-3 is always
computed with this same code so comparisons are like for like.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _tokens(text_tokens: Sequence[str]) -> list[str]:
    return [t.lower() for t in text_tokens if _WORD_RE.search(t)]


def _f1(overlap: int, n_cand: int, n_ref: int) -> float:
    if overlap == 0 or n_cand == 0 or n_ref == 0:
        return 0.0
    p, r = overlap / n_cand, overlap / n_ref
    return 2 * p * r / (p + r)


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge(candidate: Sequence[str], reference: Sequence[str]) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F1 (0..1) of two token sequences."""
    c, r = _tokens(candidate), _tokens(reference)
    out = {}
    for n in (1, 2):
        cn, rn = _ngrams(c, n), _ngrams(r, n)
        out[f"rouge{n}"] = _f1(sum((cn & rn).values()), sum(cn.values()), sum(rn.values()))
    out["rougeL"] = _f1(_lcs(c, r), len(c), len(r))
    return out
