"""``warta ingest migrate-registry --from PATH``: copy a SQLite source registry (the format used
before the registry moved to Elasticsearch) into the Elasticsearch registry.

Everything is copied: the sources with their scheduling state and counters, the crawl runs (the
last ones kept per source, in their order), and the recent article publication and collection
times. Every document is written under an id derived from what it stands for (the source id,
``<source id>:<run number>``, ``<source id>:<article id>``), replacing what is there, so running
the migration twice gives the same result. Run it before the crawlers start on the new registry:
it replaces the Elasticsearch state of each source it copies. Blocks on SQLite and Elasticsearch;
raises ``sqlite3.Error`` for a file that is not a registry.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from elasticsearch import helpers

from services.ingest.crawler.registry import (
    CrawlRecord,
    SourceRegistry,
    SourceState,
    article_doc_id,
    empty_counters,
    run_id,
    url_claim_id,
    url_key_or_none,
)

# The SQLite registry's schema, as its last version wrote it (tests build a registry file with
# it). ``crawl_runs.error_code`` was added late: files without it are read too.
SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    language TEXT,
    region TEXT,
    outlet TEXT,
    min_interval_s REAL,
    max_interval_s REAL,
    include_patterns TEXT NOT NULL DEFAULT '[]',
    exclude_patterns TEXT NOT NULL DEFAULT '[]',
    max_pages INTEGER,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_state (
    source_id TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    interval_s REAL,
    next_crawl_at TEXT,
    last_crawl_at TEXT,
    last_success_at TEXT,
    last_new_article_at TEXT,
    first_crawl_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    feed_update_period_s REAL,
    retry_after_until TEXT,
    cursor TEXT,
    last_status TEXT,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS crawl_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status TEXT NOT NULL,
    discovered INTEGER NOT NULL,
    fetched INTEGER NOT NULL,
    published INTEGER NOT NULL,
    skipped TEXT NOT NULL,
    failed TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    next_crawl_at TEXT,
    error_code TEXT
);
CREATE INDEX IF NOT EXISTS crawl_runs_source ON crawl_runs(source_id, id);
CREATE TABLE IF NOT EXISTS source_counters (
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    count INTEGER NOT NULL,
    PRIMARY KEY (source_id, kind, reason)
);
CREATE TABLE IF NOT EXISTS article_times (
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    article_id TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (source_id, article_id)
);
CREATE TABLE IF NOT EXISTS article_discoveries (
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    article_id TEXT NOT NULL,
    discovered_at TEXT NOT NULL,
    PRIMARY KEY (source_id, article_id)
);
CREATE INDEX IF NOT EXISTS article_discoveries_time ON article_discoveries(source_id, discovered_at);
"""


@dataclass
class MigrationCounts:
    sources: int = 0
    runs: int = 0
    articles: int = 0


def _rows(db: sqlite3.Connection, query: str) -> Iterator[sqlite3.Row]:
    yield from db.execute(query)


