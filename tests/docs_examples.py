"""The examples the docs show, read from the markdown itself, so that an example added to the docs
is tested without touching a test (tests/e2e/test_docs_examples.py runs them against the API).

In ``docs/query-language.md``:
- every code span in a table column headed ``example`` or ``you type`` is a query that must parse
  and answer 200;
- every fenced ``text`` block is such a query;
- in a table with the columns ``query``, ``message`` and ``position`` (and ``code``, if present),
  each code span in the query column is a malformed query: 400 with that ``error``, ``position``
  (and ``code``);
- a fenced ``json`` block right after a paragraph naming ``q=...`` in a code span is the exact body
  the API answers for that ``q``.

In every ``docs/*.md``: a fenced block starting with ``curl`` against ``127.0.0.1:8001`` or ``:8002``
is a request to run as written (method, path, JSON body).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1] / "docs"
QUERY_DOC = DOCS / "query-language.md"
EXAMPLE_COLUMNS = {"example", "you type"}
CODE_SPAN = re.compile(r"`([^`]+)`")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


@dataclass
class QueryExamples:
    valid: list[str] = field(default_factory=list)
    errors: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # query, fields its body must have
    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # q, exact body


@dataclass(frozen=True)
class CurlExample:
    doc: str
    port: int
    method: str
    path: str
    body: dict[str, Any] | None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Markdown tables: (header cells, rows of cells). A ``|`` inside a code span would split a
    cell; the docs escape none, so cells are split on every ``|``."""
    tables = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("|") and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1]):
            header = [h.lower() for h in _cells(lines[i])]
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            tables.append((header, rows))
        else:
            i += 1
    return tables


def query_examples(path: Path = QUERY_DOC) -> QueryExamples:
    text = path.read_text(encoding="utf-8")
    found = QueryExamples()
    for header, rows in _tables(text):
        if {"query", "message", "position"} <= set(header):
            col = {name: header.index(name) for name in ("query", "message", "position", "code") if name in header}
            for row in rows:
                expected: dict[str, Any] = {"error": row[col["message"]], "position": int(row[col["position"]])}
                if "code" in col:
                    expected["code"] = row[col["code"]].strip("`")
                found.errors.extend((query, expected) for query in CODE_SPAN.findall(row[col["query"]]))
            continue
        for col, name in enumerate(header):
            if name in EXAMPLE_COLUMNS:
                found.valid.extend(q for row in rows for q in CODE_SPAN.findall(row[col]))
    for match in FENCE.finditer(text):
        lang, body = match.group(1), match.group(2)
        if lang == "text":
            found.valid.append(body.strip())
        elif lang == "json":
            before = text[: match.start()].rstrip().rsplit("\n\n", 1)[-1]
            q = next((span[2:] for span in CODE_SPAN.findall(before) if span.startswith("q=")), None)
            if q is not None:
                found.answers.append((q, json.loads(body)))
    return found


def curl_examples(docs: Path = DOCS) -> list[CurlExample]:
    examples = []
    for path in sorted(docs.glob("*.md")):
        for match in FENCE.finditer(path.read_text(encoding="utf-8")):
            block = match.group(2).strip()
            if not block.startswith("curl "):
                continue
            args = shlex.split(block.replace("\\\n", " "))
            url = next(a for a in args if a.startswith("http"))
            port_path = re.match(r"https?://127\.0\.0\.1:(\d+)(/[^\s?]*)", url)
            if port_path is None or int(port_path.group(1)) not in (8001, 8002):
                continue
            method = args[args.index("-X") + 1] if "-X" in args else "GET"
            data = args[args.index("-d") + 1] if "-d" in args else None
            examples.append(CurlExample(path.name, int(port_path.group(1)), method, port_path.group(2),
                                        json.loads(data) if data else None))  # fmt: skip
    return examples
