"""docs/query-language.md stays true: its examples parse and its error table is exact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.search.query import QuerySyntaxError, parse

DOC = (Path(__file__).resolve().parents[3] / "docs" / "query-language.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```text\n(.*?)\n```", DOC)
ERROR_SECTION = DOC.split("## Errors", 1)[1].split("## Limits", 1)[0]
ERROR_ROWS = re.findall(r"^\| (`.*`|\(empty\)) \| (.+) \| (\d+) \|$", ERROR_SECTION, flags=re.MULTILINE)


def test_doc_has_examples_and_errors() -> None:
    assert len(EXAMPLES) >= 5
    assert len(ERROR_ROWS) >= 10


@pytest.mark.parametrize("query", EXAMPLES)
def test_examples_parse(query: str) -> None:
    parse(query)


@pytest.mark.parametrize(("query", "message", "position"), ERROR_ROWS)
def test_error_table(query: str, message: str, position: str) -> None:
    text = "" if query == "(empty)" else query.strip("`")
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    assert (caught.value.message, caught.value.position) == (message, int(position))