def _source_docs(db: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    states = {row["source_id"]: dict(row) for row in _rows(db, "SELECT * FROM source_state")}
    counters: dict[str, dict[str, Any]] = defaultdict(empty_counters)
    for row in _rows(db, "SELECT source_id, kind, reason, count FROM source_counters"):
        if row["kind"] in ("skipped", "failed"):
            counters[row["source_id"]][row["kind"]][row["reason"]] = row["count"]
        else:
            counters[row["source_id"]][row["kind"]] = row["count"]
    runs = dict(db.execute("SELECT source_id, COUNT(*) FROM crawl_runs GROUP BY source_id").fetchall())
    for row in _rows(db, "SELECT * FROM sources ORDER BY created_at, id"):
        source = dict(row)
        state_row = states.get(source["id"], {})
        state = SourceState.from_doc(state_row)
        yield {
            **source,
            "include_patterns": json.loads(source["include_patterns"] or "[]"),
            "exclude_patterns": json.loads(source["exclude_patterns"] or "[]"),
            "enabled": bool(source["enabled"]),
            "url_key": url_key_or_none(source["url"]),
            "created_at": datetime.fromisoformat(source["created_at"]).isoformat(),
            "updated_at": datetime.fromisoformat(source["updated_at"]).isoformat(),
            "state": state.as_doc(),
            "counters": counters[source["id"]],
            "runs_recorded": runs.get(source["id"], 0),
        }


def _run_docs(db: sqlite3.Connection) -> Iterator[tuple[str, dict[str, Any]]]:
    columns = {row[1] for row in db.execute("PRAGMA table_info(crawl_runs)")}
    seq: dict[str, int] = defaultdict(int)
    for row in _rows(db, "SELECT * FROM crawl_runs ORDER BY source_id, id"):
        r = dict(row)
        seq[r["source_id"]] += 1
        record = CrawlRecord.from_doc(
            {
                **r,
                "skipped": json.loads(r["skipped"] or "{}"),
                "failed": json.loads(r["failed"] or "{}"),
                "error_code": r["error_code"] if "error_code" in columns else None,
            }
        )
        yield run_id(r["source_id"], seq[r["source_id"]]), record.as_doc(seq[r["source_id"]])


def _article_docs(db: sqlite3.Connection) -> Iterator[tuple[str, dict[str, Any]]]:
    articles: dict[tuple[str, str], dict[str, Any]] = {}
    for row in _rows(db, "SELECT source_id, article_id, published_at FROM article_times"):
        doc = articles.setdefault((row[0], row[1]), {"source_id": row[0], "article_id": row[1]})
        doc["published_at"] = datetime.fromisoformat(row[2]).isoformat()
    for row in _rows(db, "SELECT source_id, article_id, discovered_at FROM article_discoveries"):
        doc = articles.setdefault((row[0], row[1]), {"source_id": row[0], "article_id": row[1]})
        doc["collected_at"] = datetime.fromisoformat(row[2]).isoformat()
    for (source_id, article_id), doc in sorted(articles.items()):
        yield article_doc_id(source_id, article_id), doc


def migrate_sqlite(path: Path, registry: SourceRegistry) -> MigrationCounts:
    """Copy the SQLite registry at ``path`` into ``registry``. Idempotent (see module doc).
    Raises ``FileNotFoundError`` for a missing file, ``sqlite3.Error`` for one that is not a
    registry, and ``elasticsearch.helpers.BulkIndexError`` when a document is refused."""
    if not path.is_file():
        raise FileNotFoundError(f"no SQLite registry at {path}")
    counts = MigrationCounts()
    idx = registry.indices
    # Read-only: the migration never changes the old file.
    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        sources = list(_source_docs(db))
        # A URL two sources share (possible through the seed file) is held by the older one.
        holders: dict[str, dict[str, Any]] = {}
        actions: list[dict[str, Any]] = []
        for doc in sources:
            actions.append({"_op_type": "index", "_index": idx.sources, "_id": doc["id"], "_source": doc})
            if doc["url_key"] and doc["url_key"] not in holders:
                holders[doc["url_key"]] = doc
        for key, holder in holders.items():
            claim = {"url_key": key, "source_id": holder["id"], "claimed_at": holder["created_at"]}
            actions.append({"_op_type": "index", "_index": idx.urls, "_id": url_claim_id(key), "_source": claim})
        counts.sources = len(sources)
        helpers.bulk(registry.es, actions, refresh=True)
        for chunk in _chunks(_run_docs(db), 500):
            helpers.bulk(registry.es, [{"_index": idx.runs, "_id": i, "_source": d} for i, d in chunk])
            counts.runs += len(chunk)
        for chunk in _chunks(_article_docs(db), 500):
            helpers.bulk(registry.es, [{"_index": idx.articles, "_id": i, "_source": d} for i, d in chunk])
            counts.articles += len(chunk)
    finally:
        db.close()
    registry.es.indices.refresh(index=[idx.runs, idx.articles])
    return counts


def _chunks(items: Iterator[tuple[str, dict[str, Any]]], size: int) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    chunk: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
