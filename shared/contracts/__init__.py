"""Message contracts: JSON Schema exported from the pydantic models, and example messages.

``python -m shared.contracts`` (``make contracts``) rewrites ``schemas/*.json`` from the models and
checks every example against its model. The contract tests run every example through every consumer.
Examples live in ``examples/<topic>/v<version>/*.json``; files named ``invalid-*.json`` are records
a consumer must reject with a typed error (they go to the DLQ).
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.schemas import MODELS, SUPPORTED_VERSIONS, decode

HERE = Path(__file__).parent
SCHEMAS = HERE / "schemas"
EXAMPLES = HERE / "examples"


def schema_path(topic: str, version: int) -> Path:
    return SCHEMAS / f"{topic}.v{version}.json"


def export() -> list[Path]:
    SCHEMAS.mkdir(exist_ok=True)
    written = []
    for topic, model in MODELS.items():
        for version in sorted(SUPPORTED_VERSIONS[model]):
            path = schema_path(topic, version)
            path.write_text(json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n")
            written.append(path)
    return written


def examples(topic: str, valid: bool = True) -> list[Path]:
    files = sorted((EXAMPLES / topic).glob("v*/*.json"))
    return [f for f in files if f.name.startswith("invalid-") != valid]


def main() -> int:
    for path in export():
        print(f"wrote {path.relative_to(HERE.parent.parent)}")
    for topic, model in MODELS.items():
        for f in examples(topic):
            decode(model, f.read_bytes())
            print(f"ok    {f.relative_to(HERE.parent.parent)}")
    return 0
