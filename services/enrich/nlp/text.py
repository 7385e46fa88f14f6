"""Tokenisation and sentence splitting for Indonesian news text.

Both functions return character offsets into the input so that entities and summary
sentences can be traced back to the original text. They are pure and thread-safe.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Word tokens as the training corpora (IndoNLU, idner-news-2k) segment them: runs of word
# characters, every other non-space character on its own. Keeping the segmentation identical
# to training matters more for the CRF than linguistic niceties.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class Token(NamedTuple):
    """A token with its half-open character span ``[start, end)`` in the source text."""

    text: str
    start: int
    end: int


_new_tuple = tuple.__new__  # Token(...) without the Python-level NamedTuple constructor


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into word and punctuation tokens with character offsets."""
    return [_new_tuple(Token, (m.group(), m.start(), m.end())) for m in _TOKEN_RE.finditer(text)]


def tokenize_span(text: str, start: int, end: int) -> list[Token]:
    """``tokenize(text[start:end])`` with offsets into ``text`` itself (no slice, no shift).

    The token pattern has no anchors or look-around, so matching inside ``[start, end)`` of
    the whole text finds exactly the tokens of the slice.
    """
    return [_new_tuple(Token, (m.group(), m.start(), m.end())) for m in _TOKEN_RE.finditer(text, start, end)]


def token_texts(text: str) -> list[str]:
    """``[t.text for t in tokenize(text)]``, without building the tokens."""
    return _TOKEN_RE.findall(text)


# Abbreviations after which a full stop does not end a sentence. Lower-cased, without the dot.
# Honorifics and academic titles (H., Hj., Dr., Ir., S.H., M.Si.) are the usual trap in
# Indonesian news: "Bupati Blora, H. Arief Rohman" must stay one sentence.
ABBREVIATIONS: frozenset[str] = frozenset(
    """
    h hj dr drs dra ir prof kh k.h tn ny nn sdr sdri bpk ibu st s.h s.e s.t s.pd s.ag s.sos s.kom
    s.ip s.i.p s.hut s.kep s.ked s.psi m.si m.m m.h m.pd m.kes m.ag m.sc m.t m.kom m.a m.hum
    ph.d phd ak a.md dll dsb dst dkk tsb yth no nomor hlm jl jln kab kec kel ds rt rw gg kp
    tel telp hp a.n u.p u.b an up ub vs etc inc ltd co corp mr mrs ms jr sr bsc msc mba ssi sst
    kol letkol mayjen brigjen jend irjen kombes akbp kompol iptu ipda aiptu bripka brigpol bripda
    kapt lettu letda serma pelda sertu kopda pratu bm pt cv
    """.split()
)

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then space.
_BOUNDARY_RE = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_WORD_BEFORE_RE = re.compile(r"([\w.]+)$")
_OPENERS = "\"'“‘([«"


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    """Whether the full stop at ``dot_pos`` belongs to an abbreviation or an initial."""
    m = _WORD_BEFORE_RE.search(text, 0, dot_pos)
    if not m:
        return False
    word = m.group(1).strip(".")
    low = word.lower()
    if low in ABBREVIATIONS:
        return True
    # Single-letter initials ("A. Yani", "R.A. Kartini") and dotted acronyms ("S.H").
    last = low.rsplit(".", 1)[-1]
    if len(last) == 1 and last.isalpha():
        return True
    return False


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return sentence spans ``(start, end)`` over ``text`` in order.

    Newlines always end a sentence (news paragraphs). Inside a paragraph a sentence ends at
    ``.``, ``!``, ``?`` (plus any closing quotes) followed by whitespace and an upper-case
    letter, a digit or an opening quote, unless the dot ends a known abbreviation or an initial.
    Decimal numbers ("4,42", "4.42") never contain whitespace, so they are never split.
    Spans are stripped of surrounding whitespace; empty sentences are dropped.
    """
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        p_start = para.start()
        para_text = para.group()
        seg_start = 0
        for m in _BOUNDARY_RE.finditer(para_text):
            end = m.end()
            rest = para_text[end:].lstrip()
            if not rest:
                continue
            nxt = rest[0]
            if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
                continue
            punct = m.group()
            if punct.startswith(".") and len(punct.rstrip("\"'”’)]")) == 1:
                if _is_abbreviation(para_text, m.start()):
                    continue
            spans.append((p_start + seg_start, p_start + end))
            seg_start = end
        spans.append((p_start + seg_start, p_start + len(para_text)))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        seg = text[s:e]
        ls = len(seg) - len(seg.lstrip())
        rs = len(seg) - len(seg.rstrip())
        if e - rs > s + ls:
            out.append((s + ls, e - rs))
    return out
