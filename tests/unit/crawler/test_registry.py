from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.ingest.crawler.models import SourceCreate, SourceUpdate
from services.ingest.crawler.registry import CrawlRecord, SourceExists, SourceNotFound, SourceRegistry, SourceState


def test_sources_survive_a_restart_and_seed_is_idempotent(tmp_path: Path) -> None:
    seed = tmp_path / "sources.yaml"
    seed.write_text(
        "sources:\n"
        "  - {id: lintasmuria-rss, type: rss, name: Lintas Muria, url: 'https://lintasmuria.example/feed/', region: Jawa Tengah}\n"
        "  - {type: sitemap, name: Pena Dewata, url: 'https://penadewata.example/sitemap_index.xml', region: Bali}\n",
        encoding="utf-8",
    )
    path = tmp_path / "db" / "sources.sqlite3"
    SourceRegistry(path).seed_from_yaml(seed)
    registry = SourceRegistry(path)
    registry.seed_from_yaml(seed)
    assert [s.id for s in registry.list_sources()] == ["lintasmuria-rss", "pena-dewata"]
    with pytest.raises(SourceExists):
        registry.create(SourceCreate(id="lintasmuria-rss", type="rss", name="x", url="https://x.example/"))


def test_bad_seed_names_the_field(tmp_path: Path) -> None:
    seed = tmp_path / "bad.yaml"
    seed.write_text("- {type: rss, name: x, url: 'gopher://x'}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="url"):
        SourceRegistry(tmp_path / "r.sqlite3").seed_from_yaml(seed)


def test_update_due_and_record(tmp_path: Path) -> None:
    registry = SourceRegistry(tmp_path / "r.sqlite3")
    registry.create(SourceCreate(id="s1", type="rss", name="S1", url="https://a.example/feed/"))
    assert [s.id for s in registry.due()] == ["s1"]
    now = datetime.now(UTC)
    record = CrawlRecord(
        source_id="s1",
        started_at=now,
        finished_at=now,
        status="partial",
        discovered=5,
        fetched=4,
        published=3,
        skipped=Counter({"seen": 1}),
        failed=Counter({"http_404": 1}),
    )
    registry.record_crawl(
        record, SourceState(next_crawl_at=now + timedelta(hours=1), last_success_at=now), [("a1", now)]
    )
    assert registry.due() == []
    registry.request_crawl("s1")
    assert [s.id for s in registry.due()] == ["s1"]
    counters = registry.counters("s1")
    assert counters["published"] == 3 and counters["failed"] == {"http_404": 1} and counters["skipped"] == {"seen": 1}
    assert registry.runs("s1")[0].failed == Counter({"http_404": 1})
    registry.update("s1", SourceUpdate(enabled=False))
    assert registry.due() == []
    with pytest.raises(SourceNotFound):
        registry.update("nope", SourceUpdate(name="x"))
    with sqlite3.connect(registry.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
