"""Index lifecycle against a real Elasticsearch: reindex with an atomic alias swap and no lost
writes, and retention by age. Each test works under its own index prefix."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from services.search.index import ensure_index, index_name
from services.search.lifecycle import (
    LifecycleError,
    delete_older_than,
    indices_behind,
    reindex,
    reindex_main,
    retention_main,
)
from tests.pipeline import ES_URL

pytestmark = [pytest.mark.elasticsearch]


def doc(i: int, version_ms: int, published: datetime | None = None, ingested: datetime | None = None,
        rev: int = 0) -> dict[str, Any]:  # fmt: skip
    ingested = ingested or datetime.now(UTC)
    d = {
        "id": f"a{i:06d}",
        "url": f"https://lifecycle.example/{i}",
        "title": f"Berita nomor {i} revisi {rev}",
        "body": f"Isi berita {i}",
        "source": "lifecycle.example",
        "ingested_at": ingested.isoformat(),
        "indexed_at": datetime.now(UTC).isoformat(),
        "word_count": rev,
    }
    if published is not None:
        d["published_at"] = published.isoformat()
    return d


def bulk(es: Elasticsearch, index: str, docs: list[tuple[dict[str, Any], int]]) -> None:
    """Write like the indexer: to the alias, external_gte version."""
    ops: list[dict[str, Any]] = []
    for d, version in docs:
        ops.append({"index": {"_index": index, "_id": d["id"], "version": version, "version_type": "external_gte"}})
        ops.append(d)
    resp = es.bulk(operations=ops, refresh=False)
    bad = [i for i in resp["items"] if i["index"]["status"] >= 300 and i["index"]["status"] != 409]
    assert not bad, bad[:3]


class Writer(threading.Thread):
    """Keeps adding ``new`` articles a round and updating every ``every``-th of the ``existing``
    ones (``make(i, version, rev)`` builds article i) through ``write`` until ``stop`` is set.
    ``latest`` is each article's last (version, revision); ``wrote_to`` the indices behind the
    alias at each round."""

    def __init__(self, es: Elasticsearch, alias: str, base: int, existing: int, make: Callable[[int, int, int], dict[str, Any]],
                 write: Callable[[list[tuple[dict[str, Any], int]]], None], new: int = 5, every: int = 300) -> None:  # fmt: skip
        super().__init__()
        self.es, self.alias, self.base, self.existing, self.make, self.write = es, alias, base, existing, make, write
        self.new, self.every = new, every
        self.latest: dict[str, tuple[int, int]] = {f"a{i:06d}": (base, 0) for i in range(existing)}
        self.stop = threading.Event()
        self.wrote_to: set[str] = set()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        n, rev = self.existing, 0
        try:
            while not self.stop.is_set():
                rev += 1
                version = self.base + rev
                batch = [(self.make(n + k, version, rev), version) for k in range(self.new)]
                batch += [(self.make(k, version, rev), version) for k in range(rev % 50, self.existing, self.every)]
                self.wrote_to.update(indices_behind(self.es, self.alias))
                self.write(batch)
                for d, v in batch:
                    self.latest[d["id"]] = (v, rev)
                n += self.new
                time.sleep(0.02)
        except BaseException as exc:
            self.errors.append(exc)

    def __enter__(self) -> Writer:
        self.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.5)  # some writes after the swap too
        self.stop.set()
        self.join(30)


def test_reindex_copies_every_document_and_swaps_the_alias(es: Elasticsearch, prefix: str) -> None:
    alias = ensure_index(es, prefix)
    base = 1_700_000_000_000
    bulk(es, alias, [(doc(i, base + i), base + i) for i in range(1200)])
    es.indices.refresh(index=alias)

    result = reindex(es, prefix, 2, batch=500, grace_s=0.2)

    assert indices_behind(es, alias) == [index_name(prefix, 2)]
    assert es.indices.get_alias(name=alias)[index_name(prefix, 2)]["aliases"][alias]["is_write_index"] is True
    assert result["copied"] == 1200 and result["failed"] == 0 and result["docs"] == 1200
    assert es.count(index=alias)["count"] == 1200
    # Versions (the ingest time) are preserved, so the indexer's external_gte keeps working.
    got = es.get(index=alias, id="a000007")
    assert got["_version"] == base + 7 and got["_source"]["title"] == "Berita nomor 7 revisi 0"
    # The old index is kept for a rollback.
    assert es.indices.exists(index=index_name(prefix, 1))

    with pytest.raises(LifecycleError):
        reindex(es, prefix, 2)


def test_reindex_loses_no_concurrent_writes(es: Elasticsearch, prefix: str) -> None:
    """A writer keeps adding and updating articles through the alias while the reindex copies:
    afterwards the new index has every article at its latest version."""
    alias = ensure_index(es, prefix)
    base = 1_700_000_000_000
    bulk(es, alias, [(doc(i, base), base) for i in range(3000)])
    es.indices.refresh(index=alias)
    with Writer(es, alias, base, 3000, lambda i, v, rev: doc(i, v, rev=rev), lambda b: bulk(es, alias, b)) as w:
        result = reindex(es, prefix, 2, batch=200, grace_s=1.0)
    assert not w.errors, w.errors
    latest = w.latest
    new = index_name(prefix, 2)
    assert w.wrote_to == {index_name(prefix, 1), new}, "the writer should have written before and after the swap"
    assert result["caught_up"] > 0, "writes during the copy must have been caught up"
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == len(latest)
    # Every article at its latest version (check a spread of ids, and all new articles).
    ids = [f"a{i:06d}" for i in range(0, 3000, 7)] + [i for i in latest if int(i[1:]) >= 3000]
    for lo in range(0, len(ids), 500):
        resp = es.mget(index=alias, ids=ids[lo : lo + 500], source=["word_count"])
        for d in resp["docs"]:
            assert d["found"], d["_id"]
            assert d["_index"] == new
            assert (d["_version"], d["_source"]["word_count"]) == latest[d["_id"]], d["_id"]


def test_retention_deletes_by_published_or_ingested_age(es: Elasticsearch, prefix: str) -> None:
    alias = ensure_index(es, prefix)
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=2)
    docs = [
        doc(1, 1, published=old, ingested=recent),  # published long ago: goes
        doc(2, 1, published=recent, ingested=old),  # recent publication: stays (by published_at)
        doc(3, 1, published=None, ingested=old),  # no date: its ingest time decides: goes
        doc(4, 1, published=None, ingested=recent),  # stays
        doc(5, 1, published=recent, ingested=recent),  # stays
    ]
    bulk(es, alias, [(d, 1) for d in docs])
    es.indices.refresh(index=alias)

    assert delete_older_than(es, alias, 30, dry_run=True)["would_delete"] == 2
    result = delete_older_than(es, alias, 30)
    assert result["deleted"] == 2 and result["method"] in {"delete_by_query", "scan+bulk"}
    es.indices.refresh(index=alias)
    left = sorted(h["_id"] for h in es.search(index=alias, size=10)["hits"]["hits"])
    assert left == ["a000002", "a000004", "a000005"]

    by_ingest = delete_older_than(es, alias, 30, field="ingested_at")
    assert by_ingest["deleted"] == 1  # a000002 was ingested 40 days ago


def test_cli_handlers(
    es: Elasticsearch, prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WARTA_ES_URL", ES_URL)
    monkeypatch.setenv("WARTA_INDEX_PREFIX", prefix)
    monkeypatch.setenv("WARTA_RETENTION_DAYS", "30")
    alias = ensure_index(es, prefix)
    now = datetime.now(UTC)
    bulk(es, alias, [(doc(1, 1, published=now - timedelta(days=90)), 1), (doc(2, 1, published=now), 1)])
    es.indices.refresh(index=alias)

    assert reindex_main(["--grace", "0.1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["to"] == index_name(prefix, 2) and out["docs"] == 2
    assert retention_main(["--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["would_delete"] == 1
    assert retention_main([]) == 0
    assert json.loads(capsys.readouterr().out)["deleted"] == 1
    assert reindex_main(["--version", "2"]) == 1  # already the current index
