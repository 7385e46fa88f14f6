"""A pure-Python model of the Elasticsearch ``standard`` analyzer.

The search index analyzes ``title`` and ``body`` with the built-in ``standard`` analyzer: Lucene's
``StandardTokenizer`` (Unicode text segmentation, UAX #29 word boundaries), then a lowercase
filter, and no stop words. The query language must cut query text into the same tokens, because
span queries (``NEAR``) are built from exact index terms and a phrase must line up with
consecutive positions. The brute-force evaluator uses this module too, so that tests can compare
Elasticsearch with an independent model of the same semantics.

What is modelled (the rules that matter for Latin-script news text):

- letters and digits join (``rp10``, ``3316abc``); ``_`` and other connector punctuation join
  anything word-like (``foo_bar``);
- a letter, one of ``. ' ’ :`` (MidLetter / MidNumLet), then a letter stays one token
  (``jum'at``, ``a.b``); a digit, one of ``. , ; '``, then a digit stays one token (``4,42``,
  ``10.000``); anything else breaks (``e-ktp`` is ``e`` + ``ktp``);
- combining marks and format characters (soft hyphen, ZWJ) stick to the previous character;
- Han and Hiragana characters are one token each, Katakana runs join, Southeast Asian scripts
  (Thai, Lao, Khmer, Myanmar) come out as whole runs, as Lucene does without a dictionary;
- an emoji is a token of its own (with its modifiers and ZWJ-joined pictographs);
- tokens longer than 255 characters are cut into 255-character pieces;
- lowercasing is per code point, like Java's ``Character.toLowerCase``.

Known approximations: emoji outside U+1F000-U+1FAFF, keycaps and flags, regional indicators and Hebrew-specific quote rules are not
modelled; the Unicode version is Python's, not Lucene's. ``tests/integration/query`` compares this
module with the live ``_analyze`` API.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

MAX_TOKEN_LENGTH: Final = 255

# Word-break classes (a subset of UAX #29 WordBreakProperty, plus Lucene's token types).
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
_SOUTHEAST_ASIAN: Final = 10  # Complex_Context scripts: one token per run
_EMOJI: Final = 11  # pictographs: one token per emoji (ZWJ sequences kept together)

_MIDLETTER_CHARS: Final = frozenset("\u003a\u00b7\u0387\u05f4\u2027\ufe13\ufe55\uff1a")
_MIDNUM_CHARS: Final = frozenset(
    "\u002c\u003b\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b"
)
_MIDNUMLET_CHARS: Final = frozenset("\u002e\u2018\u2019\u2024\ufe52\uff07\uff0e\u0027")

_WORDLIKE: Final = frozenset({_ALETTER, _NUMERIC, _EXTENDNUMLET, _KATAKANA})

_SOUTHEAST_ASIAN_RANGES: Final = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x1950, 0x19DF),  # Tai Le, New Tai Lue
    (0x1A20, 0x1AAF),  # Tai Tham
    (0xA9E0, 0xA9FF),  # Myanmar Extended-B
    (0xAA60, 0xAADF),  # Myanmar Extended-A, Tai Viet
)
_IDEOGRAPHIC_RANGES: Final = (
    (0x3005, 0x3007),
    (0x3040, 0x309F),  # Hiragana
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)
_KATAKANA_RANGES: Final = ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9D))
_EMOJI_RANGES: Final = ((0x1F000, 0x1F3FA), (0x1F400, 0x1FAFF))  # skin tones 1F3FB-F extend
_EMOJI_MODIFIERS: Final = ((0x1F3FB, 0x1F3FF),)
_ZWJ: Final = "\u200d"


def _in(ranges: tuple[tuple[int, int], ...], code: int) -> bool:
    return any(low <= code <= high for low, high in ranges)


@lru_cache(maxsize=4096)
def _word_break_class(char: str) -> int:
    code = ord(char)
    if char in _MIDNUMLET_CHARS:
        return _MIDNUMLET
    if char in _MIDLETTER_CHARS:
        return _MIDLETTER
    if char in _MIDNUM_CHARS:
        return _MIDNUM
    if code == 0x202F:
        return _EXTENDNUMLET
    if _in(_EMOJI_RANGES, code):
        return _EMOJI
    if _in(_EMOJI_MODIFIERS, code):
        return _EXTEND
    category = unicodedata.category(char)
    if category[0] == "M" or category == "Cf":
        return _EXTEND
    if category == "Pc":
        return _EXTENDNUMLET
    if category == "Nd":
        return _NUMERIC
    if category[0] == "L" or category == "Nl":
        if _in(_SOUTHEAST_ASIAN_RANGES, code):
            return _SOUTHEAST_ASIAN
        if _in(_KATAKANA_RANGES, code):
            return _KATAKANA
        if _in(_IDEOGRAPHIC_RANGES, code):
            return _IDEOGRAPHIC
        return _ALETTER
    return _OTHER


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
    while index < len(text) and _word_break_class(text[index]) == _EXTEND:
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
        elif kind == _SOUTHEAST_ASIAN:
            end = index + 1
            while True:
                nxt = _skip_extend(text, end)
                if nxt < length and _word_break_class(text[nxt]) == _SOUTHEAST_ASIAN:
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
            tokens.append(
                Token(lowercase(text[piece_start:piece_end]), piece_start, piece_end, len(tokens))
            )
    return tokens


def tokenize(text: str) -> list[str]:
    """Just the token texts of :func:`analyze`, in order."""
    return [token.text for token in analyze(text)]
