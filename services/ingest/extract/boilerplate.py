"""Boilerplate that trafilatura alone lets through on Indonesian news pages.

Two layers, both conservative so that English and other pages are not hurt:
- DOM: containers whose class or id *token* (not substring: ``has-sidebar`` is not a sidebar)
  names a known widget: "Baca juga" boxes, share bars, comment threads, tag lists.
- DOM, by shape: lists of dated links (related-article boxes whose items each carry a headline
  and a date such as "Kamis, 05 November 2015 16:09 WIB"), and photo galleries (containers of
  several images with short captions), wherever they sit and whatever their class names.
- Text lines: "Baca juga: ...", "Simak juga", credit lines ("Editor: ...", "Penulis: ...",
  "Kontributor Kudus: ...", "Laporan Wartawan ...", editor initials "(rhd/asp)"), view counters
  ("Telah dilihat 1.287 kali"), gallery counters ("Foto 3 dari 12"), photo captions ending in a
  photo credit, related-article items ending in a date and time, tag lines, share prompts and
  lines made only of social network names.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

from services.ingest.dates import parse_human_date

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
    r"(?:editor|penulis|pewarta|reporter|wartawan|penyunting|redaktur|fotografer|foto|sumber|kontributor|writer|author"
    r"|videografer|kameramen)"
)
# A date with a time of day at the end of a line ("... Kamis, 05 November 2015 16:09 WIB",
# "... 02/02/2024, 16:45 WIB"): the stamp of a related-article or gallery item.
_ID_MONTH = (
    r"(?:januari|februari|maret|april|mei|juni|juli|agustus|september|oktober|november|desember"
    r"|jan|feb|mar|apr|jun|jul|agu|agt|ags|sep|okt|nov|nop|des|may|aug|oct|dec)"
)
_STAMP = (
    r"(?:(?:senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|ahad)\s*,?\s*)?"
    rf"(?:\d{{1,2}}\s+{_ID_MONTH}\.?\s+\d{{4}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})"
    r"\s*(?:[,|\-–]\s*|pukul\s+)?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*(?:WIB|WITA|WIT)?"
)
_STAMPED_ITEM = re.compile(rf"^(?P<head>.*?)\s*[|•·\-–]?\s*{_STAMP}\s*$", re.IGNORECASE)
_STAMP_ONLY = re.compile(rf"^\s*{_STAMP}\s*$", re.IGNORECASE)
# View and gallery counters; a line made only of these (and separators) is dropped.
_COUNTER = re.compile(
    r"(?:(?:telah\s+)?(?:dilihat|dibaca|dikunjungi)\s*:?\s*[\d.,]+\s*(?:kali|x)\b"
    r"|\b(?:views?|dibaca|dilihat)\s*:?\s*[\d.,]+\b|\bfoto\s+(?:ke-?)?\d+\s*(?:dari|/)\s*\d+\b"
    r"|^\s*\d{1,2}\s*/\s*\d{1,2}\s*$|\bfoto\s+(?:sebelumnya|berikutnya|selanjutnya)\b)",
    re.IGNORECASE,
)
# A photo caption ends with its credit: "... Foto: Rinto Hadi/kabarnusaFoto",
# "... (Foto: Dok. Suara Blora)", "... KBN FOTO/Arnas Padda/nym.", "... HARIAN.COM/NAMA".
_CAPTION = re.compile(
    r"^.{0,400}?(?:\(\s*(?i:foto)\s*:[^)]{1,80}\)|\b(?i:foto)\s*:\s*[^.]{1,80}|\b[A-Z]+\s+FOTO/[^ ]{1,60}(?:\s+[^ ]{1,30}){0,3}"
    r"|\b[A-Z][A-Z.]{3,}/[A-Z][A-Z ]{2,40})\s*\.?\s*$"
)
_LINE_PATTERNS = [
    # Related-article prompts; the linked headline sits on the same line.
    re.compile(r"^\s*(?:baca|simak|lihat|tonton|klik)\s+(?:juga|pula|selengkapnya)\b", re.IGNORECASE),
    re.compile(r"^\s*baca\s*:\s*\S.{0,150}$", re.IGNORECASE),
    re.compile(
        r"^\s*(?:berita|artikel|foto|galeri(?: foto)?|video)\s+(?:terkait|lainnya|terkini|populer|terpopuler|pilihan)"
        r"(?:\s+lainnya)?\s*:?\s*$",
        re.IGNORECASE,
    ),
    # Outlet promos: "Simak breaking news ... WhatsApp Channel", "Ikuti berita ... di Google News".
    re.compile(
        r"^\s*(?:simak|dapatkan|ikuti|update|baca berita|gabung)\b.{0,200}\b(?:whatsapp channel|saluran whatsapp"
        r"|google news|telegram|ponselmu)\b.{0,60}$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*artikel ini telah (?:tayang|terbit|dipublikasikan) di\b.{0,200}$", re.IGNORECASE),
    # Field reports and initials: "Laporan Wartawan Wartaraya, Dimas Aryo", "(rhd/asp)", "(ant/mp)".
    re.compile(r"^\s*laporan\s+(?:wartawan|kontributor|reporter|jurnalis)\b.{0,80}$", re.IGNORECASE),
    re.compile(r"^\s*\(\s*[a-z]{1,5}(?:\s*/\s*[a-z]{1,5})+\s*\)\s*$", re.IGNORECASE),
    re.compile(r"^\s*kontributor\s+[\w .'-]{2,40},\s*[\w .'-]{2,60}$", re.IGNORECASE),
    re.compile(r"^\s*copyright\s*(?:©|\(c\))?\s*\w+\s+\d{4}\s*$", re.IGNORECASE),
    re.compile(
        r"^\s*(?:advertisement|iklan|scroll to continue with content|gulir untuk melanjutkan)\s*$", re.IGNORECASE
    ),
    # Credit lines: "Editor: Budi", "Penulis : Siti | Editor : Andi", "Kontributor Kudus: Nur".
    re.compile(rf"^\s*{_CREDIT}(?:\s+[\w.]+){{0,2}}\s*:\s*\S.{{0,80}}$", re.IGNORECASE),
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


_WORD = re.compile(r"\w+")
# A dated link item: a headline link plus a date, and little else.
_ITEM_MAX_WORDS = 40
_ITEM_MAX_CHARS = 400
_ITEM_MIN_LINK_WORDS = 3
# Gallery tokens, matched against the parts of a class/id token ("gallery-slide__caption" has
# "gallery"); with at least _GALLERY_MIN_IMAGES images and short captions only.
_GALLERY_PARTS = frozenset(
    {"gallery", "galeri", "galery", "slide", "slides", "slider", "slideshow", "carousel", "swiper", "foto", "photo"}
)
_GALLERY_MIN_IMAGES = 2
_GALLERY_MAX_WORDS_PER_IMAGE = 40


def _is_dated_link_item(element: lxml_html.HtmlElement) -> bool:
    text = " ".join(element.text_content().split())
    words = len(_WORD.findall(text))
    if not words or words > _ITEM_MAX_WORDS:
        return False
    links = element.xpath("descendant-or-self::a")
    if not links or max(len(_WORD.findall(a.text_content())) for a in links) < _ITEM_MIN_LINK_WORDS:
        return False
    if element.xpath("descendant-or-self::time"):
        return True
    rest = text
    for link in links:
        rest = rest.replace(" ".join(link.text_content().split()), " ")
    return parse_human_date(rest) is not None


def _text_sizes(root: lxml_html.HtmlElement) -> dict[lxml_html.HtmlElement, int]:
    """Characters of text under each element, computed once bottom-up (calling text_content()
    on every candidate instead is quadratic in the page's depth)."""
    elements = list(root.iter())
    sizes: dict[lxml_html.HtmlElement, int] = {}
    for element in reversed(elements):
        size = len(element.text or "") if isinstance(element.tag, str) else 0
        for child in element:
            size += sizes.get(child, 0) + len(child.tail or "")
        sizes[element] = size
    return sizes


def _dated_link_lists(body: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Items of lists of at least two dated links (each a headline link and a date): related,
    latest and popular boxes, wherever they are and whatever their classes."""
    sizes = _text_sizes(body)
    doomed: list[lxml_html.HtmlElement] = []
    for parent in sizes:
        if not isinstance(parent.tag, str) or len(parent) < 2:
            continue
        items = [
            child
            for child in parent
            if isinstance(child.tag, str) and 0 < sizes.get(child, 0) <= _ITEM_MAX_CHARS and _is_dated_link_item(child)
        ]
        if len(items) >= 2:
            doomed.extend(items)
    # an item nested in another doomed item goes with it
    doomed_set = set(doomed)
    return [e for e in doomed if not any(a in doomed_set for a in e.iterancestors())]


def _token_parts(element: lxml_html.HtmlElement) -> set[str]:
    tokens = f"{element.get('class') or ''} {element.get('id') or ''}".lower().split()
    return {part for token in tokens for part in re.split(r"[-_]+", token) if part}


def _galleries(body: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Photo galleries and sliders: a gallery-named container holding several images whose
    text is no more than short captions (per-photo captions, counters, timestamps)."""
    found: list[lxml_html.HtmlElement] = []
    for element in body.iter():
        if not isinstance(element.tag, str) or element.tag in ("article", "main", "body"):
            continue
        if not _token_parts(element) & _GALLERY_PARTS:
            continue
        if any(a in found for a in element.iterancestors()):
            continue
        images = len(element.xpath(".//img"))
        if images < _GALLERY_MIN_IMAGES:
            continue
        if len(_WORD.findall(element.text_content())) <= _GALLERY_MAX_WORDS_PER_IMAGE * images:
            found.append(element)
    return found


def prune_tree(tree: lxml_html.HtmlElement) -> None:
    """Remove boilerplate widgets from ``tree`` in place: known widget classes, lists of dated
    links and photo galleries (see the module docstring). An element holding more than half of
    the page's text is never removed."""
    doomed = []
    body = tree.find("body")
    page_chars = len(body.text_content()) if body is not None else 0
    if body is not None:
        for element in [*_dated_link_lists(body), *_galleries(body)]:
            if not page_chars or len(element.text_content()) <= _MAX_WIDGET_SHARE * page_chars:
                doomed.append(element)
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
        if parent is not None and not any(a in doomed for a in element.iterancestors()):
            element.drop_tree()


def _is_stamped_item(line: str) -> bool:
    """A short line that ends in a date with a time and has no sentence before it: a related
    or gallery item ("Pompa Air Kaligawe Mati Kamis, 05 November 2015 13:12 WIB"), or a bare
    stamp. Article sentences end in punctuation; headlines do not."""
    if _STAMP_ONLY.match(line):
        return True
    match = _STAMPED_ITEM.match(line)
    if not match:
        return False
    head = match["head"].strip()
    return len(head.split()) <= 20 and not head.endswith((".", "!", "?", ":", '"', "”"))


def is_boilerplate_line(line: str) -> bool:
    """True for a line of extracted text that is an Indonesian (or generic) widget or credit."""
    stripped = line.strip().lstrip("-•*>").strip()
    if not stripped:
        return False
    if _SOCIAL.match(stripped):
        return True
    if any(pattern.match(stripped) for pattern in _LINE_PATTERNS):
        return True
    if len(stripped) <= 200 and _is_stamped_item(stripped):
        return True
    if _COUNTER.search(stripped) and not re.sub(r"[\W_]+", "", _COUNTER.sub("", stripped)):
        return True
    return len(stripped) <= 400 and bool(_CAPTION.match(stripped))


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
