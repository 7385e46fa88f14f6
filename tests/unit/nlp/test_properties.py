from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.enrich.nlp import annotate
from services.enrich.nlp.text import split_sentences
from shared.schemas import ArticleTone, EntityTone

WORDS = st.sampled_from(
    [
        "Bupati",
        "Blora",
        "H.",
        "Arief",
        "Rohman",
        "Pemkab",
        "Semarang",
        "di",
        "dan",
        "4,42",
        "“Kami",
        "hadir.”",
        "Jateng",
        "kata",
        "dia.",
        "Dr.",
        "Kemenpan",
        "RB",
        "(PAN",
        "RB)",
        "\n",
        "warga",
        "?",
        "!",
        "Wabup",
        "Sri",
    ]
)
TEXTS = st.lists(WORDS, max_size=60).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_annotate_contract_holds_for_any_text(text: str) -> None:
    result = annotate(text)
    dateline = result["dateline"]
    assert set(result) == {
        "language", "language_confidence", "entities", "regions", "regions_mentioned", "summary", "keywords", "dateline",
        "tone", "entity_tones",
    }  # fmt: skip
    ArticleTone.model_validate(result["tone"])
    assert result["tone"]["headline"] is None  # no title
    keys = [(t["type"], t["canonical"]) for t in result["entity_tones"]]
    people_and_orgs = {(e["type"], e["canonical"]) for e in result["entities"] if e["type"] != "LOC"}
    assert len(keys) == len(set(keys)) and set(keys) == people_and_orgs
    for t in result["entity_tones"]:
        EntityTone.model_validate(t)
        if "evidence" in t:
            assert text[t["evidence_start"] : t["evidence_end"]] == t["evidence"]
            assert dateline is None or t["evidence_start"] >= dateline["end"]
    if dateline is not None:
        assert 0 <= dateline["start"] < dateline["end"] <= len(text)
        assert all(e["start"] >= dateline["end"] for e in result["entities"])
    assert 0.0 <= result["language_confidence"] <= 1.0
    for e in result["entities"]:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["type"] in {"PER", "ORG", "LOC"} and e["canonical"]
    assert len(result["summary"]) <= 4
    assert all(s in text for s in result["summary"])
    assert len(result["keywords"]) <= 10
    assert all(r["level"] in {"provinsi", "kabupaten_kota"} for r in result["regions"] + result["regions_mentioned"])
    # A region is the article's or mentioned in passing, never both.
    assert not {r["code"] for r in result["regions"]} & {r["code"] for r in result["regions_mentioned"]}


@given(st.text(max_size=200))
def test_sentence_spans_are_ordered_non_empty_and_stripped(text: str) -> None:
    spans = split_sentences(text)
    prev_end = 0
    for s, e in spans:
        assert prev_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        prev_end = e


def test_empty_text() -> None:
    result = annotate("")
    assert result["entities"] == [] and result["summary"] == [] and result["regions"] == []
    assert result["language"] == "und"
