"""Agreement of the two labelling passes of the evaluation set, and the disagreements to adjudicate.

python -m evals.tone.agreement            # kappa per label kind
python -m evals.tone.agreement --list     # every disagreement, for the adjudicator
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence

from services.enrich.nlp.train_tone import TONE_SETS, read_jsonl, read_labels


def kappa(a: Sequence[str], b: Sequence[str]) -> float:
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return round((observed - expected) / (1 - expected), 4) if expected < 1 else 1.0


def passes() -> tuple[dict, dict]:  # type: ignore[type-arg]
    labels = TONE_SETS / "labels"
    return read_labels(sorted(labels.glob("eval-a-*.jsonl"))), read_labels(sorted(labels.glob("eval-b-*.jsonl")))


def pairs() -> dict[str, list[tuple[str, str, str]]]:
    """(item, label A, label B) per kind: headline, body, entity (invalid counts as a label)."""
    a, b = passes()
    out: dict[str, list[tuple[str, str, str]]] = {"headline": [], "body": [], "entity": []}
    for article in read_jsonl(TONE_SETS / "eval-articles.jsonl"):
        la, lb = a.get(article["id"]), b.get(article["id"])
        if la is None or lb is None:
            continue
        if article["title"]:
            out["headline"].append((article["id"], la["headline"], lb["headline"]))
        out["body"].append((article["id"], la["body"], lb["body"]))
        for e in article["entities"]:
            out["entity"].append(
                (f"{article['id']}#{e['key']}", la["entities"][e["key"]]["label"], lb["entities"][e["key"]]["label"])
            )
    return out


def main(argv: list[str]) -> int:
    for kind, rows in pairs().items():
        agree = sum(x == y for _, x, y in rows)
        print(
            f"{kind}: {len(rows)} items, {agree} agree ({agree / max(1, len(rows)):.1%}), kappa {kappa([x for _, x, _ in rows], [y for _, _, y in rows])}"
        )
        if "--list" in argv:
            for item, x, y in rows:
                if x != y:
                    print(f"  {item}: A={x} B={y}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
