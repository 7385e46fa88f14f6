"""Indonesia's regions and the alias dictionary of its institutions: the data the enrich service
writes into articles and the search service reads queries with.

The files sit beside this module (sources and licences in ``README.md``):

- ``regions.csv``: the 38 provinces and 514 kabupaten/kota with their BPS codes;
- ``provinces.csv``: each province's ISO 3166-2 code and the short forms people write
  ("Jateng", "DIY");
- ``institutions.yaml``: hand-written templates of regional institutions, national
  institutions, roles and honorifics;
- ``aliases.json``: the alias dictionary generated from the three above by
  ``python -m services.enrich.nlp.build_dictionary`` (keys normalised by :func:`normalize_alias`).

Only the paths, the key normalisation and the plain province table live here; what the data
means for text (enrich) or for queries (search) is up to each service. Nothing here blocks
beyond reading a small local file.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
REGIONS_CSV = DATA_DIR / "regions.csv"
PROVINCES_CSV = DATA_DIR / "provinces.csv"
INSTITUTIONS_YAML = DATA_DIR / "institutions.yaml"
ALIASES_JSON = DATA_DIR / "aliases.json"

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=200_000)
def normalize_alias(text: str) -> str:
    """Lower-case, drop dots and apostrophes, turn other punctuation into spaces, collapse.

    "KemenPAN-RB" -> "kemenpan rb"; "Pj. Bupati" -> "pj bupati"; "S.H." -> "sh"; "33.16" -> "3316".
    """
    low = text.lower().replace(".", "").replace("'", "").replace("’", "")
    return " ".join(_NON_ALNUM.sub(" ", low).split())


@dataclass(frozen=True, slots=True)
class Province:
    """One row of ``provinces.csv``. ``code`` is the BPS code as in ``regions.csv`` ("33")."""

    code: str
    name: str
    iso_3166_2: str
    short_forms: tuple[str, ...]


def read_provinces(path: Path = PROVINCES_CSV) -> list[Province]:
    """The provinces of ``provinces.csv`` in file (code) order. Raises ``OSError`` if unreadable."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Province(
                code=row["code"],
                name=row["name"],
                iso_3166_2=row["iso_3166_2"],
                short_forms=tuple(form.strip() for form in row["short_forms"].split(";") if form.strip()),
            )
            for row in csv.DictReader(fh)
        ]
