"""Property tests without a server.

- Every generated query parses, and rendering round-trips.
- Arbitrary text either parses or raises QuerySyntaxError with a position inside the text.
- The compiled DSL, interpreted in memory, gives the same hits as the brute-force evaluator
  (checks the compiler's boolean structure; the real-Elasticsearch version of this property is in
  tests/integration/query).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.search.query import QuerySyntaxError, parse, render, to_es_query
from services.search.query.brute import analyze_document, search
from services.search.query.testing import evaluate_es_query, generate_corpus, query_texts

CORPUS = [analyze_document(document) for document in generate_corpus(seed=7, size=120)]


@given(query_texts())
def test_generated_queries_parse_and_round_trip(text: str) -> None:
    tree = parse(text)
    assert parse(render(tree)) == tree


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list('ab *"()-:/ANDORTNEt1é')), max_size=30))
def test_arbitrary_text_parses_or_fails_with_position(text: str) -> None:
    try:
        parse(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= max(len(text) - 1, 0)


@settings(max_examples=200, deadline=None)
@given(query_texts())
def test_compiled_dsl_agrees_with_brute_force(text: str) -> None:
    tree = parse(text)
    query = to_es_query(tree)
    compiled = {document.doc_id for document in CORPUS if evaluate_es_query(query, document)}
    assert compiled == search(tree, CORPUS)
