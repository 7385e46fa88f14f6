import io
import json

from services.enrich.nlp.cli import annotate_main


def _run(lines: list[str]) -> tuple[int, list[dict]]:
    out = io.StringIO()
    code = annotate_main(io.StringIO("\n".join(lines) + "\n"), out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_output_line_per_input_and_bad_lines_are_isolated() -> None:
    good = json.dumps(
        {"id": "a1", "text": "Bupati Blora, H. Arief Rohman, meresmikan pasar di Blora.", "title": "Pasar baru"}
    )
    code, rows = _run(
        [
            good,
            "{not json",
            json.dumps({"text": "tanpa id"}),
            json.dumps({"id": "a4", "text": 42}),
            "",
            json.dumps({"id": "a5", "text": "Warga Semarang menyambut baik program itu."}),
        ]
    )
    assert code == 0
    assert len(rows) == 5  # the blank line is skipped
    assert rows[0]["id"] == "a1" and "error" not in rows[0]
    assert set(rows[0]) == {
        "id",
        "language",
        "language_confidence",
        "entities",
        "regions",
        "regions_mentioned",
        "summary",
        "keywords",
        "dateline",
        "tone",
        "entity_tones",
    }
    assert rows[0]["tone"]["headline"] is not None  # the title was read
    assert {(t["type"], t["canonical"]) for t in rows[0]["entity_tones"]} == {
        (e["type"], e["canonical"]) for e in rows[0]["entities"] if e["type"] in ("PER", "ORG")
    }
    assert "error" in rows[1] and "id" not in rows[1]
    assert rows[2]["error"] == "missing field: id"
    assert rows[3] == {"id": "a4", "error": "field text must be a string"}
    assert rows[4]["id"] == "a5" and rows[4]["language"] == "id"


def test_output_matches_annotate() -> None:
    from services.enrich.nlp import annotate

    text = "Pemkab Blora menerima penghargaan dari Kemenpan RB di Semarang, Jateng."
    _, rows = _run([json.dumps({"id": 7, "text": text})])
    assert rows[0] == {"id": 7, **annotate(text)}
