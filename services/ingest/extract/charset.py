"""Bytes to text for extraction. The crawler's decoder is the one implementation in ingest
(BOM, then the HTTP header charset, then ``<meta charset>``/XML declaration, then UTF-8, then
charset-normalizer detection); this module only adapts its calling convention."""

from __future__ import annotations

from services.ingest.crawler.charset import decode_body


def decode_html(body: bytes, encoding: str | None = None) -> str:
    """Decode ``body``; ``encoding`` is the charset from the HTTP ``Content-Type``, if known.

    Never raises: undecodable bytes become U+FFFD.
    """
    content_type = f"text/html; charset={encoding}" if encoding else None
    return decode_body(body, content_type).text
