"""``annotate`` returns the article's tone and the tone toward each entity (services/enrich/nlp/tone.py),
in the shape the EnrichedArticle v2 schema takes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from services.enrich.nlp import annotate
from services.enrich.nlp.text import split_sentences
from shared.schemas import ArticleTone, EntityTone

LABELS = {"positive", "negative", "neutral"}

AWARD = (
    "Pemerintah Kabupaten Blora meraih predikat Sangat Baik dalam evaluasi pelayanan publik dari "
    "Kementerian PAN RB. Penghargaan itu diterima Wakil Bupati Blora Sri Setyorini di Semarang.\n\n"
    "Bupati Blora Arief Rohman mengapresiasi kerja keras seluruh aparatur. Ia berharap prestasi itu "
    "memacu peningkatan kualitas layanan kepada masyarakat."
)
CRIME = (
    "Polres Kudus menangkap dua pelaku pencurian sepeda motor di Kecamatan Jati. Kapolres Kudus AKBP "
    "Ronni Bonic mengatakan para pelaku sudah beraksi di sepuluh lokasi dan meresahkan warga.\n\n"
    "Korban mengalami kerugian puluhan juta rupiah. Para tersangka dijerat pasal pencurian dengan "
    "pemberatan dengan ancaman hukuman tujuh tahun penjara."
)


@pytest.mark.parametrize(
    ("text", "title"),
    [(AWARD, "Pemkab Blora Raih Predikat Sangat Baik Pelayanan Publik"), (CRIME, None)],
    ids=["award-with-title", "crime-without-title"],
)
def test_tone_and_entity_tones_shape(text: str, title: str | None) -> None:
    result = annotate(text, title)
    tone = result["tone"]
    assert set(tone) == {"label", "score", "headline", "body"}
    assert tone["label"] in LABELS and tone["body"] in LABELS
    assert -1.0 <= tone["score"] <= 1.0
    assert (tone["headline"] in LABELS) if title else (tone["headline"] is None)
    ArticleTone.model_validate(tone)

    entities = result["entities"]
    assert entities, "the fixture names people and institutions"
    # Persons and organisations get a tone; places do not.
    mentions = Counter((e["type"], e["canonical"]) for e in entities if e["type"] != "LOC")
    assert any(e["type"] == "LOC" for e in entities), "the fixture names a place too"
    tones = result["entity_tones"]
    keys = [(t["type"], t["canonical"]) for t in tones]
    assert len(keys) == len(set(keys)) and set(keys) == set(mentions)  # one per distinct entity
    sentences = {text[s:e] for s, e in split_sentences(text)}
    for t in tones:
        EntityTone.model_validate(t)
        assert t["label"] in LABELS and -1.0 <= t["score"] <= 1.0
        assert t["mentions"] == mentions[(t["type"], t["canonical"])]
        if t["label"] == "neutral":
            assert "evidence" not in t
        else:  # the evidence is one whole sentence of the text, at its offsets
            assert t["evidence"] in sentences
            assert text[t["evidence_start"] : t["evidence_end"]] == t["evidence"]


def test_clear_cases_get_their_tone() -> None:
    assert annotate(AWARD)["tone"]["body"] == "positive"
    crime = annotate(CRIME)
    assert crime["tone"]["body"] == "negative" and crime["tone"]["label"] == "negative"


def test_the_dateline_is_never_evidence() -> None:
    text = "KUDUS, Lintas Muria – " + CRIME
    result = annotate(text)
    assert result["dateline"] is not None
    for t in result["entity_tones"]:
        if "evidence" in t:
            assert t["evidence_start"] >= result["dateline"]["end"]
            assert text[t["evidence_start"] : t["evidence_end"]] == t["evidence"]


def test_english_text_has_a_tone_but_no_entity_tones() -> None:
    result: dict[str, Any] = annotate(
        "The regent of Blora received a national award for public services in Semarang on Monday.",
        "Blora wins award",
    )
    assert result["language"] == "en"
    assert result["entities"] == [] and result["entity_tones"] == []
    ArticleTone.model_validate(result["tone"])
    assert result["tone"]["headline"] in LABELS
