"""Decode fetched bytes to text: BOM, then HTTP header, then ``<meta>``/XML declaration, then
detection (charset-normalizer), then UTF-8 with replacement.

Labels follow the WHATWG Encoding Standard where it matters for the web: ``iso-8859-1``,
``latin1`` and ``us-ascii`` mean windows-1252.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WHATWG_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "x-user-defined": "cp1252",
}
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.IGNORECASE)
_META_SNIFF_BYTES = 4096


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    # Where the encoding came from: bom, header, meta, detected or default.
    source: str


def normalise_label(label: str | None) -> str | None:
    """Return a Python codec name for an encoding label, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WHATWG_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalise_label(match.group(1)) if match else None


def sniff_declared(body: bytes) -> str | None:
    """The encoding declared inside the document (XML declaration or HTML meta), if any."""
    head = body[:_META_SNIFF_BYTES]
    match = _XML_DECL.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    return normalise_label(match.group(1).decode("ascii", "ignore"))


def decode_body(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode ``body``. Never raises; undecodable bytes become U+FFFD."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(encoding, errors="replace"), encoding, "bom")
    candidates: list[tuple[str | None, str]] = [
        (charset_from_content_type(content_type), "header"),
        (sniff_declared(body), "meta"),
    ]
    for declared, source in candidates:
        if declared is None:
            continue
        # A declared UTF-8 that does not decode is a lie often told by CMS templates.
        try:
            return Decoded(body.decode(declared), declared, source)
        except UnicodeDecodeError:
            if declared != "utf-8":
                return Decoded(body.decode(declared, errors="replace"), declared, source)
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "default")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        encoding = normalise_label(best.encoding) or best.encoding
        return Decoded(str(best), encoding, "detected")
    return Decoded(body.decode("utf-8", errors="replace"), "utf-8", "default")


def decode_xml(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode an XML document (a feed): BOM, then UTF-8 when the bytes are valid UTF-8, then the
    XML declaration, then the HTTP header's charset, then detection. Never raises.

    Unlike :func:`decode_body`, the header comes last: a feed's bytes and its XML declaration are
    written by the same software, while the header's charset is often the web server's default
    (``charset=utf-8`` on a windows-1252 feed, ``iso-8859-1`` on a UTF-8 one). Bytes that are valid
    UTF-8 and not ASCII are UTF-8 whatever is declared: windows-1252 text almost never is."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(encoding, errors="replace"), encoding, "bom")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if "\x00" not in text:  # UTF-16 without a BOM is valid UTF-8 full of NULs
            return Decoded(text, "utf-8", "default")
    for declared, source in ((sniff_declared(body), "meta"), (charset_from_content_type(content_type), "header")):
        if declared is None or declared == "utf-8":
            continue
        try:
            return Decoded(body.decode(declared), declared, source)
        except UnicodeDecodeError:
            continue
    return decode_body(body, None)
