"""Is a fetched page the article, or a page standing in its way?

:func:`classify` is pure: it looks at one response (status, headers, HTML) and the length of the
text the extractor found, against the source's usual length (:class:`Baseline`), and returns
``None`` for an ordinary page or ``(state, code, message)``:

- ``blocked``: ``blocked_http_403`` / ``blocked_http_429`` / ``blocked_http_451`` (the status);
  ``blocked_challenge`` (a bot challenge served with 200: Cloudflare's "Just a moment…",
  "Checking your browser", ``cf-mitigated: challenge``, DDoS-Guard, Sucuri, Incapsula, DataDome,
  captcha pages); ``blocked_consent`` (a cookie-consent wall instead of the article);
  ``blocked_js_shell`` (an empty application shell that needs JavaScript);
  ``blocked_short_text`` (the text is far shorter than the source's usual, several pages in a row).
- ``paywalled``: JSON-LD ``isAccessibleForFree: false`` (also the strings ``"false"``/``"False"``,
  and in ``hasPart``), ``article:content_tier`` ``locked``, or a paywall marker (a ``paywall``
  class, "Konten ini khusus pelanggan", "Berlangganan untuk membaca"…) on a page with a short text.

Markers that ordinary pages also carry (Cloudflare's injected challenge-platform script, a
reCAPTCHA in the comment form, a cookie banner, a hidden paywall box, the word "JavaScript") count
only when the extracted text is short, so an ordinary article is never taken for a blocked one.

:class:`BaselineStore` keeps each source's usual length in Redis (the crawler's key prefix).
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from services.ingest.crawler.state import KeyValue

BlockState = Literal["blocked", "paywalled"]
Verdict = tuple[BlockState, str, str]

# Item outcome reasons (and fetch error reasons) that mean the site keeps the crawler out. Health
# (health.py) reads them from the crawl runs; the runner retries them on the next crawl.
BLOCKED_REASONS = frozenset(
    {"blocked_http_403", "blocked_http_429", "blocked_http_451", "blocked_challenge", "blocked_consent",
     "blocked_js_shell", "blocked_short_text"}
)  # fmt: skip
# Fetch error reasons (fetcher.py) that are blocking, with the health code they stand for.
BLOCKING_FETCH_ERRORS = {"http_403": "blocked_http_403", "http_451": "blocked_http_451", "http_429": "blocked_http_429"}
PAYWALLED = "paywalled"

BLOCKING_STATUSES = {403: "blocked_http_403", 429: "blocked_http_429", 451: "blocked_http_451"}
# Below SHORT_PAGE_CHARS of extracted text a page is "short" and challenge texts count; below
# JS_SHELL_CHARS it is "almost empty" and markers that ordinary pages carry too (captcha widgets,
# consent banners, "enable JavaScript" notes, an app root) count.
SHORT_PAGE_CHARS = 400
JS_SHELL_CHARS = 200
TEASER_CHARS = 1500  # a paywall marker without JSON-LD counts only on a page this short
# blocked_short_text: the source's usual length is the median of its last BASELINE_WINDOW normal
# pages (once it has BASELINE_MIN_SAMPLES); a page under SHORT_RATIO of it is short, and
# SHORT_STREAK short pages in a row are blocked (the first ones are published: a brief is no block).
BASELINE_WINDOW = 21
BASELINE_MIN_SAMPLES = 5
SHORT_RATIO = 0.25
SHORT_STREAK = 3

_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_CHALLENGE_TITLES = (
    "just a moment",
    "attention required! | cloudflare",
    "checking your browser",
    "please wait while we verify",
    "ddos-guard",
    "verifying you are human",
    "sucuri website firewall",
    "one more step",
)
_CHALLENGE_MARKERS = (
    "cf-chl-",
    "_cf_chl_opt",
    "cf-browser-verification",
    "checking your browser before accessing",
    "checking if the site connection is secure",
    "enable javascript and cookies to continue",
    "ddos protection by",
    "__ddg",
    "_incapsula_resource",
    "incapsula incident id",
    "sucuri_cloudproxy",
    "captcha-delivery.com",
    "px-captcha",
    "verify you are human",
    "are you a robot",
    "buktikan anda bukan robot",
)
# Widgets ordinary pages carry too (Cloudflare injects its challenge-platform script into normal
# pages; comment forms have captchas): they count only on an almost empty page.
_WIDGET_MARKERS = ("/cdn-cgi/challenge-platform/", "g-recaptcha", "h-captcha", "cf-turnstile")
_CONSENT_MARKERS = (
    "consent.google.",
    "consent.yahoo.",
    "before you continue",
    "sebelum anda melanjutkan",
    "we value your privacy",
    "kami menghargai privasi anda",
    "cookie consent",
    "persetujuan cookie",
    "accept all cookies",
    "terima semua cookie",
    "fc-consent-root",
    "didomi-notice",
    "onetrust-consent",
    "qc-cmp2",
)
_JS_NOTES = (
    "enable javascript",
    "javascript is required",
    "requires javascript",
    "javascript must be enabled",
    "aktifkan javascript",
    "javascript diperlukan",
    "membutuhkan javascript",
)
_APP_ROOT_RE = re.compile(
    r"<div[^>]*\bid\s*=\s*[\"'](?:root|app|__next|__nuxt|___gatsby|main-app)[\"'][^>]*>\s*</div>", re.I
)
_PAYWALL_TEXT = (
    "konten ini khusus pelanggan",
    "berlangganan untuk membaca",
    "artikel ini khusus pelanggan",
    "khusus untuk pelanggan",
    "baca selengkapnya dengan berlangganan",
    "subscribe to continue reading",
    "subscribe to read the full",
    "this article is for subscribers only",
    "for subscribers only",
)
_PAYWALL_CLASS_RE = re.compile(
    r"class\s*=\s*[\"'][^\"']*\b(?:paywall|premium-wall|subscriber-only|konten-premium|premium-lock)\b", re.I
)
_CONTENT_TIER_RE = re.compile(
    r"<meta[^>]+(?:property|name)\s*=\s*[\"']article:content_tier[\"'][^>]*content\s*=\s*[\"']locked[\"']"
    r"|<meta[^>]+content\s*=\s*[\"']locked[\"'][^>]*(?:property|name)\s*=\s*[\"']article:content_tier[\"']",
    re.I,
)
_JSON_LD_RE = re.compile(r"<script[^>]+type\s*=\s*[\"']application/ld\+json[\"'][^>]*>(.*?)</script>", re.I | re.S)


@dataclass(frozen=True)
class Baseline:
    """A source's usual extracted text length: the median of its recent normal pages, how many
    pages it rests on, and how many short pages came in a row since the last normal one."""

    median: float | None
    samples: int
    short_streak: int = 0

    def is_short(self, text_len: int) -> bool:
        return self.median is not None and self.samples >= BASELINE_MIN_SAMPLES and text_len < SHORT_RATIO * self.median


def classify(
    status: int,
    headers: Mapping[str, str] | None,
    html: str,
    extracted_text_len: int,
    baseline: Baseline | None = None,
) -> Verdict | None:
    """``None`` for an ordinary page, else ``(state, code, message)`` (see the module docstring)."""
    if status in BLOCKING_STATUSES:
        return "blocked", BLOCKING_STATUSES[status], f"The site answered HTTP {status} instead of the page."
    header = {k.lower(): v for k, v in (headers or {}).items()}
    if header.get("cf-mitigated", "").lower() == "challenge":
        return "blocked", "blocked_challenge", "The site served a bot challenge (cf-mitigated: challenge)."
    low = html.lower()
    title = _title(low)
    if any(t in title for t in _CHALLENGE_TITLES) and extracted_text_len < TEASER_CHARS:
        return "blocked", "blocked_challenge", f"The site served a bot-challenge page ({title[:60]!r})."
    short, almost_empty = extracted_text_len < SHORT_PAGE_CHARS, extracted_text_len < JS_SHELL_CHARS
    if (short and (marker := _first(low, _CHALLENGE_MARKERS))) or (
        almost_empty and (marker := _first(low, _WIDGET_MARKERS))
    ):
        return "blocked", "blocked_challenge", f"The site served a bot-challenge or captcha page ({marker})."
    if almost_empty and (marker := _first(low, _CONSENT_MARKERS)):
        return "blocked", "blocked_consent", f"The site served a cookie-consent wall instead of the article ({marker})."
    paywall = _paywall(html, low, extracted_text_len)
    if paywall:
        return "paywalled", PAYWALLED, f"The article is behind a paywall ({paywall})."
    if extracted_text_len < JS_SHELL_CHARS and (_APP_ROOT_RE.search(html) or _first(low, _JS_NOTES)):
        return (
            "blocked",
            "blocked_js_shell",
            "The page is an empty JavaScript application shell; its text is not in the HTML.",
        )
    if baseline is not None and baseline.is_short(extracted_text_len) and baseline.short_streak + 1 >= SHORT_STREAK:
        return (
            "blocked",
            "blocked_short_text",
            f"The page's text has {extracted_text_len} characters, the source's usual is {baseline.median:.0f} "
            f"({baseline.short_streak + 1} short pages in a row).",
        )
    return None


def _title(low_html: str) -> str:
    match = _TITLE_RE.search(low_html)
    return " ".join(match.group(1).split()).replace("&hellip;", "…") if match else ""


def _first(low_html: str, markers: tuple[str, ...]) -> str | None:
    return next((m for m in markers if m in low_html), None)


def _paywall(html: str, low: str, text_len: int) -> str | None:
    """What shows the page is paywalled, or None. JSON-LD and the content-tier meta tag are the
    publisher's own statement; text and class markers count only on a short (teaser) page."""
    for block in _JSON_LD_RE.findall(html):
        try:
            data = json.loads(block.strip())
        except ValueError:
            continue
        for node in _walk(data):
            if _is_false(node.get("isAccessibleForFree")):
                return "JSON-LD isAccessibleForFree: false"
    if _CONTENT_TIER_RE.search(html):
        return "article:content_tier locked"
    if text_len < TEASER_CHARS:
        if marker := _first(low, _PAYWALL_TEXT):
            return repr(marker)
        if match := _PAYWALL_CLASS_RE.search(html):
            return match.group(0)[-40:]
    return None


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _walk(value)
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value)


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in {"false", "no", "0"})


