"""Tone evaluation (``make eval-tone``): macro-F1 (negative / neutral / positive) of the shipped
model (``services/enrich/nlp/models/tone.json``) against a TF-IDF logistic-regression floor
trained on the same training data in the same run.

Sets, none of them used for training or model selection:
- the CNBC Indonesia headlines dated on or after ``HEADLINE_CUT`` (held out by date);
- NusaX valid (``nusax-id-valid.jsonl``);
- the in-domain evaluation set (``evals/tone/eval-articles.jsonl`` with the adjudicated
  ``eval-labels.jsonl``): per article (body; headline where there is a title) and per
  article–entity pair (pairs labelled ``invalid`` left out).

The floor is word 1–2-gram + character 2–5-gram TF-IDF logistic regression, trained on every
training text (headlines before the cut, NusaX train, the in-domain training bodies and entity
sentences). Per entity it is scored twice: on the entity's sentences, and giving every entity the
floor's label of the whole article. Writes ``evals/results/tone.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from evals.tone.agreement import kappa, pairs
from services.enrich.nlp.text import token_texts
from services.enrich.nlp.tone import LABELS, decide, load_tone_model, tone_of, words_of
from services.enrich.nlp.train_tone import (
    HEADLINE_CUT,
    SENTIMENT,
    TONE_SETS,
    article_layout,
    entity_examples,
    headline_rows,
    labelled,
    macro_f1,
    read_jsonl,
    read_labels,
    training_pairs,
)

RESULTS = Path(__file__).resolve().parent / "results" / "tone.json"


def entity_text(article: dict[str, Any], entity: dict[str, Any]) -> str:
    return " ".join(article["sentences"][k] for k in entity["sentences"])


def floor_model(texts: list[str], labels: list[str]) -> Any:
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        ),
        LogisticRegression(C=4.0, max_iter=5000),
    )
    return model.fit(texts, labels)


def main() -> int:
    model = load_tone_model()
    rows = headline_rows()
    head_train = [r for r in rows if r["date"] < HEADLINE_CUT]
    head_test = [r for r in rows if r["date"] >= HEADLINE_CUT]
    nusax_train = read_jsonl(SENTIMENT / "nusax-id-train.jsonl")
    nusax_valid = read_jsonl(SENTIMENT / "nusax-id-valid.jsonl")
    train_pairs = training_pairs()
    eval_pairs = list(labelled("eval", read_labels([TONE_SETS / "eval-labels.jsonl"])))

    texts = [r["text"] for r in head_train] + [r["text"] for r in nusax_train]
    labels = [r["label"] for r in head_train] + [r["label"] for r in nusax_train]
    for article, label in train_pairs:
        texts.append(" ".join(article["sentences"]))
        labels.append(label["body"])
        for e in article["entities"]:
            got = label["entities"][e["key"]]["label"]
            if got in LABELS:
                texts.append(entity_text(article, e))
                labels.append(got)
    floor = floor_model(texts, labels)

    table: dict[str, dict[str, Any]] = {}

    def row(name: str, gold: list[str], ours: list[str], floors: dict[str, list[str]]) -> None:
        table[name] = {
            "n": len(gold),
            "model": macro_f1(gold, ours),
            **{k: macro_f1(gold, v) for k, v in floors.items()},
        }

    gold = [r["label"] for r in head_test]
    row(
        "headlines (CNBCI, held out by date)",
        gold,
        [model.headline_tone(r["text"])[0] for r in head_test],
        {"floor": list(floor.predict([r["text"] for r in head_test]))},
    )
    gold = [r["label"] for r in nusax_valid]
    row(
        "NusaX valid",
        gold,
        [model.body_tone(words_of(token_texts(r["text"])))[0] for r in nusax_valid],
        {"floor": list(floor.predict([r["text"] for r in nusax_valid]))},
    )
    bodies_gold = [label["body"] for _, label in eval_pairs]
    bodies_ours = [model.body_tone(_words(article))[0] for article, _ in eval_pairs]
    bodies_floor = list(floor.predict([" ".join(a["sentences"]) for a, _ in eval_pairs]))
    row("in-domain, per article (body)", bodies_gold, bodies_ours, {"floor": bodies_floor})
    titled = [(a, label) for a, label in eval_pairs if a["title"]]
    row(
        "in-domain, per article (headline)",
        [label["headline"] for _, label in titled],
        [model.headline_tone(a["title"])[0] for a, _ in titled],
        {"floor": list(floor.predict([a["title"] for a, _ in titled]))},
    )
    e_gold: list[str] = []
    e_ours: list[str] = []
    e_floor: list[str] = []
    e_floor_article: list[str] = []
    examples: list[dict[str, Any]] = []
    for (article, label), floor_body in zip(eval_pairs, bodies_floor, strict=True):
        for entity, feats in entity_examples(article):
            got = label["entities"][entity["key"]]["label"]
            if got not in LABELS:
                continue
            ours = decide(model.entity.proba(feats))[0]
            e_gold.append(got)
            e_ours.append(ours)
            e_floor.append(str(floor.predict([entity_text(article, entity)])[0]))
            e_floor_article.append(floor_body)
            if len(examples) < 40 and ours == got != "neutral":
                examples.append({"article": article["id"], "entity": entity["name"], "label": got})
    row(
        "in-domain, per entity",
        e_gold,
        e_ours,
        {"floor": e_floor, "floor (article label for every entity)": e_floor_article},
    )

    agreement = {kind: kappa([x for _, x, _ in r], [y for _, _, y in r]) for kind, r in pairs().items()}
    speed = _speed(eval_pairs)
    throughput = _annotate_throughput()
    result = {
        "table": table,
        "kappa_before_adjudication": agreement,
        "tone_ms_per_article": speed,
        "annotate_articles_per_second_per_core": throughput,
    }
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'set':<40} {'n':>5} {'model':>7} {'floor':>7}")
    for name, r in table.items():
        extra = "".join(f"  {k}: {v}" for k, v in r.items() if k not in ("n", "model", "floor"))
        print(f"{name:<40} {r['n']:>5} {r['model']:>7} {r['floor']:>7}{extra}")
    print(f"agreement (Cohen's kappa) before adjudication: {agreement}")
    print(f"tone stage: {speed} ms per in-domain article (process time)")
    print(f"warta nlp annotate, articles/s per core: {throughput}")
    print(f"wrote {RESULTS}")
    return 0


def _words(article: dict[str, Any]) -> list[str]:
    _, _, toks = article_layout(article)
    return words_of([t.text for ts in toks for t in ts])


def _annotate_throughput(rounds: int = 3) -> dict[str, float]:
    """Articles/s per core through ``annotate_main`` (``warta nlp annotate``) on the held-out
    IndoSum articles of ``make eval-nlp``, with the tone stage and with it replaced by a constant,
    in alternating rounds of one run; medians."""
    import services.enrich.nlp as nlp
    from evals.eval_nlp import eval_throughput

    data_root = Path(__file__).resolve().parents[2] / "shared" / "data"
    real = nlp.tone_of

    def no_tone(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return {"label": "neutral", "score": 0.0, "headline": None, "body": "neutral"}, []

    with_tone: list[float] = []
    without: list[float] = []
    try:
        for _ in range(rounds):
            nlp.tone_of = no_tone  # type: ignore[assignment]
            without.append(eval_throughput(data_root)["articles_per_second_per_core"])
            nlp.tone_of = real
            with_tone.append(eval_throughput(data_root)["articles_per_second_per_core"])
    finally:
        nlp.tone_of = real
    return {"with_tone": sorted(with_tone)[rounds // 2], "without_tone": sorted(without)[rounds // 2]}


def _speed(eval_pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> float:
    """Median process time of ``tone_of`` per article over three rounds, entities as listed."""
    inputs = []
    for article, _ in eval_pairs:
        text, spans, toks = article_layout(article)
        ents = []
        for e in article["entities"]:
            for k, s, end in e["mentions"]:
                ents.append(
                    {"type": e["type"], "canonical": e["name"], "start": spans[k][0] + s, "end": spans[k][0] + end}
                )
        inputs.append((text, article["title"], spans, toks, ents))
    rounds = []
    for _ in range(3):
        t0 = time.process_time()
        for text, title, spans, toks, ents in inputs:
            tone_of(text, title, spans, toks, ents)
        rounds.append((time.process_time() - t0) / len(inputs) * 1000)
    return round(sorted(rounds)[1], 3)


if __name__ == "__main__":
    raise SystemExit(main())
