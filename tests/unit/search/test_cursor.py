"""Cursors are client input: only the shapes the API itself made decode (issue 13, item 4)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.search.criteria import BadRequest, decode_cursor, encode_cursor


def craft(kind: str, values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": kind, "v": values}).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("story:relevance", [20]),
        ("story:newest", [0]),
        ("article:relevance", [3.25, 1746063000000, "0d4f6c1e7b9a2c3d4e5f6a7b"]),
        ("article:relevance", [1, -(2**63), "a"]),  # missing published_at sorts as Long.MIN_VALUE
        ("article:newest", [1746063000000, "0d4f6c1e7b9a2c3d4e5f6a7b"]),
    ],
)
def test_cursors_the_api_makes_round_trip(kind: str, values: list[Any]) -> None:
    assert decode_cursor(encode_cursor(kind, values), kind) == values


@pytest.mark.parametrize(
    "values",
    [["x"], [None], [[1]], [-5], [1e308], [True], [9999.5], ["5"], [], [1, 2], [{"a": 1}]],
)
def test_crafted_collapsed_cursors_are_a_400(values: Any) -> None:
    with pytest.raises(BadRequest, match=r"^cursor: "):
        decode_cursor(craft("story:relevance", values), "story:relevance")


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("article:newest", [1, 2, 3]),
        ("article:newest", ["x", "y"]),
        ("article:newest", [2**64, "y"]),
        ("article:relevance", [float("nan"), 1, "a"]),
        ("article:relevance", [1.0, 1.5, "a"]),
        ("article:relevance", [1.0, 1, None]),
        ("article:relevance", [1.0, 1, "a" * 600]),
    ],
)
def test_crafted_article_cursors_are_a_400(kind: str, values: Any) -> None:
    with pytest.raises(BadRequest, match=r"^cursor: "):
        decode_cursor(craft(kind, values), kind)


@pytest.mark.parametrize("cursor", ["garbage", "", "e30", craft("story:newest", [1]), "W10", "bnVsbA", "IjEi"])
def test_malformed_cursors_are_a_400(cursor: str) -> None:
    with pytest.raises(BadRequest, match=r"^cursor: "):
        decode_cursor(cursor, "story:relevance")


@given(st.text(max_size=200))
def test_any_text_decodes_or_is_a_400(cursor: str) -> None:
    try:
        decode_cursor(cursor, "story:relevance")
    except BadRequest:
        pass
