"""Primary-region precision and recall on the hand-labelled set ``evals/regions/labelled.jsonl``
(see ``evals/regions/README.md``): a section of ``make eval-nlp``.

Each article goes through ``annotate`` (the run-time path) and its ``regions`` (the primary
regions, what filters and facets use) are scored against the labels with
:func:`services.enrich.nlp.region_labels.score`. For comparison the same articles are scored
with every region the tagger found counted as the article's (``regions`` plus
``regions_mentioned``), which is what the tagger reported before regions were split by
prominence. The prominence weights were chosen on a separate tuning set
(``services/enrich/nlp/data/region_tuning.jsonl``, ``make train-regions``), never on this one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.enrich.nlp import annotate
from services.enrich.nlp.canonical import load_dictionary
from services.enrich.nlp.region_labels import indosum_text, indosum_title, load_indosum_by_id, read_labels, score
from services.ingest.demo_sites.content import load_site

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "evals" / "regions" / "labelled.jsonl"
# What precedes the first paragraph on each demo site's article page (its templates), so the
# text is the one ingest extracts: "KUDUS, Lintas Muria – Sebanyak 300 perajin …".
DEMO_DATELINES = {
    "lintasmuria": "KUDUS, Lintas Muria – ",
    "kabarserayu": "PURWOKERTO - ",
    "penadewata": "PENADEWATA.ID - ",
    "gemalereng": "",
}


def labelled_articles(data_root: Path, labels: Path = LABELS) -> list[dict[str, Any]]:
    """The labelled articles with their text and title: ``{..label, "text", "title"}``."""
    rows = read_labels(labels)
    indosum = load_indosum_by_id(data_root) if any(r["source"] == "indosum" for r in rows) else {}
    out = []
    for row in rows:
        if row["source"] == "indosum":
            doc = indosum[row["id"]]
            out.append({**row, "text": indosum_text(doc), "title": indosum_title(doc)})
        else:
            article = load_site(row["site"]).by_id(row["id"])
            if article is None:
                raise KeyError(f"demo article {row['site']}:{row['id']} not found")
            out.append({**row, "text": DEMO_DATELINES[row["site"]] + article.text, "title": article.title})
    return out


def eval_regions(data_root: Path, labels: Path = LABELS) -> dict[str, Any]:
    dictionary = load_dictionary()
    articles = labelled_articles(data_root, labels)
    primary: list[list[str]] = []
    found: list[list[str]] = []
    for a in articles:
        result = annotate(a["text"], a["title"])
        codes = [r["code"] for r in result["regions"]]
        primary.append(codes)
        found.append(codes + [r["code"] for r in result.get("regions_mentioned", [])])
    gold = [a["primary"] for a in articles]
    report: dict[str, Any] = {
        "labels": str(labels.relative_to(REPO)),
        "articles": len(articles),
        "articles_with_a_region": sum(bool(g) for g in gold),
        "primary": score(primary, gold, dictionary),
        "all_regions_found": score(found, gold, dictionary),
    }
    for source in ("indosum", "demo"):
        idx = [i for i, a in enumerate(articles) if a["source"] == source]
        report[f"primary_{source}"] = score([primary[i] for i in idx], [gold[i] for i in idx], dictionary)
    jepara = next((i for i, a in enumerate(articles) if a.get("site") == "lintasmuria" and a["id"] == 1102), None)
    if jepara is not None:
        report["demo_jepara_craft_fair"] = {
            "primary": [dictionary.regions[c].name for c in primary[jepara]],
            "all_found": [dictionary.regions[c].name for c in found[jepara]],
        }
    report["note"] = (
        "micro P/R/F1 over region codes, each article's predicted and labelled regions closed under "
        "'and its province'; 'primary' = the article's regions (what filters and facets use); "
        "'all_regions_found' = primary + passing mentions counted as the article's (the tagging before "
        "the prominence split reported every region it found this way)"
    )
    return report


if __name__ == "__main__":
    print(json.dumps(eval_regions(REPO.parent / "shared" / "data"), indent=2, ensure_ascii=False))
