"""Fixtures of the chaos suite."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline import Pipeline


@pytest.fixture
def chaos_pipeline(pipeline_factory: Any) -> Any:
    """``pipeline_factory`` with the per-key rate limit lifted: the suite polls the search API far
    more often than a client may. ``start=False`` returns it unstarted."""

    def make(extra_env: dict[str, str] | None = None, start: bool = True, **options: Any) -> Pipeline:
        return pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "1000000", **(extra_env or {})},
                                start=start, **options)  # fmt: skip

    return make
