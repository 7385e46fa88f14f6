"""Train the CRF NER model: ``python -m services.enrich.nlp.train_ner``.

Reads only the *train* splits under ``../shared/data/ner/`` (never dev), writes
``models/ner.crfsuite``, ``models/ner_config.json`` and ``models/ner_metrics.json`` (dev scores,
for the record; the eval script recomputes them). Deterministic for a given config.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pycrfsuite

from .ner import (
    CASE_LEXICON_PATH,
    CLUSTERS_PATH,
    GAZETTEER_MAX_TOKENS,
    GAZETTEER_PATH,
    MODEL_DIR,
    VECTORS_PATH,
    Gazetteer,
    NerTagger,
    bio_to_spans,
    case_lexicon,
    sentence_features,
    train_gazetteer,
    word_clusters,
    word_vectors,
)
from .ner_data import Sentence, read_corpus, score_spans

# Chosen by measurement (docs/nlp.md): NERP (lower-cased, as is or re-cased) and dense word
# vectors both lowered dev F1, so they are off; NERUI has no licence and is never used.
DEFAULT_CONFIG: dict[str, Any] = {
    "train_corpora": ["idner-news-2k", "nergrit"],
    "recase_corpora": [],
    "case_lexicon": True,
    "word_clusters": True,
    "word_vectors": False,
    "algorithm": "lbfgs",
    # Chosen by 3-fold cross-validation over the train splits (``make cv-ner``,
    # evals/results/ner_cv.json; a unit test checks this agrees): pure L2 at c2 = 1.2 had the best
    # mean fold score, 0.7794 ± 0.0106, against 0.7792 (c2 = 0.6), 0.7781 (c2 = 0.3) and 0.7788
    # (c1 = 0.05, c2 = 0.3): within the spread across folds. The train-name gazetteer is a clear
    # gain (0.7659 without it).
    "c1": 0.0,
    "c2": 1.2,
    "max_iterations": 500,
    "feature.possible_transitions": True,
    # Train-name gazetteer feature (docs/nlp.md), jackknifed over this many folds in training.
    "gazetteer_folds": 4,
}


def build_gazetteer(sentences: list[Sentence]) -> Gazetteer:
    """Lower-cased entity names (<= GAZETTEER_MAX_TOKENS tokens) -> majority type."""
    counts: dict[tuple[str, ...], Counter[str]] = {}
    for words, tags in sentences:
        for a, b, etype in bio_to_spans(tags):
            if b - a <= GAZETTEER_MAX_TOKENS:
                counts.setdefault(tuple(w.lower() for w in words[a:b]), Counter())[etype] += 1
    # Ties go to the alphabetically first type, so the result does not depend on order.
    return {name: min(c, key=lambda t: (-c[t], t)) for name, c in counts.items()}


def write_gazetteer(gazetteer: Gazetteer, path: Path) -> None:
    by_type: dict[str, list[str]] = {}
    for name, etype in gazetteer.items():
        by_type.setdefault(etype, []).append(" ".join(name))
    payload = {"names": {t: sorted(v) for t, v in sorted(by_type.items())}}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


def default_data_root() -> Path:
    """``../shared/data`` relative to the repo root (the working directory)."""
    return Path.cwd().parent / "shared" / "data"


def build_case_lexicon(data_root: Path, out_path: Path, min_count: int = 3) -> int:
    """Word -> capitalisation bucket from unlabelled IndoSum news text (all folds).

    Counts only non-sentence-initial occurrences, where capitalisation is informative. Buckets:
    "C" (>= 90% capitalised), "M" (50-90%), "m" (10-50%), "l" (< 10%). Only word statistics are
    stored, never text. Returns the number of words written.
    """
    caps: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for path in sorted((data_root / "summarization" / "indosum").glob("dev.*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                for para in doc["paragraphs"]:
                    for sent in para:
                        for i, word in enumerate(sent):
                            if i == 0 or not word[:1].isalpha():
                                continue
                            prev = sent[i - 1]
                            if prev in {'"', "“", "'", "(", ":", "."}:
                                continue
                            low = word.lower()
                            total[low] += 1
                            if word[:1].isupper():
                                caps[low] += 1
    lexicon: dict[str, str] = {}
    for low, n in sorted(total.items()):
        if n < min_count:
            continue
        ratio = caps[low] / n
        lexicon[low] = "C" if ratio >= 0.9 else "M" if ratio >= 0.5 else "m" if ratio >= 0.1 else "l"
    out_path.write_text(json.dumps(lexicon, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return len(lexicon)


def _unlabelled_sentences(data_root: Path) -> list[list[str]]:
    """IndoSum sentences (all folds) plus NER *train* sentences (labels unused), as token lists."""
    out: list[list[str]] = []
    for path in sorted((data_root / "summarization" / "indosum").glob("dev.*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                for para in json.loads(line)["paragraphs"]:
                    out.extend(para)
    for corpus in ("idner-news-2k", "nergrit"):
        out.extend(words for words, _ in read_corpus(data_root, corpus, "train"))
    return out


def build_word_clusters(
    data_root: Path,
    out_path: Path,
    sizes: tuple[int, ...] = (64, 256, 1024),
    dims: int = 80,
    seed: int = 13,
    vectors_path: Path | None = None,
    vector_dims: int = 24,
) -> int:
    """Distributional word clusters: PPMI of left/right neighbours -> SVD -> k-means.

    A cheap stand-in for Brown clusters. Only cluster ids are stored. Deterministic for a seed.
    Returns the number of words clustered.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import svds

    sents = [[w.lower() for w in s] for s in _unlabelled_sentences(data_root)]
    freq: Counter[str] = Counter(w for s in sents for w in s)
    vocab = [w for w, n in freq.most_common() if n >= 3]
    index = {w: i for i, w in enumerate(vocab)}
    ctx_words = [w for w, _ in freq.most_common(3000)]
    cidx = {w: i for i, w in enumerate(ctx_words)}
    pairs: Counter[tuple[int, int]] = Counter()
    nc = len(ctx_words)
    for s in sents:
        for i, w in enumerate(s):
            wi = index.get(w)
            if wi is None:
                continue
            if i > 0 and s[i - 1] in cidx:
                pairs[(wi, cidx[s[i - 1]])] += 1
            if i + 1 < len(s) and s[i + 1] in cidx:
                pairs[(wi, nc + cidx[s[i + 1]])] += 1
    rows, cols, vals = zip(*((r, c, v) for (r, c), v in pairs.items()), strict=True)
    m = coo_matrix((np.array(vals, dtype=np.float64), (rows, cols)), shape=(len(vocab), 2 * nc)).tocsr()
    total = m.sum()
    rs = np.asarray(m.sum(axis=1)).ravel()
    cs = np.asarray(m.sum(axis=0)).ravel() ** 0.75
    cs = cs / cs.sum() * total
    m = m.tocoo()
    pmi = np.log(m.data * total / (rs[m.row] * cs[m.col]))
    keep = pmi > 0
    ppmi = coo_matrix((pmi[keep], (m.row[keep], m.col[keep])), shape=m.shape).tocsr()
    rng = np.random.default_rng(seed)
    u, sv, _ = svds(ppmi, k=dims, v0=rng.standard_normal(min(ppmi.shape)))
    order = np.argsort(-sv)  # svds returns ascending singular values
    u, sv = u[:, order], sv[order]
    emb = u * np.sqrt(sv)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9
    if vectors_path is not None:
        # Dense features for the CRF: the leading dimensions, rounded to keep the file small.
        vec = emb[:, :vector_dims] / (np.abs(emb[:, :vector_dims]).max(axis=0) + 1e-9)
        payload = {w: [round(float(x), 2) for x in row] for w, row in zip(vocab, vec, strict=True)}
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        # mtime=0 keeps the gzip bytes identical between runs.
        with gzip.GzipFile(vectors_path, "wb", compresslevel=9, mtime=0) as fh:
            fh.write(raw)
    labels: dict[str, list[int]] = {w: [] for w in vocab}
    for k in sizes:
        centers = emb[rng.choice(len(vocab), size=k, replace=False)]
        for _ in range(15):
            assign = np.argmax(emb @ centers.T, axis=1)
            for c in range(k):
                members = emb[assign == c]
                if len(members):
                    v = members.sum(axis=0)
                    centers[c] = v / (np.linalg.norm(v) + 1e-9)
        assign = np.argmax(emb @ centers.T, axis=1)
        for w, a in zip(vocab, assign.tolist(), strict=True):
            labels[w].append(a)
    out_path.write_text(
        json.dumps({"sizes": list(sizes), "clusters": labels}, ensure_ascii=False, separators=(",", ":")) + "\n",
        encoding="utf-8",
    )
    return len(vocab)


