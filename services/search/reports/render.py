"""A report as a self-contained HTML page (Jinja2) and as an A4 PDF (WeasyPrint, from the same
HTML): in Indonesian by default, in English with ``lang="en"``. Times in WIB (Asia/Jakarta).

The page's only style is :data:`~services.search.reports.style.REPORT_CSS` (see there why).
:func:`render_pdf` is CPU-bound and blocks: call it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup

from services.search.criteria import JAKARTA
from services.search.reports.charts import (
    NO_TONE_COLOUR,
    TONE_COLOURS,
    mini_bar_svg,
    timeline_svg,
    tone_bar_svg,
)
from services.search.reports.data import ReportData
from services.search.reports.style import REPORT_CSS

Lang = Literal["id", "en"]
HERE = Path(__file__).parent

MONTHS = {
    "id": ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}  # fmt: skip

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "kind": "Kliping media",
        "default_title": "Laporan Pemberitaan",
        "period": "Periode",
        "all_dates": "Semua tanggal",
        "since": "sejak {d}",
        "until": "sampai {d}",
        "query": "Kueri",
        "all_articles": "semua artikel",
        "filters": "Filter",
        "generated": "Dibuat",
        "articles": "Artikel",
        "stories": "Cerita",
        "stories_help": "berita yang sama dimuat beberapa media dihitung satu cerita",
        "timeline": "Linimasa",
        "timeline_title": "Artikel per {unit}: {n} artikel, puncak {peak} pada {when}",
        "timeline_none": "Tidak ada artikel pada periode ini.",
        "per_day": "hari",
        "per_week": "minggu",
        "per_month": "bulan",
        "per_quarter": "triwulan",
        "per_year": "tahun",
        "timeline_note": "Artikel per {unit}, waktu WIB.",
        "outside": "{n} artikel bertanggal di luar jangkauan linimasa tidak digambar.",
        "tone": "Nada pemberitaan",
        "tone_title": "Nada: {parts}",
        "tone_none": "Belum ada artikel dengan nada pada laporan ini.",
        "positive": "Positif",
        "negative": "Negatif",
        "neutral": "Netral",
        "no_tone": "Tanpa nada",
        "share": "Porsi",
        "outlets": "Media teratas",
        "outlet": "Media",
        "people": "Tokoh teratas",
        "person": "Tokoh",
        "institutions": "Lembaga teratas",
        "institution": "Lembaga",
        "regions": "Wilayah",
        "region": "Wilayah",
        "count": "Artikel",
        "tone_toward": "nada terhadapnya",
        "none": "Tidak ada.",
        "story_list": "Cerita",
        "shown": "{shown} dari {total} cerita, yang paling banyak dimuat lebih dulu.",
        "carried_by": "Dimuat {n} artikel di",
        "read": "Baca",
        "tone_label": "Nada",
        "footer": "Dibuat oleh Warta dari artikel yang cocok dengan kueri dan filter di atas.",
        "f_source": "Media",
        "f_region": "Wilayah",
        "f_language": "Bahasa",
        "f_entity": "Entitas",
        "f_tone": "Nada",
        "f_tone_mismatch": "Judul beda dengan isi",
        "yes": "ya",
        "no": "tidak",
        "region_scope_any": "termasuk wilayah yang hanya disebut",
        "quarter": "T{q} {y}",
    },
    "en": {
        "kind": "Media clipping",
        "default_title": "Coverage report",
        "period": "Period",
        "all_dates": "All dates",
        "since": "since {d}",
        "until": "until {d}",
        "query": "Query",
        "all_articles": "all articles",
        "filters": "Filters",
        "generated": "Generated",
        "articles": "Articles",
        "stories": "Stories",
        "stories_help": "the same news carried by several outlets counts as one story",
        "timeline": "Timeline",
        "timeline_title": "Articles per {unit}: {n} articles, peak {peak} on {when}",
        "timeline_none": "No articles in this period.",
        "per_day": "day",
        "per_week": "week",
        "per_month": "month",
        "per_quarter": "quarter",
        "per_year": "year",
        "timeline_note": "Articles per {unit}, times in WIB.",
        "outside": "{n} articles dated outside the timeline's range are not drawn.",
        "tone": "Tone of coverage",
        "tone_title": "Tone: {parts}",
        "tone_none": "No article in this report has a tone yet.",
        "positive": "Positive",
        "negative": "Negative",
        "neutral": "Neutral",
        "no_tone": "No tone",
        "share": "Share",
        "outlets": "Top outlets",
        "outlet": "Outlet",
        "people": "Top people",
        "person": "Person",
        "institutions": "Top institutions",
        "institution": "Institution",
        "regions": "Regions",
        "region": "Region",
        "count": "Articles",
        "tone_toward": "tone toward them",
        "none": "None.",
        "story_list": "Stories",
        "shown": "{shown} of {total} stories, the most widely carried first.",
        "carried_by": "{n} articles in",
        "read": "Read",
        "tone_label": "Tone",
        "footer": "Generated by Warta from the articles matching the query and filters above.",
        "f_source": "Outlet",
        "f_region": "Region",
        "f_language": "Language",
        "f_entity": "Entity",
        "f_tone": "Tone",
        "f_tone_mismatch": "Headline differs from body",
        "yes": "yes",
        "no": "no",
        "region_scope_any": "including regions only mentioned",
        "quarter": "Q{q} {y}",
    },
}


def fmt_number(n: int, lang: Lang) -> str:
    """1.234 in Indonesian, 1,234 in English."""
    text = f"{n:,}"
    return text.replace(",", ".") if lang == "id" else text


def fmt_date(moment: datetime, lang: Lang) -> str:
    try:
        d = moment.astimezone(JAKARTA)
    except OverflowError:  # a from/to at the edge of the calendar (year 1, year 9999) in another zone
        d = moment
    return f"{d.day} {MONTHS[lang][d.month - 1]} {d.year}"


def fmt_datetime(moment: datetime, lang: Lang) -> str:
    """3 Mei 2025 07.30 WIB (Indonesian writes the time with a dot), 3 May 2025, 07:30 WIB."""
    d = moment.astimezone(JAKARTA)  # article and generation times: never at the calendar's edge
    if lang == "id":
        return f"{fmt_date(d, lang)} {d:%H.%M} WIB"
    return f"{fmt_date(d, lang)}, {d:%H:%M} WIB"


def bucket_label(key: str, interval: str, lang: Lang) -> str:
    """A timeline bucket's x label: 3 Mei (day, week), Mei 2025, T2 2025 (Q2 2025), 2025."""
    d = datetime.fromisoformat(key)
    month = MONTHS[lang][d.month - 1]
    if interval in ("day", "week"):
        return f"{d.day} {month[:3]}"
    if interval == "month":
        return f"{month[:3]} {d.year}"
    if interval == "quarter":
        return LABELS[lang]["quarter"].format(q=(d.month - 1) // 3 + 1, y=d.year)
    return str(d.year)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)  # fmt: skip
    return env


