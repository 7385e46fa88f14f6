"""Page language: what the markup declares, else a function-word vote between Indonesian
and English (the two languages Warta's sources publish in). Returns ISO 639-1 codes."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Frequent function words that are distinctive for each language. "di", "ke", "dan", "yang"
# are among the most frequent Indonesian tokens and almost never occur in English text.
_ID_WORDS = frozenset(
    "yang dan di ke dari untuk dengan ini itu tidak akan pada juga dalam adalah oleh karena "
    "sudah telah kami kita mereka atau bahwa tersebut saat para bisa ada menjadi lebih".split()
)
_EN_WORDS = frozenset(
    "the and of to in is that for with on are was as be by this it from have at not or an "
    "which their were has but".split()
)
_TOKEN = re.compile(r"[a-zA-Z]+")
_MIN_VOTES = 5


def _normalise(code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip().replace("_", "-").split("-")[0].lower()
    if code == "in":  # the pre-1989 ISO code for Indonesian, still emitted by old CMSes
        return "id"
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def detect_language(declared: Iterable[str | None], text: str) -> str | None:
    """First valid declared code; else ``id``/``en`` by function-word vote; else None.

    A declaration that contradicts a clear vote between id and en loses: WordPress themes
    ship ``lang="en-US"`` on Indonesian sites more often than not.
    """
    vote = None
    tokens = [t.lower() for t in _TOKEN.findall(text[:20000])]
    id_hits = sum(t in _ID_WORDS for t in tokens)
    en_hits = sum(t in _EN_WORDS for t in tokens)
    if id_hits + en_hits >= _MIN_VOTES:
        if id_hits >= 2 * en_hits:
            vote = "id"
        elif en_hits >= 2 * id_hits:
            vote = "en"
    for code in declared:
        normalised = _normalise(code)
        if normalised:
            if vote and normalised in ("id", "en") and normalised != vote:
                return vote
            return normalised
    return vote
