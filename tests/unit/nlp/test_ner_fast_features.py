"""The run-time fast paths must give exactly what the reference code gives.

``sentence_attributes`` (memoised per word, crfsuite attribute strings) against
``sentence_features`` (the dict form training uses), ``tokenize_span`` against shifted
``tokenize``, and the cached language identifier against the plain n-gram count.
"""

import math
import re
from collections import Counter

import pycrfsuite
import pytest

from services.enrich.nlp.langid import MAX_CHARS, PRIORS, TEMPERATURE, features, load_identifier
from services.enrich.nlp.ner import NerTagger, _shape, sentence_attributes, sentence_features, truecase
from services.enrich.nlp.text import split_sentences, token_texts, tokenize, tokenize_span

ARTICLE = (
    "BLORA – Bupati Blora, H. Arief Rohman, S.T., M.Si., meninjau RSUD dr. R. Soetijono bersama "
    "Kepala Dinas Kesehatan dan Pemkab Blora, Senin (4/3/2024).\n"
    "Menurut Kementerian PAN-RB, anggaran Rp 4,42 miliar untuk 2.300 unit rumah di Kecamatan "
    "Cepu sudah cair. “Kami berterima kasih,” ujar Wakil Gubernur Jateng Taj Yasin.\n"
    "Persib Bandung FC menang 2-1 atas Arema FC di Stadion Gelora Bandung Lautan Api.\n"
    "presiden joko widodo meresmikan bendungan di kabupaten grobogan, jawa tengah.\n"
    "Ok.\n"
    "Ya ya\n"
    "Ÿ ǅemo ÀÉÎ naïve café ² ٣ x_y __ ...!!! -- iii AAA Aaaa aAAa 12ab ab12\n"
)


def _sentences() -> list[list[str]]:
    out = [[t.text for t in tokenize(ARTICLE[s:e])] for s, e in split_sentences(ARTICLE)]
    out += [["Blora"], ["Blora", "."], ["di", "Blora", "."], ["PERSIB", "BANDUNG"]]
    return [truecase(w) for w in out if w]


def _reference_attributes(words: list[str]) -> list[list[tuple[str, float]]]:
    return [list(item.items()) for item in pycrfsuite.ItemSequence(sentence_features(words)).items()]


@pytest.mark.parametrize("words", _sentences())
def test_sentence_attributes_equal_reference(words: list[str]) -> None:
    fast = sentence_attributes(words)
    assert fast is not None
    # Same attributes, same order (crfsuite sums state scores in item order), all weight 1.0.
    assert [[(a, 1.0) for a in item] for item in fast] == _reference_attributes(words)
    # And a second (cached) call gives the same again.
    assert sentence_attributes(words) == fast


def test_tags_equal_reference() -> None:
    tagger = NerTagger()
    crf = tagger._tagger()
    for words in _sentences():
        assert crf.tag(sentence_features(words)) == tagger.tag_tokens(words)


def test_shape_collapses_runs_like_the_regex() -> None:
    trans = str.maketrans(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "x" * 26 + "X" * 26 + "d" * 10
    )
    for word in ["Blora", "SMAN", "2.300", "aa..bb", "x\n\ny", "", "é", "Ab-Cd", "...", "ǅǅx"]:
        assert _shape(word) == re.sub(r"(.)\1+", r"\1", word.translate(trans))


def test_tokenize_span_equals_shifted_tokenize() -> None:
    for s, e in [*split_sentences(ARTICLE), (0, len(ARTICLE)), (3, 17), (5, 5)]:
        shifted = [(t.text, t.start + s, t.end + s) for t in tokenize(ARTICLE[s:e])]
        assert [tuple(t) for t in tokenize_span(ARTICLE, s, e)] == shifted
        assert token_texts(ARTICLE[s:e]) == [t.text for t in tokenize(ARTICLE[s:e])]


def test_sentence_tokens_concatenate_to_text_tokens() -> None:
    joined = [t for s, e in split_sentences(ARTICLE) for t in tokenize_span(ARTICLE, s, e)]
    assert joined == tokenize(ARTICLE)


def _reference_predict(text: str) -> tuple[str, float]:
    ident = load_identifier()
    counts = Counter(f for f in features(text) if f in ident._vocab)
    if not counts:
        return "und", 0.0
    totals = [0.0] * len(ident.languages)
    for f, n in counts.items():
        for i, lp in enumerate(ident._vec[f]):
            totals[i] += n * lp
    scale = TEMPERATURE * math.sqrt(sum(counts.values()))
    scores = {
        lang: t / scale + math.log(PRIORS.get(lang, 0.1)) for lang, t in zip(ident.languages, totals, strict=True)
    }
    best = max(scores, key=scores.__getitem__)
    return best, 1.0 / sum(math.exp(s - scores[best]) for s in scores.values())


def test_langid_cached_predict_equals_reference() -> None:
    ident = load_identifier()
    texts = [ARTICLE, ARTICLE * 3, "The minister said on Monday that the plan is ready.", "", "123 456", "x" * 900]
    for text in texts:
        for _ in range(2):  # cold, then cached words
            assert ident.predict(text) == _reference_predict(text)
    assert len(ARTICLE * 3) > MAX_CHARS
