"""The dateline: where a story was filed from, written before the first dash of the text.

"KUDUS, Lintas Muria – …", "BLORA (klikjateng) - …", "Semarang, 12/3 (ANTARA) - …",
"Klikjateng, Semarang – …", "JAKARTA, KOMPAS.com - …", "Wamena, Senin (5/5/2025) — …".

A dateline is metadata, not part of the story: ``annotate`` keeps it out of entities, mention
counts and the summary, stores it as the article's ``dateline`` and gives it to region detection
as its own signal. :func:`find_dateline` is pure and cheap (one regex on the first line, one
dictionary lookup); it never raises on any ``str``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .canonical import Dictionary, load_dictionary, normalize_alias

__all__ = ["Dateline", "find_dateline", "outlet_prefix_end"]

# The head (at most 100 characters of the first line) and the separator after it: a dash with
# white space on at least one side ("BLORA -", "BLORA- ", "BLORA – ") or an en/em dash or bar. A
# hyphen inside a word ("Al-Azhar") is never a separator.
_HEAD = re.compile(r"\s*(?P<head>[^\n]{1,100}?)(?P<sep>\s+(?:--?|[–—|])\s*|\s*[–—|]\s*|-{1,2}\s+)(?=\S)")
_PARENS = re.compile(r"\(([^()\n]{1,40})\)")
_OUTLET = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.(?:com|co|id|net|org|tv|news|info)(?:\.id)?$", re.IGNORECASE)
_WEEKDAYS = frozenset({"senin", "selasa", "rabu", "kamis", "jumat", "jum'at", "sabtu", "minggu", "ahad"})
_MONTHS = frozenset(
    {
        "januari",
        "februari",
        "maret",
        "april",
        "mei",
        "juni",
        "juli",
        "agustus",
        "september",
        "oktober",
        "november",
        "desember",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "agu",
        "agt",
        "sep",
        "okt",
        "nov",
        "des",
    }
)
# A place: one to four words, each capitalised ("Tanjung Pinang", "KUDUS", "Kota Batu").
_PLACE = re.compile(r"^[A-Z][\w'’.&-]*(?:\s+[A-Z][\w'’.&-]*){0,3}$")
_DATE = re.compile(r"^[\d/.\-\s]+$")


@dataclass(frozen=True, slots=True)
class Dateline:
    """A dateline at the start of a text.

    ``start``/``end``: the whole dateline with its separator and the white space after it, as
    half-open character offsets (``text[end:]`` is the story). ``place``: the place as written
    ("KUDUS"), at ``place_start``/``place_end``. ``region_code``: the BPS code of the matched
    province or kabupaten/kota ("3319"), or None for a place outside the region list ("Wamena")
    or abroad. ``name``: the display name, the region's place name ("Kudus") when matched, else
    the place as written with capitals only at word starts.
    """

    start: int
    end: int
    place: str
    place_start: int
    place_end: int
    region_code: str | None
    name: str

    @property
    def text_span(self) -> tuple[int, int]:
        return self.start, self.end


def _is_date(part: str) -> bool:
    words = [w.strip(".,").lower() for w in part.split()]
    if not words:
        return False
    if _DATE.match(part):
        return True
    # "Senin", "Senin 5/5", "5 Juni 2024", "12 Juni".
    return all(w in _WEEKDAYS or w in _MONTHS or _DATE.match(w) for w in words)


def _region_code(place: str, dictionary: Dictionary) -> str | None:
    codes = dictionary.region_aliases.get(normalize_alias(place))
    if not codes:
        return None
    if len(codes) == 1:
        return codes[0]
    # A bare name shared by a Kota and a Kabupaten ("Semarang") is filed from the city.
    by_kind = {dictionary.regions[c].kind: c for c in codes}
    return by_kind.get("Provinsi") or by_kind.get("Kota") or codes[0]


def find_dateline(text: str, dictionary: Dictionary | None = None) -> Dateline | None:
    """The dateline at the very start of ``text``, or None.

    Accepted only when every comma-separated part before the separator is a place (capitalised
    words), an outlet name, a web domain or a date, with optional parentheticals ("(ANTARA)",
    "(5/5/2025)"), and at least one part is a place. The place is the part that names a region in
    the gazetteer, else the first capitalised part that is not followed by a domain-like outlet.
    ``dictionary`` defaults to the shipped alias dictionary.
    """
    m = _HEAD.match(text)
    if m is None:
        return None
    head = m.group("head")
    head_start = m.start("head")
    bare = _PARENS.sub(lambda p: " " * len(p.group()), head)
    if "(" in bare or ")" in bare:
        return None
    candidates: list[tuple[int, int]] = []  # place-like parts, offsets into head
    # Besides a place, a dateline usually carries an outlet, a date or a parenthetical; a bare
    # capitalised phrase before a dash ("Lintas Muria – …") counts only if it is a known region
    # or written in capitals ("WAMENA – …").
    marked = bare != head
    pos = 0
    for raw in bare.split(","):
        part = raw.strip()
        offset = pos + (len(raw) - len(raw.lstrip()))
        pos += len(raw) + 1
        if not part:
            return None
        if _OUTLET.match(part) or _is_date(part):
            marked = True
            continue
        if not _PLACE.match(part):
            return None
        words = [w.strip(".").lower() for w in part.split()]
        if words and words[0] in _WEEKDAYS:
            marked = True
            continue
        candidates.append((offset, offset + len(part)))
    if not candidates:
        return None
    if dictionary is None:
        dictionary = load_dictionary()
    chosen = candidates[0]
    code = None
    for a, b in candidates:
        found = _region_code(head[a:b], dictionary)
        if found is not None:
            chosen, code = (a, b), found
            break
    place = head[chosen[0] : chosen[1]]
    if code is None and not marked and not place.isupper():
        return None
    if code is not None:
        name = dictionary.regions[code].loc_name
    else:
        name = place.title() if place.isupper() else place
    return Dateline(
        start=head_start,
        end=m.end("sep"),
        place=place,
        place_start=head_start + chosen[0],
        place_end=head_start + chosen[1],
        region_code=code,
        name=name,
    )


def outlet_prefix_end(text: str) -> int:
    """End of a leading outlet credit without a place ("PENADEWATA.ID - ", "KOMPAS.com - "), or 0.

    Such a prefix is not a dateline (no place to store) but is not part of the story either.
    Only web-domain names count: a bare capitalised word before a dash may be the story's subject.
    """
    m = _HEAD.match(text)
    if m is None:
        return 0
    bare = _PARENS.sub(" ", m.group("head"))
    parts = [p.strip() for p in bare.split(",")]
    if not parts or not all(p and (_OUTLET.match(p) or _is_date(p)) for p in parts):
        return 0
    if not any(_OUTLET.match(p) for p in parts):
        return 0
    return m.end("sep")
