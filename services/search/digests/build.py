"""What a digest holds: the articles a monitor matched in a period, grouped by story, with the
counts and the tone mix. Reads the alert matches and the article index; blocking (Elasticsearch).

The digest lists what the alerts consumer recorded for the monitor (``/matches``) with a
``matched_at`` in the period, so it says exactly what the monitor caught that day or week, and the
same articles the webhook announced. An article deleted since (takedown) is left out of the list
and the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from services.search.alerts.store import AlertIndices
from services.search.digests.config import Schedule
from services.search.digests.schedule import Period
from services.search.index import fetch_articles

# Matches read per digest; a monitor matching more than this in one period gets the newest ones
# (its count says how many there were).
MAX_MATCHES = 5000
ARTICLE_FIELDS = ["id", "url", "title", "source", "outlet", "published_at", "summary", "story_id", "tone.label"]
TONES = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class DigestArticle:
    id: str
    title: str
    url: str
    source: str
    outlet: str | None
    published_at: datetime | None
    summary: str | None
    tone: str | None

    @property
    def outlet_name(self) -> str:
        return self.outlet or self.source


@dataclass
class DigestStory:
    id: str
    articles: list[DigestArticle] = field(default_factory=list)

    @property
    def lead(self) -> DigestArticle:
        """The first report of the story (the earliest published), which the digest links."""
        return min(self.articles, key=lambda a: (a.published_at is None, a.published_at or datetime.max, a.id))

    @property
    def outlets(self) -> list[str]:
        return sorted({a.outlet_name for a in self.articles})

    @property
    def latest(self) -> datetime | None:
        times = [a.published_at for a in self.articles if a.published_at is not None]
        return max(times) if times else None


@dataclass
class Digest:
    """One monitor's digest for one period. ``stories`` is every story, most covered first."""

    key: str
    saved_search: dict[str, Any]
    schedule: Schedule
    period: Period
    stories: list[DigestStory]
    matches: int  # matches recorded in the period (before deleted articles are left out)
    public_url: str

    @property
    def article_count(self) -> int:
        return sum(len(s.articles) for s in self.stories)

    @property
    def story_count(self) -> int:
        return len(self.stories)

    @property
    def tone_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(TONES, 0)
        for story in self.stories:
            for a in story.articles:
                if a.tone in counts:
                    counts[a.tone] += 1
        return counts


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _article(src: dict[str, Any]) -> DigestArticle:
    summary = src.get("summary")
    if isinstance(summary, list):
        summary = " ".join(str(s) for s in summary[:2])
    tone = src.get("tone")
    return DigestArticle(
        id=str(src["id"]), title=str(src.get("title") or src["id"]), url=str(src.get("url") or ""),
        source=str(src.get("source") or ""), outlet=src.get("outlet") or None,
        published_at=_parse_time(src.get("published_at")), summary=summary or None,
        tone=tone.get("label") if isinstance(tone, dict) else None,
    )  # fmt: skip


def build_digest(es: Elasticsearch, prefix: str, alias: str, saved: dict[str, Any], schedule: Schedule,
                 period: Period, key: str, public_url: str) -> Digest:  # fmt: skip
    """The digest of ``saved`` for ``period``. Blocks on Elasticsearch; raises its errors."""
    idx = AlertIndices(prefix)
    resp = es.options(ignore_status=404).search(
        index=idx.matches, size=MAX_MATCHES, track_total_hits=True, source_includes=["article_id"],
        query={"bool": {"filter": [
            {"term": {"saved_search_id": saved["id"]}},
            {"range": {"matched_at": {"gte": period.start.isoformat(), "lt": period.end.isoformat()}}},
        ]}},
        sort=[{"matched_at": "desc"}, {"article_id": "asc"}],
    )  # fmt: skip
    hits = resp.get("hits", {})
    ids = list(dict.fromkeys(h["_source"]["article_id"] for h in hits.get("hits", [])))
    total = int(hits.get("total", {}).get("value", len(ids)))
    by_story: dict[str, DigestStory] = {}
    for i in range(0, len(ids), 500):
        for src in fetch_articles(
            es, alias, ids[i : i + 500], source=ARTICLE_FIELDS
        ).values():  # removed ones are left out
            story_id = str(src.get("story_id") or src["id"])
            by_story.setdefault(story_id, DigestStory(story_id)).articles.append(_article(src))
    stories = sorted(
        by_story.values(), key=lambda s: (-len(s.articles), -(s.latest.timestamp() if s.latest else 0), s.id)
    )
    return Digest(key=key, saved_search=saved, schedule=schedule, period=period, stories=stories, matches=total,
                  public_url=public_url.rstrip("/"))  # fmt: skip
