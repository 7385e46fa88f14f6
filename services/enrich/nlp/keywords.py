"""Keywords and keyphrases: TF-IDF over content words and recurring bigrams, plus entities.

Document frequencies come from ``models/idf.json`` (word statistics of the IndoSum corpus,
built by ``train_summarizer``); stopwords from stopwords-id plus news boilerplate.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from .stopwords import stopwords

IDF_PATH = Path(__file__).resolve().parent / "models" / "idf.json"
_WORD_RE = re.compile(r"[^\W\d_][\w-]*", re.UNICODE)
MIN_KEYWORDS = 5
MAX_KEYWORDS = 10


@lru_cache(maxsize=1)
def idf_table() -> tuple[dict[str, float], float]:
    """(word -> idf, idf of unseen words)."""
    with IDF_PATH.open(encoding="utf-8") as fh:
        data = json.load(fh)
    n = data["n_docs"]
    table = {w: math.log((n + 1) / (df + 1)) + 1 for w, df in data["df"].items()}
    return table, math.log(n + 1) + 1


def extract_keywords(text: str, title: str | None, entities: Sequence[dict[str, Any]], limit: int = 8) -> list[str]:
    """5-10 keywords (lower-cased words/phrases, or entity canonical names), best first.

    Entities mentioned at least twice, or in the title, compete with TF-IDF words; words already
    covered by a chosen phrase or entity are skipped so the list is not redundant.
    """
    limit = max(MIN_KEYWORDS, min(MAX_KEYWORDS, limit))
    sw = stopwords()
    idf, unk = idf_table()
    # Entity surfaces are scored as their canonical names below; masking them here keeps
    # "pemkab blora" and "Pemerintah Kabupaten Blora" from both making the list.
    chars = list(text)
    for e in entities:
        chars[e["start"] : e["end"]] = " " * (e["end"] - e["start"])
    words = [w.lower() for w in _WORD_RE.findall("".join(chars))]
    title_words = {w.lower() for w in _WORD_RE.findall(title or "")}
    content = [w if (w not in sw and len(w) > 2) else None for w in words]
    tf: Counter[str] = Counter(w for w in content if w)
    bigrams: Counter[str] = Counter(f"{a} {b}" for a, b in itertools.pairwise(content) if a and b and a != b)
    scores: dict[str, float] = {}
    for w, n in tf.items():
        scores[w] = (1 + math.log(n)) * idf.get(w, unk) * (1.5 if w in title_words else 1.0)
    for bg, n in bigrams.items():
        if n >= 2:
            a, b = bg.split()
            scores[bg] = 0.75 * (1 + math.log(n)) * (idf.get(a, unk) + idf.get(b, unk))
    ent_counts: Counter[str] = Counter(e["canonical"] for e in entities if e.get("canonical"))
    for name, n in ent_counts.items():
        if n >= 2 or any(t in title_words for t in name.lower().split()) or len(ent_counts) < MIN_KEYWORDS:
            parts = name.lower().split()
            scores[name] = (1 + math.log(n)) * max(idf.get(p, unk) for p in parts) * 1.2
    chosen: list[str] = []
    covered: set[str] = set()
    for cand in sorted(scores, key=lambda c: (-scores[c], c)):
        toks = set(cand.lower().split())
        if toks <= covered:
            continue
        chosen.append(cand)
        covered |= toks
        if len(chosen) >= limit:
            break
    return chosen
