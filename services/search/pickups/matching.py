"""Did this article carry this press release? Pure functions, no I/O.

A release and an article are compared the way syndication clustering compares two copies
(docs/syndication.md): boilerplate, dateline, punctuation and case removed
(:func:`shared.shingles.tokens`), then word ``shingle_size``-grams. With ``R`` the release's
shingles and ``A`` the article's:

- ``kept`` = ``|R∩A| / |R|``: how much of the release the article kept (what a PR officer reads);
- ``share`` = ``|R∩A| / |A|``: how much of the article is the release;
- the article carried the release when ``max(kept, share)`` (containment of the smaller text in
  the larger) is at least ``threshold`` **and** the Jaccard similarity is at least ``min_jaccard``.
  Containment lets a copy that kept only the first half, or one that added its own paragraphs,
  count; the Jaccard floor keeps out an article that only quotes a paragraph or two of the
  release as background.

Candidates come from Elasticsearch first (:func:`candidate_query`: exact phrases of the release,
core queries only); only they are scored here. The thresholds were chosen on generated tuning
data (``make eval-pickup``, evals/eval_pickup.py).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from shared.shingles import shingle_hashes, strip_boilerplate, tokens

# Fields read from each candidate article.
CANDIDATE_SOURCE = ["id", "title", "body", "outlet", "source", "url", "canonical_url", "published_at", "ingested_at"]
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class PickupSettings:
    """How releases are matched. Chosen on the tune part of evals/eval_pickup.py."""

    shingle_size: int = 2
    threshold: float = 0.4  # containment of the smaller text in the larger
    min_jaccard: float = 0.15
    # Candidate retrieval: up to ``max_phrases`` phrases of ``phrase_words`` words, spread over the
    # release; an article must contain ``min_phrase_hits`` of them; at most ``candidates`` are scored.
    phrase_words: int = 4
    max_phrases: int = 48
    min_phrase_hits: int = 2
    candidates: int = 200
    # Outlets often publish what the PR team shared with journalists before the release is on the
    # institution's site: articles from this long before ``released_at`` are compared too.
    lookback: timedelta = timedelta(days=1)


DEFAULT_SETTINGS = PickupSettings()


@dataclass(frozen=True)
class ReleaseText:
    """A release prepared for matching: its body without boilerplate, its lead, its shingles."""

    title: str
    body: str
    lead: str
    words: int
    shingles: npt.NDArray[np.uint32]

    @classmethod
    def of(cls, title: str, text: str, settings: PickupSettings = DEFAULT_SETTINGS) -> ReleaseText:
        body = strip_boilerplate(text)
        words = tokens(text)
        return cls(title, body, lead(body), len(words), shingle_hashes(words, settings.shingle_size))


@dataclass(frozen=True)
class Score:
    kept: float
    share: float
    jaccard: float
    carried: bool


def lead(body: str) -> str:
    """The first paragraph of a body (boilerplate and dateline already removed)."""
    return next((line for line in body.splitlines() if line.strip()), "")


def score(release: ReleaseText, article_text: str, settings: PickupSettings = DEFAULT_SETTINGS) -> Score:
    """Compare ``article_text`` (the article's body) with ``release``."""
    article = shingle_hashes(tokens(article_text), settings.shingle_size)
    if release.shingles.size == 0 or article.size == 0:
        return Score(0.0, 0.0, 0.0, False)
    common = int(np.intersect1d(release.shingles, article, assume_unique=True).size)
    kept = common / release.shingles.size
    share = common / article.size
    jaccard = common / (release.shingles.size + article.size - common)
    carried = max(kept, share) >= settings.threshold and jaccard >= settings.min_jaccard
    return Score(round(kept, 4), round(share, 4), round(jaccard, 4), carried)


def _title_words(title: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", title or "").casefold())


def title_changed(release_title: str, article_title: str) -> bool:
    """Whether the outlet changed the title: word for word, ignoring case, punctuation and spacing."""
    return _title_words(release_title) != _title_words(article_title)


DiffOp = Literal["equal", "delete", "insert"]


def lead_diff(release_lead: str, article_lead: str) -> list[dict[str, str]]:
    """The word-level difference between the release's lead and the article's (difflib): a list
    of ``{"op": "equal"|"delete"|"insert", "text": ...}``, ``delete`` being release words the
    outlet dropped and ``insert`` the outlet's own words, in reading order."""
    a, b = release_lead.split(), article_lead.split()
    out: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append({"op": "equal", "text": " ".join(a[i1:i2])})
            continue
        if i2 > i1:
            out.append({"op": "delete", "text": " ".join(a[i1:i2])})
        if j2 > j1:
            out.append({"op": "insert", "text": " ".join(b[j1:j2])})
    return out


def lead_similarity(release_lead: str, article_lead: str) -> float:
    """difflib's ratio of the two leads' words (1.0: the lead was kept word for word)."""
    a, b = release_lead.split(), article_lead.split()
    if not a and not b:
        return 1.0
    return round(difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio(), 4)


def phrases(release: ReleaseText, settings: PickupSettings = DEFAULT_SETTINGS) -> list[str]:
    """Exact phrases of the release to find candidates by: non-overlapping runs of
    ``phrase_words`` words inside a paragraph, at most ``max_phrases`` spread evenly over the text
    (so a copy that kept only the first part, or dropped paragraphs, still contains several).
    Elasticsearch analyses each phrase as it analyses the body, so punctuation does not matter."""
    n = settings.phrase_words
    runs: list[str] = []
    for paragraph in release.body.splitlines():
        words = [w for w in paragraph.split() if _WORD.search(w)]
        if len(words) < n:
            if words:
                runs.append(" ".join(words))
            continue
        runs.extend(" ".join(words[i : i + n]) for i in range(0, len(words) - n + 1, n))
    if len(runs) <= settings.max_phrases:
        return runs
    step = len(runs) / settings.max_phrases
    return [runs[int(i * step)] for i in range(settings.max_phrases)]


def candidate_query(
    release: ReleaseText,
    released_at: datetime,
    window_end: datetime,
    exclude_ids: list[str] | None = None,
    settings: PickupSettings = DEFAULT_SETTINGS,
) -> dict[str, Any]:
    """The Elasticsearch query for the articles that may have carried ``release``: published
    (else ingested) between ``released_at - lookback`` and ``window_end``, containing at least
    ``min_phrase_hits`` of its :func:`phrases`. ``exclude_ids``: the release's own article."""
    found = phrases(release, settings)
    lo = (released_at - settings.lookback).isoformat()
    hi = window_end.isoformat()
    when = {"gte": lo, "lte": hi}
    in_window = {
        "bool": {
            "should": [
                {"range": {"published_at": when}},
                {
                    "bool": {
                        "must_not": [{"exists": {"field": "published_at"}}],
                        "filter": [{"range": {"ingested_at": when}}],
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }
    query: dict[str, Any] = {
        "bool": {
            "should": [{"match_phrase": {"body": p}} for p in found],
            "minimum_should_match": min(settings.min_phrase_hits, len(found)),
            "filter": [in_window],
        }
    }
    if exclude_ids:
        query["bool"]["must_not"] = [{"ids": {"values": exclude_ids}}]
    return query


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def pickup_of(
    release: ReleaseText, released_at: datetime, src: dict[str, Any], settings: PickupSettings = DEFAULT_SETTINGS
) -> dict[str, Any] | None:
    """The pickup record of one candidate article (its ``_source``), or None if it did not
    carry the release. ``first_seen`` is the outlet's publication time, else when Warta ingested
    it; ``delay_s`` is ``first_seen - released_at`` (negative: published before the release time)."""
    body = src.get("body") or ""
    s = score(release, body, settings)
    if not s.carried:
        return None
    published = parse_time(src.get("published_at"))
    seen = published or parse_time(src.get("ingested_at"))
    article_lead = lead(strip_boilerplate(body))
    return {
        "article_id": src.get("id"),
        "outlet": src.get("outlet") or src.get("source"),
        "source": src.get("source"),
        "title": src.get("title"),
        "url": src.get("url"),
        "published_at": published.isoformat() if published else None,
        "first_seen": seen.isoformat() if seen else None,
        "delay_s": int((seen - released_at).total_seconds()) if seen else None,
        "kept": s.kept,
        "share": s.share,
        "title_changed": title_changed(release.title, src.get("title") or ""),
        "lead_similarity": lead_similarity(release.lead, article_lead),
        "lead_diff": lead_diff(release.lead, article_lead),
    }
