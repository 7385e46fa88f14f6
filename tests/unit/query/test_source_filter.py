"""``source:`` takes an outlet's name or its domain (issue 15, item 2): the brute-force meaning and
the compiled query agree on the cases a user types."""

from __future__ import annotations

import pytest

from services.search.query import parse, to_es_query
from services.search.query.brute import analyze_document, matches
from services.search.query.testing import evaluate_es_query

DOCS = [
    analyze_document(
        {"id": "named", "title": "a", "body": "b", "source": "lintasmuria.example", "outlet": "Lintas Muria"}
    ),
    analyze_document({"id": "port", "title": "a", "body": "b", "source": "127.0.0.1:8101", "outlet": "Lintas Muria"}),
    analyze_document({"id": "bare", "title": "a", "body": "b", "source": "kabarjateng.example"}),
]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ('source:"Lintas Muria"', {"named", "port"}),
        ('source:"lintas muria"', {"named", "port"}),
        ("source:lintasmuria.example", {"named"}),
        ("source:www.lintasmuria.example", {"named"}),
        ("source:WWW.LintasMuria.Example", {"named"}),
        ("source:127.0.0.1:8101", {"port"}),
        ("source:kabarjateng.example", {"bare"}),
        ("source:www.kabarjateng.example", {"bare"}),
        ('source:"Kabar Jateng"', set()),
        ("source:Lintas", set()),  # a name matches whole, not word by word
        ('NOT source:"Lintas Muria"', {"bare"}),
    ],
)
def test_source_matches_the_outlet_name_or_the_domain(query: str, ids: set[str]) -> None:
    ast = parse(query)
    assert {d.doc_id for d in DOCS if matches(ast, d)} == ids
    compiled = to_es_query(ast)
    assert {d.doc_id for d in DOCS if evaluate_es_query(compiled, d)} == ids
