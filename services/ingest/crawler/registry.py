"""The source registry: sources, their scheduling state, counters and every crawl outcome, in
SQLite (WAL mode, so the API and the crawler process can read and write at the same time).

Each method opens its own short transaction, so one registry object is safe to share between
threads. Methods block on disk I/O and may raise ``sqlite3.Error``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, cast

import yaml

from services.ingest.crawler.models import Source, SourceCreate, SourceUpdate
from services.ingest.urls import InvalidURL, source_url_key

_SCHEMA = """
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
# Columns added after a registry file may have been created: (table, column, declaration).
_ADDED_COLUMNS = (("crawl_runs", "error_code", "TEXT"),)
RECENT_ARTICLE_TIMES = 50
RUNS_KEPT_PER_SOURCE = 500
DISCOVERIES_KEPT = timedelta(days=35)


class SourceNotFound(KeyError):
    pass


class SourceExists(ValueError):
    pass


class DuplicateSourceUrl(ValueError):
    """Another source already has this URL (same :func:`source_url_key`). ``existing`` is it."""

    def __init__(self, existing: Source) -> None:
        super().__init__(f"source {existing.id!r} already has this URL ({existing.url})")
        self.existing = existing


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:56]
    return slug if len(slug) >= 2 else f"source-{slug or 'x'}"


@dataclass
class SourceState:
    interval_s: float | None = None
    next_crawl_at: datetime | None = None
    last_crawl_at: datetime | None = None
    last_success_at: datetime | None = None
    last_new_article_at: datetime | None = None
    first_crawl_at: datetime | None = None
    consecutive_failures: int = 0
    feed_update_period_s: float | None = None
    retry_after_until: datetime | None = None
    cursor: str | None = None
    last_status: str | None = None
    last_error: str | None = None


@dataclass
class CrawlRecord:
    """The outcome of one crawl of one source, as stored."""

    source_id: str
    started_at: datetime
    finished_at: datetime
    status: str  # ok | not_modified | partial | failed
    discovered: int = 0
    fetched: int = 0
    published: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    error: str | None = None
    next_crawl_at: datetime | None = None
    # Why a failed crawl failed, as a stable code (a fetch or discovery reason, or
    # ``all_articles_failed`` / ``redis_error``); docs/crawler.md lists them.
    error_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "discovered": self.discovered,
            "fetched": self.fetched,
            "published": self.published,
            "skipped": dict(self.skipped),
            "failed": dict(self.failed),
            "requests": self.requests,
            "error": self.error,
            "error_code": self.error_code,
            "next_crawl_at": self.next_crawl_at,
        }


_REQUIRED = frozenset({"type", "name", "url", "enabled", "include_patterns", "exclude_patterns"})


