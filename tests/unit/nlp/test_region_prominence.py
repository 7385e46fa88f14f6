"""Regions by prominence (issue 16, item 4): the article's regions (title, lead, repeated and
institutional mentions; the dateline only as a weak signal) apart from regions mentioned in
passing ("pembeli dari Bali dan Jakarta")."""

from __future__ import annotations

import json

from services.enrich.nlp import annotate
from services.enrich.nlp.canonical import load_dictionary
from services.enrich.nlp.regions import PARAMS_PATH, Evidence, ProminenceParams, choose_regions, load_params
from services.enrich.nlp.train_regions import GRID
from services.ingest.demo_sites.content import load_site

JAKARTA, BALI, JATENG = "31", "51", "33"
JEPARA, KUDUS, BLORA, BANYUMAS, DENPASAR = "3320", "3319", "3316", "3302", "5171"


def _tags(text: str, title: str | None = None) -> tuple[list[str], list[str]]:
    result = annotate(text, title)
    return [r["code"] for r in result["regions"]], [r["code"] for r in result["regions_mentioned"]]


def test_the_jepara_craft_fair_story_is_jepara_not_jakarta() -> None:
    """The demo story as ingest extracts it: Lintas Muria files every story from Kudus, and the
    buyers come "dari hotel dan restoran di Bali dan Jakarta"."""
    story = load_site("lintasmuria").by_id(1102)
    assert story is not None and "Bali dan Jakarta" in story.text
    regions, mentioned = _tags("KUDUS, Lintas Muria – " + story.text, story.title)
    assert regions == [JEPARA, JATENG]
    assert JAKARTA in mentioned and BALI in mentioned
    assert KUDUS not in regions + mentioned  # the dateline is where it was filed from, not a mention


def test_a_passing_mention_is_kept_apart() -> None:
    text = (
        "Pemerintah Kabupaten Banyumas membuka pasar baru di Purwokerto. Bupati Banyumas meresmikan pasar itu.\n"
        "Pedagang menjual batik yang juga dikirim ke Bali."
    )
    regions, mentioned = _tags(text, "Pemkab Banyumas Buka Pasar Baru")
    assert BANYUMAS in regions and BALI not in regions
    assert BALI in mentioned


def test_title_and_lead_make_a_region_the_articles() -> None:
    text = "Petugas kebersihan Denpasar mulai bekerja malam hari.\nWarga menyambut baik jadwal baru itu."
    regions, _ = _tags(text, "Pengangkutan Sampah Denpasar Kini Malam Hari")
    assert DENPASAR in regions and BALI in regions


def test_repeated_mentions_make_a_region_the_articles() -> None:
    lead = "Harga cabai di pasar tradisional naik tajam pekan ini.\n"
    later = "Di Blora, pedagang menaikkan harga. Petani Blora mengeluh hasil panen turun. Dinas di Blora memantau."
    regions, _ = _tags(lead + later)
    assert BLORA in regions


def test_one_late_mention_is_only_a_mention() -> None:
    lead = "Harga cabai di pasar tradisional naik tajam pekan ini.\n"
    regions, mentioned = _tags(lead + "Pasokan dari Blora berkurang karena hujan.")
    assert BLORA not in regions and BLORA in mentioned


def test_a_dateline_alone_is_not_the_articles_region() -> None:
    """National outlets file from Jakarta: the dateline says where, not what about."""
    regions, mentioned = _tags("Jakarta, CNN Indonesia -- Real Madrid menang 3-0 atas Barcelona di Madrid.")
    assert regions == [] and mentioned == []


def test_a_dateline_confirms_a_name_that_is_also_a_common_word() -> None:
    """ "Kudus" (holy) needs a cue, or the dateline naming the same place."""
    story = load_site("lintasmuria").by_id(1105)
    assert story is not None
    regions, _ = _tags("KUDUS, Lintas Muria – " + story.text, story.title)
    assert regions == [KUDUS, JATENG]
    regions, mentioned = _tags("Produsen jenang di Kudus mengirim dua ton ke Malaysia.")
    assert KUDUS not in regions + mentioned


def test_a_street_named_after_a_place_is_not_that_place() -> None:
    regions, mentioned = _tags("Massa berkumpul di Jalan Medan Merdeka Barat sejak pagi menuntut kenaikan upah.")
    assert "1271" not in regions + mentioned  # Kota Medan


def test_choice_rule() -> None:
    dictionary = load_dictionary()
    p = ProminenceParams(w_dateline=0.0, w_title=0.5, w_lead=3.0, w_mention=1.0, mention_cap=3,
                         w_institution=0.0, threshold=1.5, relative=0.5)  # fmt: skip
    evidence = {
        JEPARA: Evidence(title=True, lead=True, mentions=2),  # 5.5
        JAKARTA: Evidence(mentions=1),  # 1.0: below the threshold
        KUDUS: Evidence(dateline=True),  # 0.0 and never a mention
        BALI: Evidence(mentions=2),  # 2.0: over the threshold but under half the best
    }
    primary, mentioned = choose_regions(evidence, dictionary, p)
    assert primary == [JEPARA, JATENG]
    assert mentioned == [BALI, JAKARTA]


def test_committed_weights_come_from_the_cross_validated_grid() -> None:
    model = json.loads(PARAMS_PATH.read_text(encoding="utf-8"))
    params = load_params()
    for name, values in GRID.items():
        assert getattr(params, name) in values, name
    assert model["k"] >= 5 and model["tuning_labels"].endswith("region_tuning.jsonl")
    assert 0.0 <= model["nested_cv_estimate"]["f1"]["mean"] <= 1.0
