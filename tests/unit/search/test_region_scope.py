"""Regions by prominence on the search side (issue 16, item 4): the index keeps an article's
regions and its passing mentions apart; region filters and facets use the article's regions
unless ``region_scope=any``; records enriched before the split still index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.search.criteria import TOP_FIELDS, Criteria
from services.search.index import MAPPING, to_document
from shared.schemas import EnrichedArticle, decode

EXAMPLES = Path(__file__).resolve().parents[3] / "shared/contracts/examples/articles.enriched/v1"


def _fields(query: Any) -> set[str]:
    """Every field a ``term`` query in ``query`` looks at."""
    out: set[str] = set()
    if isinstance(query, dict):
        if "term" in query:
            out |= set(query["term"])
        for value in query.values():
            out |= _fields(value)
    elif isinstance(query, list):
        for value in query:
            out |= _fields(value)
    return out


def test_a_record_enriched_before_the_split_still_indexes() -> None:
    raw = json.loads((EXAMPLES / "enriched.json").read_text(encoding="utf-8"))
    assert "regions_mentioned" not in raw
    article = decode(EnrichedArticle, json.dumps(raw).encode())
    doc = to_document(article, "2025-05-06T00:00:00Z")
    assert doc["region_codes"] == ["33", "3316"]
    assert doc["region_mentioned_codes"] == [] and doc["region_mentioned_names"] == []
    assert set(doc) <= set(MAPPING["properties"])


def test_passing_mentions_are_projected_apart() -> None:
    article = decode(EnrichedArticle, (EXAMPLES / "enriched-regions-mentioned.json").read_bytes())
    doc = to_document(article, "2025-05-06T00:00:00Z")
    assert doc["region_codes"] == ["33", "3320"]
    assert doc["region_names"] == ["Jawa Tengah", "Kabupaten Jepara"]
    assert doc["region_mentioned_codes"] == ["31", "51"]
    assert set(doc) <= set(MAPPING["properties"])
    for key in ("regions_mentioned", "region_mentioned_codes", "region_mentioned_names"):
        assert key in MAPPING["properties"]


def test_region_filters_use_the_articles_regions_unless_asked() -> None:
    for criteria in (Criteria(q="region:Bali"), Criteria(regions=["Bali"])):
        fields = _fields(criteria.es_query())
        assert "region_codes" in fields and "region_mentioned_codes" not in fields
    for criteria in (Criteria(q="region:Bali", region_scope="any"), Criteria(regions=["Bali"], region_scope="any")):
        fields = _fields(criteria.es_query())
        assert {"region_codes", "region_mentioned_codes"} <= fields
    # A name that is no region is looked up by name in both too.
    assert {"region_names", "region_mentioned_names"} <= _fields(
        Criteria(q="region:Atlantis", region_scope="any").es_query()
    )


def test_the_region_facet_counts_the_articles_regions() -> None:
    assert TOP_FIELDS["region"] == "region_names"
    assert TOP_FIELDS["region_mentioned"] == "region_mentioned_names"
