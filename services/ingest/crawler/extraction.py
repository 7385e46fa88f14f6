"""The crawler's view of article extraction.

The crawler calls :func:`extract_article`, which uses the ingest extractor
(``services.ingest.extract.extract``, the same code path as ``warta extract``) when it is
importable, and otherwise a small built-in fallback on trafilatura plus JSON-LD / OpenGraph /
``article:*`` meta tags. The fallback exists so the crawler can run and be tested on its own; it
is not meant to compete with the real extractor.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import lxml.html
import trafilatura

from services.ingest.crawler.dates import parse_iso, plausible

log = logging.getLogger(__name__)


@dataclass
class ExtractedArticle:
    """Attribute-compatible with the object returned by ``services.ingest.extract.extract``."""

    title: str | None = None
    text: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    date_source: str | None = None
    authors: list[str] = field(default_factory=list)
    image: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    outlet: str | None = None


Extractor = Callable[..., Any]

# Generic boilerplate containers: comments, share bars, related/"Baca juga" boxes, sidebars, ads.
_PRUNE = [
    "//aside",
    "//form",
    "//nav",
    "//footer",
    *(
        f"//*[contains(@class,'{word}') or contains(@id,'{word}')]"
        for word in (
            "comment",
            "komentar",
            "respond",
            "share",
            "social",
            "related",
            "terkait",
            "lainnya",
            "baca-juga",
            "bacajuga",
            "sidebar",
            "widget",
            "iklan",
            "advert",
            "editor",
            "breadcrumb",
        )
    ),
]
_BOILERPLATE_LINE = re.compile(
    r"^\s*(baca juga|simak juga|lihat juga|berita terkait|editor|penulis|reporter)\s*:", re.IGNORECASE
)
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        (
            "januari",
            "februari",
            "maret",
            "april",
            "mei",
            "juni",
            "juli",
            "agustus",
            "september",
            "oktober",
            "november",
            "desember",
        )
    )
}
_ZONES = {"wib": 7, "wita": 8, "wit": 9}
_ID_DATE = re.compile(
    r"(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})\D{1,12}?(\d{1,2})[.:](\d{2})\s*(WIB|WITA|WIT)\b", re.IGNORECASE
)


def parse_indonesian_date(text: str) -> datetime | None:
    """First ``3 Juni 2024 | 09:15 WIB``-style date in ``text``, with its zone offset."""
    match = _ID_DATE.search(text)
    if not match:
        return None
    day, month, year, hour, minute, zone = match.groups()
    try:
        return datetime(
            int(year),
            _MONTHS[month.lower()],
            int(day),
            int(hour),
            int(minute),
            tzinfo=timezone(timedelta(hours=_ZONES[zone.lower()])),
        )
    except ValueError:
        return None


def _json_ld_articles(document: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            kind = node.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(k in {"NewsArticle", "Article", "ReportageNews", "BlogPosting"} for k in kinds):
                found.append(node)
            walk(node.get("@graph"))

    for script in document.iter("script"):
        if (script.get("type") or "").lower() == "application/ld+json" and script.text:
            try:
                walk(json.loads(script.text))
            except ValueError:
                continue
    return found


def _meta(document: Any, *names: str) -> str | None:
    for el in document.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        if key in names and el.get("content"):
            return str(el.get("content")).strip()
    return None


def _names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    if isinstance(value, dict):
        return _names(value.get("name"))
    return [str(value).strip()] if value else []


def fallback_extract(
    html: str | bytes,
    url: str,
    *,
    fallback_published_at: datetime | None = None,
    fallback_date_source: str | None = None,
    encoding: str | None = None,
) -> ExtractedArticle:
    """Trafilatura for the text; JSON-LD, then meta tags, then the fallback for the dates."""
    if isinstance(html, bytes):
        html = html.decode(encoding or "utf-8", errors="replace")
    article = ExtractedArticle()
    try:
        document = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return article
    result = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        include_tables=False,
        prune_xpath=_PRUNE,
    )
    ld = (_json_ld_articles(document) or [{}])[0]
    article.title = (
        str(ld.get("headline") or "").strip()
        or _meta(document, "og:title")
        or (getattr(result, "title", None) if result else None)
    )
    body = ld.get("articleBody")
    article.text = str(body).strip() if body else (getattr(result, "text", None) if result else None)
    if article.text and article.title and article.text.startswith(article.title):
        article.text = article.text[len(article.title) :].lstrip()
    if article.text:
        article.text = "\n".join(line for line in article.text.splitlines() if not _BOILERPLATE_LINE.match(line))
    for source, value in (
        ("json-ld", ld.get("datePublished")),
        ("meta", _meta(document, "article:published_time", "datepublished")),
        ("time", next((t.get("datetime") for t in document.iter("time") if t.get("datetime")), None)),
    ):
        published = plausible(parse_iso(str(value)) if value else None)
        if published:
            article.published_at, article.date_source = published, source
            break
    else:
        visible = plausible(parse_indonesian_date(document.text_content()[:20000]))
        if visible is not None:
            article.published_at, article.date_source = visible, "text"
        elif fallback_published_at is not None:
            article.published_at, article.date_source = plausible(fallback_published_at), fallback_date_source
    modified = ld.get("dateModified") or _meta(document, "article:modified_time")
    article.modified_at = plausible(parse_iso(str(modified))) if modified else None
    article.authors = _names(ld.get("author")) or _names(_meta(document, "author", "article:author"))
    article.image = _meta(document, "og:image") or (getattr(result, "image", None) if result else None)
    article.description = _meta(document, "og:description", "description")
    for link in document.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
            article.canonical_url = link.get("href")
            break
    article.language = (document.get("lang") or "").split("-")[0].lower() or None
    article.tags = [t for t in (_meta(document, "keywords") or "").split(",") if t.strip()]
    article.tags = [t.strip() for t in article.tags]
    article.outlet = (
        _meta(document, "og:site_name") or (_names(ld.get("publisher"))[:1] and _names(ld.get("publisher"))[0]) or None
    )
    return article


def resolve_extractor() -> Extractor:
    """The ingest extractor when available, else :func:`fallback_extract`."""
    try:
        from services.ingest.extract import extract
    except ImportError:
        log.warning("services.ingest.extract not available; using the crawler's fallback extractor")
        return fallback_extract
    return extract


def extract_article(
    extractor: Extractor,
    html: str,
    url: str,
    *,
    fallback_published_at: datetime | None,
    fallback_date_source: str | None,
) -> Any:
    """Run ``extractor`` with the crawler's calling convention. May raise whatever it raises."""
    return extractor(html, url, fallback_published_at=fallback_published_at, fallback_date_source=fallback_date_source)
