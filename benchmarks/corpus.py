"""Realistic Indonesian articles for benchmarks, generated from the IndoSum development data
(read from ../shared/data at benchmark time; never shipped)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.ids import article_id
from shared.schemas import EnrichedArticle

ROOT = Path(__file__).resolve().parents[1]
INDOSUM = ROOT.parent / "shared" / "data" / "summarization" / "indosum"
OUTLETS = [
    "klikjateng.example", "suarablora.example", "kabarpantura.example", "radarkudus.example", "jatengpos.example",
    "balipost.example", "lombokpost.example", "kaltimnews.example", "sumutpos.example", "riaupos.example",
    "jogjainfo.example", "banyumasnews.example", "tegalpos.example", "pekalonganku.example", "magelangku.example",
    "surakartanews.example", "semarangpos.example", "rembangku.example", "demakterkini.example", "jeparanews.example",
]  # fmt: skip

_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}”’])")
_NO_SPACE_AFTER = re.compile(r"([(\[{“‘]) ")


def detokenize(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    return _NO_SPACE_AFTER.sub(r"\1", text)


def indosum_articles(limit: int | None = None) -> list[dict[str, str]]:
    """IndoSum articles as {"id", "title", "text"}; paragraphs separated by blank lines."""
    out = []
    for path in sorted(INDOSUM.glob("dev.*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            paragraphs = [" ".join(detokenize(s) for s in para) for para in rec["paragraphs"]]
            text = "\n\n".join(p for p in paragraphs if p.strip())
            title = detokenize(rec["paragraphs"][0][0])[:120]
            out.append({"id": rec["id"], "title": title, "text": text, "category": rec.get("category", "")})
            if limit and len(out) >= limit:
                return out
    return out


def variants(bases: list[dict[str, Any]], n: int, seed: int = 7) -> Iterator[tuple[int, dict[str, Any], str]]:
    """Yield ``n`` (index, base, text) variants: each base re-published by several outlets with
    paragraphs reordered and its own date, like syndicated regional news."""
    rng = random.Random(seed)
    for i in range(n):
        base = bases[i % len(bases)]
        paras = str(base["text"]).split("\n\n")
        if len(paras) > 2 and rng.random() < 0.5:
            head, tail = paras[:1], paras[1:]
            rng.shuffle(tail)
            paras = head + tail
        yield i, base, "\n\n".join(paras)


def random_date(rng: random.Random, days: int = 365, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(seconds=rng.randint(0, days * 86400))


def enriched_bases(limit: int | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """The IndoSum development articles, each through the real enrichment once, as
    {"id", "text", "enriched"} (the input of :func:`enriched_variants`). Slow: the NLP runs here."""
    from services.enrich.enrichment import enrich
    from shared.schemas import RawArticle

    now = now or datetime.now(UTC)
    bases = []
    for a in indosum_articles(limit):
        url = f"https://bench.example/{a['id']}"
        raw = RawArticle(id=a["id"][:24], url=url, canonical_url=url, title=a["title"], text=a["text"],
                         source="bench.example", ingested_at=now)  # fmt: skip
        bases.append({"id": a["id"], "text": a["text"], "enriched": enrich(raw)})
    return bases


def enriched_variants(
    bases: list[dict[str, Any]], n: int, seed: int = 11, now: datetime | None = None
) -> Iterator[EnrichedArticle]:
    """``n`` enriched articles from ``bases``, generated one at a time (nothing is kept): the
    variants of :func:`variants` under their own outlet, URL, id and publication date within the
    year before ``now``, five copies of a base to a story. The same ``bases``, ``n``, ``seed`` and
    ``now`` give the same articles in the same order."""
    rng = random.Random(seed)
    for i, base, text in variants(bases, n):
        e: EnrichedArticle = base["enriched"]
        outlet = OUTLETS[rng.randrange(len(OUTLETS))]
        url = f"https://{outlet}/berita/{i}"
        yield e.model_copy(update={
            "id": article_id(url), "url": url, "canonical_url": url, "source": outlet, "text": text, "body": text,
            "published_at": random_date(rng, now=now), "story_id": f"{base['id'][:20]}-{(i // len(bases)) // 5}",
        })  # fmt: skip
