"""Settings of the ingest service (API and crawler)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared.settings import CommonSettings


class IngestSettings(CommonSettings):
    optional_secret_fields: ClassVar[tuple[str, ...]] = ("admin_key",)

    host: str = "127.0.0.1"
    port: int = 8001
    max_batch: int = Field(default=500, ge=1, le=5000)
    publish_timeout_s: float = 30.0
    # Largest HTML or text accepted through the API (bytes of the UTF-8 encoding).
    max_body_bytes: int = 2_000_000
    data_dir: Path = Path(".stack/data/ingest")
    # HTML pushes are extracted in this many worker processes (at most this many pages at once per
    # API process), each page stopped after this much CPU time (a 413): the slowest of the real
    # pages measured needs 1.8 s, crafted link-heavy markup up to 12 s (services/ingest/extract/pool.py).
    extract_workers: int = Field(default=2, ge=1, le=32)
    extract_cpu_limit_s: float = Field(default=5.0, gt=0)
    # CPU time all the pages of one batch may spend together; later pages get a 413 of their own.
    extract_batch_cpu_s: float = Field(default=10.0, gt=0)
    admin_key: str | None = None
    # Requests per key and minute on this API (search counts its own).
    rate_limit_per_minute: int = Field(default=6000, ge=1)
    # Failed authentications (unknown or disabled key) per client address and minute before 429.
    auth_failures_per_minute: int = Field(default=20, ge=1)
