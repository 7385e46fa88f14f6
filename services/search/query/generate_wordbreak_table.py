"""Regenerate ``wordbreak_table.py`` from Unicode properties (needs the ``regex`` package).

Run ``.venv/bin/python -m services.search.query.generate_wordbreak_table [ES_URL]``. Only needed
when the Unicode data should be refreshed; the tokenizer itself has no dependency on ``regex``.
With ``ES_URL`` the table is calibrated against the server's ``standard`` tokenizer, whose Unicode
version is older than ``regex``'s: a code point (planes 0 and 1) that the server does not emit as
a token on its own becomes "other", and one it does emit that the Unicode data calls "other"
becomes a single-character token (pictographs missing from ``regex``'s data).
The classes follow Lucene's StandardTokenizer grammar: UAX #29 Word_Break values, plus
Line_Break=Complex_Context runs, Han/Hiragana single characters and Extended_Pictographic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import regex

# Must agree with the class constants in tokenizer.py.
OTHER, ALETTER, NUMERIC, EXTENDNUMLET, KATAKANA = 0, 1, 2, 3, 4
MIDLETTER, MIDNUM, MIDNUMLET, EXTEND, IDEOGRAPHIC, SOUTHEAST_ASIAN, EMOJI = 5, 6, 7, 8, 9, 10, 11
SOUTHEAST_ASIAN_EXTEND = 12

WORD_BREAK = {
    "ALetter": ALETTER,
    "Hebrew_Letter": ALETTER,
    "Numeric": NUMERIC,
    "ExtendNumLet": EXTENDNUMLET,
    "Katakana": KATAKANA,
    "MidLetter": MIDLETTER,
    "MidNum": MIDNUM,
    "MidNumLet": MIDNUMLET,
    "Single_Quote": MIDNUMLET,
    "Extend": EXTEND,
    "Format": EXTEND,
    "ZWJ": EXTEND,
}


def classify() -> list[int]:
    classes = [OTHER] * 0x110000
    patterns = {name: regex.compile(rf"\p{{Word_Break={name}}}") for name in WORD_BREAK}
    complex_context = regex.compile(r"\p{Line_Break=Complex_Context}")
    ideographic = regex.compile(r"[\p{Script=Han}\p{Script=Hiragana}]")
    pictographic = regex.compile(r"\p{Extended_Pictographic}")
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        word_break = next((value for name, value in WORD_BREAK.items() if patterns[name].match(char)), OTHER)
        if complex_context.match(char):
            classes[code] = SOUTHEAST_ASIAN_EXTEND if word_break == EXTEND else SOUTHEAST_ASIAN
        elif word_break != OTHER:
            classes[code] = word_break
        elif ideographic.match(char):
            classes[code] = IDEOGRAPHIC
        elif pictographic.match(char):
            classes[code] = EMOJI
    return classes


_EMITTED_ALONE = {ALETTER, NUMERIC, KATAKANA, IDEOGRAPHIC, SOUTHEAST_ASIAN, SOUTHEAST_ASIAN_EXTEND, EMOJI}


def calibrate(classes: list[int], es_url: str) -> int:
    """Align single-character classes with a live server; returns how many code points changed."""
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url, request_timeout=60)
    candidates = [c for c in range(0x20000) if not 0xD800 <= c <= 0xDFFF and not chr(c).isspace()]
    changed = 0
    for offset in range(0, len(candidates), 4000):
        batch = candidates[offset : offset + 4000]
        text = " ".join(chr(code) for code in batch)
        starts: dict[int, int] = {}
        utf16 = 0
        for code in batch:
            starts[utf16] = code
            utf16 += (2 if code > 0xFFFF else 1) + 1
        tokens = client.indices.analyze(analyzer="standard", text=text)["tokens"]
        emitted = {starts[token["start_offset"]] for token in tokens if token["start_offset"] in starts}
        for code in batch:
            if code in emitted and classes[code] not in _EMITTED_ALONE:
                classes[code] = EMOJI
                changed += 1
            elif code not in emitted and classes[code] in _EMITTED_ALONE:
                classes[code] = OTHER
                changed += 1
    # Second pass: does the character join "a" and "b" into one token (Extend/Format) or not?
    _JOINING = {ALETTER, NUMERIC, EXTENDNUMLET, MIDLETTER, MIDNUMLET, EXTEND, SOUTHEAST_ASIAN_EXTEND}
    for offset in range(0, len(candidates), 3000):
        batch = candidates[offset : offset + 3000]
        text = " ".join(f"a{chr(code)}b" for code in batch)
        starts = {}
        utf16 = 0
        for code in batch:
            starts[utf16] = code
            utf16 += (2 if code > 0xFFFF else 1) + 3
        tokens = client.indices.analyze(analyzer="standard", text=text)["tokens"]
        joined = {
            starts[token["start_offset"]]
            for token in tokens
            if token["start_offset"] in starts and token["token"].endswith("b") and len(token["token"]) > 2
        }
        for code in batch:
            if code in joined and classes[code] in (OTHER, EMOJI):
                classes[code] = EXTEND
                changed += 1
            elif code not in joined and classes[code] in (EXTEND, SOUTHEAST_ASIAN_EXTEND):
                classes[code] = OTHER
                changed += 1
    client.close()
    return changed


def render(classes: list[int]) -> str:
    starts: list[int] = []
    values: list[int] = []
    for code, value in enumerate(classes):
        if not values or values[-1] != value:
            starts.append(code)
            values.append(value)
    lines = [
        '"""Generated by generate_wordbreak_table.py; do not edit.',
        "",
        f"Word-break classes per code point range (regex {regex.__version__} Unicode data).",
        '"""',
        "",
        "# fmt: off",
        "STARTS: tuple[int, ...] = (",
    ]
    lines += [f"    {', '.join(str(s) for s in starts[i : i + 12])}," for i in range(0, len(starts), 12)]
    lines += [")", "CLASSES: bytes = bytes(("]
    lines += [f"    {', '.join(str(v) for v in values[i : i + 30])}," for i in range(0, len(values), 30)]
    lines += ["))", "# fmt: on", ""]
    return "\n".join(lines)


def main() -> None:
    target = Path(__file__).with_name("wordbreak_table.py")
    classes = classify()
    if len(sys.argv) > 1:
        print(f"calibration changed {calibrate(classes, sys.argv[1])} code points", file=sys.stderr)
    target.write_text(render(classes), encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
