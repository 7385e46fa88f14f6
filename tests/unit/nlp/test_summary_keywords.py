from services.enrich.nlp import annotate
from services.enrich.nlp.rouge import rouge
from services.enrich.nlp.stopwords import stopwords
from services.enrich.nlp.summarize import FEATURE_NAMES, load_model, select, word_count
from services.enrich.nlp.text import token_texts

ARTICLE = """Semarang – Pemerintah Provinsi Jawa Tengah meluncurkan program beasiswa bagi 5.000 pelajar dari keluarga kurang mampu.
Program tersebut diluncurkan oleh Gubernur Jawa Tengah di Gedung Gradhika Bhakti Praja, Senin (5/5/2025). Beasiswa diberikan untuk jenjang SMA dan SMK.
Menurut dia, anggaran program beasiswa mencapai Rp 25 miliar dan bersumber dari APBD provinsi.
“Kami ingin tidak ada anak Jawa Tengah yang putus sekolah karena biaya,” ujarnya.
Kepala Dinas Pendidikan dan Kebudayaan Jawa Tengah menambahkan, pendaftaran beasiswa dibuka mulai Juni secara daring.
Seleksi penerima beasiswa akan mempertimbangkan data kemiskinan dan prestasi akademik pelajar.
Baca juga: Harga cabai di Semarang naik lagi."""


def test_summary_is_two_to_four_sentences_within_the_budget_in_article_order() -> None:
    result = annotate(ARTICLE, title="Pemprov Jateng luncurkan beasiswa untuk 5.000 pelajar")
    summary = result["summary"]
    model = load_model()
    assert model.min_sentences <= len(summary) <= model.max_sentences
    lengths = [word_count(token_texts(s)) for s in summary]
    # Past the first ``min_sentences``, a sentence is only added while the summary fits the budget.
    assert model.budget_words is not None
    assert sum(lengths) <= model.budget_words or len(summary) == model.min_sentences
    positions = [ARTICLE.index(s) for s in summary]
    assert positions == sorted(positions)
    assert not any(s.startswith("Baca juga") for s in summary)


def test_keywords_five_to_ten_without_stopwords() -> None:
    result = annotate(ARTICLE, title="Pemprov Jateng luncurkan beasiswa untuk 5.000 pelajar")
    keywords = result["keywords"]
    assert 5 <= len(keywords) <= 10
    assert "beasiswa" in " ".join(keywords).lower()
    sw = stopwords()
    assert not any(k.lower() in sw for k in keywords)
    assert len({k.lower() for k in keywords}) == len(keywords)


def test_regions_from_dateline_and_mentions() -> None:
    regions = annotate(ARTICLE)["regions"]
    assert {"code": "33", "name": "Jawa Tengah", "level": "provinsi"} in regions


def test_select_keeps_article_order() -> None:
    assert select([0.1, 0.9, 0.5, 0.8], 3) == [1, 2, 3]
    assert select([0.1, 0.9], 3) == [0, 1]


def test_model_matches_features() -> None:
    model = load_model()
    assert len(model.weights) == len(FEATURE_NAMES)
    assert 2 <= model.min_sentences <= model.max_sentences <= 5


def test_rouge_known_values() -> None:
    assert rouge(["a", "b", "c"], ["a", "b", "c"]) == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    r = rouge(["a", "b", "x"], ["a", "b", "c", "d"])
    assert round(r["rouge1"], 4) == round(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), 4)
    assert round(r["rouge2"], 4) == round(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3), 4)
    assert rouge(["x"], ["y"])["rougeL"] == 0.0


def test_english_gets_language_but_no_indonesian_entities() -> None:
    result = annotate("The regent of Blora received a national award for public services in Semarang on Monday.")
    assert result["language"] == "en"
    assert result["entities"] == []
