"""The search API's region facet and region filter count an article's own regions, not the regions
it mentions in passing (issue 16, item 4); ``region_scope=any`` finds passing mentions too.

The search API runs in process (its real lifespan) against real Elasticsearch under its own index
prefix; the articles are written straight to the index as the indexer would project them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from services.search.api import create_app
from services.search.index import ensure_index, to_document
from services.search.settings import SearchSettings
from shared.schemas import EnrichedArticle
from tests.pipeline import ES_URL, new_prefix

pytestmark = [pytest.mark.elasticsearch]

EXAMPLES = Path(__file__).resolve().parents[3] / "shared/contracts/examples/articles.enriched/v1"
ADMIN_KEY = "region-facet-test-admin-key-0123456789"


def _article(name: str, **changes: Any) -> EnrichedArticle:
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return EnrichedArticle.model_validate({**data, **changes})


class Api:
    """The search API in process with its real lifespan; ``get`` runs requests in one session."""

    def __init__(self, settings: SearchSettings) -> None:
        self.settings = settings

    def get(self, *calls: tuple[str, dict[str, Any]]) -> list[httpx.Response]:
        async def run() -> list[httpx.Response]:
            app = create_app(self.settings)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://search.test", headers=headers
                ) as http:
                    return [await http.get(path, params=params) for path, params in calls]

        return asyncio.run(run())


@pytest.fixture
def api() -> Iterator[Api]:
    prefix = new_prefix()
    es = Elasticsearch(ES_URL, request_timeout=60)
    try:
        alias = ensure_index(es, prefix)
        now = datetime.now(UTC).isoformat()
        # The Jepara craft fair: Kabupaten Jepara + Jawa Tengah; Jakarta and Bali in passing.
        jepara = _article("enriched-regions-mentioned.json")
        # A Blora story enriched before the split (no regions_mentioned at all).
        blora = _article("enriched.json")
        # A Denpasar story: Bali is its own region.
        denpasar = _article(
            "enriched.json", id="denpasar-1", title="Pemkot Denpasar Tambah Armada Sampah",
            regions=[{"code": "5171", "name": "Kota Denpasar", "level": "kabupaten_kota"},
                     {"code": "51", "name": "Bali", "level": "provinsi"}],
        )  # fmt: skip
        for article in (jepara, blora, denpasar):
            es.index(index=alias, id=article.id, document=to_document(article, now))
        es.indices.refresh(index=alias)
        yield Api(SearchSettings(es_url=ES_URL, index_prefix=prefix, admin_key=ADMIN_KEY))
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        es.close()


def _ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {hit["id"] for hit in response.json()["hits"]}


def _counts(response: httpx.Response) -> dict[str, int]:
    assert response.status_code == 200, response.text
    return {b["key"]: b["count"] for b in response.json()["values"]}


def test_region_facet_counts_primary_regions_only(api: Api) -> None:
    primary, mentioned = api.get(
        ("/v1/analytics/top", {"field": "region", "size": 20}),
        ("/v1/analytics/top", {"field": "region_mentioned", "size": 20}),
    )
    counts = _counts(primary)
    assert counts == {"Jawa Tengah": 2, "Kabupaten Jepara": 1, "Kabupaten Blora": 1, "Bali": 1, "Kota Denpasar": 1}
    assert "Daerah Khusus Ibukota Jakarta" not in counts  # named in passing by the Jepara story only
    assert _counts(mentioned) == {"Daerah Khusus Ibukota Jakarta": 1, "Bali": 1}


def test_region_filter_uses_primary_regions_unless_scope_any(api: Api) -> None:
    jepara = "7c1d2e3f4a5b6c7d8e9f0a1b"
    bali, jakarta, bali_any, jakarta_any, facet_any = api.get(
        ("/v1/search", {"region": "Bali", "size": 20}),
        ("/v1/search", {"q": "region:Jakarta", "size": 20}),
        ("/v1/search", {"region": "Bali", "region_scope": "any", "size": 20}),
        ("/v1/search", {"q": "region:Jakarta", "region_scope": "any", "size": 20}),
        ("/v1/analytics/top", {"field": "region", "q": "region:Jakarta", "region_scope": "any"}),
    )
    assert _ids(bali) == {"denpasar-1"}
    assert _ids(jakarta) == set()
    assert _ids(bali_any) == {"denpasar-1", jepara}
    assert _ids(jakarta_any) == {jepara}
    # The facet still counts the matches' own regions: Jakarta is only mentioned in Jepara's story.
    assert _counts(facet_any) == {"Kabupaten Jepara": 1, "Jawa Tengah": 1}
