"""The local "regional news web": four small Indonesian regional news sites for tests and the demo.

- ``lintasmuria`` (base port): WordPress-like, with the REST API, an RSS feed (``sy:updatePeriod``),
  a sitemap index, shortlinks, and a malformed category feed.
- ``kabarserayu`` (+1): a custom CMS with only a Google News sitemap and paginated listing pages;
  a windows-1252 article, a 429-once article, a robots-disallowed draft, a redirect loop, a link to
  a private address and an always-429 sitemap; the blocked and paywalled cases under ``/kasus/``
  (``blocked.py``).
- ``penadewata`` (+2): article pages with JSON-LD ``NewsArticle``; times in WITA.
- ``gemalereng`` (+3): a slow host (every response delayed).
- ``suarakawanua``, ``khatulistiwa``, ``radartimur`` (+4..+6, ``feed_sites``): feeds as they are
  (Atom, a Google News sitemap, RSS with odd dates and encodings, WordPress with the REST API off).

``start_demo_sites`` returns a handle (tests); ``serve_demo_sites`` blocks (``python -m
services.ingest.demo_sites``). ``manifest`` lists what a crawler must collect.
"""

from services.ingest.demo_sites.server import DemoWeb, serve_demo_sites, start_demo_sites

__all__ = ["DemoWeb", "serve_demo_sites", "start_demo_sites"]
