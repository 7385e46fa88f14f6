"""The alerts matcher on a real Elasticsearch (services/search/alerts/es.py): the chunked filters
aggregations find exactly what each saved search finds alone, documents written without a refresh
are matched, a saved search that Elasticsearch rejects (nested too deep) is isolated and marked
failing with a short message while the others match (one at the search API's own limit included),
an edit makes it recover, and recording is idempotent. Each test works under its own index prefix;
no Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from services.search.alerts.es import EsAlertBackend
from services.search.alerts.matching import AlertMatcher
from services.search.alerts.store import DELIVERY_STATE_RESET, QUERY_STATE_RESET, AlertIndices, SavedSearchStore
from services.search.index import ensure_index
from services.search.query import parse, to_es_query
from shared.schemas import IndexedArticle
from shared.settings import articles_alias
from tests.pipeline import new_prefix

pytestmark = [pytest.mark.elasticsearch]

OUTLETS = ("suarablora.example", "kabarjateng.example")
BODIES = [
    "Pemerintah Kabupaten Blora menggelar rapat penanganan banjir bersama BPBD Jawa Tengah.",
    "Wakil Bupati Blora Sri Setyorini meninjau tanggul Sungai Lusi yang jebol.",
    "Harga cabai di pasar Cepu naik menjelang lebaran, kata pedagang.",
    "Festival budaya Samin digelar di alun-alun Blora dengan pawai.",
    "Banjir rob merendam permukiman di pesisir Rembang dan Pati.",
    "Bupati Rembang meresmikan pasar tradisional yang baru dibangun.",
    "Polisi menangkap pelaku pencurian sepeda motor di Cepu.",
    "BPBD Jawa Tengah menyalurkan bantuan logistik bagi korban banjir di Blora.",
]
QUERIES = [
    '"Kabupaten Blora" AND (banjir OR tanggul)',
    "banjir NOT rob",
    "Blora NEAR/3 tanggul",
    "pasar AND (Cepu OR Rembang)",
    "title:festival",
    "bantua* AND BPBD",
    f"source:{OUTLETS[1]} AND banjir",
    "pencurian OR penangkapan",
    '"Sri Setyorini"',
    "NOT Blora",
]


def deep_query(levels: int) -> str:
    """A query the parser accepts whose bools nest ``levels + 1`` deep once compiled; it matches
    every article about ``banjir``."""
    text = "(banjir OR " + "".join(f"(kata{i} " + ("AND " if i % 2 else "OR ") for i in range(1, levels))
    return text + "banjir" + ")" * levels


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    p = new_prefix()
    ensure_index(es, p)
    AlertIndices(p).ensure(es)
    yield p
    es.options(ignore_status=404).indices.delete(index=f"{p}*", expand_wildcards="all")


def write(es: Elasticsearch, prefix: str, first: int = 0) -> list[IndexedArticle]:
    """Index the articles the way the indexer does (no refresh) and return their announcements."""
    now = datetime.now(UTC)
    out = []
    for n, body in enumerate(BODIES[first:], start=first):
        doc: dict[str, Any] = {"id": f"a{n}", "title": body.split(",")[0][:60] + (" festival" if "Festival" in body else ""),
                               "body": body, "source": OUTLETS[n % 2], "url": f"https://{OUTLETS[n % 2]}/{n}",
                               "published_at": now.isoformat(), "ingested_at": now.isoformat()}  # fmt: skip
        resp = es.index(index=articles_alias(prefix), id=doc["id"], document=doc, refresh=False)
        out.append(IndexedArticle(id=doc["id"], index=resp["_index"], indexed_at=now, ingested_at=now))
    return out


def save(es: Elasticsearch, prefix: str, queries: list[str], webhook: str | None = None) -> list[dict[str, Any]]:
    """Saved searches as SavedSearchStore.create stores them, refreshed once (create waits for a
    refresh each)."""
    now = datetime.now(UTC).isoformat()
    docs = [{"id": f"s{n:03d}{uuid.uuid4().hex[:8]}", "name": f"m{n}", "query": q, "webhook_url": webhook if n == 0 else None,
             "enabled": True, "created_at": now, "updated_at": now, **DELIVERY_STATE_RESET, **QUERY_STATE_RESET}
            for n, q in enumerate(queries)]  # fmt: skip
    for d in docs:
        parse(d["query"])
        es.index(index=AlertIndices(prefix).saved, id=d["id"], document=d)
    es.indices.refresh(index=AlertIndices(prefix).saved)
    return docs


def matcher(es: Elasticsearch, prefix: str) -> AlertMatcher:
    return AlertMatcher(EsAlertBackend(es, prefix, articles_alias(prefix)))


def matches(es: Elasticsearch, prefix: str) -> set[tuple[str, str]]:
    idx = AlertIndices(prefix)
    es.indices.refresh(index=idx.matches)
    hits = es.search(index=idx.matches, size=1000)["hits"]["hits"]
    return {(h["_source"]["saved_search_id"], h["_source"]["article_id"]) for h in hits}


def test_chunked_matching_finds_what_each_saved_search_finds_alone(es: Elasticsearch, prefix: str) -> None:
    store = SavedSearchStore(es, prefix)
    saved = save(es, prefix, QUERIES * 3)  # 30: several per chunk
    articles = write(es, prefix)
    outcome = matcher(es, prefix).process(articles)
    assert outcome.refreshed and not outcome.failing and outcome.monitors == len(saved)
    expected = set()
    for s in saved:
        hits = es.search(index=articles_alias(prefix), query=to_es_query(parse(s["query"])), size=100)["hits"]["hits"]
        expected |= {(s["id"], h["_id"]) for h in hits}
    assert len(expected) > 30 and matches(es, prefix) == expected
    assert all(store.get(s["id"])["query_status"] == "ok" for s in saved)  # type: ignore[index]


def test_rejected_saved_searches_are_isolated_and_marked_failing(es: Elasticsearch, prefix: str) -> None:
    store = SavedSearchStore(es, prefix)
    # One nested past Elasticsearch's limit (the parser allows it; Elasticsearch refuses the whole
    # _msearch body), one at the limit of what the search API still accepts, and ordinary ones.
    too_deep, at_the_limit, *good = save(es, prefix, [deep_query(31), deep_query(28), *QUERIES],
                                         webhook="http://127.0.0.1:9/hook")  # fmt: skip
    articles = write(es, prefix)
    outcome = matcher(es, prefix).process(articles)

    assert set(outcome.failing) == {too_deep["id"]}
    state = store.get(too_deep["id"])
    assert state is not None and state["query_status"] == "failing" and state["query_failed_at"] is not None
    assert "nests too deeply" in state["query_error"]
    assert "exception" not in state["query_error"] and "[" not in state["query_error"]
    # Everyone else matched, the one at the search API's nesting limit too.
    assert store.get(at_the_limit["id"])["query_status"] == "ok"  # type: ignore[index]
    found = matches(es, prefix)
    assert (at_the_limit["id"], "a0") in found
    expected = set()
    for g in good:
        hits = es.search(index=articles_alias(prefix), query=to_es_query(parse(g["query"])), size=100)["hits"]["hits"]
        expected |= {(g["id"], h["_id"]) for h in hits}
    assert expected and expected <= found
    assert outcome.deliveries == 0  # the saved search with the webhook is the failing one

    # Idempotent: the same batch again records nothing new, and the failing ones are skipped.
    again = matcher(es, prefix).process(articles)
    assert again.new_matches == 0 and again.deliveries == 0
    assert matches(es, prefix) == found


def test_a_fixed_query_recovers(es: Elasticsearch, prefix: str) -> None:
    store = SavedSearchStore(es, prefix)
    [bad] = save(es, prefix, [deep_query(31)])
    m = matcher(es, prefix)
    m.process(write(es, prefix))
    assert store.get(bad["id"])["query_status"] == "failing"  # type: ignore[index]
    fixed = store.update(bad["id"], {"query": "banjir"})
    assert fixed is not None and fixed["query_status"] is None and fixed["query_error"] is None
    outcome = m.process(write(es, prefix, first=4))
    assert not outcome.failing
    state = store.get(bad["id"])
    assert state is not None and state["query_status"] == "ok" and state["query_failed_at"] is None
    assert (bad["id"], "a4") in matches(es, prefix)
