"""Settings shared by every process: where the infrastructure is and how names are prefixed.

Each service extends :class:`CommonSettings` with one class of its own. Values come from
environment variables with the ``WARTA_`` prefix (pydantic-settings). ``WARTA_ENV`` other than
``dev``/``test`` refuses placeholder secrets.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.topics import Topic, physical

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "dev-secret"})


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARTA_", extra="ignore")

    env: str = "dev"
    kafka_bootstrap: str = "127.0.0.1:9092"
    es_url: str = "http://127.0.0.1:9200"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Namespacing so tests (and parallel deployments) share one cluster without colliding.
    topic_prefix: str = ""
    index_prefix: str = ""
    redis_prefix: str = "warta:"
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    # Port for /metrics and /healthz of consumer processes; 0 disables it.
    metrics_port: int = 0
    # Consumers touch this file after every successful loop iteration (liveness for compose/k8s).
    health_file: Path | None = None

    # Names of fields holding secrets; placeholder values are refused outside dev and test.
    secret_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> CommonSettings:
        if self.production:
            for name in self.secret_fields:
                if str(getattr(self, name, "") or "") in PLACEHOLDER_SECRETS:
                    raise ValueError(f"WARTA_{name.upper()} must be set to a real secret when WARTA_ENV={self.env}")
        return self

    def topic(self, topic: Topic) -> str:
        return physical(topic, self.topic_prefix)

    @property
    def production(self) -> bool:
        return self.env not in {"dev", "test"}
