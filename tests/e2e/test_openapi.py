"""Schemathesis against the live APIs: generated requests from the OpenAPI schemas must never
produce a 5xx, and every response must conform to the schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e]

ST = str(Path(sys.executable).parent / "schemathesis")


def run_schemathesis(base_url: str, key: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ST, "run", f"{base_url}/openapi.json", "-H", f"Authorization: Bearer {key}",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
         "--max-examples", "25", "--seed", "20261129", "--request-timeout", "30", *extra],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def test_search_api_conforms(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(start=False, extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "1000000"})
    p.start(["search-api", "ingest-api"])
    out = run_schemathesis(p.search_url, p.ns.admin_key, "--exclude-path", "/v1/keys/{key_id}")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


def test_ingest_api_conforms(pipeline_factory) -> None:  # type: ignore[no-untyped-def]
    p = pipeline_factory(start=False, extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "1000000"})
    p.start(["search-api", "ingest-api"])
    out = run_schemathesis(p.ingest_url, p.ns.admin_key)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
