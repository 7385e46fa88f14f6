"""Settings of the search service (indexer, alerts consumer and API)."""

from __future__ import annotations

import secrets
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from shared.settings import CommonSettings


def _unset_webhook_secret() -> str:
    # Unset in dev or test: a random secret, so nothing is ever signed with a guessable one
    # (`warta search alerts` logs a warning; `make up` passes a per-machine secret).
    return secrets.token_hex(24)


class SearchSettings(CommonSettings):
    optional_secret_fields: ClassVar[tuple[str, ...]] = ("admin_key",)

    host: str = "127.0.0.1"
    port: int = 8002
    # Indexer batching: flush at this many records or this age, whichever comes first.
    batch_size: int = Field(default=500, ge=1, le=5000)
    batch_max_ms: int = Field(default=500, ge=10)
    # Item-level 5xx are retried this many times before the DLQ; 429s and outages are retried
    # without limit (they say nothing about the document), with exponential backoff.
    max_item_retries: int = 5
    # How often the indexer counts the tombstones of removed articles (no lookup per batch while
    # there are none) and re-checks what it indexed meanwhile (services/search/tombstones.py).
    tombstone_check_s: float = Field(default=2.0, gt=0.0, le=60.0)
    backoff_max_s: float = 30.0
    request_timeout_s: float = 30.0
    search_timeout: str = "10s"
    # The first admin key, ensured at start-up (make up writes it to .stack/admin-key).
    admin_key: str | None = None
    # Secret for the HMAC signature of alert webhooks (X-Warta-Signature: sha256=... over
    # X-Warta-Timestamp + "." + body; docs/alerts.md).
    # Only the alerts consumer (which sends the webhooks) needs it: see AlertsSettings.
    webhook_secret: str = Field(default_factory=_unset_webhook_secret)
    # Requests per key and minute on this API (ingest counts its own).
    rate_limit_per_minute: int = Field(default=600, ge=1)
    # Failed authentications (unknown or disabled key) per client address and minute before 429.
    auth_failures_per_minute: int = Field(default=20, ge=1)
    # Comma-separated host:port entries (as written in the URL, e.g. "127.0.0.1:9000,hooks.lan:8080")
    # that webhooks may call although they are or resolve to private, loopback or link-local
    # addresses. Only that exact host and port; everything else must resolve to public addresses.
    webhook_allow_hosts: str = ""
    # Where people open Warta: the links to the web app in digests and in spike alerts to a chat.
    public_url: str = "http://127.0.0.1:8002"

    @property
    def webhook_allow_list(self) -> list[str]:
        return [h.strip() for h in self.webhook_allow_hosts.split(",") if h.strip()]


class AlertsSettings(SearchSettings):
    """The alerts consumer's settings (``warta search alerts``): it sends the alert webhooks, so it
    needs their secret outside dev; it needs no admin key."""

    secret_fields: ClassVar[tuple[str, ...]] = ("webhook_secret",)
    optional_secret_fields: ClassVar[tuple[str, ...]] = ()

    # Batching of articles.indexed: match at this many articles or this age, whichever comes
    # first. A batch costs Elasticsearch about the same whatever its size (one msearch over every
    # saved search, about 0.15-0.3 CPU-second for 500 of them here), so the age is short while
    # traffic is steady (the index-to-match latency) and long while the consumer is busy (after a
    # batch of 1,000 or more: indexing at full speed, or a backlog), to cost indexing little.
    alerts_batch_size: int = Field(default=10_000, ge=1, le=10_000)  # le: the ids searches' result window
    alerts_batch_max_ms: int = Field(default=500, ge=10)
    alerts_busy_batch_max_ms: int = Field(default=4000, ge=10)
    # How often a saved search that Elasticsearch rejected is run again (alone) until it runs.
    alerts_retry_failing_s: float = Field(default=60.0, ge=0.0)
    # The process's nice increment: on a host it shares with the indexer and Elasticsearch, its CPU
    # goes to them first (a match may wait a little; indexing is not slowed). 0: equal priority.
    alerts_nice: int = Field(default=10, ge=0, le=19)
    # How often the spike alerts are checked (services/search/alerts/spikes.py); 0: never.
    alerts_spike_interval_s: float = Field(default=60.0, ge=0.0)

    @property
    def webhook_secret_set(self) -> bool:
        return "webhook_secret" in self.model_fields_set


class DigestSettings(SearchSettings):
    """The digest scheduler's settings (``warta search digests``, services/search/digests/): the
    SMTP server the e-mail digests go through, and the loop's timing. Chat digests use the
    webhook rules (``WARTA_WEBHOOK_ALLOW_HOSTS``). No SMTP host: e-mail digests fail with a clear
    error in their delivery (chat digests still go out)."""

    optional_secret_fields: ClassVar[tuple[str, ...]] = ("smtp_password",)

    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # starttls: plain connection upgraded with STARTTLS, refused if the server does not offer it
    # (port 587); implicit: TLS from the first byte (port 465); none: no TLS (a relay on localhost).
    smtp_security: Literal["starttls", "implicit", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Warta <warta@localhost>"
    # Certificate authorities the SMTP server's certificate is verified against (a private CA);
    # unset: the system's.
    smtp_ca_file: str | None = None
    smtp_timeout_s: float = Field(default=30.0, gt=0.0, le=300.0)
    # How often the scheduler looks for due digests; a digest goes out at most this late.
    digests_poll_s: float = Field(default=30.0, gt=0.0, le=3600.0)
    # A claimed digest whose sender stopped answering is taken over after this long. Longer than
    # one send can take (two channels, each bounded by smtp_timeout_s or 10 s for chat).
    digests_lease_s: float = Field(default=300.0, gt=0.0)
    # A digest whose channel failed is tried again after 1, 2, 4... minutes, this many times in all.
    digests_max_attempts: int = Field(default=6, ge=1, le=20)
    digests_retry_base_s: float = Field(default=60.0, gt=0.0)

    @field_validator("smtp_username", "smtp_password", "smtp_ca_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # compose passes an unset variable as "": no authentication, not an empty password
        return None if value == "" else value
