"""A release's pickups as CSV and as a PDF proof sheet ("bukti tayang"), and the scorecard as CSV.

CSV: UTF-8 with a byte order mark (Excel reads it), times in Asia/Jakarta with their offset (the
header names the zone), every text cell neutralised for spreadsheets
(:func:`services.search.criteria.csv_cell`). PDF: A4, paginated, rendered by WeasyPrint from a
Jinja2 template with no external resource (the fetcher refuses every URL, so a link in an
article never makes the server fetch anything). :func:`proof_pdf` is CPU-bound and blocks: call it
in a worker thread.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import jinja2

from services.search.criteria import JAKARTA, csv_cell, in_zone
from services.search.pickups.matching import parse_time

Lang = Literal["id", "en"]
ZONE = JAKARTA.key
PICKUP_COLUMNS = [
    "release_id", "release_title", f"released_at ({ZONE})", "outlet", "source", "article_id", "title",
    "title_changed", "url", f"published_at ({ZONE})", f"first_seen ({ZONE})", "delay_minutes", "kept_percent",
    "share_percent", "lead_similarity",
]  # fmt: skip
SCORECARD_COLUMNS = ["outlet", "releases_carried", "releases_in_period", "carried_percent", "articles",
                     "median_delay_minutes", "mean_kept_percent"]  # fmt: skip

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "kind": "Bukti tayang siaran pers",
        "untitled": "(tanpa judul)",
        "released": "Dirilis",
        "window": "Dipantau",
        "window_text": "{d} hari, sampai {end}",
        "original": "Naskah asli",
        "generated": "Dibuat",
        "totals": "Dimuat {n} artikel di {o} media.",
        "list": "Media yang memuat",
        "outlet": "Media",
        "title": "Judul dan tautan",
        "first_seen": "Tayang",
        "delay": "Jeda",
        "kept": "Isi dipertahankan",
        "title_changed": "Judul diubah",
        "yes": "ya",
        "no": "tidak",
        "no_pickups": "Belum ada media yang memuat siaran pers ini.",
        "leads": "Perubahan paragraf pembuka",
        "legend": "Paragraf pembuka siaran pers dibandingkan dengan paragraf pembuka tiap berita:",
        "removed": "dihapus media",
        "added": "ditambahkan media",
        "page": "Halaman",
        "minutes": "mnt",
        "hours": "jam",
        "days": "hari",
    },
    "en": {
        "kind": "Press release proof of publication",
        "untitled": "(untitled)",
        "released": "Released",
        "window": "Tracked",
        "window_text": "{d} days, until {end}",
        "original": "Original",
        "generated": "Generated",
        "totals": "Carried by {n} articles in {o} outlets.",
        "list": "Outlets that carried it",
        "outlet": "Outlet",
        "title": "Title and link",
        "first_seen": "Published",
        "delay": "Delay",
        "kept": "Text kept",
        "title_changed": "Title changed",
        "yes": "yes",
        "no": "no",
        "no_pickups": "No outlet has carried this release yet.",
        "leads": "Changes to the lead",
        "legend": "The release's first paragraph against each article's:",
        "removed": "removed by the outlet",
        "added": "added by the outlet",
        "page": "Page",
        "minutes": "min",
        "hours": "h",
        "days": "d",
    },
}

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _csv(rows: Iterable[list[str]], header: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else str(round(seconds / 60))


def pickups_csv(release: dict[str, Any]) -> bytes:
    """One row per article that carried ``release`` (:data:`PICKUP_COLUMNS`)."""
    head = [csv_cell(release["id"]), csv_cell(release.get("title")), in_zone(release["released_at"], JAKARTA)]
    rows = (
        [*head, csv_cell(p["outlet"]), csv_cell(p["source"]), csv_cell(p["article_id"]), csv_cell(p["title"]),
         "yes" if p["title_changed"] else "no", csv_cell(p["url"]), in_zone(p["published_at"], JAKARTA) or "",
         in_zone(p["first_seen"], JAKARTA) or "", _minutes(p["delay_s"]), f"{100 * p['kept']:.1f}",
         f"{100 * p['share']:.1f}", f"{p['lead_similarity']:.3f}"]
        for p in release["pickups"]
    )  # fmt: skip
    return _csv(rows, PICKUP_COLUMNS)


def scorecard_csv(releases: int, outlets: list[dict[str, Any]]) -> bytes:
    """One row per outlet (:data:`SCORECARD_COLUMNS`)."""
    rows = (
        [csv_cell(o["outlet"]), str(o["releases_carried"]), str(releases), f"{100 * o['carried_share']:.1f}",
         str(o["articles"]), _minutes(o["median_delay_s"]), f"{100 * o['mean_kept']:.1f}"]
        for o in outlets
    )  # fmt: skip
    return _csv(rows, SCORECARD_COLUMNS)


def _when(lang: Lang) -> Any:
    def when(value: Any) -> str:
        moment = value if isinstance(value, datetime) else parse_time(value)
        if moment is None:
            return "–"
        return moment.astimezone(JAKARTA).strftime("%d-%m-%Y %H:%M") + " WIB"

    return when


def delay_text(seconds: float | None, lang: Lang = "id") -> str:
    """A pickup's delay to the minute, as the web app's release page shows it (``fmtDelay`` in
    ``app.js``): "35 mnt", "2 jam 20 mnt", "3 hari 4 jam" ("2 h 20 min", "3 d 4 h" in English),
    "−10 mnt" before the release. A proof of publication names the minute: decimal hours would show
    2 h 15 and 2 h 20 alike."""
    if seconds is None:
        return "–"
    labels = LABELS[lang]
    total = round(abs(seconds) / 60)
    days, hours, minutes = total // 1440, total % 1440 // 60, total % 60
    if days:
        parts = [f"{days} {labels['days']}"] + ([f"{hours} {labels['hours']}"] if hours else [])
    elif hours:
        parts = [f"{hours} {labels['hours']}"] + ([f"{minutes} {labels['minutes']}"] if minutes else [])
    else:
        parts = [f"{minutes} {labels['minutes']}"]
    return ("\u2212" if seconds < 0 and total else "") + " ".join(parts)


def _duration(lang: Lang) -> Any:
    def duration(seconds: float | None) -> str:
        return delay_text(seconds, lang)

    return duration


def proof_html(release: dict[str, Any], lang: Lang = "id", generated: datetime | None = None) -> str:
    """The proof sheet of ``release`` (as :meth:`Pickups.get` returns it) as one HTML page."""
    return _ENV.get_template("proof.html").render(
        release=release,
        pickups=release["pickups"],
        outlets=len({p["outlet"] for p in release["pickups"]}),
        L=LABELS[lang],
        lang=lang,
        when=_when(lang),
        duration=_duration(lang),
        generated=generated or datetime.now(UTC),
    )


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the proof sheet loads no external resource ({url[:80]})")


def proof_pdf(release: dict[str, Any], lang: Lang = "id") -> bytes:
    """The proof sheet as an A4 PDF. Blocks (CPU): run it in a worker thread."""
    import weasyprint  # imported here: it loads Pango and fonts, which only this needs

    pdf: bytes = weasyprint.HTML(string=proof_html(release, lang), url_fetcher=_no_fetch).write_pdf()
    return pdf
