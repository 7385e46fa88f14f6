"""Evaluate Indonesian NLP enrichment; writes ``evals/results/nlp.json``.

Run from the repo root: ``python -m evals.eval_nlp``. Reads ``../shared/data/`` (dev splits
and held-out IndoSum fold only). Sections:
- ``ner``: entity P/R/F1 (exact span + type), micro and per type, on idner-news-2k dev,
  NERGrit valid and NERP valid, for the CRF alone and for CRF + dictionary (the run-time path);
- ``summary``: ROUGE-1/2/L F1 of the fitted scorer and of LEAD-3 on the held-out IndoSum fold;
- ``langid``: accuracy on a labelled set (see ``docs/nlp.md``);
- ``throughput``: articles/s per core of ``annotate`` on held-out IndoSum articles, and peak RSS.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from services.enrich.nlp import _summary as nlp_summary
from services.enrich.nlp import annotate, warm_up
from services.enrich.nlp.canonical import load_dictionary
from services.enrich.nlp.cli import annotate_main
from services.enrich.nlp.entities import merge_mentions
from services.enrich.nlp.langid import load_identifier
from services.enrich.nlp.ner import Mention, NerTagger, bio_to_spans
from services.enrich.nlp.ner_data import read_corpus, score_spans
from services.enrich.nlp.rouge import rouge
from services.enrich.nlp.text import split_sentences, tokenize
from services.enrich.nlp.train_summarizer import HELD_OUT_FOLDS, evaluate, flat_sentences, load_indosum, slug_title

REPO = Path(__file__).resolve().parent.parent
LANGID_FIXTURE = REPO / "tests" / "unit" / "nlp" / "fixtures" / "langid_eval.jsonl"


def _tags_with_dictionary(words: list[str], crf_tags: list[str]) -> list[str]:
    """Run-time merge (CRF + dictionary) on a pre-tokenised sentence, back to BIO tags."""
    offsets = []
    pos = 0
    for w in words:
        offsets.append((pos, pos + len(w)))
        pos += len(w) + 1
    text = " ".join(words)
    crf = [Mention(offsets[a][0], offsets[b - 1][1], t, "") for a, b, t in bio_to_spans(crf_tags)]
    merged = merge_mentions(crf, load_dictionary(), text, [(0, len(text))])
    start_idx = {s: i for i, (s, _) in enumerate(offsets)}
    end_idx = {e: i for i, (_, e) in enumerate(offsets)}
    tags = ["O"] * len(words)
    for m in merged:
        a, b = start_idx.get(m.start), end_idx.get(m.end)
        if a is None or b is None:
            continue
        tags[a] = "B-" + m.type
        for i in range(a + 1, b + 1):
            tags[i] = "I-" + m.type
    return tags


def eval_ner(data_root: Path) -> dict[str, Any]:
    tagger = NerTagger()
    out: dict[str, Any] = {}
    for corpus in ("idner-news-2k", "nergrit", "nerp"):
        dev = read_corpus(data_root, corpus, "dev")
        gold = [t for _, t in dev]
        crf = [tagger.tag_tokens(w) for w, _ in dev]
        merged = [_tags_with_dictionary(w, p) for (w, _), p in zip(dev, crf, strict=True)]
        out[corpus] = {
            "split": "valid" if corpus != "idner-news-2k" else "dev",
            "sentences": len(dev),
            "crf": score_spans(gold, crf),
            "crf_plus_dictionary": score_spans(gold, merged),
        }
    return out


def eval_summary(data_root: Path) -> dict[str, Any]:
    model = json.loads((REPO / "services/enrich/nlp/models/summarizer.json").read_text(encoding="utf-8"))
    docs = load_indosum(data_root, HELD_OUT_FOLDS)
    scorer = evaluate(docs, model["weights"], int(model["k"]))
    lead3 = evaluate(docs, None, 3)
    # The same comparison through the run-time path: raw text, Warta's own sentence splitter.
    runtime = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    runtime_lead3 = dict(runtime)
    for doc in docs:
        text = _article_text(doc)
        sentences = split_sentences(text)
        title = " ".join(slug_title(doc) or [])
        ref = [t for s in doc["summary"] for t in s]
        ours = [t.text for sent in nlp_summary(text, sentences, title) for t in tokenize(sent)]
        lead = [t.text for s, e in sentences[:3] for t in tokenize(text[s:e])]
        for key, v in rouge(ours, ref).items():
            runtime[key] += v
        for key, v in rouge(lead, ref).items():
            runtime_lead3[key] += v
    runtime = {k: round(100 * v / len(docs), 2) for k, v in runtime.items()}
    runtime_lead3 = {k: round(100 * v / len(docs), 2) for k, v in runtime_lead3.items()}
    return {
        "held_out_folds": list(HELD_OUT_FOLDS),
        "fit_folds": model["fit_folds"],
        "articles": len(docs),
        "scorer": scorer,
        "lead3": lead3,
        "rouge1_gain_over_lead3": round(scorer["rouge1"] - lead3["rouge1"], 2),
        "k": model["k"],
        "runtime_path": {
            "scorer": runtime,
            "lead3": runtime_lead3,
            "rouge1_gain_over_lead3": round(runtime["rouge1"] - runtime_lead3["rouge1"], 2),
            "note": "raw detokenised text through annotate's sentence splitter and summariser",
        },
    }


def _article_text(doc: dict[str, Any]) -> str:
    """Detokenise an IndoSum article roughly (paragraphs on lines) for the run-time path."""
    paras = []
    for para in doc["paragraphs"]:
        sents = [" ".join(s) for s in para]
        paras.append(" ".join(sents))
    text = "\n".join(paras)
    for p in (" ,", " .", " ?", " !", " )", " :", " ;"):
        text = text.replace(p, p[1:])
    return text.replace("( ", "(")


def eval_langid(data_root: Path, n_real: int = 150) -> dict[str, Any]:
    ident = load_identifier()
    items: list[tuple[str, str, str]] = []
    for line in LANGID_FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            c = json.loads(line)
            items.append((c["lang"], c["text"], "self-written sentence"))
    for doc in load_indosum(data_root, HELD_OUT_FOLDS)[:n_real]:
        items.append(("id", _article_text(doc)[:600], "IndoSum held-out article start"))
    gt_dir = data_root / "extraction" / "wcxb-dev-articles" / "ground-truth"
    n_en = 0
    for path in sorted(gt_dir.glob("*.json")):
        if n_en >= n_real:
            break
        content = json.loads(path.read_text(encoding="utf-8"))["ground_truth"]["main_content"] or ""
        # The benchmark is "mostly English": keep pages that clearly are.
        if len(content) >= 300 and content.lower().count(" the ") >= 5:
            items.append(("en", content[:600], "WCXB dev article start"))
            n_en += 1
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    confusion: Counter[str] = Counter()
    for lang, text, _ in items:
        pred, _conf = ident.predict(text)
        total[lang] += 1
        if pred == lang:
            correct[lang] += 1
        else:
            confusion[f"{lang}->{pred}"] += 1
    return {
        "accuracy": round(sum(correct.values()) / sum(total.values()), 4),
        "per_language": {k: {"n": total[k], "accuracy": round(correct[k] / total[k], 4)} for k in sorted(total)},
        "errors": dict(confusion),
        "sources": {
            "id": "IndoSum held-out fold article starts (600 chars) + self-written sentences",
            "en": "WCXB dev ground-truth article starts (600 chars) + self-written sentences",
            "jv/su/ms": "self-written held-out sentences (tests/unit/nlp/fixtures/langid_eval.jsonl)",
        },
    }


def eval_throughput(data_root: Path, n: int = 200) -> dict[str, Any]:
    """Articles/s through ``annotate_main``, the function behind ``warta nlp annotate``."""
    docs = load_indosum(data_root, HELD_OUT_FOLDS)[:n]
    texts = [_article_text(d) for d in docs]
    lines = "".join(
        json.dumps({"id": d["id"], "text": t, "title": " ".join(slug_title(d) or [])}) + "\n"
        for d, t in zip(docs, texts, strict=True)
    )
    warm_up()
    annotate(texts[0])
    out = io.StringIO()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    annotate_main(io.StringIO(lines), out)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    produced = [json.loads(line) for line in out.getvalue().splitlines()]
    errors = sum("error" in row for row in produced)
    chars = sum(len(t) for t in texts)
    return {
        "articles": len(texts),
        "output_lines": len(produced),
        "errors": errors,
        "mean_chars": round(chars / len(texts)),
        "mean_sentences": round(sum(len(flat_sentences(d)) for d in docs) / len(docs), 1),
        "articles_per_second_per_core": round(len(texts) / cpu, 1),
        "wall_articles_per_second": round(len(texts) / wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "note": (
            "JSON lines through annotate_main (warta nlp annotate) in one thread; the per-core rate "
            "uses process CPU time so other load on the machine does not skew it; peak RSS is of "
            "the whole eval process, so an upper bound for a worker"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "evals" / "results" / "nlp.json")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {}
    report["throughput"] = eval_throughput(args.data_root)
    report["ner"] = eval_ner(args.data_root)
    report["summary"] = eval_summary(args.data_root)
    report["langid"] = eval_langid(args.data_root)
    report["targets"] = {
        "ner_f1_idner_dev>=0.80": report["ner"]["idner-news-2k"]["crf_plus_dictionary"]["micro"]["f1"] >= 0.80,
        "ner_f1_nergrit_valid>=0.75": report["ner"]["nergrit"]["crf_plus_dictionary"]["micro"]["f1"] >= 0.75,
        "rouge1>=lead3+2": report["summary"]["rouge1_gain_over_lead3"] >= 2.0,
        "throughput>=25/s/core": report["throughput"]["articles_per_second_per_core"] >= 25,
        "peak_rss<=1GB": report["throughput"]["peak_rss_mb"] <= 1024,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    json.dump(report["targets"], sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
