"""Settings of the search service (indexer and API)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import CommonSettings


class SearchSettings(CommonSettings):
    secret_fields: ClassVar[tuple[str, ...]] = ("webhook_secret", "admin_key")

    host: str = "127.0.0.1"
    port: int = 8002
    # Indexer batching: flush at this many records or this age, whichever comes first.
    batch_size: int = Field(default=500, ge=1, le=5000)
    batch_max_ms: int = Field(default=500, ge=10)
    # Item-level 5xx are retried this many times before the DLQ; 429s and outages are retried
    # without limit (they say nothing about the document), with exponential backoff.
    max_item_retries: int = 5
    backoff_max_s: float = 30.0
    request_timeout_s: float = 30.0
    search_timeout: str = "10s"
    # The first admin key, ensured at start-up (make up writes it to .stack/admin-key).
    admin_key: str | None = None
    # Secret for the HMAC signature of alert webhooks (X-Warta-Signature: sha256=...).
    webhook_secret: str = "dev-secret"
    rate_limit_per_minute: int = Field(default=600, ge=1)
    # host:port entries allowed as webhook targets although they are private (local testing).
    webhook_allow_hosts: str = ""

    @property
    def alias(self) -> str:
        return f"{self.index_prefix}articles"
