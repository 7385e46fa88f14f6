"""A pure-Python model of the Elasticsearch ``standard`` analyzer.

The search index analyzes ``title`` and ``body`` with the built-in ``standard`` analyzer: Lucene's
``StandardTokenizer`` (Unicode text segmentation, UAX #29 word boundaries), then a lowercase
filter, and no stop words. The query language must cut query text into the same tokens, because
span queries (``NEAR``) are built from exact index terms and a phrase must line up with
consecutive positions. The brute-force evaluator uses this module too, so that tests can compare
Elasticsearch with an independent model of the same semantics.

Character classes come from Unicode data (``wordbreak_table.py``, generated). The rules:

- letters and digits join (``rp10``, ``3316abc``); ``_`` and other connector punctuation join
  anything word-like (``foo_bar``);
- a letter, one of ``. ' ’ :`` (MidLetter / MidNumLet), then a letter stays one token
  (``jum'at``, ``a.b``); a digit, one of ``. , ; '``, then a digit stays one token (``4,42``,
  ``10.000``); anything else breaks (``e-ktp`` is ``e`` + ``ktp``);
- combining marks and format characters (soft hyphen, ZWJ) stick to the previous character;
- Han and Hiragana characters are one token each, Katakana runs join, Southeast Asian scripts
  (Thai, Lao, Khmer, Myanmar) come out as whole runs, as Lucene does without a dictionary;
- a pictograph (Extended_Pictographic: emoji, but also ``©`` and ``®``) is a token of its own,
  with its modifiers and ZWJ-joined pictographs;
- tokens longer than 255 characters are cut into 255-character pieces;
- lowercasing is per code point, like Java's ``Character.toLowerCase``.

Known approximations: keycap and flag sequences, regional indicators and the Hebrew-specific quote
rules are not modelled, and the Unicode data may be newer than Lucene's (characters assigned
recently can differ). ``tests/integration/query`` compares this module with the live ``_analyze``
API.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from services.search.query.wordbreak_table import CLASSES, STARTS

MAX_TOKEN_LENGTH: Final = 255

# Word-break classes; the values are those of wordbreak_table.py (generate_wordbreak_table.py).
_OTHER: Final = 0
_ALETTER: Final = 1
_NUMERIC: Final = 2
_EXTENDNUMLET: Final = 3
_KATAKANA: Final = 4
_MIDLETTER: Final = 5
_MIDNUM: Final = 6
_MIDNUMLET: Final = 7  # includes Single_Quote: both join letters and digits alike
_EXTEND: Final = 8  # Extend, Format, ZWJ: transparent (WB4)
_IDEOGRAPHIC: Final = 9  # Han and Hiragana: one token per character
_SOUTHEAST_ASIAN: Final = 10  # Line_Break=Complex_Context: one token per run
_EMOJI: Final = 11  # Extended_Pictographic: one token per emoji (ZWJ sequences kept together)
_SOUTHEAST_ASIAN_EXTEND: Final = 12  # a Thai/Khmer/... mark: extends a word, or starts a run

_WORDLIKE: Final = frozenset({_ALETTER, _NUMERIC, _EXTENDNUMLET, _KATAKANA})
_TRANSPARENT: Final = frozenset({_EXTEND, _SOUTHEAST_ASIAN_EXTEND})
_SOUTHEAST_ASIAN_ANY: Final = frozenset({_SOUTHEAST_ASIAN, _SOUTHEAST_ASIAN_EXTEND})
_ZWJ: Final = "\u200d"


@lru_cache(maxsize=8192)
def _word_break_class(char: str) -> int:
    return CLASSES[bisect_right(STARTS, ord(char)) - 1]


def _joins(left: int, right: int) -> bool:
    """WB5, WB8-WB10, WB13, WB13a, WB13b: adjacent word-like characters that never break."""
    if left in (_ALETTER, _NUMERIC) and right in (_ALETTER, _NUMERIC):
        return True
    if right == _EXTENDNUMLET and left in _WORDLIKE:
        return True
    if left == _EXTENDNUMLET and right in (_ALETTER, _NUMERIC, _KATAKANA):
        return True
    return left == _KATAKANA and right == _KATAKANA


def _bridges(left: int, middle: int, right: int) -> bool:
    """WB6/WB7 (letter-mid-letter) and WB11/WB12 (digit-mid-digit)."""
    if left == _ALETTER and right == _ALETTER:
        return middle in (_MIDLETTER, _MIDNUMLET)
    if left == _NUMERIC and right == _NUMERIC:
        return middle in (_MIDNUM, _MIDNUMLET)
    return False


@dataclass(frozen=True, slots=True)
class Token:
    """One analyzed token: lowercased ``text`` from ``source[start:end]``, at word ``position``."""

    text: str
    start: int
    end: int
    position: int


def lowercase(text: str) -> str:
    """Lowercase per code point like Lucene's ``LowerCaseFilter`` (no context, no expansion)."""
    if text.isascii():
        return text.lower()
    return "".join("i" if char == "\u0130" else char.lower() for char in text)


