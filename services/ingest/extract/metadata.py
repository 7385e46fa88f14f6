"""Structured metadata: JSON-LD (schema.org Article family), OpenGraph and ``<meta>`` tags."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNews",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "TechArticle",
        "ScholarlyArticle",
        "Report",
        "SocialMediaPosting",
    }
)


@dataclass
class PageMeta:
    """What the page declares about itself. Values are raw strings, not yet validated."""

    jsonld: dict[str, Any] = field(default_factory=dict)
    # <meta> tags keyed by lowercased property/name/itemprop; every value kept in page order.
    meta: dict[str, list[str]] = field(default_factory=dict)
    canonical: str | None = None
    html_lang: str | None = None

    def first(self, *keys: str) -> str | None:
        """First non-empty meta value among ``keys``, in the order of ``keys``."""
        for key in keys:
            for value in self.meta.get(key, []):
                if value.strip():
                    return value.strip()
        return None

    def all(self, *keys: str) -> list[str]:
        return [v.strip() for key in keys for v in self.meta.get(key, []) if v.strip()]


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds if k}


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for child in node:
            yield from _walk(child)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if isinstance(node.get(key), (dict, list)):
                yield from _walk(node[key])


def _load_jsonld(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        # CMS templates often leave raw newlines/tabs inside strings or a trailing comma.
        cleaned = re.sub(r"[\x00-\x1f]", " ", raw)
        cleaned = re.sub(r",\s*([}\]])", r"\1", cleaned)
        try:
            return json.loads(cleaned)
        except ValueError:
            return None


def find_article_jsonld(tree: lxml_html.HtmlElement) -> dict[str, Any]:
    """The richest schema.org Article-family object on the page, or ``{}``."""
    best: dict[str, Any] = {}
    best_score = -1
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        for node in _walk(_load_jsonld(script.text)):
            if not _types(node) & ARTICLE_TYPES:
                continue
            score = sum(1 for k in ("headline", "datePublished", "author", "articleBody") if node.get(k))
            if score > best_score:
                best, best_score = node, score
    return best


def read_page_meta(tree: lxml_html.HtmlElement) -> PageMeta:
    """Collect JSON-LD, ``<meta>`` values, ``rel=canonical`` and ``<html lang>``."""
    page = PageMeta(jsonld=find_article_jsonld(tree))
    for element in tree.iter("meta"):
        key = (
            element.get("property") or element.get("name") or element.get("itemprop") or element.get("http-equiv") or ""
        )
        content = element.get("content")
        if key and content is not None:
            page.meta.setdefault(key.strip().lower(), []).append(content)
    for element in tree.iter("link"):
        rels = (element.get("rel") or "").lower().split()
        if "canonical" in rels and element.get("href"):
            page.canonical = element.get("href").strip()
            break
    root = tree.getroottree().getroot()
    page.html_lang = (root.get("lang") or root.get("xml:lang") or "").strip() or None
    return page


def names(value: Any) -> list[str]:
    """Person/organisation names from a schema.org value (string, object or list of either)."""
    if isinstance(value, list):
        return [n for v in value for n in names(v)]
    if isinstance(value, dict):
        return names(value.get("name"))
    if isinstance(value, str):
        text = " ".join(value.split())
        return [text] if text and not text.startswith(("http://", "https://")) else []
    return []


def first_url(value: Any) -> str | None:
    """A URL from a schema.org ``image``-like value."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        for v in value:
            url = first_url(v)
            if url:
                return url
    if isinstance(value, dict):
        return first_url(value.get("url") or value.get("contentUrl") or value.get("@id"))
    return None


def keywords(value: Any) -> list[str]:
    """schema.org ``keywords``/``articleSection``: a comma-separated string or a list."""
    if isinstance(value, list):
        return [k for v in value for k in keywords(v)]
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    return []
