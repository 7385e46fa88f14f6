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
]
_SOCIAL = re.compile(
    r"^(?:\W*(?:facebook|twitter|x|whatsapp|telegram|line|linkedin|pinterest|email|copy link|salin tautan|share|bagikan)\W*)+$",
    re.IGNORECASE,
)
# Names in credit lines, used as authors when the page gives none.
_AUTHOR_CREDIT = re.compile(
    r"^\s*(?:penulis|pewarta|reporter|wartawan|writer|author)\s*:\s*([^|/\n]{2,60})", re.IGNORECASE
)


def prune_tree(tree: lxml_html.HtmlElement) -> None:
    """Remove boilerplate widgets from ``tree`` in place."""
    doomed = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body", "article", "main"):
            continue
        tokens = f"{element.get('class') or ''} {element.get('id') or ''}".lower().split()
        if tokens and any(token in BOILERPLATE_TOKENS for token in tokens):
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


def clean_text(text: str) -> str:
    """Drop boilerplate lines and repeats of a line already seen (long lines only)."""
    seen: set[str] = set()
    kept: list[str] = []
    for line in text.splitlines():
        if is_boilerplate_line(line):
            continue
        key = " ".join(re.findall(r"\w+", line.lower()))
        # Short lines ("Foto", list bullets) legitimately repeat; whole paragraphs do not.
        if len(key) >= 20:
            if key in seen:
                continue
            seen.add(key)
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


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
