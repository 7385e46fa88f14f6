"""Settings of the ingest service: the API, the sources API and the crawler (``WARTA_*``
environment variables, pydantic-settings). One class for the whole service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from shared.settings import CommonSettings

DEFAULT_USER_AGENT = "WartaBot/0.1 (+https://github.com/warta-news/warta; media monitoring of Indonesian regional news)"


class IngestSettings(CommonSettings):
    optional_secret_fields: ClassVar[tuple[str, ...]] = ("admin_key",)

    # --- the API ---------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8001
    max_batch: int = Field(default=500, ge=1, le=5000)
    publish_timeout_s: float = 30.0
    # Largest HTML or text accepted through the API (bytes of the UTF-8 encoding).
    max_body_bytes: int = 2_000_000
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

    # --- the source registry (shared by the API and the crawler) ----------------------------
    # The registry lives in Elasticsearch, in the ``<index_prefix>warta-crawl-*`` indices.
    # YAML file of sources upserted into the registry when the crawler starts (optional).
    sources_seed_file: Path | None = None

    # --- the crawler: fetching --------------------------------------------------------------
    crawl_user_agent: str = DEFAULT_USER_AGENT
    crawl_connect_timeout_s: float = 5.0
    crawl_read_timeout_s: float = 15.0
    crawl_max_body_bytes: int = 5 * 1024 * 1024
    crawl_max_redirects: int = 5
    crawl_per_host_concurrency: int = Field(default=2, ge=1)
    crawl_min_delay_s: float = Field(default=1.0, ge=0.0)
    # Cap for a robots.txt Crawl-delay we honour (a hostile value must not stall a source for hours).
    crawl_max_crawl_delay_s: float = 10.0
    # A 429/503 with Retry-After up to this long is waited out in place; longer ones fail the fetch.
    crawl_max_retry_wait_s: float = 5.0
    crawl_max_retries: int = Field(default=2, ge=0)
    crawl_robots_ttl_s: float = 3600.0
    # host:port entries exempt from the SSRF guard (local test sites). Empty in production.
    crawl_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Worker threads fetching article pages (shared by all sources).
    crawl_workers: int = Field(default=4, ge=1)
    # Sources crawled at the same time by the runner.
    crawl_parallel_sources: int = Field(default=2, ge=1)
    # Host lease in Redis (docs/crawler.md, "Several crawlers"): renewed every third of this; a
    # dead crawler's hosts move to the others after at most this long (plus one tick).
    crawl_host_lease_s: float = Field(default=10.0, ge=1.0, le=60.0)

    # --- the crawler: discovery bounds ------------------------------------------------------
    crawl_max_items_per_crawl: int = 500
    crawl_max_listing_pages: int = 5
    crawl_max_sitemaps: int = 50
    crawl_wp_per_page: int = 20
    crawl_wp_max_pages: int = 10

    # Seen-URL memory and conditional-GET validators in Redis, each key expiring after this long.
    crawl_seen_ttl_s: int = 60 * 24 * 3600
    crawl_validators_ttl_s: int = 14 * 24 * 3600

    # --- the crawler: scheduling defaults (a source may override min/max) and health ---------
    crawl_default_min_interval_s: float = 300.0
    crawl_default_max_interval_s: float = 6 * 3600.0
    crawl_tick_s: float = 1.0
    # Health flags: silent after this many usual intervals without a new article, failing after
    # this many consecutive failed crawls.
    crawl_silent_factor: float = 3.0
    crawl_silent_default_s: float = 7 * 24 * 3600.0
    crawl_failing_after: int = 3
    # The one check of a new source's URL (POST /v1/sources): every request and the whole check
    # end within this many seconds.
    source_check_timeout_s: float = Field(default=10.0, gt=0, le=60)

    @field_validator("crawl_allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return [str(h).strip().lower() for h in json.loads(value)]
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @property
    def crawl_redis_prefix(self) -> str:
        return f"{self.redis_prefix}crawl:"
