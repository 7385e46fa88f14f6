"""Settings shared by every process: where the infrastructure is and how names are prefixed.

Each service extends :class:`CommonSettings` with one class of its own. Values come from
environment variables with the ``WARTA_`` prefix (pydantic-settings). ``WARTA_ENV`` other than
``dev``/``test`` (a deployment) refuses a placeholder or short secret at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.topics import Topic, physical

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "dev-secret"})
# ``openssl rand -hex 24`` gives 48 characters and every API key Warta issues has 43.
MIN_SECRET_CHARS = 32


class CommonSettings(BaseSettings):
    # Errors never show input values: the input holds the secrets (a start-up failure is logged).
    model_config = SettingsConfigDict(env_prefix="WARTA_", extra="ignore", hide_input_in_errors=True)

    env: str = "dev"
    kafka_bootstrap: str = "127.0.0.1:9092"
    es_url: str = "http://127.0.0.1:9200"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis behind Sentinel: comma-separated host:port of the sentinels and the master's name. When
    # set, every Redis client (shared/redis_clients.py) and Celery ask the sentinels for the current master;
    # the database number still comes from ``redis_url``.
    redis_sentinels: str = ""
    redis_sentinel_master: str = "warta"
    # Replicas of each topic partition `warta stack init` creates (a cluster: 3, with
    # min.insync.replicas=2) and of the articles index (a cluster: 1).
    kafka_replication: int = Field(default=1, ge=1)
    es_replicas: int = Field(default=0, ge=0)
    # Primary shards of each articles index Warta creates, and how the articles are cut into
    # indices: "none" (one index) or "month" (one per month of publication; services/search/index.py).
    es_shards: int = Field(default=1, ge=1, le=1024)
    es_index_period: Literal["none", "month"] = "none"
    # Namespacing so tests (and parallel deployments) share one cluster without colliding.
    topic_prefix: str = ""
    index_prefix: str = ""
    redis_prefix: str = "warta:"
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    # Port for /metrics and /healthz of consumer processes; 0 disables it.
    metrics_port: int = 0
    # Interface the consumers' metrics server binds: loopback unless told (compose sets 0.0.0.0
    # inside its containers so Prometheus can scrape them).
    metrics_host: str = "127.0.0.1"
    # Consumers touch this file after every successful loop iteration (liveness for compose/k8s).
    health_file: Path | None = None
    # Consumers stop (DlqRatioExceeded) when more than this share of recent records went to the
    # DLQ: most likely a bad deploy, better stopped than quarantining everything (arroyo DlqLimit).
    dlq_max_ratio: float = Field(default=0.5, ge=0.0, le=1.0)
    # A consumer whose group rebalance has not handed it partitions this long after it began (its
    # partitions revoked, none assigned back) recovers: it rejoins, then re-creates its Kafka client.
    rebalance_timeout_s: float = Field(default=20.0, gt=0.0)

    # Fields holding secrets this process needs: outside dev and test they must be set, not to a
    # placeholder, and be at least MIN_SECRET_CHARS long.
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Secrets this process may run without, held to the same rules when they are set.
    optional_secret_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_weak_secrets(self) -> CommonSettings:
        if not self.production:
            return self
        for name in (*self.secret_fields, *self.optional_secret_fields):
            value = getattr(self, name, None)
            if value is None and name in self.optional_secret_fields:
                continue
            value = str(value or "")
            # A default is never a deployment's secret; the message never shows the value (it may
            # be a real secret that is merely short).
            unset = name in self.secret_fields and name not in self.model_fields_set
            if unset or value.strip() in PLACEHOLDER_SECRETS or len(value.strip()) < MIN_SECRET_CHARS:
                raise ValueError(
                    f"WARTA_{name.upper()} must be set to a real secret of at least {MIN_SECRET_CHARS} characters "
                    f"when WARTA_ENV={self.env} (generate one with: openssl rand -hex 24)"
                )
        return self

    @property
    def es_hosts(self) -> list[str]:
        """``es_url`` may list several nodes, comma-separated; clients spread requests over them."""
        return [u.strip() for u in self.es_url.split(",") if u.strip()]

    def topic(self, topic: Topic) -> str:
        return physical(topic, self.topic_prefix)

    @property
    def alias(self) -> str:
        """The Elasticsearch alias of the article index: :func:`articles_alias` of the prefix."""
        return articles_alias(self.index_prefix)

    @property
    def production(self) -> bool:
        return self.env not in {"dev", "test"}


def articles_alias(index_prefix: str) -> str:
    """The alias through which every process reads articles. The versioned indices behind it are
    named ``<alias>-v<N>``, or ``<alias>-v<N>-YYYY.MM`` by month (services/search/index.py). Like a
    topic, it is namespaced by a prefix (``WARTA_INDEX_PREFIX``)."""
    return f"{index_prefix}articles"
