"""Boilerplate removal and shingling for clustering: the functions live in :mod:`shared.shingles`
(the search service's press-release pickups compare texts the same way) and are re-exported here."""

from __future__ import annotations

from shared.shingles import shingle_hashes, strip_boilerplate, tokens

__all__ = ["shingle_hashes", "strip_boilerplate", "tokens"]
