"""``warta nlp annotate``: JSON lines in, one JSON line out per input line.

Input lines are ``{"id": ..., "text": "...", "title"?: "..."}``. Output lines are
``{"id", "language", "language_confidence", "entities", "regions", "regions_mentioned", "summary",
"keywords", "dateline", "tone", "entity_tones"}`` (everything ``annotate`` returns).
A line that cannot be parsed or annotated yields ``{"id"?: ..., "error": "..."}`` and processing
continues with the next line. Blank lines are skipped. Runs exactly ``annotate``, the function
the Celery workers call.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from . import annotate


def _process(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"invalid JSON: {exc.msg} at column {exc.colno}"}
    if not isinstance(record, dict):
        return {"error": "each line must be a JSON object"}
    out: dict[str, Any] = {"id": record["id"]} if "id" in record else {}
    if "id" not in record:
        out["error"] = "missing field: id"
        return out
    text = record.get("text")
    title = record.get("title")
    if not isinstance(text, str):
        out["error"] = "field text must be a string"
        return out
    if title is not None and not isinstance(title, str):
        out["error"] = "field title must be a string or null"
        return out
    try:
        out.update(annotate(text, title))
    except Exception as exc:  # one bad article must not stop the stream
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def annotate_main(stdin: TextIO, stdout: TextIO) -> int:
    """Annotate every JSON line of ``stdin`` to ``stdout``; returns the exit status, 0.

    Per-line failures are reported in-band as error objects, not through the exit status, so
    one bad article never hides the results of the others. Output is flushed per line so the
    command works in a pipe with streaming input.
    """
    for line in stdin:
        if not line.strip():
            continue
        stdout.write(json.dumps(_process(line), ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(annotate_main(sys.stdin, sys.stdout))
