"""Boilerplate removal and shingling of article text: pure functions, no I/O.

Syndicated copies of one press release differ in exactly the parts removed here (dateline,
"Baca juga" blocks, credits, share text, punctuation and spacing), so two copies of the same body
produce the same shingles. Used by syndication clustering (``services/enrich/cluster/``) and by
press-release pickups (``services/search/pickups/``); the hashes are part of the cluster store's
format, so a change here is a change of that format (docs/syndication.md).
"""

from __future__ import annotations

import re
import unicodedata
import zlib

import numpy as np
import numpy.typing as npt

# Whole lines (paragraphs) that are never part of the story body.
_BOILERPLATE_LINE = re.compile(
    r"""^\W*(?:
        (?:baca|simak|lihat|cek|tonton|klik)\s+(?:juga|pula|selengkapnya|berita|artikel|video)\b
      | berita\s+(?:terkait|lainnya)\b
      | (?:editor|penulis|reporter|pewarta|redaktur|penyunting|editing|fotografer|foto|sumber
          |kontributor|wartawan|laporan|teks|video|grafis|ilustrasi)\s*(?:\([^)]*\)\s*)?[:：|]
      | (?:bagikan|share|sebarkan|kirim)\b(?:\s+(?:artikel|berita|ini|ke|via|lewat|di))*\s*[:：]?
        [\w\s,|/.-]{0,80}$
      | artikel\s+ini\s+(?:telah|sudah|pertama\s+kali)\s+(?:tayang|terbit|dimuat|diterbitkan)
      | (?:dapatkan|ikuti|follow|gabung)\b.{0,160}
        (?:google\s+news|whatsapp|telegram|instagram|twitter|facebook|tiktok|youtube|channel|saluran)
      | (?:advertisement|scroll\s+to\s+continue|iklan)\b
      | copyright\b|\(c\)|©
    )""",
    re.IGNORECASE | re.VERBOSE,
)

# A dateline at the very start: "BLORA –", "Semarang (ANTARA) -", "klikjateng.com –",
# "Klikjateng, Semarang –", "JAKARTA, KOMPAS.com -", "Wamena, Senin (5/5/2025) —".
_DL_WORD = r"(?:[A-Z][\w.&'/-]*|[\w-]+(?:\.[\w-]+)*\.(?:com|co|id|net|org|tv|news|info))"
_DL_WORDS = rf"{_DL_WORD}(?:\s+{_DL_WORD}){{0,3}}"
_DATELINE = re.compile(
    rf"""^\s*{_DL_WORDS}
        (?:\s*,\s*{_DL_WORDS})*
        (?:\s*\([^)\n]{{1,40}}\))*
        \s*(?:-{{1,2}}|–|—|\|)\s*""",
    re.VERBOSE,
)
# Credits in parentheses at the very end: "(ant/rid)", "(*)", "(hms)".
_TRAILING_CREDIT = re.compile(r"(?:(?<=[.!?\"”])\s*|^)\(\s*[\w*/.,\s-]{1,20}\)\s*$")
_TOKEN = re.compile(r"\w+")

# Odd 64-bit multipliers combining token hashes into shingle hashes (fixed: part of the format).
_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)


def strip_boilerplate(text: str) -> str:
    """Return the story body of ``text``: boilerplate lines, the leading dateline and a trailing
    credit removed. Line structure is kept. Pure and idempotent."""
    body: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or _BOILERPLATE_LINE.match(line):
            continue
        body.append(line)
    if body:
        body[0] = _DATELINE.sub("", body[0], count=1)
        body[-1] = _TRAILING_CREDIT.sub("", body[-1])
    return "\n".join(line for line in body if line)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` after boilerplate removal (punctuation dropped)."""
    body = unicodedata.normalize("NFKC", strip_boilerplate(text)).casefold()
    return _TOKEN.findall(body)


def shingle_hashes(words: list[str], size: int) -> npt.NDArray[np.uint32]:
    """Sorted unique 32-bit hashes of the word ``size``-grams of ``words``.

    Stable across processes and machines (crc32, fixed multipliers), unlike ``hash()``. A text
    shorter than ``size`` words yields one shingle of all its words; an empty text yields none.
    """
    if not words:
        return np.empty(0, dtype=np.uint32)
    token_hashes = np.fromiter((zlib.crc32(word.encode("utf-8")) for word in words), dtype=np.uint64, count=len(words))
    size = min(size, len(words), len(_MULTIPLIERS))
    count = len(words) - size + 1
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(size):
        # uint64 arithmetic wraps: that is the intended modular hash.
        combined += token_hashes[offset : offset + count] * _MULTIPLIERS[offset]
    return np.unique((combined >> np.uint64(32)).astype(np.uint32))
