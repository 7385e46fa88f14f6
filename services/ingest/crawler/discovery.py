"""Discovery: turn a source into a list of candidate article URLs, one function per source type.

Each function fetches the source's own documents (feed, sitemaps, API pages, listing pages) with
conditional GET. The documents' validators are *not* stored here: the caller stores them once the
discovered articles were processed without transient failures, so a crash half-way never makes
the next crawl skip articles. Discovery raises :class:`FetchError` when the source's entry document
cannot be fetched and :class:`DiscoveryError` when it cannot be parsed at all; problems with
secondary documents (a child sitemap, a later listing page) are counted in ``failures``.
"""

from __future__ import annotations

import gzip
import html
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html

from services.ingest.crawler.charset import decode_xml
from services.ingest.crawler.fetcher import Fetcher, FetchError, FetchResult
from services.ingest.crawler.models import Source
from services.ingest.dates import WIB, parse_feed_date, parse_iso
from services.ingest.urls import (
    InvalidURL,
    Pattern,
    PatternError,
    canonicalize,
    compile_patterns,
    matches_patterns,
    same_site,
)

log = logging.getLogger(__name__)

_UPDATE_PERIOD_S = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}
_NEXT_TEXT = re.compile(r"^\s*(selanjutnya|berikutnya|halaman berikutnya|next|older posts|›|»|>)\s*$", re.IGNORECASE)
_ARTICLE_SLUG = re.compile(r"(\w+-){2,}\w+|\d{4,}")
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
# Answers of a WordPress site that turned its REST API off (or hides it behind a login).
WP_API_DISABLED = {401, 403, 404, 410}


