"""Build the article–entity pairs of the in-domain tone sets, for labelling by reading.

    python -m evals.tone.build_sets

Articles: the demo sites' articles and the seed story (regional government news) and IndoSum
news articles (``../shared/data/summarization/indosum/``). The **evaluation** set takes the demo
articles, the seed story and articles of IndoSum ``dev.03``; the **training** sets (``train``, and
further batches ``train2`` and ``train3``) take articles of ``dev.01`` and ``dev.02`` only, so no article (nor a
copy of one) is in two sets. Entities are the
persons and organisations the production tagger finds (``annotate``), grouped by canonical name,
at most ``MAX_ENTITIES`` per article, most mentioned first.

Writes ``evals/tone/{eval,train,train2,train3}-articles.jsonl``: one article per line, ``{"id", "title",
"sentences": [...], "entities": [{"key", "name", "type", "sentences": [indices], "mentions": [[sentence, start, end]]}]}``
(mention offsets within their sentence). The labels
live beside them (``eval-labels.jsonl``, ``train-labels.jsonl``); see ``docs/tone.md``.
Deterministic: the same inputs give the same files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.enrich.enrichment import normalize_body
from services.enrich.nlp import annotate
from services.enrich.nlp.text import split_sentences

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT.parent / "shared" / "data"
INDOSUM = DATA / "summarization" / "indosum"
SEED = DATA / "seed" / "klikjateng-blora-ipp-2024.txt"
DEMO_SITES = ("lintasmuria", "kabarserayu", "penadewata", "gemalereng")

MAX_ENTITIES = 4
MAX_SENTENCES = 14
MAX_WORDS = 420
# Articles per set, by IndoSum category: the government, politics and crime news of "tajuk
# utama" first, with some sport and technology so the model meets other news too.
QUOTAS = {
    "eval": {"tajuk utama": 170, "olahraga": 25, "teknologi": 15, "showbiz": 10},
    "train": {"tajuk utama": 260, "olahraga": 45, "teknologi": 25, "showbiz": 20},
    # A second batch of training articles, labelled after the first (same sources, new articles).
    "train2": {"tajuk utama": 300, "olahraga": 50, "teknologi": 40, "showbiz": 30, "hiburan": 30},
    # A third batch: what is left of the news, and more of the other categories.
    "train3": {"tajuk utama": 300, "olahraga": 110, "teknologi": 70, "showbiz": 60, "hiburan": 60, "inspirasi": 6},
}

_SPACE_BEFORE = re.compile(r" ([.,;:!?%)\]])")
_SPACE_AFTER = re.compile(r"([(\[]) ")
_QUOTES = re.compile(r'" ([^"]*?) "')


def detokenize(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = _SPACE_BEFORE.sub(r"\1", text)
    text = _SPACE_AFTER.sub(r"\1", text)
    return _QUOTES.sub(r'"\1"', text).replace("`` ", '"').replace(" ''", '"')


def indosum_articles(files: list[str]) -> Iterator[dict[str, Any]]:
    for name in files:
        with open(INDOSUM / name, encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                paragraphs = [" ".join(detokenize(s) for s in p) for p in d["paragraphs"]]
                yield {
                    "id": f"indosum:{d['id']}",
                    "title": None,
                    "text": "\n\n".join(paragraphs),
                    "category": d["category"],
                }


def demo_articles() -> Iterator[dict[str, Any]]:
    from services.ingest.demo_sites.content import load_site

    for key in DEMO_SITES:
        for a in load_site(key).articles:
            yield {"id": f"demo:{key}:{a.id}", "title": a.title, "text": "\n\n".join(a.paragraphs), "category": "demo"}
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    # The seed story is its body only (its first line is the dateline and lead, not a title).
    yield {"id": "seed:klikjateng-blora", "title": None, "text": "\n\n".join(lines), "category": "demo"}


def _key(article_id: str) -> str:
    return hashlib.sha1(article_id.encode()).hexdigest()


def to_item(article: dict[str, Any]) -> dict[str, Any] | None:
    """The article cut to its first sentences, with its person and organisation groups."""
    body = normalize_body(article["text"])
    spans = split_sentences(body)
    kept: list[tuple[int, int]] = []
    words = 0
    for s, e in spans:
        if len(kept) >= MAX_SENTENCES or words > MAX_WORDS:
            break
        kept.append((s, e))
        words += len(body[s:e].split())
    if not kept:
        return None
    body = body[: kept[-1][1]]
    nlp = annotate(body, article["title"])
    if nlp["language"] != "id":
        return None
    sentences = [body[s:e] for s, e in split_sentences(body)]
    bounds = [s for s, _ in split_sentences(body)]
    groups: dict[tuple[str, str], set[int]] = {}
    mentions: dict[tuple[str, str], list[list[int]]] = {}
    first: dict[tuple[str, str], int] = {}
    for ent in nlp["entities"]:
        if ent["type"] not in ("PER", "ORG"):
            continue
        k = (ent["type"], ent["canonical"])
        idx = max(i for i, b in enumerate(bounds) if b <= ent["start"])
        groups.setdefault(k, set()).add(idx)
        mentions.setdefault(k, []).append([idx, ent["start"] - bounds[idx], ent["end"] - bounds[idx]])
        first.setdefault(k, ent["start"])
    ranked = sorted(groups, key=lambda k: (-len(groups[k]), first[k]))[:MAX_ENTITIES]
    if not ranked:
        return None
    entities = [
        {
            "key": f"e{n}",
            "name": name,
            "type": typ,
            "sentences": sorted(groups[(typ, name)]),
            "mentions": mentions[(typ, name)],
        }
        for n, (typ, name) in enumerate(sorted(ranked, key=lambda k: first[k]))
    ]
    return {
        "id": article["id"],
        "title": article["title"],
        "category": article["category"],
        "sentences": sentences,
        "entities": entities,
    }


def select(pool: Iterator[dict[str, Any]], quotas: dict[str, int], seen: set[str]) -> list[dict[str, Any]]:
    """Articles by quota and category, in a fixed pseudo-random order (hash of the id)."""
    by_category: dict[str, list[dict[str, Any]]] = {}
    for a in pool:
        fingerprint = normalize_body(a["text"])[:200]
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        by_category.setdefault(a["category"], []).append(a)
    out: list[dict[str, Any]] = []
    for category, quota in quotas.items():
        taken = 0
        for a in sorted(by_category.get(category, []), key=lambda a: _key(a["id"])):
            if taken >= quota:
                break
            item = to_item(a)
            if item is not None:
                out.append(item)
                taken += 1
    return out


def main() -> int:
    seen: set[str] = set()
    demo = [item for a in demo_articles() if (item := to_item(a)) is not None]
    for a in demo:
        seen.add(normalize_body(" ".join(a["sentences"]))[:200])
    eval_items = demo + select(indosum_articles(["dev.03.jsonl"]), QUOTAS["eval"], seen)
    before_train = set(seen)
    train_items = select(indosum_articles(["dev.01.jsonl", "dev.02.jsonl"]), QUOTAS["train"], seen)
    # The second batch: the next articles of the same pool, not the first batch's.
    taken = before_train | {normalize_body(" ".join(a["sentences"]))[:200] for a in train_items}
    first_batch = {a["id"] for a in train_items}
    pool = (a for a in indosum_articles(["dev.01.jsonl", "dev.02.jsonl"]) if a["id"] not in first_batch)
    # ``select`` marks every article it looks at as seen: later batches start from a copy.
    train2_items = select(pool, QUOTAS["train2"], set(taken))
    taken |= {normalize_body(" ".join(a["sentences"]))[:200] for a in train2_items}
    earlier = first_batch | {a["id"] for a in train2_items}
    pool = (a for a in indosum_articles(["dev.01.jsonl", "dev.02.jsonl"]) if a["id"] not in earlier)
    train3_items = select(pool, QUOTAS["train3"], taken)
    batches = (("eval", eval_items), ("train", train_items), ("train2", train2_items), ("train3", train3_items))
    for name, items in batches:
        path = HERE / f"{name}-articles.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        pairs = sum(len(i["entities"]) for i in items)
        print(f"{path.relative_to(ROOT)}: {len(items)} articles, {pairs} article-entity pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