class BaselineStore:
    """Each source's recent normal text lengths and its short-page streak, one small JSON value per
    source in Redis (``<crawl prefix>textlen:<source id>``). Concurrent crawls of one source may
    lose an update; the baseline is an estimate and converges."""

    def __init__(self, kv: KeyValue, prefix: str, ttl_s: int) -> None:
        self._kv = kv
        self._prefix = f"{prefix}textlen:"
        self._ttl = ttl_s

    def _load(self, source_id: str) -> dict[str, Any]:
        value = self._kv.get_many([self._prefix + source_id])[0]
        return json.loads(value) if value else {"n": [], "short": 0}

    def get(self, source_id: str) -> Baseline:
        data = self._load(source_id)
        lengths = data["n"]
        return Baseline(statistics.median(lengths) if lengths else None, len(lengths), data["short"])

    def record(self, source_id: str, text_len: int, *, short: bool) -> None:
        """Count a page: a short one extends the streak (and stays out of the median, so a site that
        shrinks every page stays flagged), a normal one joins the window and ends the streak."""
        data = self._load(source_id)
        if short:
            data["short"] += 1
        else:
            data["n"] = [*data["n"], text_len][-BASELINE_WINDOW:]
            data["short"] = 0
        self._kv.set_many([(self._prefix + source_id, json.dumps(data))], self._ttl)