def train(config: dict[str, Any], data_root: Path, out_dir: Path, verbose: bool = False) -> dict[str, Any]:
    """Train a model per ``config`` and return its dev metrics. Writes into ``out_dir``."""
    if config.get("case_lexicon", True):
        build_case_lexicon(data_root, CASE_LEXICON_PATH)
        case_lexicon.cache_clear()
    if config.get("word_clusters", True):
        vectors = VECTORS_PATH if config.get("word_vectors", False) else None
        if vectors is None and VECTORS_PATH.exists():
            VECTORS_PATH.unlink()
        build_word_clusters(data_root, CLUSTERS_PATH, vectors_path=vectors)
        word_clusters.cache_clear()
        word_vectors.cache_clear()
    trainer = pycrfsuite.Trainer(algorithm=config["algorithm"], verbose=verbose)
    sentences: list[Sentence] = []
    for corpus in config["train_corpora"]:
        recase = corpus in config.get("recase_corpora", [])
        sentences.extend(read_corpus(data_root, corpus, "train", recase=recase))
    n = len(sentences)
    folds = int(config.get("gazetteer_folds", 0))
    if folds:
        # Jackknife: a sentence's gazetteer features come from names in the *other* folds, so
        # the CRF learns how far a name seen elsewhere can be trusted (at run time the names of
        # all train sentences are used), not that every training name is in the gazetteer.
        fold_gaz = [build_gazetteer([s for j, s in enumerate(sentences) if j % folds != k]) for k in range(folds)]
        write_gazetteer(build_gazetteer(sentences), GAZETTEER_PATH)
    elif GAZETTEER_PATH.exists():
        GAZETTEER_PATH.unlink()
    train_gazetteer.cache_clear()
    for j, (words, tags) in enumerate(sentences):
        trainer.append(sentence_features(words, fold_gaz[j % folds] if folds else {}), tags)
    params = {
        k: v
        for k, v in config.items()
        if k
        not in {
            "train_corpora",
            "algorithm",
            "case_lexicon",
            "word_clusters",
            "word_vectors",
            "recase_corpora",
            "gazetteer_folds",
        }
    }
    trainer.set_params(params)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "ner.crfsuite"
    t0 = time.perf_counter()
    trainer.train(str(model_path))
    train_s = time.perf_counter() - t0

    tagger = NerTagger(model_path)
    metrics: dict[str, Any] = {"train_sentences": n, "train_seconds": round(train_s, 1), "dev": {}}
    for corpus in ("idner-news-2k", "nergrit", "nerp"):
        dev = read_corpus(data_root, corpus, "dev")
        pred = [tagger.tag_tokens(w) for w, _ in dev]
        metrics["dev"][corpus] = score_spans([t for _, t in dev], pred)
    (out_dir / "ner_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out_dir / "ner_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", type=Path, default=default_data_root())
    parser.add_argument("--out-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--config", type=Path, help="JSON config overriding the defaults")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    config = dict(DEFAULT_CONFIG)
    if args.config:
        config.update(json.loads(args.config.read_text(encoding="utf-8")))
    metrics = train(config, args.data_root, args.out_dir, args.verbose)
    summary = {c: m["micro"]["f1"] for c, m in metrics["dev"].items()}
    print(json.dumps({"out_dir": str(args.out_dir), "dev_f1": summary}), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
