"""The report's pure parts: Indonesian and English numbers, dates and axis labels, the SVG charts
(escaped, no style attributes, bars summing to the counts), the PDF from a rendered page, and the
stylesheet's hash in both the report's and the web app's Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import UTC, datetime

import pypdf

from services.search.criteria import Criteria
from services.search.reports.charts import mini_bar_svg, nice_step, timeline_svg, tone_bar_svg
from services.search.reports.data import Ranked, ReportData, Story
from services.search.reports.render import bucket_label, fmt_datetime, fmt_number, render_html, render_pdf
from services.search.reports.style import REPORT_CSP, REPORT_CSS, REPORT_STYLE_HASH
from services.search.web import SHELL_CSP


def _data(**changes: object) -> ReportData:
    base = dict(
        criteria=Criteria(q='banjir AND "Blora"', date_from="2025-05-01", date_to="2025-05-02", sources=["Lintas Muria"]),
        generated_at=datetime(2025, 5, 3, 0, 30, tzinfo=UTC), start=datetime(2025, 4, 30, 17, tzinfo=UTC),
        stop=datetime(2025, 5, 2, 16, 59, tzinfo=UTC), articles=1234, stories=3, interval="day",
        timeline=[{"key": "2025-05-01T00:00:00.000+07:00", "count": 1000, "tone": {"positive": 1, "negative": 2, "neutral": 3}},
                  {"key": "2025-05-02T00:00:00.000+07:00", "count": 234, "tone": {"positive": 0, "negative": 0, "neutral": 0}}],
        outside_window=0, tone={"positive": 1, "negative": 2, "neutral": 3}, without_tone=1228,
        outlets=[Ranked("Lintas Muria", 1234, {"positive": 1, "negative": 2, "neutral": 3})],
        people=[Ranked("Sri <b>Setyorini</b>", 5)], institutions=[], regions=[Ranked("Kabupaten Blora", 7)],
        story_list=[Story("s1", "Banjir <script>alert(1)</script>", "javascript:alert(1)", None, ["Ringkas."],
                          ["Lintas Muria"], 2, "negative")],
    )  # fmt: skip
    base.update(changes)
    return ReportData(**base)  # type: ignore[arg-type]


def test_numbers_dates_and_labels_in_both_languages() -> None:
    assert (fmt_number(1234567, "id"), fmt_number(1234567, "en")) == ("1.234.567", "1,234,567")
    moment = datetime(2025, 5, 3, 0, 30, tzinfo=UTC)
    assert fmt_datetime(moment, "id") == "3 Mei 2025 07.30 WIB"
    assert fmt_datetime(moment, "en") == "3 May 2025, 07:30 WIB"
    assert bucket_label("2025-08-01T00:00:00.000+07:00", "month", "id") == "Agu 2025"
    assert bucket_label("2025-04-01T00:00:00.000+07:00", "quarter", "id") == "T2 2025"
    assert bucket_label("2025-04-01T00:00:00.000+07:00", "quarter", "en") == "Q2 2025"
    assert [nice_step(n) for n in (0, 3, 7, 40, 97, 1234)] == [1, 1, 2, 10, 50, 500]


def test_charts_are_escaped_svg_without_style_attributes() -> None:
    buckets = _data().timeline
    svg = timeline_svg(buckets, lambda k: "<x>", "A & B", str, with_tone=True)
    assert svg.startswith("<svg") and "<title>A &amp; B</title>" in svg and "&lt;x&gt;" in svg and "<x>" not in svg
    # Each bar's parts add up to its count: the three tones and the rest without tone.
    first = re.search(
        r'<g data-key="2025-05-01[^"]*" data-count="1000" data-tone="negative:2,neutral:3,positive:1">(.*?)</g>', svg
    )
    assert first is not None and first.group(1).count("<rect") == 4
    for chart in (svg, tone_bar_svg({"positive": 1}, 1, "t"), mini_bar_svg(3, 4, {"negative": 1})):
        assert "style=" not in chart and "<script" not in chart
    assert mini_bar_svg(0, 0).count("<rect") == 0


def test_the_page_escapes_article_text_and_drops_unsafe_links() -> None:
    html = render_html(_data())
    assert "<script>alert" not in html and "Banjir &lt;script&gt;" in html
    assert "javascript:" not in html
    assert "Sri &lt;b&gt;Setyorini&lt;/b&gt;" in html
    assert 'data-value="1234">1.234<' in html and "Lintas Muria" in html and "1 Mei 2025 – 2 Mei 2025" in html
    assert html.count("<style>") == 1 and " style=" not in html and "<script" not in html
    english = render_html(_data(), "en", "Morning report")
    assert '<html lang="en">' in english and "Morning report" in english and 'data-value="1234">1,234<' in english


def test_the_stylesheet_hash_is_in_both_policies() -> None:
    digest = "'sha256-" + base64.b64encode(hashlib.sha256(REPORT_CSS.encode()).digest()).decode() + "'"
    assert digest == REPORT_STYLE_HASH
    html = render_html(_data())
    assert f"<style>{REPORT_CSS}</style>" in html  # exactly the hashed text
    assert f"style-src {REPORT_STYLE_HASH};" in REPORT_CSP and "script-src" not in REPORT_CSP
    assert f"style-src 'self' {REPORT_STYLE_HASH};" in SHELL_CSP and "script-src 'self';" in SHELL_CSP


def test_render_pdf_is_a4_with_page_numbers() -> None:
    many = [Story(f"s{i}", f"Cerita nomor {i}", f"https://a.example/{i}", None, ["Kalimat ringkasan. " * 8], ["A"], 1, None)
            for i in range(60)]  # fmt: skip
    pdf = render_pdf(render_html(_data(story_list=many)))
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    assert all(round(float(p.mediabox.width)) == 595 for p in reader.pages)
    assert f"2 / {len(reader.pages)}" in reader.pages[1].extract_text()
