"""Generated articles for report tests and the report benchmark: syndicated stories (one to four
outlets carry each), people and institutions with a tone toward them, regions, and one article in
five enriched before tone (no tone at all). Deterministic for a seed; each article is the
:class:`EnrichedArticle` the indexer would receive, so the indexed document is
:func:`services.search.index.to_document` of it."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.search.criteria import JAKARTA
from shared.schemas import EnrichedArticle

# (name, domain): articles of the unnamed outlets are shown by their domain.
OUTLETS = [("Lintas Muria", "lintasmuria.example"), ("Pena Dewata", "penadewata.example"),
           ("Kabar Serayu", "kabarserayu.example"), (None, "suarablora.example"), (None, "radarkudus.example"),
           ("Gema Lereng", "gemalereng.example")]  # fmt: skip
PEOPLE = ["Sri Setyorini", "Arief Rohman", "Hendro Saputro", "Siti Maesaroh"]
INSTITUTIONS = ["Pemerintah Kabupaten Blora", "Dinas Pertanian", "DPRD Jawa Tengah"]
REGIONS = [{"code": "3316", "name": "Kabupaten Blora", "level": "kabupaten_kota"},
           {"code": "3319", "name": "Kabupaten Kudus", "level": "kabupaten_kota"},
           {"code": "33", "name": "Jawa Tengah", "level": "provinsi"},
           {"code": "51", "name": "Bali", "level": "provinsi"}]  # fmt: skip
TOPICS = {
    "banjir": "Banjir merendam permukiman warga di tepi sungai setelah hujan deras semalam.",
    "pasar": "Harga beras di pasar tradisional naik menjelang hari raya.",
    "sekolah": "Sekolah baru diresmikan untuk anak-anak di desa terpencil.",
}
TONES = ["positive", "negative", "neutral"]
START = datetime(2025, 5, 1, tzinfo=JAKARTA)


def make_articles(stories: int, seed: int = 7, days: int = 14,
                  text: Callable[[random.Random], str] | None = None) -> list[EnrichedArticle]:  # fmt: skip
    """About 2.2 articles per story over ``days`` days from 1 May 2025 (WIB). ``text`` adds body
    text after the generated sentences (the benchmark adds real news paragraphs)."""
    rng = random.Random(seed)
    out: list[EnrichedArticle] = []
    for s in range(stories):
        topic = rng.choice(list(TOPICS))
        people = rng.sample(PEOPLE, rng.randint(0, 2))
        orgs = rng.sample(INSTITUTIONS, rng.randint(0, 2))
        regions = rng.sample(REGIONS, rng.randint(0, 2))
        day = START + timedelta(days=rng.randrange(days), hours=rng.randint(6, 20), minutes=rng.randint(0, 59))
        extra = text(rng) if text else ""
        carriers = rng.sample(OUTLETS, rng.choice([1, 1, 2, 3, 4]))
        story_id = f"s{seed}-{s}"
        for m, (outlet, domain) in enumerate(carriers):
            published = day + timedelta(minutes=37 * m)
            out.append(_article(rng, story_id, s, m, topic, people, orgs, regions, published, outlet, domain, extra))
    return out


def _article(rng: random.Random, story_id: str, s: int, m: int, topic: str, people: list[str], orgs: list[str],
             regions: list[dict[str, Any]], published: datetime, outlet: str | None, domain: str,
             extra: str) -> EnrichedArticle:  # fmt: skip
    sentences = [TOPICS[topic]]
    entities, tones = [], []
    body = ""
    for kind, names in (("PER", people), ("ORG", orgs)):
        for name in names:
            sentence = f"Menurut {name}, penanganan terus dilakukan."
            start = len(" ".join(sentences)) + 1 + len("Menurut ")
            sentences.append(sentence)
            entities.append({"start": start, "end": start + len(name), "type": kind, "text": name, "canonical": name})
            tones.append({"type": kind, "canonical": name, "label": rng.choice(TONES), "score": 0.0, "mentions": 1})
    body = " ".join(sentences) + (f"\n\n{extra}" if extra else "")
    title = f"{topic.capitalize()}: laporan nomor {s}" + (f" ({outlet or domain})" if m else "")
    ident = hashlib.sha1(f"{story_id}/{domain}".encode()).hexdigest()[:24]
    url = f"https://{domain}/berita/{s}-{m}"
    data: dict[str, Any] = {
        "schema_version": 1, "id": ident, "url": url, "canonical_url": url, "title": title, "text": body,
        "source": domain, "outlet": outlet, "published_at": published.isoformat(), "date_source": "api",
        "ingested_at": published.isoformat(), "origin": "api", "language": "id", "language_confidence": 0.99,
        "word_count": len(body.split()), "body": body, "entities": entities, "regions": regions,
        "summary": [TOPICS[topic]], "keywords": [topic], "story_id": story_id, "story_size": 1,
        "enriched_at": published.isoformat(),
    }  # fmt: skip
    if rng.random() < 0.8:  # the rest were enriched before tone
        label = rng.choice(TONES)
        data.update(schema_version=2, entity_tones=tones,
                    tone={"label": label, "score": 0.0, "headline": label, "body": label})  # fmt: skip
    return EnrichedArticle.model_validate(data)
