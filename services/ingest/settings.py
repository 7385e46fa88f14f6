"""Settings of the ingest service (API and crawler)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import CommonSettings


class IngestSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = 8001
    max_batch: int = Field(default=500, ge=1, le=5000)
    publish_timeout_s: float = 30.0
    # Largest HTML or text accepted through the API (bytes of the UTF-8 encoding).
    max_body_bytes: int = 2_000_000
    data_dir: Path = Path(".stack/data/ingest")
    admin_key: str | None = None
    rate_limit_per_minute: int = Field(default=6000, ge=1)
