"""Boilerplate that trafilatura alone lets through on Indonesian news pages.

Two layers, both conservative so that English and other pages are not hurt:
- DOM: containers whose class or id *token* (not substring: ``has-sidebar`` is not a sidebar)
  names a known widget: "Baca juga" boxes, share bars, comment threads, tag lists.
- Text lines: "Baca juga: ...", "Simak juga", credit lines ("Editor: ...", "Penulis: ..."),
  tag lines, share prompts and lines made only of social network names.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

# Class/id tokens of widgets that never hold article text. Matched exactly, case-insensitively.
BOILERPLATE_TOKENS = frozenset(
    {
        # "Baca juga" / related-article boxes
        "baca-juga",
        "bacajuga",
        "baca_juga",
        "bacajuga-box",
        "baca-juga-box",
        "read-also",
        "berita-terkait",
        "artikel-terkait",
        "beritaterkait",
        "terkait",
        "related-posts",
        "related-post",
        "relatedposts",
        "jp-relatedposts",
        "yarpp-related",
        "crp_related",
        "related-articles",
        "related-news",
        "inline-related",
        # share bars
        "share",
        "shares",
        "share-buttons",
        "share-bar",
        "sharebar",
        "social-share",
        "sharedaddy",
        "sd-sharing-enabled",
        "addtoany_share_save_container",
        "a2a_kit",
        "share-box",
        "bagikan",
        # comments
        "comments",
        "comments-area",
        "comment-respond",
        "komentar",
        "kolom-komentar",
        "disqus_thread",
        "fb-comments",
        # tag lists
        "tags",
        "tag-list",
        "post-tags",
        "tags-links",
        "tagcloud",
        "topik",
        "article-tags",
        # ads
        "iklan",
        "ads",
        "adsbygoogle",
        "advertisement",
    }
)

_CREDIT = (
    r"(?:editor|penulis|pewarta|reporter|wartawan|penyunting|redaktur|fotografer|foto|sumber|kontributor|writer|author)"
)
_LINE_PATTERNS = [
    # Related-article prompts; the linked headline sits on the same line.
    re.compile(r"^\s*(?:baca|simak|lihat|tonton|klik)\s+(?:juga|pula|selengkapnya)\b", re.IGNORECASE),
    re.compile(r"^\s*(?:berita|artikel)\s+(?:terkait|lainnya|terkini|populer)\s*:?\s*$", re.IGNORECASE),
    re.compile(
        r"^\s*(?:advertisement|iklan|scroll to continue with content|gulir untuk melanjutkan)\s*$", re.IGNORECASE
    ),
    # Credit lines: "Editor: Budi", "Penulis : Siti | Editor : Andi".
    re.compile(rf"^\s*{_CREDIT}\s*:\s*\S.{{0,80}}$", re.IGNORECASE),
    # Tag lists.
    re.compile(r"^\s*(?:tags?|topik|kata kunci|keywords?)\s*:", re.IGNORECASE),
    # Share prompts.
    re.compile(r"^\s*(?:bagikan|share)(?:\s+(?:artikel|berita|this|ini))?\s*:?\s*$", re.IGNORECASE),
    # Generic (English) widget lines: teaser links, table-of-contents and related-post headings,
    # reading-time badges, cookie banners, "Also read: <headline>".
    re.compile(
        r"^\s*(?:read more|learn more|see more|show more|load more|continue reading|read full (?:story|article))"
        r"\s*[»›→>.…]*\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*(?:table of contents|in this article|jump to|on this page)\s*:?\s*$", re.IGNORECASE),
    re.compile(
        r"^\s*(?:related (?:articles|posts|stories|news|content|reading)|you (?:may|might) also like|read this next"
        r"|recommended (?:for you|reading|articles)|latest (?:news|posts|articles)|popular (?:posts|articles)"
        r"|trending (?:now|news)|about the (?:author|authors|writer))\s*:?\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*\d+\s*(?:min(?:ute)?s?\.?)\s*read\s*$", re.IGNORECASE),
    re.compile(r".*\b(?:we use cookies|this website uses cookies|accept (?:all )?cookies)\b", re.IGNORECASE),
    re.compile(r"^\s*(?:also read|read also|read next|related)\s*:.{0,150}$", re.IGNORECASE),
    # Newsletter and contact forms: field labels, buttons and their status messages.
    re.compile(
        r"^\s*(?:thanks? (?:you )?for (?:subscribing|signing up)|thank you! your submission has been received"
        r"|oops! something went wrong while submitting the form)\b.{0,80}$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\s*(?:enter (?:your )?email(?: address)?|email address|your email|first name(?: \(optional\))?|last name)"
        r"\s*[:*]?\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\s*(?:sign up(?: now)?|subscribe(?: now)?|join (?:our|the) newsletter|download now|back to top|written by"
        r"|get started|book a demo|request a demo|contact us)\s*[.!:]?\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*(?:sign up|subscribe)\b.{0,60}\b(?:newsletter|inbox)\b.{0,60}$", re.IGNORECASE),
]
_SOCIAL = re.compile(
    r"^(?:\W*(?:facebook|twitter|x|whatsapp|telegram|line|linkedin|pinterest|email|copy link|salin tautan|share|bagikan)\W*)+$",
    re.IGNORECASE,
)
# Names in credit lines, used as authors when the page gives none.
_AUTHOR_CREDIT = re.compile(
    r"^\s*(?:penulis|pewarta|reporter|wartawan|writer|author)\s*:\s*([^|/\n]{2,60})", re.IGNORECASE
)


# A "widget" holding more than this share of the page's text is a page wrapper that happens to
# carry a widget class (e.g. ``<div class="share">`` around the whole article), not a widget.
_MAX_WIDGET_SHARE = 0.5


def prune_tree(tree: lxml_html.HtmlElement) -> None:
    """Remove boilerplate widgets from ``tree`` in place."""
    doomed = []
    body = tree.find("body")
    page_chars = len(body.text_content()) if body is not None else 0
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body", "article", "main"):
            continue
        tokens = f"{element.get('class') or ''} {element.get('id') or ''}".lower().split()
        if tokens and any(token in BOILERPLATE_TOKENS for token in tokens):
            if page_chars and len(element.text_content()) > _MAX_WIDGET_SHARE * page_chars:
                continue
            doomed.append(element)
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            element.drop_tree()


def is_boilerplate_line(line: str) -> bool:
    """True for a line of extracted text that is an Indonesian (or generic) widget or credit."""
    stripped = line.strip().lstrip("-•*>").strip()
    if not stripped:
        return False
    if _SOCIAL.match(stripped):
        return True
    return any(pattern.match(stripped) for pattern in _LINE_PATTERNS)


# Repeats: a line is a repeat when its words (at least _REPEAT_MIN_CHARS of them) already
# appeared on an earlier line. A repeated sentence or paragraph (_REPEAT_PARAGRAPH_CHARS or
# more) is dropped; a shorter repeat only when the line next to it is a repeat too, i.e. when
# a whole block came out twice (responsive duplicates of the article, a section printed twice). A lone short repeat
# is a list item, table row or heading that the article itself repeats (training plans, spec
# lists, "Pros"/"Cons" under each product) and is kept.
_REPEAT_MIN_CHARS = 20
_REPEAT_PARAGRAPH_CHARS = 60


def _drop_repeats(lines: list[str]) -> list[str]:
    keys = [" ".join(re.findall(r"\w+", line.lower())) for line in lines]
    seen: set[str] = set()
    repeat = [False] * len(lines)
    for index, key in enumerate(keys):
        if len(key) >= _REPEAT_MIN_CHARS:
            repeat[index] = key in seen
            seen.add(key)
    content = [index for index, key in enumerate(keys) if key]
    doomed: set[int] = set()
    for position, index in enumerate(content):
        if not repeat[index]:
            continue
        neighbours = [content[p] for p in (position - 1, position + 1) if 0 <= p < len(content)]
        if len(keys[index]) >= _REPEAT_PARAGRAPH_CHARS or any(repeat[n] for n in neighbours):
            doomed.add(index)
    return [line for index, line in enumerate(lines) if index not in doomed]


def clean_text(text: str) -> str:
    """Drop boilerplate lines and repeated blocks (see ``_drop_repeats``)."""
    kept = [line.rstrip() for line in text.splitlines() if not is_boilerplate_line(line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(_drop_repeats(kept))).strip()


def credited_authors(text: str) -> list[str]:
    """Names from credit lines such as ``Penulis: Siti Aminah`` (Editor lines excluded)."""
    names: list[str] = []
    for line in text.splitlines():
        match = _AUTHOR_CREDIT.match(line.strip())
        if match:
            name = match.group(1).strip(" .,-")
            if name and name not in names:
                names.append(name)
    return names


# Header lines that themes print above the article body and trafilatura keeps: headline,
# datelines ("Last updated: April 21, 2025"), reading time, bylines, "Table of contents",
# share prompts, image credits, breadcrumbs. Only looked for in the first few lines.
_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januari|februari|maret|mei|juni|juli|agustus|oktober|desember"
    r"|agt|nop|des|okt|ags)"
)
_DATE = (
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun|senin|selasa|rabu|kamis|jumat|sabtu|minggu)\w*\.?,?\s*)?"
    rf"(?:{_MON}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MON}\.?,?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})"
)
_HEAD_PATTERNS = [
    re.compile(
        rf"^(?:(?:last\s+)?(?:updated|modified|published|posted|reviewed)(?:\s+on)?\s*:?\s*)?{_DATE}(?:\s*(?:at\s*)?\d{{1,2}}[:.]\d{{2}}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{{2,4}})?)?\s*(?:[|•·⋅,-]\s*.{{0,40}})?$",
        re.I,
    ),
    re.compile(
        r"^(?:(?:this\s+(?:post|article|page)\s+was\s+)?last\s+)?(?:updated|modified|published|posted|reviewed)\b.{0,60}$",
        re.I,
    ),
    re.compile(r"^\d+\s*(?:-\s*)?(?:min(?:ute)?s?\.?)\s*(?:read|reading(?: time)?)\b.{0,30}$", re.I),
    re.compile(r"^(?:reading time|read time)\s*:?\s*\d+.{0,20}$", re.I),
    re.compile(r"^(?:by|written by|posted by|author|reviewed by|edited by|fact[- ]checked by)\s*:?\s+\S.{0,70}$", re.I),
    re.compile(
        r"^(?:table of contents?|contents|on this page|in this (?:article|post|guide)|jump to(?: section)?|skip to (?:main )?content)\b.{0,20}$",
        re.I,
    ),
    re.compile(r"^(?:share(?: this(?: post| article| story| page)?)?|share on \w+|print|email|save)\s*:?\s*$", re.I),
    re.compile(r"^(?:image|photo|featured image|header image|cover image)?\s*(?:credits?|source)\s*:.{0,100}$", re.I),
    re.compile(r"^(?:advertisement\s*)+$", re.I),
    re.compile(r"^(?:home|blog|news|articles?|resources)(?:\s*[/>›»|]\s*.{0,60})?$", re.I),
]
_HEAD_LINES = 5


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def clean_head(text: str, titles: set[str] | frozenset[str] = frozenset()) -> str:
    """Drop header lines (see ``_HEAD_PATTERNS``, or equal to one of ``titles``) among the first
    ``_HEAD_LINES`` non-empty lines; lines in between are kept."""
    title_keys = {_key(t) for t in titles} - {""}
    lines = text.split("\n")
    kept: list[str] = []
    seen = 0
    for index, line in enumerate(lines):
        if not line.strip():
            kept.append(line)
            continue
        if seen >= _HEAD_LINES:
            kept.extend(lines[index:])
            break
        seen += 1
        stripped = line.strip().lstrip("-•*>#").strip()
        key = _key(stripped)
        if not key or key in title_keys or any(p.match(stripped) for p in _HEAD_PATTERNS):
            continue
        kept.append(line)
    return "\n".join(kept).strip()
