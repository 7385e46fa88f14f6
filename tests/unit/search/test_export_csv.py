"""CSV export cells are never spreadsheet formulas (issue 13, item 6; OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.search.criteria import EXPORT_COLUMNS, FORMULA_PREFIXES, csv_cell, export_row


@pytest.mark.parametrize(
    ("raw", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("+62 812 3456", "'+62 812 3456"),
        ("-1+1", "'-1+1"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Bupati Blora = hadir", "Bupati Blora = hadir"),
        ("", ""),
        (None, ""),
    ],
)
def test_csv_cell(raw: str | None, cell: str) -> None:
    assert csv_cell(raw) == cell


def test_every_column_is_neutralised() -> None:
    src = {
        "id": "-abc", "published_at": "+2025", "source": "@outlet", "title": '=HYPERLINK("http://x","y")',
        "url": "=http://x", "language": "\tid", "regions": [{"name": "=R"}, {"name": "Blora"}],
        "entities": [{"canonical": "-Budi"}, {"canonical": "Ani"}], "story_id": "=s",
        "summary": ["@first sentence.", "second."],
        "tone": {"label": "=t", "headline": "+h", "body": "-b"}, "entity_tones": [{"canonical": "@E", "label": "x"}],
    }  # fmt: skip
    row = export_row(src)
    assert len(row) == len(EXPORT_COLUMNS)
    assert all(cell.startswith("'") for cell in row), row
    assert row[4] == '\'=HYPERLINK("http://x","y")'
    assert row[8] == "'-Budi; Ani"  # entities are joined first: the cell's first character counts


def test_missing_fields_are_empty_cells() -> None:
    assert export_row({"id": "a1", "title": "Judul"}) == ["a1", "", "", "", "Judul", *[""] * 10]


@given(st.dictionaries(st.sampled_from(["id", "title", "source", "url", "published_at"]), st.text()))
def test_no_parsed_cell_starts_a_formula(src: dict[str, str]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerow(export_row(src))
    (parsed,) = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert not any(cell.startswith(FORMULA_PREFIXES) for cell in parsed), parsed