_ENV = _environment()


def _period(data: ReportData, lang: Lang) -> str:
    L = LABELS[lang]
    if data.start and data.stop:
        return f"{fmt_date(data.start, lang)} – {fmt_date(data.stop, lang)}"
    if data.start:
        return L["since"].format(d=fmt_date(data.start, lang))
    if data.stop:
        return L["until"].format(d=fmt_date(data.stop, lang))
    return L["all_dates"]


def _filters(data: ReportData, lang: Lang) -> list[tuple[str, str]]:
    L, c = LABELS[lang], data.criteria
    out = [(L[name], ", ".join(values)) for name, values in (
        ("f_source", c.sources), ("f_region", c.regions), ("f_language", c.languages), ("f_entity", c.entities),
        ("f_tone", [L.get(v, v) for v in c.tone_labels()])) if values]  # fmt: skip
    if c.tone_mismatch is not None:
        out.append((L["f_tone_mismatch"], L["yes"] if c.tone_mismatch else L["no"]))
    if c.region_scope == "any":
        out.append((L["f_region"], L["region_scope_any"]))
    return out


def report_context(data: ReportData, lang: Lang = "id", title: str | None = None) -> dict[str, Any]:
    """What the template reads: the data, the labels and the charts."""
    L = LABELS[lang]
    num: Callable[[int], str] = lambda n: fmt_number(n, lang)  # noqa: E731
    unit = L[f"per_{data.interval}"]
    timeline_title = ""
    if data.timeline:
        peak = max(data.timeline, key=lambda b: b["count"])
        timeline_title = L["timeline_title"].format(unit=unit, n=num(data.articles), peak=num(peak["count"]),
                                                    when=bucket_label(peak["key"], data.interval, lang))  # fmt: skip
    tone_total = sum(data.tone.values()) + data.without_tone
    tone_rows = [(k, L[k], data.tone[k], TONE_COLOURS[k]) for k in ("positive", "neutral", "negative")]
    if data.without_tone:
        tone_rows.append(("none", L["no_tone"], data.without_tone, NO_TONE_COLOUR))

    def share(n: int) -> str:
        pct = 100 * n / tone_total if tone_total else 0.0
        text = f"{pct:.1f}%"
        return text.replace(".", ",") if lang == "id" else text

    def top_rows(values: list[Any], toned: bool) -> list[dict[str, Any]]:
        peak = max((v.count for v in values), default=0)
        return [{"name": v.name, "count": num(v.count), "raw": v.count,
                 "tone_raw": ",".join(f"{k}:{v.tone[k]}" for k in TONE_COLOURS),
                 "bar": mini_bar_svg(v.count, peak, v.tone if toned and data.has_tone else None),
                 "tone": " · ".join(f"{L[k]} {num(v.tone[k])}" for k in ("positive", "neutral", "negative") if v.tone[k])
                 if toned and data.has_tone else ""} for v in values]  # fmt: skip

    return {
        "lang": lang,
        "L": L,
        "css": Markup(REPORT_CSS),
        "title": title or L["default_title"],
        "period": _period(data, lang),
        "query": data.criteria.q.strip(),
        "filters": _filters(data, lang),
        "generated": fmt_datetime(data.generated_at, lang),
        "raw": {"articles": data.articles, "stories": data.stories},
        "articles": num(data.articles),
        "stories": num(data.stories),
        "has_tone": data.has_tone,
        "timeline_svg": timeline_svg(
            data.timeline, lambda k: bucket_label(k, data.interval, lang), timeline_title, num, data.has_tone
        )
        if data.timeline
        else None,
        "timeline_note": L["timeline_note"].format(unit=unit),
        "outside": L["outside"].format(n=num(data.outside_window)) if data.outside_window else None,
        "tone_svg": tone_bar_svg(
            data.tone,
            data.without_tone,
            L["tone_title"].format(parts=", ".join(f"{label} {num(n)}" for _, label, n, _ in tone_rows)),
        ),
        "tone_rows": [
            {"key": key, "label": label, "count": num(n), "raw": n, "share": share(n), "colour": colour}
            for key, label, n, colour in tone_rows
        ],
        "tops": [
            ("outlets", L["outlets"], L["outlet"], top_rows(data.outlets, True), False),
            ("people", L["people"], L["person"], top_rows(data.people, True), True),
            ("institutions", L["institutions"], L["institution"], top_rows(data.institutions, True), True),
            ("regions", L["regions"], L["region"], top_rows(data.regions, False), False),
        ],
        "story_list": [
            {
                "title": s.title,
                "url": s.url if s.url.startswith(("http://", "https://")) else "",
                "published": fmt_datetime(s.published_at, lang) if s.published_at else "",
                "outlets": s.outlets,
                "articles": num(s.articles),
                "raw_articles": s.articles,
                "summary": " ".join(s.summary[:3]),
                "tone": L.get(s.tone, "") if s.tone and data.has_tone else "",
                "tone_key": s.tone or "",
            }
            for s in data.story_list
        ],
        "shown": L["shown"].format(shown=num(len(data.story_list)), total=num(data.stories)) if data.story_list else "",
    }


def render_html(data: ReportData, lang: Lang = "id", title: str | None = None) -> str:
    """The report as one HTML document (UTF-8), with no script and no external resource."""
    return _ENV.get_template("report.html").render(report_context(data, lang, title))


def render_pdf(html: str) -> bytes:
    """``html`` (from :func:`render_html`) as an A4 PDF with page numbers. CPU-bound: blocks for
    about a second per few dozen pages. WeasyPrint is imported here, not at start-up: it loads
    Pango through cffi, which only the PDF needs."""
    import weasyprint

    # No base URL and no protocol allowed: the page has no external resource, and a link in an
    # article (text from a third-party page) must never be fetched.
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=())
    return bytes(weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf())
