"""Our tokenizer against the live `standard` analyzer (`_analyze`)."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.search.query.testing import VOCABULARY
from services.search.query.tokenizer import tokenize

pytestmark = pytest.mark.elasticsearch

# Latin text as Indonesian news writes it, plus the punctuation the word-break rules care about.
ALPHABET = list("abcdeiklmnoprstuyzABKRTÉéñü0123456789 .,;:'’-_!?()/&@#%\"\u00ad\u0301")
WORDS = [*VOCABULARY, "Jl.", "No.", "U.S.A.", "1.234,56", "3316abc", "jum'at.", "a_b", "x''y"]


def es_tokens(client: Elasticsearch, text: str) -> list[str]:
    response = client.indices.analyze(analyzer="standard", text=text)
    return [token["token"] for token in response["tokens"]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(alphabet=st.sampled_from(ALPHABET), max_size=40),
        st.lists(
            st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", ", ", ".", "-", "'", ":", ""])),
            max_size=8,
        ).map(lambda parts: "".join(word + sep for word, sep in parts)),
    )
)
def test_tokenizer_matches_standard_analyzer(query_es: Elasticsearch, text: str) -> None:
    assert tokenize(text) == es_tokens(query_es, text)


@pytest.mark.parametrize(
    "text",
    [
        "Bupati Blora: inflasi 4,42 persen, Rp10.000/orang; layanan e-KTP Jum’at (5/7).",
        "東京 カタカナ ひらがな ภาษาไทย halo😀dunia 👍🏽 ΟΔΟΣ İstanbul",
        "a" * 300,
    ],
)
def test_tokenizer_examples(query_es: Elasticsearch, text: str) -> None:
    assert tokenize(text) == es_tokens(query_es, text)
