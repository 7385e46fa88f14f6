"""A digest as messages: the e-mail's subject, text and HTML parts, and the chat message, from the
Jinja2 templates beside this module (``templates/``), in the schedule's language (id or en) and
time zone. Pure.

The HTML is escaped by Jinja2's autoescape; the chat text is Slack ``mrkdwn``, whose links are
``<url|text>`` (Slack and Mattermost render them; ``&``, ``<`` and ``>`` in text are escaped as
Slack requires).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.search.digests.build import Digest

MAX_EMAIL_STORIES = 30
MAX_CHAT_STORIES = 10

STRINGS: dict[str, dict[str, str]] = {
    "id": {
        "daily": "Ringkasan harian", "weekly": "Ringkasan mingguan",
        "subject": "[Warta] {name}: {articles} artikel, {stories} cerita · {date}",
        "counts": "{articles} artikel dalam {stories} cerita",
        "tone": "Nada: {positive} positif, {neutral} netral, {negative} negatif",
        "none": "Tidak ada artikel baru untuk monitor ini pada periode ini.",
        "outlets": "Dimuat {n} media",
        "open": "Buka di Warta", "more": "…dan {n} cerita lain.", "see_all": "Lihat kecocokan monitor ini di Warta",
        "query": "Kueri", "period": "Periode",
        "footer": "Anda menerima ringkasan ini karena alamat Anda tercantum pada monitor “{name}” di Warta. "
                  "Jadwal dan penerima diatur di halaman Monitor:",
    },
    "en": {
        "daily": "Daily digest", "weekly": "Weekly digest",
        "subject": "[Warta] {name}: {articles} articles, {stories} stories · {date}",
        "counts": "{articles} articles in {stories} stories",
        "tone": "Tone: {positive} positive, {neutral} neutral, {negative} negative",
        "none": "No new articles for this monitor in this period.",
        "outlets": "Carried by {n} outlets",
        "open": "Open in Warta", "more": "…and {n} more stories.", "see_all": "See this monitor's matches in Warta",
        "query": "Query", "period": "Period",
        "footer": "You receive this digest because your address is on the monitor “{name}” in Warta. "
                  "Its schedule and recipients are set on the Monitors page:",
    },
}  # fmt: skip
DAYS = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}  # fmt: skip


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    chat: str


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["slack"] = slack_escape
    return env


def slack_escape(text: str) -> str:
    """Text for Slack mrkdwn: the three characters it reserves escaped."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def local_time(at: datetime | None, zone: str, lang: str, with_day: bool = False) -> str:
    """``at`` in ``zone``: "Senin, 4 Mei 2026 07.00 WIB" (id) or "Monday, 4 May 2026 07:00 WIB"."""
    if at is None:
        return ""
    local = at.astimezone(ZoneInfo(zone))
    clock = local.strftime("%H.%M" if lang == "id" else "%H:%M")
    text = f"{local.day} {MONTHS[lang][local.month - 1]} {local.year} {clock} {local.strftime('%Z')}"
    return f"{DAYS[lang][local.weekday()]}, {text}" if with_day else text


def monitor_url(base: str, saved_id: str) -> str:
    """The monitor's card on the Monitors page, scrolled to and with its latest matches: what a
    digest counted (by when it matched, not by when the articles were published)."""
    return f"{base}/monitors?{urlencode({'monitor': saved_id})}"


def local_date(at: datetime, zone: str, lang: str) -> str:
    local = at.astimezone(ZoneInfo(zone))
    return f"{local.day} {MONTHS[lang][local.month - 1]} {local.year}"


def render(digest: Digest) -> Rendered:
    """The messages of ``digest``."""
    s = digest.schedule
    lang = s.language
    words = STRINGS[lang]
    name = str(digest.saved_search["name"])
    zone = s.timezone
    base = digest.public_url
    context = {
        "w": words,
        "lang": lang,
        "name": name,
        "query": str(digest.saved_search["query"]),
        "heading": words[s.frequency],
        "period": f"{local_time(digest.period.start, zone, lang, True)} – {local_time(digest.period.end, zone, lang, True)}",
        "counts": words["counts"].format(articles=digest.article_count, stories=digest.story_count),
        "tone": words["tone"].format(**digest.tone_counts) if any(digest.tone_counts.values()) else None,
        "stories": digest.stories[:MAX_EMAIL_STORIES],
        "more": max(0, digest.story_count - MAX_EMAIL_STORIES),
        "chat_stories": digest.stories[:MAX_CHAT_STORIES],
        "chat_more": max(0, digest.story_count - MAX_CHAT_STORIES),
        "time": lambda at: local_time(at, zone, lang),
        "article_url": lambda article_id: f"{base}/article/{quote(article_id, safe='')}",
        # The digest lists what the monitor *matched* in the period (matched_at), which for an article
        # crawled late is days after its publication: a search of the period by publication date
        # would miss it. The monitor's card lists its matches, newest match first.
        "monitor_url": monitor_url(base, str(digest.saved_search["id"])),
        "monitors_url": f"{base}/monitors",
        "footer": words["footer"].format(name=name),
    }
    subject = words["subject"].format(name=name, articles=digest.article_count, stories=digest.story_count,
                                      date=local_date(digest.period.end, zone, lang))  # fmt: skip
    env = _env()
    return Rendered(
        subject=" ".join(subject.split()),  # no line break can reach the header
        text=env.get_template("digest.txt").render(context),
        html=env.get_template("digest.html").render(context),
        chat=env.get_template("chat.txt").render(context).strip(),
    )
