"""Entry points for spawned worker processes (must be importable by module name)."""

from __future__ import annotations

from typing import Any

from services.enrich.cluster import ClusterSettings, redis_clusterer


def assign_all(redis_url: str, settings_json: str, articles: list[tuple[str, str]], barrier: Any) -> dict[str, Any]:
    """Wait for every process, then assign ``articles`` in order; return id -> assignment."""
    settings = ClusterSettings.model_validate_json(settings_json)
    clusterer = redis_clusterer(redis_url, settings)
    barrier.wait(timeout=60)
    return {article_id: clusterer.assign(article_id, "", text).__dict__ for article_id, text in articles}
