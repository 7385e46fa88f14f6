"""Article fingerprints: shingle sample for verification plus MinHash LSH band keys.

Pure CPU work, no I/O; one :class:`Fingerprinter` per process is safe to share between threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

from services.enrich.cluster.settings import ClusterSettings
from services.enrich.cluster.text import shingle_hashes, tokens

# Seeds are part of the stored format: changing them invalidates every stored band key.
_MINHASH_SEED = 1
_BAND_MULTIPLIERS = np.array(
    [
        0xA0761D6478BD642F,
        0xE7037ED1A0B428DB,
        0x8EBC6AF09C88C6E3,
        0x589965CC75374CC3,
        0x1D8E4E27C47D124F,
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
        0x2545F4914F6CDD1D,
        0x5851F42D4C957F2D,
        0x14057B7EF767814F,
    ],
    dtype=np.uint64,
)
_BAND_SALT = np.uint64(0x632BE59BD9B4E019)


@dataclass(frozen=True)
class Fingerprint:
    """What clustering knows about one article's text.

    ``shingles`` is sorted ascending; when the article had more than ``max_shingles`` shingles it
    holds the smallest ones (a bottom-k sample) and ``truncated`` is set. ``band_keys`` holds one
    64-bit LSH key per band (empty for a text without words).
    """

    shingles: npt.NDArray[np.uint32]
    truncated: bool
    band_keys: npt.NDArray[np.uint64]


def similarity(
    a: npt.NDArray[np.uint32], a_truncated: bool, b: npt.NDArray[np.uint32], b_truncated: bool
) -> tuple[float, float]:
    """Return ``(containment, jaccard)`` of two sorted shingle arrays.

    Containment is ``|A∩B| / min(|A|, |B|)``: a copy that keeps only the first half of the story
    is fully contained in the original. Bottom-k samples are compared below the smaller of their
    two maxima, where both are exact samples of the same hash range.
    """
    if a_truncated or b_truncated:
        if a.size == 0 or b.size == 0:
            return 0.0, 0.0
        cut = min(a[-1], b[-1])
        a = a[: np.searchsorted(a, cut, side="right")]
        b = b[: np.searchsorted(b, cut, side="right")]
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    common = int(np.intersect1d(a, b, assume_unique=True).size)
    return common / min(a.size, b.size), common / (a.size + b.size - common)


class Fingerprinter:
    """Turns text into a :class:`Fingerprint` with the given settings. Deterministic."""

    def __init__(self, settings: ClusterSettings) -> None:
        self._settings = settings
        self._permutations = MinHash(num_perm=settings.num_perm, seed=_MINHASH_SEED).permutations
        self._rows = settings.lsh_rows
        self._bands = settings.bands
        self._band_index = np.arange(self._bands, dtype=np.uint64) * _BAND_SALT

    def fingerprint(self, title: str, text: str) -> Fingerprint:
        """Fingerprint the body of ``text``; ``title`` is used only when the body has no words
        (titles are rewritten by outlets far more often than bodies)."""
        words = tokens(text) or tokens(title)
        all_shingles = shingle_hashes(words, self._settings.shingle_size)
        if all_shingles.size == 0:
            return Fingerprint(all_shingles, False, np.empty(0, dtype=np.uint64))
        minhash = MinHash(
            num_perm=self._settings.num_perm,
            seed=_MINHASH_SEED,
            hashfunc=int,
            permutations=self._permutations,
            scheme="affine32",
        )
        minhash.update_batch(all_shingles.tolist())
        signature = minhash.hashvalues[: self._bands * self._rows].astype(np.uint64)
        rows = signature.reshape(self._bands, self._rows)
        band_keys = (rows * _BAND_MULTIPLIERS[: self._rows]).sum(axis=1, dtype=np.uint64)
        band_keys ^= self._band_index
        truncated = all_shingles.size > self._settings.max_shingles
        shingles = all_shingles[: self._settings.max_shingles] if truncated else all_shingles
        return Fingerprint(shingles, truncated, band_keys)
