"""Fixtures of the chaos suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ARTIFACTS
from tests.pipeline import Namespace, Pipeline


@pytest.fixture
def chaos_pipeline(namespace: Namespace, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Like ``pipeline_factory``, with every :class:`Pipeline` option (``indexers=2``...).
    ``start=False`` returns it unstarted, so a test can change one process's environment first."""
    started: list[Pipeline] = []

    def make(extra_env: dict[str, str] | None = None, start: bool = True, **kwargs: Any) -> Pipeline:
        log_dir = ARTIFACTS / request.node.name.replace("/", "_")
        # The suite polls the search API far more often than a client may: lift the per-key limit.
        env = {"WARTA_RATE_LIMIT_PER_MINUTE": "1000000", **(extra_env or {})}
        p = Pipeline(namespace, log_dir, extra_env=env, **kwargs)
        started.append(p)
        if start:
            p.start()
        return p

    try:
        yield make
    finally:
        for p in started:
            p.stop()
