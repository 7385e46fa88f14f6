"""Checking a source's URL once, when the source is created (``POST /v1/sources``).

One request for the document (two for a WordPress site: its posts endpoint, and robots.txt once per
host), through the crawler's own :class:`Fetcher`, so the SSRF guard, robots.txt, the per-host
spacing and the size limits apply as in a crawl; with no retries and timeouts of at most the
check's timeout. The document is then read with the crawler's own parsers: is it an RSS/Atom feed
(feedparser), a sitemap, a WordPress REST API, or an HTML page with article links (the listing
rule, with the source's patterns)? The answer is a :class:`UrlCheck`: the kind when it matches the
source's type, else a stable code and a message saying what was found.

Codes (docs/crawler.md lists them with their messages): the fetch reasons of
:class:`~services.ingest.crawler.fetcher.FetchError` (``http_404``, ``dns``, ``timeout``...),
and ``no_article_links``, ``no_wordpress_api``, ``type_mismatch``, ``malformed_feed``,
``malformed_sitemap``, ``not_a_source_document``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import lxml.etree
import lxml.html

from services.ingest.crawler.discovery import (
    DiscoveryError,
    is_article_link,
    parse_feed,
    parse_listing,
    parse_sitemap,
    wordpress_fallback,
    wordpress_posts_url,
)
from services.ingest.crawler.fetcher import Fetcher, FetchError, FetchResult
from services.ingest.crawler.models import Source, SourceType
from services.ingest.settings import IngestSettings
from services.ingest.urls import InvalidURL, canonicalize, compile_patterns

KIND_NAMES: dict[str, str] = {
    "rss": "an RSS/Atom feed",
    "sitemap": "a sitemap",
    "wordpress": "a WordPress REST API",
    "listing": "a page with article links",
}
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(frozen=True)
class UrlCheck:
    """The outcome of a check. ``ok``: the URL works as the source's type (``kind``), with
    ``articles`` entries, sitemap URLs, posts or article links found. Otherwise ``code`` and
    ``message`` say what was found, and ``kind`` is what the URL turned out to be, if one of the
    four source types."""

    ok: bool
    code: str
    message: str
    kind: SourceType | None = None
    articles: int = 0


def check_settings(settings: IngestSettings, timeout_s: float) -> IngestSettings:
    """The crawler's settings for a check: no retries, no waiting out a ``Retry-After``, and
    every timeout at most ``timeout_s``."""
    return settings.model_copy(
        update={
            "crawl_max_retries": 0,
            "crawl_max_retry_wait_s": 0.0,
            "crawl_connect_timeout_s": min(settings.crawl_connect_timeout_s, timeout_s),
            "crawl_read_timeout_s": min(settings.crawl_read_timeout_s, timeout_s),
        }
    )


def check_source_url(
    settings: IngestSettings, source: Source, *, timeout_s: float, stop_event: threading.Event | None = None
) -> UrlCheck:
    """Check ``source.url`` for ``source.type`` with a fetcher of its own. Blocks on the network
    (each request bounded by ``timeout_s``; ``stop_event`` cuts waits short). Never raises for
    problems of the URL: they are the result."""
    with Fetcher(check_settings(settings, timeout_s), stop_event=stop_event) as fetcher:
        return probe(fetcher, source)


def probe(fetcher: Fetcher, source: Source) -> UrlCheck:
    """See module doc. ``fetcher`` should not store validators (a check is no crawl)."""
    if source.type == "wordpress":
        return _probe_wordpress(fetcher, source)
    try:
        result = fetcher.fetch(source.url, accept=None, conditional=False)
    except FetchError as exc:
        return unreachable(exc)
    found = classify(result, source)
    if found.ok and found.kind == source.type:
        return found
    if found.ok and found.kind is not None:
        return UrlCheck(
            ok=False,
            code="type_mismatch",
            kind=found.kind,
            articles=found.articles,
            message=f"the URL is {KIND_NAMES[found.kind]}, not {KIND_NAMES[source.type]} "
            f"(add it with type '{found.kind}')",
        )
    return found


def unreachable(exc: FetchError) -> UrlCheck:
    """What a failed fetch means to the person adding the source; the code is the fetch reason."""
    reason = exc.reason
    if reason.startswith("http_"):
        message = f"HTTP {exc.status}" if exc.status else reason.replace("_", " ").upper()
        if exc.status in (429, 503):
            message += " (the site asks to come back later)"
    else:
        message = {
            "dns": "not reachable: the host name does not resolve",
            "connect_error": "not reachable: the connection failed",
            "timeout": "not reachable: no answer in time",
            "stopped": "not reachable: no answer in time",
            "ssrf_blocked": "refused: the address is private, loopback or link-local",
            "robots": "robots.txt does not allow Warta to fetch it",
            "robots_unreachable": "not reachable: robots.txt could not be read",
            "host_backoff": "the site asked to come back later",
            "too_large": "the document is over the crawler's size limit",
            "redirect_loop": "the URL redirects in a loop",
            "too_many_redirects": "the URL redirects too many times",
            "content_type": "the document has a content type the crawler does not read",
        }.get(reason, reason)
    code = "timeout" if reason == "stopped" else reason
    return UrlCheck(ok=False, code=code, message=f"{message}: {exc.url}")


def _media_type(result: FetchResult) -> str:
    return (result.content_type or "").split(";", 1)[0].strip().lower()


def _looks_like_html(result: FetchResult) -> bool:
    head = result.body[:512].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf", b"<urlset", b"<sitemapindex")):
        return False  # a feed or sitemap served as text/html is still a feed or sitemap
    return _media_type(result) in _HTML_TYPES or head.startswith((b"<!doctype html", b"<html"))


def classify(result: FetchResult, source: Source) -> UrlCheck:
    """What one fetched document is, as a check: ``ok`` with ``kind`` when it is usable as a feed,
    a sitemap or a listing page (whatever the source's type), else a code saying what it is."""
    media = _media_type(result)
    if _looks_like_html(result):
        return _classify_html(result, source)
    head = result.body[:1].lstrip()
    if media == "application/json" or head in (b"[", b"{"):
        return UrlCheck(
            ok=False,
            code="not_a_source_document",
            message="a JSON document, not a feed, a sitemap or a page "
            "(for a WordPress site, add the site's root URL with type 'wordpress')",
        )
    try:
        shape, entries = parse_sitemap(result.body)
        n = len(entries)
        what = f"a sitemap index of {n} sitemaps" if shape == "index" else f"a sitemap of {n} URLs"
        return UrlCheck(ok=True, code="sitemap", kind="sitemap", articles=n, message=what)
    except DiscoveryError as sitemap_error:
        sitemap_problem = str(sitemap_error)
    try:
        discovery = parse_feed(result.body, result.url, result.content_type)
        found = len(discovery.items)
        return UrlCheck(
            ok=True, code="feed", kind="rss", articles=found, message=f"an RSS/Atom feed with {found} entries"
        )
    except DiscoveryError as feed_error:
        feed_problem = str(feed_error)
    sniff = result.body[:2000].lower()
    if media in _FEED_TYPES or any(tag in sniff for tag in (b"<rss", b"<feed", b"<rdf")):
        return UrlCheck(ok=False, code="malformed_feed", message=f"a feed that cannot be read ({feed_problem})")
    if b"<urlset" in sniff or b"<sitemapindex" in sniff:
        return UrlCheck(
            ok=False, code="malformed_sitemap", message=f"a sitemap that cannot be read ({sitemap_problem})"
        )
    what = f"a {media} document" if media else "a document"
    return UrlCheck(ok=False, code="not_a_source_document", message=f"{what}, not a feed, a sitemap or an HTML page")


def _classify_html(result: FetchResult, source: Source) -> UrlCheck:
    try:
        links, _next = parse_listing(result.text, result.url)
    except DiscoveryError as exc:
        return UrlCheck(ok=False, code="not_a_source_document", message=f"an HTML page that cannot be read ({exc})")
    include, exclude = compile_patterns(source.include_patterns), compile_patterns(source.exclude_patterns)
    articles: set[str] = set()
    for link in links:
        try:
            canonical = canonicalize(link)
        except InvalidURL:
            continue
        if is_article_link(canonical, source.url, include, exclude):
            articles.add(canonical)
    if articles:
        return UrlCheck(
            ok=True,
            code="article_links",
            kind="listing",
            articles=len(articles),
            message=f"a page with {len(articles)} article links",
        )
    message = "HTML page without article links"
    feed = _announced_feed(result)
    if feed:
        message += f"; it announces a feed at {feed}"
    return UrlCheck(ok=False, code="no_article_links", message=message)


def _announced_feed(result: FetchResult) -> str | None:
    """The feed a page announces with ``<link rel="alternate" type="application/rss+xml">``."""
    try:
        document = lxml.html.document_fromstring(result.text)
    except (lxml.etree.ParserError, ValueError):
        return None
    for link in document.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "alternate" in rel and (link.get("type") or "").lower() in _FEED_TYPES and link.get("href"):
            try:
                return canonicalize(link.get("href") or "", base=result.url)
            except InvalidURL:
                return None
    return None


def _probe_wordpress_fallback(fetcher: Fetcher, source: Source, endpoint: str, found: str) -> UrlCheck:
    """A WordPress site with its REST API off is still a source when the crawler's fallback
    (``discovery.wordpress_fallback``: the feed ``/feed/``, else ``/wp-sitemap.xml``) finds posts."""
    try:
        discovery = wordpress_fallback(fetcher, source, found, max_items=500)
    except (FetchError, DiscoveryError):
        return UrlCheck(ok=False, code="no_wordpress_api", message=f"no WordPress REST API at {endpoint} ({found})")
    read = discovery.documents[0].url if discovery.documents else source.url
    return UrlCheck(
        ok=True,
        code="wordpress_fallback",
        kind="wordpress",
        articles=len(discovery.items),
        message=f"a WordPress site without REST API ({found}): {len(discovery.items)} posts in {read}",
    )


def _probe_wordpress(fetcher: Fetcher, source: Source) -> UrlCheck:
    api_url = wordpress_posts_url(source.url, 1, 1, None)
    endpoint = api_url.split("?", 1)[0]
    try:
        result = fetcher.fetch(api_url, accept="json", conditional=False)
    except FetchError as exc:
        if exc.reason in ("http_403", "http_404", "http_410", "http_451", "http_4xx", "content_type"):
            found = f"HTTP {exc.status}" if exc.reason != "content_type" else "not JSON"
            return _probe_wordpress_fallback(fetcher, source, endpoint, found)
        return unreachable(exc)
    try:
        posts = json.loads(result.text)
    except ValueError:
        posts = None
    if not isinstance(posts, list):
        return _probe_wordpress_fallback(fetcher, source, endpoint, "the answer is not a list of posts")
    total = result.headers.get("x-wp-total") if result.headers else None
    posts_found = int(total) if total and total.isdigit() else len(posts)
    return UrlCheck(
        ok=True,
        code="wordpress_api",
        kind="wordpress",
        articles=posts_found,
        message=f"a WordPress REST API with {posts_found} posts",
    )