class SourceRegistry:
    """SQLite-backed registry. Thread-safe; see module doc."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        with self._tx() as db:
            for table, column, declaration in _ADDED_COLUMNS:
                if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- sources ----------------------------------------------------------------------------

    @staticmethod
    def _row_to_source(row: sqlite3.Row) -> Source:
        data = dict(row)
        data["include_patterns"] = json.loads(data["include_patterns"])
        data["exclude_patterns"] = json.loads(data["exclude_patterns"])
        data["enabled"] = bool(data["enabled"])
        return Source.model_validate(data)

    def create(self, spec: SourceCreate, *, upsert: bool = False) -> Source:
        """Insert a source (``upsert`` replaces the editable fields of an existing id).
        Raises :class:`SourceExists` when the id is taken and ``upsert`` is false, and
        :class:`DuplicateSourceUrl` when another source has the same URL key (checked in the same
        transaction, so two concurrent creates cannot both pass; not checked for ``upsert``, the
        seed file, whose entries are the operator's by id)."""
        now = _iso(_now())
        source_id = spec.id or slugify(spec.name)
        values = {
            "id": source_id,
            "type": spec.type,
            "name": spec.name,
            "url": spec.url,
            "language": spec.language,
            "region": spec.region,
            "outlet": spec.outlet,
            "min_interval_s": spec.min_interval_s,
            "max_interval_s": spec.max_interval_s,
            "include_patterns": json.dumps(spec.include_patterns),
            "exclude_patterns": json.dumps(spec.exclude_patterns),
            "max_pages": spec.max_pages,
            "enabled": int(spec.enabled),
            "created_at": now,
            "updated_at": now,
        }
        with self._tx() as db:
            exists = db.execute("SELECT 1 FROM sources WHERE id = ?", (source_id,)).fetchone()
            if exists and not upsert:
                raise SourceExists(source_id)
            if not upsert:
                self._refuse_duplicate_url(db, spec.url, source_id)
            if exists:
                columns = [c for c in values if c not in {"id", "created_at"}]
                db.execute(
                    f"UPDATE sources SET {', '.join(f'{c} = :{c}' for c in columns)} WHERE id = :id",
                    values,
                )
            else:
                db.execute(
                    f"INSERT INTO sources ({', '.join(values)}) VALUES ({', '.join(':' + c for c in values)})",
                    values,
                )
                db.execute("INSERT INTO source_state (source_id, next_crawl_at) VALUES (?, ?)", (source_id, now))
        return self.get(source_id)

    def _refuse_duplicate_url(self, db: sqlite3.Connection, url: str, own_id: str | None) -> None:
        existing = self._find_by_url(db, url, own_id)
        if existing is not None:
            raise DuplicateSourceUrl(existing)

    def _find_by_url(self, db: sqlite3.Connection, url: str, own_id: str | None) -> Source | None:
        # Sources are few (tens to hundreds): comparing keys in Python keeps the key rule in one
        # place (services/ingest/urls.py) and needs no stored column.
        try:
            key = source_url_key(url)
        except InvalidURL:
            return None
        for row in db.execute("SELECT * FROM sources ORDER BY created_at, id"):
            if row["id"] == own_id:
                continue
            try:
                if source_url_key(row["url"]) == key:
                    return self._row_to_source(row)
            except InvalidURL:
                continue
        return None

    def find_by_url(self, url: str, *, exclude_id: str | None = None) -> Source | None:
        """The source (enabled or not) whose URL has the same :func:`source_url_key` as ``url``,
        other than ``exclude_id``; None when there is none."""
        with self._connect() as db:
            return self._find_by_url(db, url, exclude_id)

    def get(self, source_id: str) -> Source:
        with self._connect() as db:
            row = db.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise SourceNotFound(source_id)
        return self._row_to_source(row)

    def list_sources(self, *, enabled: bool | None = None) -> list[Source]:
        query, args = "SELECT * FROM sources", cast(tuple[Any, ...], ())
        if enabled is not None:
            query, args = query + " WHERE enabled = ?", (int(enabled),)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [self._row_to_source(r) for r in rows]

    def update(self, source_id: str, patch: SourceUpdate) -> Source:
        """Apply the fields set in ``patch``. Raises :class:`SourceNotFound`,
        :class:`DuplicateSourceUrl` (a new URL another source has) and ``ValueError`` (min
        interval above max after the merge)."""
        # null on a required field means "unchanged"; on an optional one it clears the value.
        changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None or k not in _REQUIRED}
        current = self.get(source_id)
        merged_min = changes.get("min_interval_s", current.min_interval_s)
        merged_max = changes.get("max_interval_s", current.max_interval_s)
        if merged_min and merged_max and merged_min > merged_max:
            raise ValueError("min_interval_s must not exceed max_interval_s")
        if not changes:
            return current
        for key in ("include_patterns", "exclude_patterns"):
            if key in changes:
                changes[key] = json.dumps(changes[key] or [])
        if "enabled" in changes:
            changes["enabled"] = int(bool(changes["enabled"]))
        changes["updated_at"] = _iso(_now())
        with self._tx() as db:
            if changes.get("url"):
                self._refuse_duplicate_url(db, changes["url"], source_id)
            db.execute(
                f"UPDATE sources SET {', '.join(f'{c} = :{c}' for c in changes)} WHERE id = :id",
                {**changes, "id": source_id},
            )
            if patch.enabled:
                # Re-enabling a source crawls it soon rather than at a stale schedule.
                db.execute("UPDATE source_state SET next_crawl_at = ? WHERE source_id = ?", (_iso(_now()), source_id))
        return self.get(source_id)

    def set_enabled(self, source_id: str, enabled: bool) -> Source:
        return self.update(source_id, SourceUpdate(enabled=enabled))

    def seed_from_yaml(self, path: Path | str) -> list[Source]:
        """Upsert every source in a YAML file (a list, or a mapping with a ``sources`` list).
        Idempotent. Raises ``pydantic.ValidationError`` naming the bad entry's field."""
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
        entries = document.get("sources", []) if isinstance(document, Mapping) else document
        specs = [SourceCreate.model_validate(entry) for entry in entries]
        return [self.create(spec, upsert=True) for spec in specs]

    # --- scheduling state -------------------------------------------------------------------

    def state(self, source_id: str) -> SourceState:
        with self._connect() as db:
            row = db.execute("SELECT * FROM source_state WHERE source_id = ?", (source_id,)).fetchone()
        if row is None:
            raise SourceNotFound(source_id)
        data = dict(row)
        data.pop("source_id")
        for key in (
            "next_crawl_at",
            "last_crawl_at",
            "last_success_at",
            "last_new_article_at",
            "first_crawl_at",
            "retry_after_until",
        ):
            data[key] = _dt(data[key])
        return SourceState(**data)

    def due(self, now: datetime | None = None, limit: int = 100) -> list[Source]:
        """Enabled sources whose next crawl time has come, most overdue first."""
        now_iso = _iso(now or _now())
        with self._connect() as db:
            rows = db.execute(
                """SELECT s.* FROM sources s JOIN source_state st ON st.source_id = s.id
                   WHERE s.enabled = 1 AND (st.next_crawl_at IS NULL OR st.next_crawl_at <= ?)
                   ORDER BY st.next_crawl_at LIMIT ?""",
                (now_iso, limit),
            ).fetchall()
        return [self._row_to_source(r) for r in rows]

    def next_due_at(self) -> datetime | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT MIN(st.next_crawl_at) FROM sources s JOIN source_state st ON st.source_id = s.id WHERE s.enabled = 1"
            ).fetchone()
        return _dt(row[0]) if row else None

    def request_crawl(self, source_id: str) -> None:
        """Make the source due now (the crawler picks it up within one tick). Idempotent."""
        self.get(source_id)
        with self._tx() as db:
            db.execute(
                "UPDATE source_state SET next_crawl_at = ?, retry_after_until = NULL WHERE source_id = ?",
                (_iso(_now()), source_id),
            )

    def claim(self, source_id: str, until: datetime) -> None:
        """Push the next crawl time forward while a crawl runs, so no other loop picks it up."""
        with self._tx() as db:
            db.execute("UPDATE source_state SET next_crawl_at = ? WHERE source_id = ?", (_iso(until), source_id))

    def record_crawl(
        self,
        record: CrawlRecord,
        state: SourceState,
        article_times: Sequence[tuple[str, datetime]] = (),
    ) -> None:
        """Store one crawl outcome, the new scheduling state and cumulative counters atomically.
        ``article_times`` are the articles this crawl published, (article id, publication time);
        an article id met for the first time for this source is counted as discovered at
        ``record.finished_at`` (:meth:`discoveries_per_day`)."""
        with self._tx() as db:
            db.execute(
                """INSERT INTO crawl_runs (source_id, started_at, finished_at, status, discovered, fetched,
                   published, skipped, failed, requests, error, next_crawl_at, error_code)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    record.source_id,
                    _iso(record.started_at),
                    _iso(record.finished_at),
                    record.status,
                    record.discovered,
                    record.fetched,
                    record.published,
                    json.dumps(dict(record.skipped)),
                    json.dumps(dict(record.failed)),
                    record.requests,
                    record.error,
                    _iso(record.next_crawl_at),
                    record.error_code,
                ),
            )
            db.execute(
                """DELETE FROM crawl_runs WHERE source_id = ? AND id NOT IN
                   (SELECT id FROM crawl_runs WHERE source_id = ? ORDER BY id DESC LIMIT ?)""",
                (record.source_id, record.source_id, RUNS_KEPT_PER_SOURCE),
            )
            db.execute(
                """UPDATE source_state SET interval_s = ?, next_crawl_at = ?, last_crawl_at = ?,
                   last_success_at = ?, last_new_article_at = ?, first_crawl_at = ?,
                   consecutive_failures = ?, feed_update_period_s = ?, retry_after_until = ?,
                   cursor = ?, last_status = ?, last_error = ? WHERE source_id = ?""",
                (
                    state.interval_s,
                    _iso(state.next_crawl_at),
                    _iso(state.last_crawl_at),
                    _iso(state.last_success_at),
                    _iso(state.last_new_article_at),
                    _iso(state.first_crawl_at),
                    state.consecutive_failures,
                    state.feed_update_period_s,
                    _iso(state.retry_after_until),
                    state.cursor,
                    state.last_status,
                    state.last_error,
                    record.source_id,
                ),
            )
            counts: list[tuple[str, str, int]] = [
                ("crawls", "", 1),
                ("discovered", "", record.discovered),
                ("fetched", "", record.fetched),
                ("published", "", record.published),
                *(("skipped", reason, n) for reason, n in record.skipped.items()),
                *(("failed", reason, n) for reason, n in record.failed.items()),
            ]
            db.executemany(
                """INSERT INTO source_counters (source_id, kind, reason, count) VALUES (?, ?, ?, ?)
                   ON CONFLICT (source_id, kind, reason) DO UPDATE SET count = count + excluded.count""",
                [(record.source_id, kind, reason, n) for kind, reason, n in counts if n],
            )
            if article_times:
                db.executemany(
                    "INSERT OR REPLACE INTO article_times (source_id, article_id, published_at) VALUES (?, ?, ?)",
                    [(record.source_id, aid, _iso(when)) for aid, when in article_times],
                )
                db.execute(
                    """DELETE FROM article_times WHERE source_id = ? AND article_id NOT IN
                       (SELECT article_id FROM article_times WHERE source_id = ? ORDER BY published_at DESC LIMIT ?)""",
                    (record.source_id, record.source_id, RECENT_ARTICLE_TIMES),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO article_discoveries (source_id, article_id, discovered_at) VALUES (?, ?, ?)",
                    [(record.source_id, aid, _iso(record.finished_at)) for aid, _ in article_times],
                )
                db.execute(
                    "DELETE FROM article_discoveries WHERE source_id = ? AND discovered_at < ?",
                    (record.source_id, _iso(record.finished_at - DISCOVERIES_KEPT)),
                )

    # --- reading outcomes -------------------------------------------------------------------

    def runs(self, source_id: str, limit: int = 20) -> list[CrawlRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM crawl_runs WHERE source_id = ? ORDER BY id DESC LIMIT ?", (source_id, limit)
            ).fetchall()
        return [
            CrawlRecord(
                source_id=r["source_id"],
                started_at=datetime.fromisoformat(r["started_at"]),
                finished_at=datetime.fromisoformat(r["finished_at"]),
                status=r["status"],
                discovered=r["discovered"],
                fetched=r["fetched"],
                published=r["published"],
                skipped=Counter(json.loads(r["skipped"])),
                failed=Counter(json.loads(r["failed"])),
                requests=r["requests"],
                error=r["error"],
                next_crawl_at=_dt(r["next_crawl_at"]),
                error_code=r["error_code"],
            )
            for r in rows
        ]

    def counters(self, source_id: str) -> dict[str, Any]:
        """Cumulative counters: {kind: n} for totals and {kind: {reason: n}} for skipped/failed."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT kind, reason, count FROM source_counters WHERE source_id = ?", (source_id,)
            ).fetchall()
        out: dict[str, Any] = {"crawls": 0, "discovered": 0, "fetched": 0, "published": 0, "skipped": {}, "failed": {}}
        for kind, reason, count in rows:
            if kind in ("skipped", "failed"):
                out[kind][reason] = count
            else:
                out[kind] = count
        return out

    def article_times(self, source_id: str) -> list[datetime]:
        """Publication times of the most recent articles published from this source, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT published_at FROM article_times WHERE source_id = ? ORDER BY published_at", (source_id,)
            ).fetchall()
        return [datetime.fromisoformat(r[0]) for r in rows]

    def discoveries_per_day(
        self, source_id: str, *, days: int, zone: tzinfo, now: datetime | None = None
    ) -> list[tuple[date, int]]:
        """Articles first collected from this source on each of the last ``days`` calendar days in
        ``zone`` (today included, oldest first, zero days included). Counts are by the time the
        crawler collected the article, not its publication date."""
        now = now or _now()
        today = now.astimezone(zone).date()
        first_day = today - timedelta(days=days - 1)
        since = datetime.combine(first_day, datetime.min.time(), zone)
        with self._connect() as db:
            rows = db.execute(
                "SELECT discovered_at FROM article_discoveries WHERE source_id = ? AND discovered_at >= ?",
                (source_id, _iso(since)),
            ).fetchall()
        counts = Counter(datetime.fromisoformat(r[0]).astimezone(zone).date() for r in rows)
        return [(first_day + timedelta(days=i), counts.get(first_day + timedelta(days=i), 0)) for i in range(days)]
