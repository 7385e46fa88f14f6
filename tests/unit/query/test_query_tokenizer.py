"""The tokenizer must cut text like the Elasticsearch standard analyzer."""

from __future__ import annotations

import pytest

from services.search.query.tokenizer import MAX_TOKEN_LENGTH, analyze, lowercase, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wakil Bupati Blora", ["wakil", "bupati", "blora"]),
        ("inflasi 4,42 persen", ["inflasi", "4,42", "persen"]),
        ("Rp10.000 per orang", ["rp10.000", "per", "orang"]),
        ("layanan e-KTP", ["layanan", "e", "ktp"]),
        ("hari Jum'at dan Jum’at", ["hari", "jum'at", "dan", "jum’at"]),
        ("U.S.A. dan a.b", ["u.s.a", "dan", "a.b"]),
        ("foo_bar __a ___", ["foo_bar", "__a"]),
        ("title:x a:b", ["title:x", "a:b"]),
        ("blora,pati blora.pati", ["blora", "pati", "blora.pati"]),
        ("1,2,3 1,,2 ab,cd", ["1,2,3", "1", "2", "ab", "cd"]),
        ("halo!! (tes) «kutip»", ["halo", "tes", "kutip"]),
        ("東京 カタカナ ひらがな", ["東", "京", "カタカナ", "ひ", "ら", "が", "な"]),
        ("ภาษาไทย", ["ภาษาไทย"]),
        ("halo😀dunia 👍🏽", ["halo", "😀", "dunia", "👍🏽"]),
        ("ΟΔΟΣ İstanbul", ["οδοσ", "istanbul"]),
        ("pe\u00adlayan", ["pe\u00adlayan"]),
        ("", []),
        ("  ,.;!  ", []),
    ],
)
def test_tokenize_matches_standard_analyzer(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_positions_and_offsets() -> None:
    tokens = analyze("Blora, e-KTP")
    assert [(t.text, t.start, t.end, t.position) for t in tokens] == [
        ("blora", 0, 5, 0),
        ("e", 7, 8, 1),
        ("ktp", 9, 12, 2),
    ]


def test_long_tokens_are_split() -> None:
    word = "a" * (MAX_TOKEN_LENGTH + 10)
    assert tokenize(word) == ["a" * MAX_TOKEN_LENGTH, "a" * 10]


def test_lowercase_is_per_code_point() -> None:
    assert lowercase("İSTANBUL") == "istanbul"
    assert lowercase("ΟΔΟΣ") == "οδοσ"  # no final-sigma context rule, as in Java
