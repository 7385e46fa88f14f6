"""A spike alert as a chat message: the text a monitor's chat channel (``channels.chat_webhook_url``,
a Slack-compatible incoming webhook: Slack, Mattermost, Rocket.Chat) receives as ``{"text": ...}``,
in Slack ``mrkdwn`` like the digests' chat message, in the language of the monitor's digest
(Indonesian without one). Pure.

Those webhooks refuse Warta's signed JSON payload (they want ``text``), so a spike goes to the
chat channel as this message, through the digests' chat sender and its network rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from services.search.digests.render import DAYS, MONTHS, monitor_url, slack_escape

ZONE_NAME = "WIB"  # spike windows are Asia/Jakarta clock hours and days (spikes.py)

STRINGS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Lonjakan pemberitaan: {name}",
        "hour": "{stories} cerita ({articles} artikel) pada pukul {start}–{end} {zone}, {day}; biasanya {usual} cerita.",
        "day": "{stories} cerita ({articles} artikel) pada {day}; biasanya {usual} cerita sehari.",
        "sens_line": "Kepekaan {s}. Salinan sindikasi dari satu berita dihitung satu cerita.",
        "open": "Buka monitor di Warta",
    },
    "en": {
        "title": "Coverage spike: {name}",
        "hour": "{stories} stories ({articles} articles) from {start} to {end} {zone} on {day}; usually {usual} stories.",
        "day": "{stories} stories ({articles} articles) on {day}; usually {usual} stories a day.",
        "sens_line": "Sensitivity {s}. Syndicated copies of one story count once.",
        "open": "Open the monitor in Warta",
    },
}
SENSITIVITY_WORDS: dict[str, dict[str, str]] = {
    "id": {"low": "rendah", "medium": "sedang", "high": "tinggi"},
    "en": {"low": "low", "medium": "medium", "high": "high"},
}
JAKARTA = ZoneInfo("Asia/Jakarta")


def _day(at: datetime, lang: str) -> str:
    return f"{DAYS[lang][at.weekday()]}, {at.day} {MONTHS[lang][at.month - 1]} {at.year}"


def _clock(at: datetime, lang: str) -> str:
    return at.strftime("%H.%M" if lang == "id" else "%H:%M")


def _usual(baseline: float, lang: str) -> str:
    text = f"{baseline:.1f}"
    return text.replace(".", ",") if lang == "id" else text


def spike_text(saved: dict[str, Any], spike: dict[str, Any], articles: list[dict[str, Any]], public_url: str) -> str:
    """The chat message of a spike of ``saved`` (the monitor): ``spike`` is the delivery's
    ``spike`` (window, start, end, stories, articles, baseline, sensitivity), ``articles`` the
    sampled articles (one per story, the most carried first; ``url``, ``title``, ``outlet`` or
    ``source``)."""
    lang = str((saved.get("schedule") or {}).get("language") or "id")
    lang = lang if lang in STRINGS else "id"
    w = STRINGS[lang]
    start = datetime.fromisoformat(spike["start"]).astimezone(JAKARTA)
    end = datetime.fromisoformat(spike["end"]).astimezone(JAKARTA)
    counts = {"stories": spike["stories"], "articles": spike["articles"], "day": _day(start, lang),
              "start": _clock(start, lang), "end": _clock(end, lang), "zone": ZONE_NAME,
              "usual": _usual(float(spike["baseline"]), lang)}  # fmt: skip
    lines = [
        f"*{slack_escape(w['title'].format(name=saved['name']))}*",
        slack_escape(w["hour" if spike["window"] == "hour" else "day"].format(**counts)),
        slack_escape(w["sens_line"].format(s=SENSITIVITY_WORDS[lang].get(spike.get("sensitivity") or "medium", ""))),
        "",
    ]
    base = public_url.rstrip("/")
    for a in articles:
        title = slack_escape(a.get("title") or a.get("id") or "")
        outlet = slack_escape(a.get("outlet") or a.get("source") or "")
        url = str(a.get("url") or "")
        link = f"<{url}|{title}>" if url.startswith(("http://", "https://")) and "|" not in url and ">" not in url \
            else f"<{base}/article/{quote(str(a.get('id') or ''), safe='')}|{title}>"  # fmt: skip
        lines.append(f"• {link}" + (f" · {outlet}" if outlet else ""))
    if articles:
        lines.append("")
    lines.append(f"<{monitor_url(base, str(saved['id']))}|{slack_escape(w['open'])}>")
    return "\n".join(lines)
