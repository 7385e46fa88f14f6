"""Indonesian stopword list (stopwords-iso/stopwords-id, MIT; see data/LICENSE.stopwords-id)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).resolve().parent / "data" / "stopwords-id.txt"

# News boilerplate and reporting verbs that the generic list misses; they would otherwise
# dominate keyword lists of Indonesian news ("kata dia", "ujarnya").
NEWS_EXTRA = frozenset(
    """
    kata ujar ujarnya katanya tegasnya ungkapnya jelasnya tuturnya imbuhnya pungkasnya ucapnya
    menurutnya sebutnya terangnya lanjutnya paparnya tambahnya dia ia mereka kami kita
    senin selasa rabu kamis jumat sabtu minggu tahun bulan hari pukul wib wita wit rp persen
    baca juga lihat simak tonton foto video dok com co id www http https
    """.split()
)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Lower-cased stopwords: the stopwords-id list plus news boilerplate words."""
    words = {line.strip().lower() for line in PATH.read_text(encoding="utf-8").splitlines() if line.strip()}
    return frozenset(words | NEWS_EXTRA)
