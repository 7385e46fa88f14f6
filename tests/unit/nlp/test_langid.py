import json
from pathlib import Path

import pytest

from services.enrich.nlp.langid import load_identifier

EVAL = Path(__file__).parent / "fixtures" / "langid_eval.jsonl"
CASES = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_held_out_sentences_mostly_correct() -> None:
    ident = load_identifier()
    correct = sum(ident.predict(c["text"])[0] == c["lang"] for c in CASES)
    # Short single sentences are the hard case; full articles are easier (see evals/).
    assert correct / len(CASES) >= 0.85


@pytest.mark.parametrize("lang", ["id", "jv", "su", "ms", "en"])
def test_each_language_is_recognised_on_paragraph_length_text(lang: str) -> None:
    text = " ".join(c["text"] for c in CASES if c["lang"] == lang)
    predicted, confidence = load_identifier().predict(text)
    assert predicted == lang
    assert 0.5 < confidence <= 1.0


def test_no_letters_is_undetermined() -> None:
    assert load_identifier().predict("12345 !!! 2024") == ("und", 0.0)