class DiscoveryError(Exception):
    """The source's document could not be understood, or the source cannot be used as stored.
    ``reason``: malformed_feed, malformed_sitemap, malformed_api, malformed_listing,
    wp_api_unavailable (REST API off and neither feed nor sitemap readable), bad_pattern
    (a stored include/exclude pattern that RE2 cannot compile, e.g. one saved before patterns ran
    on RE2)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class DiscoveredUrl:
    """A candidate article. ``url`` is canonical; the dates are hints from the source document."""

    url: str
    lastmod: datetime | None = None
    published_at: datetime | None = None
    date_source: str | None = None
    title: str | None = None


@dataclass
class Discovery:
    items: list[DiscoveredUrl] = field(default_factory=list)
    documents: list[FetchResult] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    # Items rejected before fetching, by reason (excluded by pattern, not an article, bad URL...).
    skipped: Counter[str] = field(default_factory=Counter)
    not_modified: bool = False
    update_period_s: float | None = None
    cursor: str | None = None
    # How the source was read when not as its type says (``wp_api_fallback_http_403``...); the
    # crawl record lists them with the skipped reasons.
    notes: Counter[str] = field(default_factory=Counter)

    def add(self, source_url: str, raw_url: str | None, **hints: Any) -> None:
        if not raw_url:
            self.skipped["bad_url"] += 1
            return
        try:
            url = canonicalize(raw_url, base=source_url)
        except InvalidURL:
            self.skipped["bad_url"] += 1
            return
        self.items.append(DiscoveredUrl(url=url, **hints))


def discover(fetcher: Fetcher, source: Source, *, cursor: str | None = None, max_items: int = 500) -> Discovery:
    """Run the discovery for ``source.type``. May block on the network; see module doc for errors."""
    handler = {
        "rss": discover_feed,
        "sitemap": discover_sitemap,
        "wordpress": discover_wordpress,
        "listing": discover_listing,
    }[source.type]
    include, exclude = _source_patterns(source)  # before any request: a bad pattern fails the crawl
    discovery = handler(fetcher, source, cursor=cursor, max_items=max_items)
    if source.type != "listing":  # listing applies patterns while it walks the pages
        kept = []
        for item in discovery.items:
            if matches_patterns(item.url, include, exclude):
                kept.append(item)
            else:
                discovery.skipped["excluded"] += 1
        discovery.items = kept
    return discovery


def _source_patterns(source: Source) -> tuple[list[Pattern], list[Pattern]]:
    try:
        return compile_patterns(source.include_patterns), compile_patterns(source.exclude_patterns)
    except PatternError as exc:
        raise DiscoveryError("bad_pattern", str(exc)) from exc


# --- RSS / Atom -------------------------------------------------------------------------------


def feed_update_period(feed: Any) -> float | None:
    """Seconds between updates declared by ``sy:updatePeriod``/``sy:updateFrequency`` or ``<ttl>``."""
    period = str(feed.get("sy_updateperiod", "") or "").strip().lower()
    if period in _UPDATE_PERIOD_S:
        try:
            frequency = max(1, int(str(feed.get("sy_updatefrequency", "1")).strip() or "1"))
        except ValueError:
            frequency = 1
        return _UPDATE_PERIOD_S[period] / frequency
    ttl = str(feed.get("ttl", "") or "").strip()
    return float(ttl) * 60.0 if ttl.isdigit() and int(ttl) > 0 else None


_XML_DECL_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?\sencoding\s*=\s*)[\"'][\w.:-]+[\"']")
_TAG = re.compile(r"<[^>]*>")
_HTML_TYPES = {"text/html", "application/xhtml+xml"}


def _feed_bytes(body: bytes, content_type: str | None) -> bytes:
    """The feed re-encoded as UTF-8 with a matching XML declaration: the encoding is decided once,
    by :func:`decode_xml` (BOM, valid UTF-8, declaration, header), not by feedparser, which trusts
    a header's charset over the document's own."""
    decoded = decode_xml(body, content_type)
    data = decoded.text.encode("utf-8")
    return _XML_DECL_ENCODING.sub(rb'\1"utf-8"', data, count=1)


def feed_default_zone(feed: Any, feed_url: str) -> timezone | None:
    """The zone for entry dates without one: WIB for an Indonesian feed (``<language>id``, or a
    host under ``.id``), as on Indonesian pages; otherwise None (such dates are unknown)."""
    language = str(feed.get("language", "") or "").strip().lower()
    host = (urlsplit(feed_url).hostname or "").lower()
    if language == "id" or language.startswith(("id-", "id_")) or host.endswith(".id"):
        return WIB
    return None


def entry_title(entry: Any, *, atom: bool = False) -> str | None:
    """An entry's title as plain text, whitespace collapsed. Atom says what a title is: ``type=
    "html"`` titles are HTML, ``type="text"`` ones are kept as they are. RSS titles are HTML in
    practice (CDATA with markup, double-escaped ``&amp;amp;``): tags dropped, entities decoded."""
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip():
        return None
    detail = entry.get("title_detail") or {}
    if detail.get("type") in _HTML_TYPES or (not atom and ("<" in title or "&" in title)):
        title = html.unescape(_TAG.sub("", title))
    return " ".join(title.split()) or None


def parse_feed(body: bytes, feed_url: str, content_type: str | None = None) -> Discovery:
    """Parse an RSS/Atom document. A document feedparser can only partly read yields the entries
    it recovered plus a ``malformed_feed`` failure; one with no entries at all raises.

    Per entry: the ``rel="alternate"`` link (Atom entries list others too), resolved against
    ``xml:base`` and the feed URL; ``published`` (RSS ``pubDate``, Atom ``published``), else
    ``updated`` (Atom ``updated``, ``dc:date``), parsed by :func:`parse_feed_date` with
    :func:`feed_default_zone`; the title as plain text (:func:`entry_title`)."""
    parsed = feedparser.parse(
        _feed_bytes(body, content_type), response_headers={"content-type": "application/xml; charset=utf-8"}
    )
    discovery = Discovery()
    bozo = bool(parsed.get("bozo")) and not isinstance(parsed.get("bozo_exception"), _HARMLESS_BOZO)
    if bozo:
        if not parsed.entries:
            raise DiscoveryError("malformed_feed", str(parsed.get("bozo_exception")))
        discovery.failures["malformed_feed"] += 1
    if not parsed.entries and (not parsed.feed or not parsed.get("version")):
        raise DiscoveryError("malformed_feed", "not a feed")  # e.g. an HTML page
    discovery.update_period_s = feed_update_period(parsed.feed)
    zone = feed_default_zone(parsed.feed, feed_url)
    atom = str(parsed.get("version", "")).startswith("atom")
    for entry in parsed.entries:
        link = entry.get("feedburner_origlink") or _alternate_link(entry)
        # dict.get: FeedParserDict maps a missing "updated" to "published" with a DeprecationWarning.
        updated = parse_feed_date(dict.get(entry, "updated"), zone)
        published = parse_feed_date(entry.get("published") or entry.get("created"), zone) or updated
        discovery.add(
            feed_url,
            link,
            lastmod=updated or published,
            published_at=published,
            date_source="feed",
            title=entry_title(entry, atom=atom),
        )
    return discovery


def _alternate_link(entry: Any) -> str | None:
    """The entry's ``rel="alternate"`` HTML link; feedparser's ``link`` otherwise."""
    links = [link for link in entry.get("links") or [] if link.get("href")]
    alternates = [link for link in links if link.get("rel", "alternate") == "alternate"]
    html_alternates = [link for link in alternates if link.get("type", "text/html") in _HTML_TYPES]
    for candidates in (html_alternates, alternates):
        if candidates:
            return str(candidates[0]["href"])
    link = entry.get("link")
    return str(link) if link else None


def discover_feed(fetcher: Fetcher, source: Source, *, cursor: str | None = None, max_items: int = 500) -> Discovery:
    result = fetcher.fetch(source.url, accept="xml")
    if result.not_modified:
        return Discovery(not_modified=True, documents=[result])
    discovery = parse_feed(result.body, result.url, result.content_type)
    discovery.documents.append(result)
    discovery.items = discovery.items[:max_items]
    return discovery


# --- Sitemaps ---------------------------------------------------------------------------------


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _child_text(element: Any, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name and child.text:
            return str(child.text).strip()
    return None


def parse_sitemap(body: bytes) -> tuple[str, list[dict[str, str | None]]]:
    """Parse a sitemap or sitemap index (gzip accepted). Returns (kind, entries) where kind is
    ``index`` or ``urlset`` and entries carry loc, lastmod, and for Google News sitemaps
    news_published, news_title and news_language. Raises :class:`DiscoveryError` on anything else."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except OSError as exc:
            raise DiscoveryError("malformed_sitemap", "bad gzip") from exc
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = lxml.etree.fromstring(body, parser=parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise DiscoveryError("malformed_sitemap", str(exc)) from exc
    kind = _local(root.tag)
    if kind not in {"sitemapindex", "urlset"}:
        raise DiscoveryError("malformed_sitemap", f"root element {kind!r}")
    entries: list[dict[str, str | None]] = []
    for node in root:
        if _local(node.tag) not in {"sitemap", "url"}:
            continue
        entry: dict[str, str | None] = {"loc": _child_text(node, "loc"), "lastmod": _child_text(node, "lastmod")}
        for child in node:
            if _local(child.tag) == "news":
                entry["news_published"] = _child_text(child, "publication_date")
                entry["news_title"] = _child_text(child, "title")
                for publication in child:
                    if _local(publication.tag) == "publication":
                        entry["news_language"] = _child_text(publication, "language")
        entries.append(entry)
    return ("index" if kind == "sitemapindex" else "urlset"), entries


def discover_sitemap(fetcher: Fetcher, source: Source, *, cursor: str | None = None, max_items: int = 500) -> Discovery:
    discovery = Discovery()
    queue: list[tuple[str, bool]] = [(source.url, True)]
    visited: set[str] = set()
    entry_not_modified = False
    while queue and len(visited) < fetcher.settings.crawl_max_sitemaps:
        url, is_entry = queue.pop(0)
        if url in visited:
            continue
        visited.add(url)
        try:
            result = fetcher.fetch(url, accept="xml")
        except FetchError as exc:
            if is_entry:
                raise
            discovery.failures[exc.reason] += 1
            continue
        discovery.documents.append(result)
        if result.not_modified:
            entry_not_modified = entry_not_modified or is_entry
            continue
        try:
            kind, entries = parse_sitemap(result.body)
        except DiscoveryError as exc:
            if is_entry:
                raise
            discovery.failures[exc.reason] += 1
            continue
        for entry in entries:
            if kind == "index":
                if entry["loc"]:
                    try:
                        queue.append((canonicalize(entry["loc"], base=result.url), False))
                    except InvalidURL:
                        discovery.skipped["bad_url"] += 1
                continue
            # A Google News publication date without a zone, in an Indonesian publication: WIB.
            language = (entry.get("news_language") or "").lower()
            zone = WIB if language == "id" or language.startswith("id-") else None
            published = parse_feed_date(entry.get("news_published"), zone)
            lastmod = parse_iso(entry.get("lastmod"), assume_utc=True) or published
            title = entry.get("news_title")
            discovery.add(
                result.url,
                entry["loc"],
                lastmod=lastmod,
                published_at=published,
                date_source="sitemap" if published else None,
                title=" ".join(html.unescape(title).split()) or None if title else None,
            )
    discovery.not_modified = entry_not_modified and not discovery.items
    # Newest first, so the per-crawl cap keeps the fresh articles.
    discovery.items.sort(key=lambda i: i.lastmod.timestamp() if i.lastmod else 0.0, reverse=True)
    discovery.items = discovery.items[:max_items]
    return discovery


# --- WordPress REST API -----------------------------------------------------------------------


def wordpress_posts_url(base_url: str, page: int, per_page: int, modified_after: str | None) -> str:
    params: dict[str, str | int] = {
        "per_page": per_page,
        "page": page,
        "orderby": "modified",
        "order": "desc",
        "_fields": "id,link,date_gmt,modified_gmt,title",
    }
    if modified_after:
        params["modified_after"] = modified_after
    root = base_url if base_url.endswith("/") else base_url + "/"
    return urljoin(root, "wp-json/wp/v2/posts") + "?" + urlencode(params)


def discover_wordpress(
    fetcher: Fetcher, source: Source, *, cursor: str | None = None, max_items: int = 500
) -> Discovery:
    """Page through ``/wp-json/wp/v2/posts`` (newest modification first) from ``cursor``
    (``modified_after``, ISO 8601 UTC). The new cursor is the latest ``modified_gmt`` seen.

    A site that disables the REST API (401/403/404/410, or HTML or a non-list where the posts
    should be) is read through its RSS feed ``/feed/``, else its sitemap ``/wp-sitemap.xml``; the
    reason is noted as ``wp_api_fallback_<reason>`` (see :func:`wordpress_fallback`)."""
    settings = fetcher.settings
    discovery = Discovery(cursor=cursor)
    newest = cursor
    page, total_pages = 1, 1
    while page <= min(total_pages, settings.crawl_wp_max_pages) and len(discovery.items) < max_items:
        url = wordpress_posts_url(source.url, page, settings.crawl_wp_per_page, cursor)
        try:
            result = fetcher.fetch(url, accept="json", conditional=page == 1)
        except FetchError as exc:
            if page == 1 and (exc.status in WP_API_DISABLED or exc.reason == "content_type"):
                reason = f"http_{exc.status}" if exc.status in WP_API_DISABLED else exc.reason
                return wordpress_fallback(fetcher, source, reason, cursor=cursor, max_items=max_items)
            if page == 1:
                raise
            # WordPress answers 400 for a page past the end (rest_post_invalid_page_number).
            if exc.status != 400:
                discovery.failures[exc.reason] += 1
            break
        discovery.documents.append(result)
        if result.not_modified:
            discovery.not_modified = True
            break
        try:
            posts = json.loads(result.text)
        except ValueError as exc:
            if page == 1:
                return wordpress_fallback(fetcher, source, "not_json", cursor=cursor, max_items=max_items)
            raise DiscoveryError("malformed_api", str(exc)) from exc
        if not isinstance(posts, list):
            if page == 1:
                return wordpress_fallback(fetcher, source, "not_a_list", cursor=cursor, max_items=max_items)
            raise DiscoveryError("malformed_api", "posts is not a list")
        header = result_header_total_pages(result)
        total_pages = header if header is not None else (page + 1 if len(posts) == settings.crawl_wp_per_page else page)
        for post in posts:
            if not isinstance(post, dict):
                continue
            modified = parse_iso(post.get("modified_gmt"), assume_utc=True)
            published = parse_iso(post.get("date_gmt"), assume_utc=True)
            title = post.get("title")
            discovery.add(
                source.url,
                post.get("link"),
                lastmod=modified or published,
                published_at=published,
                date_source="wp_api" if published else None,
                title=title.get("rendered") if isinstance(title, dict) else None,
            )
            if modified is not None:
                stamp = modified.strftime("%Y-%m-%dT%H:%M:%SZ")
                newest = max(newest or stamp, stamp)
        page += 1
    discovery.cursor = newest
    return discovery


def wordpress_fallback(
    fetcher: Fetcher, source: Source, reason: str, *, cursor: str | None = None, max_items: int = 500
) -> Discovery:
    """Discover a WordPress site whose REST API is off: its feed ``/feed/``, else its sitemap
    ``/wp-sitemap.xml`` (WordPress 5.5+). ``reason`` (``http_403``, ``not_json``...) is noted in
    ``discovery.notes`` as ``wp_api_fallback_<reason>``; the cursor is kept as it was. Raises
    :class:`DiscoveryError` ``wp_api_unavailable`` when neither answers."""
    root = source.url if source.url.endswith("/") else source.url + "/"
    tried: list[str] = []
    for path, kind in (("feed/", "rss"), ("wp-sitemap.xml", "sitemap")):
        fallback = source.model_copy(update={"url": urljoin(root, path), "type": kind})
        handler = discover_feed if kind == "rss" else discover_sitemap
        try:
            discovery = handler(fetcher, fallback, max_items=max_items)
        except (FetchError, DiscoveryError) as exc:
            tried.append(f"{path}: {exc.reason}")
            continue
        if not discovery.items and not discovery.not_modified and kind == "rss":
            tried.append(f"{path}: empty")
            continue
        discovery.notes[f"wp_api_fallback_{reason}"] += 1
        discovery.cursor = cursor
        log.info("wordpress REST API unavailable, read %s", path, extra={"source_id": source.id, "error": reason})
        return discovery
    raise DiscoveryError("wp_api_unavailable", f"REST API {reason}; " + "; ".join(tried))


def result_header_total_pages(result: FetchResult) -> int | None:
    value = result.headers.get("x-wp-totalpages") if result.headers else None
    return int(value) if value and value.isdigit() else None


# --- HTML listing pages -----------------------------------------------------------------------


def looks_like_article(url: str) -> bool:
    """Heuristic for listing sources without include patterns: a slug with several words or a
    long number in the last path segment."""
    # The path only: the host of a site's home page ("127.0.0.1:8101", "radar1234.id") is no slug.
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return bool(_ARTICLE_SLUG.search(segment))


def parse_listing(html: str, page_url: str) -> tuple[list[str], str | None]:
    """Return (absolute links in document order, next page URL or None)."""
    try:
        document = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise DiscoveryError("malformed_listing", str(exc)) from exc
    base = page_url
    for base_el in document.iter("base"):
        if base_el.get("href"):
            base = urljoin(page_url, base_el.get("href"))
            break
    links: list[str] = []
    next_url: str | None = None
    for el in document.iter("link"):
        if "next" in (el.get("rel") or "").lower().split() and el.get("href"):
            next_url = urljoin(base, el.get("href"))
    for anchor in document.iter("a"):
        href = anchor.get("href")
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        absolute = urljoin(base, href)
        rel = (anchor.get("rel") or "").lower().split()
        if next_url is None and ("next" in rel or _NEXT_TEXT.match(anchor.text_content() or "")):
            next_url = absolute
            continue
        links.append(absolute)
    return links, next_url


def is_article_link(url: str, source_url: str, include: list[Pattern], exclude: list[Pattern]) -> bool:
    """The listing rule for one canonical link: it matches the include patterns (or, without
    include patterns, is on the source's site and looks like an article) and no exclude pattern."""
    if include:
        return matches_patterns(url, include, exclude)
    return same_site(url, source_url) and looks_like_article(url) and matches_patterns(url, (), exclude)


def discover_listing(fetcher: Fetcher, source: Source, *, cursor: str | None = None, max_items: int = 500) -> Discovery:
    """Walk the listing page and up to ``max_pages`` following pages. Links pass when they match
    the include patterns (or, without include patterns, are on the source's site and look like an
    article) and no exclude pattern."""
    discovery = Discovery()
    include, exclude = _source_patterns(source)
    max_pages = source.max_pages or fetcher.settings.crawl_max_listing_pages
    url: str | None = source.url
    pages: set[str] = set()
    seen_links: set[str] = set()
    while url and len(pages) < max_pages and len(discovery.items) < max_items:
        url = canonicalize(url)
        if url in pages:
            break
        pages.add(url)
        try:
            result = fetcher.fetch(url, accept="html")
        except FetchError as exc:
            if len(pages) == 1:
                raise
            discovery.failures[exc.reason] += 1
            break
        discovery.documents.append(result)
        if result.not_modified:
            # An unchanged first page means nothing new was published since the last crawl.
            discovery.not_modified = len(pages) == 1
            break
        links, url = parse_listing(result.text, result.url)
        for link in links:
            try:
                canonical = canonicalize(link)
            except InvalidURL:
                continue
            if canonical in seen_links or canonical in pages:
                continue
            seen_links.add(canonical)
            if is_article_link(canonical, source.url, include, exclude):
                discovery.items.append(DiscoveredUrl(url=canonical))
    discovery.items = discovery.items[:max_items]
    return discovery
