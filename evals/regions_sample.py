"""How the region label sets were drawn, and the reading sheet they were labelled from.

``python -m evals.regions_sample --check`` draws the sample again and compares it with the
committed label files; ``python -m evals.regions_sample --sheet eval|tuning > sheet.txt`` prints
the reading sheet (title, the first 700 characters, every place name the gazetteer finds with
its count and, for late mentions, their context), which is what the labeller read. See
``evals/regions/README.md``.

The pool: IndoSum articles of the development data (``dev.01``–``dev.03``, de-duplicated) in
which the region gazetteer finds at least one place name in the title or the text (names that
are also common words only after a cue, except as the first word). Sorted by id, shuffled with
``random.Random(16)``; the first 240 are the evaluation set, the next 130 the tuning set.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.regions_eval import LABELS
from services.enrich.nlp.canonical import Dictionary, load_dictionary, normalize_alias
from services.enrich.nlp.region_labels import (
    TUNING_LABELS,
    indosum_text,
    indosum_title,
    load_indosum_by_id,
    read_labels,
)
from services.enrich.nlp.text import tokenize

REPO = Path(__file__).resolve().parent.parent
SEED = 16
N_EVAL, N_TUNING = 240, 130
_CUES = frozenset({"kabupaten", "kab", "kota", "pemkab", "pemkot", "bupati", "wabup", "walikota", "wali", "wawali"})


def place_names(text: str, dictionary: Dictionary) -> list[tuple[int, str, list[str]]]:
    """``(start, surface, codes)`` of every gazetteer place name in ``text``."""
    toks = tokenize(text)
    out = []
    for m in dictionary.region_matcher.find(toks):
        prev = normalize_alias(toks[m.first - 1].text) if m.first > 0 else None
        if m.key in dictionary.ambiguous_region_names and prev not in _CUES and m.first > 0:
            continue
        out.append((m.start, text[m.start : m.end], dictionary.region_aliases[m.key]))
    return out


def draw(data_root: Path, dictionary: Dictionary) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    docs = load_indosum_by_id(data_root)
    pool = [
        d
        for _, d in sorted(docs.items())
        if place_names(indosum_text(d), dictionary) or place_names(indosum_title(d) or "", dictionary)
    ]
    random.Random(SEED).shuffle(pool)
    return pool[:N_EVAL], pool[N_EVAL : N_EVAL + N_TUNING]


def sheet(docs: list[dict[str, Any]], dictionary: Dictionary) -> str:
    lines = []
    for k, d in enumerate(docs):
        text = indosum_text(d)
        lines += [f"### {k} {d['id']} [{d['source']}/{d['category']}]", f"TITLE: {indosum_title(d)}",
                  "TEXT: " + text[:700].replace("\n", " ¶ "), f"LEN {len(text)}; MENTIONS:"]  # fmt: skip
        found: defaultdict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
        for start, surface, codes in place_names(text, dictionary):
            found[(normalize_alias(surface), tuple(codes))].append(start)
        for (name, codes), starts in sorted(found.items(), key=lambda kv: kv[1][0]):
            late = [p for p in starts if p >= 700][:2]
            context = " || ".join(text[max(0, p - 60) : p + 40].replace("\n", " ") for p in late)
            names = "/".join(dictionary.regions[c].name for c in codes)
            lines.append(f"  - {name} -> {names} x{len(starts)} @{starts[0]}" + (f" | {context}" if context else ""))
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--check", action="store_true", help="compare the draw with the committed label files")
    parser.add_argument("--sheet", choices=("eval", "tuning"), help="print the reading sheet of one set")
    args = parser.parse_args(argv)
    dictionary = load_dictionary()
    eval_docs, tuning_docs = draw(args.data_root, dictionary)
    if args.sheet:
        print(sheet(eval_docs if args.sheet == "eval" else tuning_docs, dictionary))
    if args.check:
        committed_eval = [r["id"] for r in read_labels(LABELS) if r["source"] == "indosum"]
        committed_tuning = [r["id"] for r in read_labels(TUNING_LABELS)]
        same = committed_eval == [d["id"] for d in eval_docs] and committed_tuning == [d["id"] for d in tuning_docs]
        overlap = set(committed_eval) & set(committed_tuning)
        print(f"draw reproduces the label files: {same}; evaluation/tuning overlap: {len(overlap)}")
        return 0 if same and not overlap else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
