"""Reading and checking tool for labelling the tone sets (guidelines: ``docs/tone.md``).

    python -m evals.tone.label_tool show eval 0 20      # articles 0..19 of eval-articles.jsonl
    python -m evals.tone.label_tool check FILE eval 0 119  # is FILE complete and well-formed?

A label line is ``{"id": article id, "headline": label or null, "body": label,
"entities": {"e0": {"label": label or "invalid", "evidence": sentence index or null}, ...}}``
with ``label`` one of positive / negative / neutral. ``headline`` is null exactly when the article
has no title.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LABELS = ("positive", "negative", "neutral")


def load_articles(name: str) -> list[dict[str, Any]]:
    with open(HERE / f"{name}-articles.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def show(name: str, start: int, end: int) -> None:
    for n, a in enumerate(load_articles(name)[start:end], start):
        print(f"=== [{n}] {a['id']}")
        print(f"TITLE: {a['title']}" if a["title"] else "TITLE: (none)")
        for i, s in enumerate(a["sentences"]):
            print(f"  ({i}) {s}")
        for e in a["entities"]:
            print(f"  ENTITY {e['key']}: {e['name']} [{e['type']}] in sentences {e['sentences']}")
        print()


def check_line(label: dict[str, Any], article: dict[str, Any]) -> list[str]:
    errors = []
    if article["title"] is None and label.get("headline") is not None:
        errors.append("headline must be null: the article has no title")
    if article["title"] is not None and label.get("headline") not in LABELS:
        errors.append(f"headline must be one of {LABELS}")
    if label.get("body") not in LABELS:
        errors.append(f"body must be one of {LABELS}")
    entities = label.get("entities", {})
    for e in article["entities"]:
        got = entities.get(e["key"])
        if not isinstance(got, dict) or got.get("label") not in (*LABELS, "invalid"):
            errors.append(f"entity {e['key']} needs a label")
            continue
        ev = got.get("evidence")
        if ev is not None and not (isinstance(ev, int) and 0 <= ev < len(article["sentences"])):
            errors.append(f"entity {e['key']}: evidence must be a sentence index or null")
    return errors


def check(path: str, name: str, start: int, end: int) -> int:
    articles = {a["id"]: a for a in load_articles(name)[start:end]}
    seen: set[str] = set()
    problems = 0
    with open(path, encoding="utf-8") as fh:
        for k, line in enumerate(fh, 1):
            if not line.strip():
                continue
            label = json.loads(line)
            article = articles.get(label.get("id"))
            if article is None:
                print(f"line {k}: id {label.get('id')!r} is not in {name} [{start}:{end}]")
                problems += 1
                continue
            seen.add(article["id"])
            for err in check_line(label, article):
                print(f"line {k} ({article['id']}): {err}")
                problems += 1
    missing = [i for i in articles if i not in seen]
    print(f"{len(seen)} of {len(articles)} articles labelled; {len(missing)} missing; {problems} problems")
    return 1 if problems or missing else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["show"]:
        show(argv[1], int(argv[2]), int(argv[3]))
        return 0
    if argv[:1] == ["check"]:
        return check(argv[1], argv[2], int(argv[3]), int(argv[4]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
