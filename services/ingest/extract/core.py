"""``extract()``: one HTML page in, one :class:`ExtractedArticle` out.

Text: trafilatura is the base. It runs twice on a tree already stripped of known widgets, once
in its balanced mode and once with ``favor_recall``, and the longer result wins: on the
development set the recall mode loses whole sections on some pages and the balanced mode on
others, and the longer of the two is right far more often than either alone (see
docs/extraction.md). A third, ``favor_precision`` pass also competes on length (it is
occasionally the only one that keeps a late section) and trims leading/trailing blocks that it
does not keep. The page is parsed without HTML comments, as trafilatura's own loader does. A JSON-LD ``articleBody`` replaces the result when it is much longer,
because some templates hide the body from the DOM heuristics. Finally Indonesian boilerplate
lines ("Baca juga: ...", credit lines, tag and share lines), generic widget lines, header lines
(headline, dateline, byline, reading time) and repeated paragraphs are removed.

Metadata: JSON-LD Article first, then OpenGraph/``article:*``, then other ``<meta>`` tags, then
what trafilatura finds in the markup.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from services.ingest.dates import (
    WIB,
    PageDate,
    choose_published,
    date_from_url,
    is_plausible,
    parse_human_date,
    parse_machine_date,
)
from services.ingest.extract.boilerplate import clean_head, clean_text, credited_authors, prune_tree
from services.ingest.extract.charset import decode_html
from services.ingest.extract.language import detect_language
from services.ingest.extract.metadata import PageMeta, first_url, keywords, names, read_page_meta
from services.ingest.extract.model import ExtractedArticle

log = logging.getLogger(__name__)
_WORD = re.compile(r"\w+")
# articleBody wins only when clearly more complete than the DOM extraction: it is often a
# truncated teaser, so a small advantage is not enough.
_ARTICLE_BODY_RATIO = 1.5
# The precision-mode pass may trim the head/tail of the chosen text, but only when it keeps at
# least this share of its words (below that it has lost real content, not boilerplate).
_EDGE_TRIM_MIN_SHARE = 0.5
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
)
_OTHER_PUBLISHED_META = (
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "article.published",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dc.date",
    "dcterms.date",
    "dcterms.created",
    "date",
    "content_publishdate",
    "originalpublicationdate",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "last-modified",
    "lastmod",
)
# Class/id tokens of elements that typically print the publication date next to the headline.
_DATE_CLASS = re.compile(
    r"(?:^|[-_])(?:date|time|tanggal|tgl|waktu|publish(?:ed)?|posted|entry-date|pubdate)(?:$|[-_])"
)


def _words(text: str | None) -> int:
    return len(_WORD.findall(text or ""))


# HTML comments and processing instructions are dropped at parse time, as trafilatura's own
# loader does: left in the tree, a comment node inside a paragraph makes trafilatura lose the
# text that follows it (whole sections on some pages).
_PARSER = lxml_html.HTMLParser(remove_comments=True, remove_pis=True)


def _parse(html: str) -> lxml_html.HtmlElement | None:
    if not html.strip():
        return None
    try:
        return lxml_html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError):
        # lxml refuses str input carrying an XML encoding declaration; bytes are fine.
        try:
            return lxml_html.document_fromstring(html.encode("utf-8"), parser=_PARSER)
        except (etree.ParserError, ValueError):
            return None


def _plain(value: Any) -> str:
    """articleBody and descriptions sometimes carry HTML markup or entities."""
    text = str(value or "")
    if "<" in text and ">" in text:
        try:
            fragment = lxml_html.fragment_fromstring(text, create_parent="div")
            for br in fragment.iter("br", "p", "div", "li"):
                br.tail = "\n" + (br.tail or "")
            text = fragment.text_content()
        except (etree.ParserError, ValueError):
            pass
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _main_text(tree: lxml_html.HtmlElement, url: str, article_body: str) -> tuple[str, str]:
    """(clean text, raw text before line cleaning) of the page."""
    pruned = copy.deepcopy(tree)
    prune_tree(pruned)
    common: dict[str, Any] = {"url": url, "include_comments": False, "include_tables": True}
    balanced = trafilatura.extract(copy.deepcopy(pruned), **common) or ""
    recall = trafilatura.extract(copy.deepcopy(pruned), favor_recall=True, **common) or ""
    precise = trafilatura.extract(pruned, favor_precision=True, **common) or ""
    # Longest of the three: the precision mode is usually the shortest, but on some pages it
    # is the only pass that keeps a late section (a table, an FAQ); ties keep balanced, then recall.
    text = max((balanced, recall, precise), key=_words)
    text = _trim_edges(text, precise)
    if article_body and _words(article_body) > _ARTICLE_BODY_RATIO * _words(text):
        text = article_body
    return clean_text(text), text


def _line_key(line: str) -> str:
    """A line compared by its words only: the passes differ in whitespace (``&nbsp;`` kept or
    not) and punctuation spacing around links, which must not hide a shared line."""
    return " ".join(_WORD.findall(line.lower()))


def _trim_edges(text: str, reference: str) -> str:
    """Cut the lines before the first and after the last line that the precision-mode pass also
    kept: leading/trailing blocks only the looser passes keep are promos, author boxes and
    related-post lists far more often than article text. Lines in between are all kept (the
    precision mode also drops real paragraphs), and nothing is cut when the result would lose
    more than half of the words. Lines match on their words (see ``_line_key``)."""
    kept = {_line_key(line) for line in reference.split("\n")} - {""}
    if not kept:
        return text
    lines = text.split("\n")
    shared = [index for index, line in enumerate(lines) if _line_key(line) in kept]
    if not shared:
        return text
    trimmed = "\n".join(lines[shared[0] : shared[-1] + 1])
    return trimmed if _words(trimmed) >= _EDGE_TRIM_MIN_SHARE * _words(text) else text


def _page_titles(tree: lxml_html.HtmlElement, title: str | None) -> set[str]:
    """Headline variants a theme may print above the body: the article title, ``<h1>`` texts
    and the parts of ``<title>`` split at site-name separators."""
    titles = {title or ""}
    titles.update(h1.text_content() for h1 in tree.iter("h1"))
    head_title = tree.findtext(".//title") or ""
    titles.add(head_title)
    titles.update(re.split(r"\s+[|–—-]\s+", head_title))
    return {t for t in titles if t.strip()}


_BYLINE_PREFIX = re.compile(r"^(?:oleh|by|penulis|reporter|pewarta)\s*:?\s+", re.IGNORECASE)


def _clean_author(name: str) -> str:
    return _BYLINE_PREFIX.sub("", " ".join(name.split())).strip(" ,.-")


def _drop_header_lines(text: str, title: str | None, default_tz: timezone) -> str:
    """Remove the headline and a bare dateline when the extractor kept them at the top."""
    lines = text.split("\n")
    head = 0
    title_key = " ".join(_WORD.findall((title or "").lower()))
    while head < min(3, len(lines)):
        line = lines[head].strip()
        key = " ".join(_WORD.findall(line.lower()))
        if title_key and key == title_key:
            head += 1
        elif line and len(line) <= 60 and parse_human_date(line, default_tz) is not None and _words(line) <= 10:
            head += 1
        else:
            break
    return "\n".join(lines[head:]).strip()


def _first(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


def _unique(values: Iterable[str], limit: int = 50) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        value = " ".join(str(value).split()).strip(" ,;")
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out[:limit]


def _absolute(url: str, value: str | None) -> str | None:
    if not value:
        return None
    joined = urljoin(url, value.strip())
    parts = urlsplit(joined)
    if parts.scheme not in ("http", "https"):
        return None
    return urlunsplit(parts._replace(fragment=""))


def _strip_site_suffix(title: str | None, outlet: str | None) -> str | None:
    if not title or not outlet:
        return title
    for sep in (" | ", " - ", " – ", " — ", " :: ", " « "):
        head, found, tail = title.rpartition(sep)
        if found and head and tail.strip().lower() == outlet.strip().lower():
            return head.strip()
    return title


def _html_dates(tree: lxml_html.HtmlElement, default_tz: timezone) -> list[PageDate]:
    """Dates printed in the markup: ``<time datetime>``, ``itemprop=datePublished``, and
    elements whose class names say they hold the date."""
    found: list[PageDate] = []
    for element in tree.xpath('//*[@itemprop="datePublished"]'):
        value = element.get("content") or element.get("datetime") or element.text_content()
        parsed = parse_machine_date(value, default_tz)
        if parsed:
            found.append(parsed)
    for element in tree.iter("time"):
        value = element.get("datetime")
        parsed = (
            parse_machine_date(value, default_tz) if value else parse_human_date(element.text_content(), default_tz)
        )
        if parsed:
            found.append(parsed)
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body", "script", "style"):
            continue
        tokens = f"{element.get('class') or ''} {element.get('id') or ''}".lower().split()
        if tokens and any(_DATE_CLASS.search(t) for t in tokens):
            content = element.text_content()
            if len(content) <= 200:
                parsed = parse_human_date(content, default_tz)
                if parsed:
                    found.append(parsed)
    return found


def _date_candidates(
    page: PageMeta, tree: lxml_html.HtmlElement, url: str, trafilatura_date: str | None, default_tz: timezone
) -> list[tuple[str, PageDate | None]]:
    ld = page.jsonld
    candidates: list[tuple[str, PageDate | None]] = []
    if isinstance(ld.get("datePublished"), str):
        candidates.append(("jsonld", parse_machine_date(ld["datePublished"], default_tz)))
    for value in page.all(*_PUBLISHED_META):
        candidates.append(("opengraph", parse_machine_date(value, default_tz)))
    for value in page.all(*_OTHER_PUBLISHED_META):
        candidates.append(("meta", parse_machine_date(value, default_tz)))
    candidates.extend(("html", d) for d in _html_dates(tree, default_tz))
    body = tree.find("body")
    if body is not None:
        # A dateline printed in the page ("Senin, 5 Mei 2025 14:30 WIB"); only the head of the
        # page, where the article's own date sits, before related-article lists.
        head_text = " ".join(body.text_content().split())[:6000]
        visible = parse_human_date(head_text, default_tz)
        if visible is not None and visible.has_time:
            candidates.append(("html", visible))
    if trafilatura_date:
        # htmldate, as trafilatura runs it (original date, extensive search): one more voter
        candidates.append(("htmldate", parse_machine_date(trafilatura_date, default_tz)))
    candidates.append(("url", date_from_url(url, default_tz)))
    return candidates


def _modified(page: PageMeta, default_tz: timezone, now: datetime) -> datetime | None:
    values: list[Any] = [page.jsonld.get("dateModified"), *page.all(*_MODIFIED_META)]
    for value in values:
        if isinstance(value, str):
            parsed = parse_machine_date(value, default_tz)
            if parsed and is_plausible(parsed.value, now):
                return parsed.value
    return None


def _is_indonesian_site(url: str, language: str | None) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return language == "id" or host.endswith(".id")


def extract(
    html: str | bytes,
    url: str,
    *,
    fallback_published_at: datetime | None = None,
    fallback_date_source: str | None = None,
    now: datetime | None = None,
    encoding: str | None = None,
) -> ExtractedArticle:
    """Extract the article in ``html`` (fetched from ``url``).

    - ``html`` may be bytes; ``encoding`` is the HTTP header's charset if known, then the
      document's BOM, ``<meta charset>``, and detection decide.
    - ``fallback_published_at`` (a feed or sitemap date) is used when the page has no plausible
      dated time; ``date_source`` is then ``fallback_date_source`` (e.g. ``"feed"``).
    - Dates that :func:`shared.limits.published_at_problem` refuses (before 1995, or more than an
      hour after ``now``, default: the current time) are never picked.
    - Pure and deterministic given ``now``; CPU-bound (three trafilatura passes, tens of ms on a
      typical page); never does I/O. Never raises on malformed HTML: it returns an article with
      empty text instead.
    """
    now = now or datetime.now(UTC)
    text_html = decode_html(html, encoding) if isinstance(html, bytes) else html
    tree = _parse(text_html)
    if tree is None:
        fallback_ok = fallback_published_at is not None and is_plausible(fallback_published_at, now)
        return ExtractedArticle(
            url=url,
            canonical_url=url,
            published_at=fallback_published_at if fallback_ok else None,
            date_source=(fallback_date_source or "fallback") if fallback_ok else None,
        )
    page = read_page_meta(tree)
    ld = page.jsonld
    document = trafilatura.extract_metadata(copy.deepcopy(tree), default_url=url)

    article_body = _plain(ld.get("articleBody")) if isinstance(ld.get("articleBody"), str) else ""
    text, raw_text = _main_text(tree, url, article_body)

    language = detect_language(
        declared=[
            page.html_lang,
            ld.get("inLanguage") if isinstance(ld.get("inLanguage"), str) else None,
            page.first("og:locale", "content-language", "language", "dc.language"),
        ],
        text=text,
    )
    default_tz = WIB if _is_indonesian_site(url, language) else UTC

    outlet = _first(
        page.first("og:site_name"),
        next(iter(names(ld.get("publisher"))), None),
        page.first("application-name"),
        getattr(document, "sitename", None),
    )
    title = _first(
        ld.get("headline") if isinstance(ld.get("headline"), str) else None,
        page.first("og:title", "twitter:title"),
        getattr(document, "title", None),
    )
    title = _strip_site_suffix(title, outlet)

    authors = names(ld.get("author"))
    if not authors:
        authors = names(page.all("author", "article:author", "parsely-author", "dc.creator", "sailthru.author"))
    trafilatura_author = getattr(document, "author", None)
    if not authors and trafilatura_author:
        authors = [a.strip() for a in re.split(r";|\s+dan\s+|\s+and\s+", trafilatura_author) if a.strip()]
    if not authors:
        authors = credited_authors(raw_text)

    candidates = _date_candidates(page, tree, url, getattr(document, "date", None), default_tz)
    published_at, date_source = choose_published(
        candidates,
        fallback=fallback_published_at,
        fallback_source=fallback_date_source,
        now=now,
        default_tz=default_tz,
    )
    if published_at is None:
        implausible = [f"{c.value.isoformat()} ({source})" for source, c in candidates if c is not None]
        if implausible:
            log.info("implausible publication dates ignored", extra={"url": url, "error": ", ".join(implausible[:5])})
    authors = [a for a in (_clean_author(a) for a in authors) if a]
    # A bare author name among the first lines is the byline box, not article text.
    text = clean_head(_drop_header_lines(text, title, default_tz), _page_titles(tree, title) | set(authors))
    canonical = _absolute(url, page.canonical) or _absolute(url, page.first("og:url")) or url

    return ExtractedArticle(
        url=url,
        title=title,
        text=text,
        published_at=published_at,
        date_source=date_source,
        modified_at=_modified(page, default_tz, now),
        authors=_unique(authors, limit=10),
        image=_absolute(
            url,
            _first(
                page.first("og:image", "og:image:url", "twitter:image", "twitter:image:src"),
                first_url(ld.get("image")),
                getattr(document, "image", None),
            ),
        ),
        description=_first(
            page.first("og:description", "description", "twitter:description"),
            ld.get("description") if isinstance(ld.get("description"), str) else None,
            getattr(document, "description", None),
        ),
        canonical_url=canonical,
        language=language,
        tags=_unique(
            (
                page.all("article:tag", "news_keywords", "keywords")
                and [t for v in page.all("article:tag", "news_keywords", "keywords") for t in keywords(v)]
            )
            or keywords(ld.get("keywords"))
            or list(getattr(document, "tags", None) or [])
        ),
        categories=_unique(
            page.all("article:section")
            or keywords(ld.get("articleSection"))
            or list(getattr(document, "categories", None) or [])
        ),
        outlet=outlet,
    )
