from services.enrich.nlp.text import split_sentences, tokenize


def _sents(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_honorifics_and_titles_do_not_end_sentences() -> None:
    text = "Bupati Blora, H. Arief Rohman, hadir. Dr. Otok Kuswandaru dan Hj. Sri Setyorini juga."
    assert _sents(text) == ["Bupati Blora, H. Arief Rohman, hadir.", "Dr. Otok Kuswandaru dan Hj. Sri Setyorini juga."]


def test_decimal_numbers_and_initials_stay_in_one_sentence() -> None:
    text = "Nilai IPP sebesar 4,42 atau 4.42 poin. Jalan A. Yani ditutup sampai pukul 17.00 WIB. Selesai."
    assert _sents(text) == [
        "Nilai IPP sebesar 4,42 atau 4.42 poin.",
        "Jalan A. Yani ditutup sampai pukul 17.00 WIB.",
        "Selesai.",
    ]


def test_quotes_close_the_sentence_and_attribution_stays_attached() -> None:
    text = "“Kami akan terus berbenah,” ujar Wabup. “Ini hasil kerja keras.” Ia pun tersenyum. “Kapan?” tanya dia."
    assert _sents(text) == [
        "“Kami akan terus berbenah,” ujar Wabup.",
        "“Ini hasil kerja keras.”",
        "Ia pun tersenyum.",
        "“Kapan?” tanya dia.",
    ]


def test_newlines_split_paragraphs_and_spans_are_offsets() -> None:
    text = "  Paragraf satu tanpa titik\n\nParagraf dua. Kalimat tiga!  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Paragraf satu tanpa titik", "Paragraf dua.", "Kalimat tiga!"]


def test_tokenize_offsets_round_trip() -> None:
    text = "Pemkab Blora (PAN-RB) raih 4,42."
    toks = tokenize(text)
    assert all(text[t.start : t.end] == t.text for t in toks)
    assert [t.text for t in toks][:5] == ["Pemkab", "Blora", "(", "PAN", "-"]
