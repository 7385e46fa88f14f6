"""Readers for the shared NER corpora, label mapping onto PER/ORG/LOC, and span scoring.

Used by training (train splits only) and by ``evals/eval_nlp.py`` (dev splits). Not needed at
run time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from .ner import bio_to_spans

Sentence = tuple[list[str], list[str]]

# Deliberate label mapping. NERP's EVT (events) and FNB (food & beverage) have no place in
# Warta's PER/ORG/LOC schema; they become O rather than being forced into a wrong type.
LABEL_MAP: dict[str, dict[str, str]] = {
    "nergrit": {"PERSON": "PER", "PLACE": "LOC", "ORGANISATION": "ORG"},
    "nerp": {"PPL": "PER", "PLC": "LOC", "IND": "ORG", "EVT": "O", "FNB": "O"},
    "idner-news-2k": {"PER": "PER", "LOC": "LOC", "ORG": "ORG"},
}

FILES: dict[str, dict[str, str]] = {
    "nergrit": {"train": "train.tsv", "dev": "valid.tsv"},
    "nerp": {"train": "train.tsv", "dev": "valid.tsv"},
    "idner-news-2k": {"train": "train.txt", "dev": "dev.txt"},
}


def _map_tag(tag: str, mapping: dict[str, str]) -> str:
    if tag == "O" or "-" not in tag:
        return "O"
    prefix, label = tag.split("-", 1)
    mapped = mapping.get(label, "O")
    return "O" if mapped == "O" else f"{prefix}-{mapped}"


def _recase(words: list[str], raw_tags: list[str]) -> list[str]:
    """Restore plausible capitalisation of a lower-cased NERP sentence (training only).

    Tokens inside any original entity (including EVT/FNB, which are proper names too) get
    title case except function words; other tokens get the capitalisation they mostly have in
    news text (the case lexicon); the first token is capitalised.
    """
    from .ner import case_lexicon
    from .stopwords import stopwords

    lex = case_lexicon()
    sw = stopwords()
    out = []
    for i, (w, t) in enumerate(zip(words, raw_tags, strict=True)):
        if t != "O" and w.isalpha() and w not in sw:
            w = w[:1].upper() + w[1:]
        elif lex.get(w) == "C" and w.isalpha():
            w = w[:1].upper() + w[1:]
        if i == 0:
            w = w[:1].upper() + w[1:]
        out.append(w)
    return out


def read_corpus(data_root: Path, name: str, split: str, recase: bool = False) -> list[Sentence]:
    """Read ``split`` ("train" or "dev") of corpus ``name`` with tags mapped to PER/ORG/LOC.

    ``recase`` restores capitalisation of a lower-cased corpus (NERP) for training.
    """
    path = data_root / "ner" / name / FILES[name][split]
    mapping = LABEL_MAP[name]
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    raw: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for raw_line in fh:
            line = raw_line.rstrip("\r\n")
            if not line.strip():
                if words:
                    sentences.append((_recase(words, raw) if recase else words, tags))
                words, tags, raw = [], [], []
                continue
            if name == "idner-news-2k":
                parts = line.split(" ")
                word, tag = parts[0], parts[-1]
            else:
                word, tag = line.split("\t")[:2]
            words.append(word)
            raw.append(tag.strip())
            tags.append(_map_tag(tag.strip(), mapping))
    if words:
        sentences.append((_recase(words, raw) if recase else words, tags))
    # Re-validate BIO: a mapped-away B- can leave a dangling I- (NERP EVT inside nothing).
    fixed: list[Sentence] = []
    for w, t in sentences:
        out: list[str] = []
        prev = "O"
        for tag in t:
            if tag.startswith("I-") and prev[2:] != tag[2:]:
                tag = "B-" + tag[2:]
            out.append(tag)
            prev = tag
        fixed.append((w, out))
    return fixed


def span_set(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """Exact entity spans of a BIO sequence."""
    return set(bio_to_spans(tags))


def score_spans(gold: Iterable[Sequence[str]], pred: Iterable[Sequence[str]]) -> dict[str, dict[str, float]]:
    """Entity-level precision/recall/F1 (exact span and type), micro and per type.

    Returns ``{"micro": {...}, "PER": {...}, ...}`` with keys p, r, f1, support.
    """
    tp: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        gs, ps = span_set(g), span_set(p)
        for s in gs:
            n_gold[s[2]] += 1
        for s in ps:
            n_pred[s[2]] += 1
        for s in gs & ps:
            tp[s[2]] += 1

    def prf(t: int, np_: int, ng: int) -> dict[str, float]:
        p = t / np_ if np_ else 0.0
        r = t / ng if ng else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"p": round(p, 4), "r": round(r, 4), "f1": round(f, 4), "support": ng}

    out = {"micro": prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))}
    for t in ("PER", "ORG", "LOC"):
        out[t] = prf(tp[t], n_pred[t], n_gold[t])
    return out
