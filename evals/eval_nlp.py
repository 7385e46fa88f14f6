"""Evaluate Indonesian NLP enrichment; writes ``evals/results/nlp.json``.

Run from the repo root: ``python -m evals.eval_nlp``. Reads ``../shared/data/`` (dev splits
and held-out IndoSum fold only). Sections:
- ``ner``: entity P/R/F1 (exact span + type), micro and per type, on idner-news-2k dev,
  NERGrit valid and NERP valid, for the CRF alone and for CRF + dictionary (the run-time path);
- ``summary``: ROUGE-1/2/L F1 of the fitted scorer and of LEAD-3 on the held-out IndoSum fold;
- ``langid``: accuracy on a labelled set (see ``docs/nlp.md``);
- ``throughput``: articles/s per core of ``annotate`` on held-out IndoSum articles, and peak RSS;
- ``ner_cv``: the cross-validated NER model selection (``evals/results/ner_cv.json``, written by
  ``make cv-ner``), mean ± standard deviation over folds per setting;
- ``institutions``: recall and precision of canonical government-body names on the labelled set
  ``evals/institutions/mentions.jsonl`` (see its README);
- ``datelines``: the demo articles with their outlets' datelines: the dateline is found, is not an
  entity and does not start the summary;
- ``regions``: precision and recall of the articles' primary regions on the hand-labelled set
  ``evals/regions/labelled.jsonl`` (``evals/regions_eval.py``, see ``evals/regions/README.md``).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from evals.regions_eval import eval_regions
from services.enrich.nlp import annotate, warm_up
from services.enrich.nlp.canonical import load_dictionary
from services.enrich.nlp.cli import annotate_main
from services.enrich.nlp.entities import merge_mentions
from services.enrich.nlp.langid import load_identifier
from services.enrich.nlp.ner import Mention, NerTagger, bio_to_spans
from services.enrich.nlp.ner_data import read_corpus, score_spans
from services.enrich.nlp.rouge import rouge
from services.enrich.nlp.summarize import MODEL_PATH as SUMMARY_MODEL_PATH
from services.enrich.nlp.summarize import load_model as load_summary_model
from services.enrich.nlp.text import split_sentences, tokenize
from services.enrich.nlp.train_summarizer import (
    HELD_OUT_FOLDS,
    TRAIN_FOLDS,
    disjoint_from,
    evaluate,
    flat_sentences,
    load_indosum,
    slug_title,
)

REPO = Path(__file__).resolve().parent.parent
LANGID_FIXTURE = REPO / "tests" / "unit" / "nlp" / "fixtures" / "langid_eval.jsonl"
INSTITUTIONS_SET = REPO / "evals" / "institutions" / "mentions.jsonl"
NER_CV_RESULTS = REPO / "evals" / "results" / "ner_cv.json"
DEMO_DATA = REPO / "services" / "ingest" / "demo_sites" / "data"
# The datelines the demo sites' templates write before the first paragraph.
DEMO_DATELINES = {
    "lintasmuria": "KUDUS, Lintas Muria – ",
    "kabarserayu": "PURWOKERTO - ",
    "penadewata": "PENADEWATA.ID - ",
}
# Government bodies (the families of the institution set): an ORG whose canonical name starts so
# is a prediction of one.
_GOV_HEAD = re.compile(
    r"^(?:Pemerintah|Pemerintahan|Pemprov|Pemkab|Pemkot|Pemda|Suku Dinas|Dinas|DPRD|Kepolisian|Polres|Polresta|"
    r"Polrestabes|Polda|Komando Distrik Militer|Kodim|Kementerian|Kementrian|Badan|RSUD|Rumah Sakit Umum Daerah|"
    r"Bappeda)\b"
)


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
    """ROUGE F1 x100 of the shipped summariser and of LEAD-3 on IndoSum ``dev.03``.

    ``dev.03`` is read here only, after the model was chosen by cross-validation on ``dev.01`` +
    ``dev.02`` (``make train-summarizer``; its table is ``evals/results/summarizer_cv.json``).
    The headline rows use the ``dev.03`` articles that are not also in the training pool; the
    ``all_articles`` rows keep the 67 shared ones (the set quoted before cross-validation).
    LEAD-3 is the first three sentences as they are, dateline included.
    """
    model_json = json.loads(SUMMARY_MODEL_PATH.read_text(encoding="utf-8"))
    model = load_summary_model(SUMMARY_MODEL_PATH)
    all_docs = load_indosum(data_root, HELD_OUT_FOLDS)
    docs = disjoint_from(all_docs, load_indosum(data_root, TRAIN_FOLDS))
    disjoint_ids = {d["id"] for d in docs}

    def tokenised(subset: list[dict[str, Any]]) -> dict[str, Any]:
        scorer, lead3 = evaluate(subset, model), evaluate(subset, None)
        return {
            "scorer": scorer,
            "lead3": lead3,
            "rouge1_gain_over_lead3": round(scorer["rouge1"] - lead3["rouge1"], 2),
        }

    # The run-time path: detokenised text and title through ``annotate`` (dateline handling,
    # Warta's sentence splitter, the summariser), as ``warta nlp annotate`` runs it.
    per_doc: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    for doc in all_docs:
        text = _article_text(doc)
        ref = [t for s in doc["summary"] for t in s]
        ours = [t.text for sent in annotate(text, " ".join(slug_title(doc) or []))["summary"] for t in tokenize(sent)]
        lead = [t.text for s, e in split_sentences(text)[:3] for t in tokenize(text[s:e])]
        per_doc[doc["id"]] = (rouge(ours, ref), rouge(lead, ref))

    def runtime(ids: set[str]) -> dict[str, Any]:
        rows = [per_doc[i] for i in ids]
        scorer = {k: round(100 * sum(r[0][k] for r in rows) / len(rows), 2) for k in ("rouge1", "rouge2", "rougeL")}
        lead3 = {k: round(100 * sum(r[1][k] for r in rows) / len(rows), 2) for k in ("rouge1", "rouge2", "rougeL")}
        return {
            "scorer": scorer,
            "lead3": lead3,
            "rouge1_gain_over_lead3": round(scorer["rouge1"] - lead3["rouge1"], 2),
        }

    headline = tokenised(docs)
    return {
        "dev_split": list(HELD_OUT_FOLDS),
        "articles": len(docs),
        "articles_also_in_training_pool": len(all_docs) - len(docs),
        **headline,
        "model": {"config": model_json["config"], "selection": model_json["selection"], "sha256": model_json["sha256"]},
        "cross_validation": model_json["cv"],
        "all_articles": {"articles": len(all_docs), **tokenised(all_docs)},
        "runtime_path": {
            **runtime(disjoint_ids),
            "all_articles": runtime(set(per_doc)),
            "note": "detokenised text and title slug through annotate (the code behind warta nlp annotate)",
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


def _detokenise(words: list[str]) -> str:
    """An IndoSum sentence as running text (how ``evals/institutions`` refers to sentences)."""
    text = " ".join(words)
    for p in (" ,", " .", " ?", " !", " )", " :", " ;"):
        text = text.replace(p, p[1:])
    return text.replace("( ", "(")


def _institution_texts(data_root: Path, refs: list[str]) -> dict[str, str]:
    """Resolve ``indosum:<fold>:<id>:<paragraph>:<sentence>`` and ``demo:<site>:<id>:<paragraph|title>``."""
    import yaml

    out: dict[str, str] = {}
    wanted: dict[str, set[str]] = {}
    for ref in refs:
        kind, group, *_ = ref.split(":")
        wanted.setdefault(f"{kind}:{group}", set()).add(ref)
    for key, group_refs in wanted.items():
        kind, group = key.split(":")
        if kind == "indosum":
            with (data_root / "summarization" / "indosum" / f"{group}.jsonl").open(encoding="utf-8") as fh:
                for line in fh:
                    doc = json.loads(line)
                    for ref in [r for r in group_refs if r.split(":")[2] == doc["id"]]:
                        _, _, _, para, sent = ref.split(":")
                        out[ref] = _detokenise(doc["paragraphs"][int(para)][int(sent)])
        else:
            site = yaml.safe_load((DEMO_DATA / f"{group}.yaml").read_text(encoding="utf-8"))
            articles = {str(a["id"]): a for a in site["articles"]}
            for ref in group_refs:
                _, _, aid, part = ref.split(":")
                article = articles[aid]
                out[ref] = article["title"] if part == "title" else article["paragraphs"][int(part)]
    missing = sorted(set(refs) - set(out))
    if missing:
        raise ValueError(f"institution set refers to text that is not there: {missing[:3]}")
    return out


def _spans(text: str, surfaces: list[str]) -> list[tuple[int, int]]:
    """Character spans of the surfaces, each found after the previous occurrence of the same one."""
    spans = []
    after: dict[str, int] = {}
    for s in surfaces:
        m = re.compile(r"(?<!\w)" + re.escape(s) + r"(?!\w)").search(text, after.get(s, 0))
        if m is None:
            raise ValueError(f"{s!r} not in {text!r}")
        after[s] = m.end()
        spans.append((m.start(), m.end()))
    return spans


def _canon(name: str) -> str:
    return " ".join(name.replace(",", " ").split()).lower()


def eval_institutions(path: Path = INSTITUTIONS_SET, data_root: Path | None = None) -> dict[str, Any]:
    """Recall and precision of canonical government-body names (``evals/institutions/README.md``).

    A gold mention is found when an ORG entity overlaps it with the same canonical name (case and
    commas aside). Predictions are ORG entities whose canonical name starts like a government body
    or that overlap a gold mention; those overlapping an ``ignore`` span (generic or out-of-scope
    bodies: "DPRD" alone, "Polsek") are not counted.
    """
    data_root = data_root or REPO.parent / "shared" / "data"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = _institution_texts(data_root, [r["ref"] for r in rows])
    counts: dict[str, Counter[str]] = {}
    misses: list[dict[str, str]] = []
    false_positives: list[dict[str, str]] = []
    for row in rows:
        text = texts[row["ref"]]
        gold = list(zip(_spans(text, [g["text"] for g in row["gold"]]), row["gold"], strict=True))
        ignore = _spans(text, row["ignore"])
        orgs = [e for e in annotate(text)["entities"] if e["type"] == "ORG"]
        c = counts.setdefault(row["split"], Counter())
        c["sentences"] += 1
        c["gold"] += len(gold)
        used: set[int] = set()
        for (gs, ge), g in gold:
            hit = next(
                (
                    i
                    for i, e in enumerate(orgs)
                    if i not in used
                    and e["start"] < ge
                    and gs < e["end"]
                    and _canon(e["canonical"]) == _canon(g["canonical"])
                ),
                None,
            )
            if hit is None:
                overlapping = [e["canonical"] for e in orgs if e["start"] < ge and gs < e["end"]]
                misses.append({"ref": row["ref"], "gold": g["canonical"], "got": "; ".join(overlapping) or "-"})
                continue
            used.add(hit)
            c["found"] += 1
        for i, e in enumerate(orgs):
            on_gold = any(e["start"] < ge and gs < e["end"] for (gs, ge), _ in gold)
            if not on_gold and not _GOV_HEAD.match(e["canonical"]):
                continue
            if not on_gold and any(e["start"] < ie and is_ < e["end"] for is_, ie in ignore):
                continue
            c["predicted"] += 1
            if i in used:
                c["correct"] += 1
            elif not on_gold:
                false_positives.append({"ref": row["ref"], "text": e["text"], "canonical": e["canonical"]})

    def figures(c: Counter[str]) -> dict[str, Any]:
        return {
            "sentences": c["sentences"],
            "gold_mentions": c["gold"],
            "recall": round(c["found"] / c["gold"], 4) if c["gold"] else None,
            "precision": round(c["correct"] / c["predicted"], 4) if c["predicted"] else None,
            "predicted": c["predicted"],
        }

    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    return {
        "set": str(path.relative_to(REPO)),
        "all": figures(total),
        "per_split": {k: figures(v) for k, v in sorted(counts.items())},
        "misses": misses,
        "false_positives": false_positives,
    }


def eval_datelines() -> dict[str, Any]:
    """Demo articles as their sites print them (dateline before the first paragraph)."""
    import yaml

    n = found = as_entity = in_summary = 0
    places: Counter[str] = Counter()
    for site, dateline in DEMO_DATELINES.items():
        data = yaml.safe_load((DEMO_DATA / f"{site}.yaml").read_text(encoding="utf-8"))
        for article in data["articles"]:
            text = dateline + "\n".join(article["paragraphs"])
            result = annotate(text, article["title"])
            n += 1
            if result["dateline"] is not None:
                found += 1
                places[f"{result['dateline']['name']} ({result['dateline']['region_code']})"] += 1
            head = dateline.split(",")[0].split(" -")[0].strip()
            as_entity += any(text[e["start"] : e["end"]] == head for e in result["entities"])
            in_summary += bool(result["summary"]) and result["summary"][0].startswith(head)
    return {
        "articles": n,
        "datelines_found": found,
        "dateline_places": dict(places),
        "articles_with_dateline_word_as_entity": as_entity,
        "summaries_starting_with_dateline": in_summary,
        "note": "PENADEWATA.ID - is an outlet name without a place, so no dateline is recorded for it",
    }


def ner_cv_summary(path: Path = NER_CV_RESULTS) -> dict[str, Any] | None:
    """The model selection table written by ``make cv-ner`` (not recomputed here: it trains
    one CRF per setting and fold)."""
    if not path.exists():
        return None
    cv = json.loads(path.read_text(encoding="utf-8"))
    return {
        "method": cv["method"],
        "chosen": cv["chosen"],
        "settings": [
            {
                "setting": row["setting"]["name"],
                "score_mean": row["score"]["mean"],
                "score_std": row["score"]["std"],
                "per_corpus": {c: f"{v['mean']:.4f} ± {v['std']:.4f}" for c, v in row["per_corpus"].items()},
            }
            for row in cv["grid"]
        ],
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
    report["ner_cv"] = ner_cv_summary()
    report["institutions"] = eval_institutions(data_root=args.data_root)
    report["datelines"] = eval_datelines()
    report["regions"] = eval_regions(args.data_root)
    report["targets"] = {
        "ner_f1_idner_dev>=0.80": report["ner"]["idner-news-2k"]["crf_plus_dictionary"]["micro"]["f1"] >= 0.80,
        "ner_f1_nergrit_valid>=0.75": report["ner"]["nergrit"]["crf_plus_dictionary"]["micro"]["f1"] >= 0.75,
        "rouge1>=lead3+2.5": report["summary"]["rouge1_gain_over_lead3"] >= 2.5,
        "throughput>=50/s/core": report["throughput"]["articles_per_second_per_core"] >= 50,
        "peak_rss<=1GB": report["throughput"]["peak_rss_mb"] <= 1024,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    json.dump(report["targets"], sys.stdout, indent=2)
    print()
    if report["ner_cv"]:
        print(f"NER model selection: {report['ner_cv']['method']}")
        for row in report["ner_cv"]["settings"]:
            print(f"  {row['setting']:<24} {row['score_mean']:.4f} ± {row['score_std']:.4f}  {row['per_corpus']}")
        print(f"  chosen: {report['ner_cv']['chosen']['name']}")
    for corpus, r in report["ner"].items():
        print(
            f"NER dev {corpus}: CRF F1 {r['crf']['micro']['f1']}, run-time path {r['crf_plus_dictionary']['micro']['f1']}"
        )
    for split, f in report["institutions"]["per_split"].items():
        print(
            f"institutions ({split}): recall {f['recall']}, precision {f['precision']} ({f['gold_mentions']} mentions)"
        )
    print(f"institutions (all): {report['institutions']['all']}")
    print(f"datelines: {json.dumps({k: v for k, v in report['datelines'].items() if k != 'note'}, ensure_ascii=False)}")
    for name in ("primary", "all_regions_found"):
        r = report["regions"][name]
        n = report["regions"]["articles"]
        print(f"regions ({name}): precision {r['precision']}, recall {r['recall']} ({n} articles)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