def _skip_extend(text: str, index: int) -> int:
    while index < len(text) and _word_break_class(text[index]) in _TRANSPARENT:
        index += 1
    return index


def _segments(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens the standard tokenizer emits, before length splitting."""
    spans: list[tuple[int, int]] = []
    length = len(text)
    index = 0
    while index < length:
        kind = _word_break_class(text[index])
        if kind in _WORDLIKE:
            start = index
            last = kind
            has_core = kind != _EXTENDNUMLET
            cursor = index + 1
            while True:
                nxt = _skip_extend(text, cursor)
                if nxt >= length:
                    cursor = nxt
                    break
                following = _word_break_class(text[nxt])
                if _joins(last, following):
                    last = following
                    has_core = has_core or following != _EXTENDNUMLET
                    cursor = nxt + 1
                    continue
                if following in (_MIDLETTER, _MIDNUM, _MIDNUMLET):
                    after = _skip_extend(text, nxt + 1)
                    if after < length and _bridges(last, following, _word_break_class(text[after])):
                        last = _word_break_class(text[after])
                        cursor = after + 1
                        continue
                cursor = nxt
                break
            if has_core:
                spans.append((start, cursor))
            index = max(cursor, index + 1)
        elif kind == _IDEOGRAPHIC:
            end = _skip_extend(text, index + 1)
            spans.append((index, end))
            index = end
        elif kind == _EMOJI:
            end = _skip_extend(text, index + 1)
            # _skip_extend also swallowed a ZWJ; continue the sequence only if a pictograph follows
            while end < length and _word_break_class(text[end]) == _EMOJI and text[end - 1] == _ZWJ:
                end = _skip_extend(text, end + 1)
            spans.append((index, end))
            index = end
        elif kind in _SOUTHEAST_ASIAN_ANY:
            end = index + 1
            while True:
                nxt = _skip_extend(text, end)
                if nxt < length and _word_break_class(text[nxt]) in _SOUTHEAST_ASIAN_ANY:
                    end = nxt + 1
                else:
                    end = nxt
                    break
            spans.append((index, end))
            index = end
        else:
            index += 1
    return spans


def analyze(text: str) -> list[Token]:
    """Tokens of ``text`` as the ``standard`` analyzer would index them, with their positions.

    Pure and deterministic; never raises for any string.
    """
    tokens: list[Token] = []
    for start, end in _segments(text):
        for piece_start in range(start, end, MAX_TOKEN_LENGTH):
            piece_end = min(piece_start + MAX_TOKEN_LENGTH, end)
            tokens.append(Token(lowercase(text[piece_start:piece_end]), piece_start, piece_end, len(tokens)))
    return tokens


def tokenize(text: str) -> list[str]:
    """Just the token texts of :func:`analyze`, in order."""
    return [token.text for token in analyze(text)]
