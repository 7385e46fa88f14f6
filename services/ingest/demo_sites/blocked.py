"""Demo pages that stand in an article's way, one RSS feed per case under ``/kasus/<case>/`` on
Kabar Serayu (mounted by ``kabarserayu_app``; linked from nothing, so the demo's own sources and
article counts do not change). ``sources-blocked.yaml`` lists them as sources for the default
ports; :func:`blocked_sources` for any base URL.

- ``tantangan``: articles answered with Cloudflare's "Just a moment..." challenge (HTTP 200).
- ``terlarang``: everything, the feed included, answered HTTP 403 ("Access denied").
- ``js``: articles that are empty JavaScript application shells.
- ``persetujuan``: articles hidden behind a cookie-consent wall (HTTP 200, "Sebelum Anda melanjutkan").
- ``dibatasi``: articles answered HTTP 429 with ``Retry-After: 1`` (a rate limit that never lifts).
- ``premium``: articles with a teaser and JSON-LD ``isAccessibleForFree: false``.
- ``menyusut``: normal articles until ``POST /kasus/menyusut/susut`` (the switch; ``DELETE``
  turns it off); then the feed lists six more articles, each served as a one-line stub
  (about a sixth of the usual text).

Article texts come from the other demo sites' fixtures; each case has its own URLs.
"""

from __future__ import annotations

import html
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from services.ingest.demo_sites.content import DemoArticle, load_site, rfc822

CASES = ("tantangan", "terlarang", "js", "persetujuan", "dibatasi", "premium", "menyusut")
FEED_SIZE = 6
PREFIX = "/kasus"


def _articles() -> list[DemoArticle]:
    return [a for key in ("lintasmuria", "kabarserayu", "penadewata") for a in load_site(key).articles]


def _path(case: str, n: int, a: DemoArticle) -> str:
    return f"{PREFIX}/{case}/{n}-{a.slug}.html"


def blocked_sources(base_url: str) -> list[dict[str, Any]]:
    """Source specs (``POST /v1/sources`` bodies) for the cases on Kabar Serayu at ``base_url``."""
    names = {
        "tantangan": "tantangan bot",
        "terlarang": "HTTP 403",
        "js": "cangkang JavaScript",
        "persetujuan": "dinding persetujuan cookie",
        "dibatasi": "HTTP 429",
        "premium": "berbayar",
        "menyusut": "teks menyusut",
    }
    return [
        {"id": f"kasus-{case}", "type": "rss", "name": f"Kabar Serayu ({names[case]})",
         "url": f"{base_url}{PREFIX}/{case}/feed.xml", "outlet": "Kabar Serayu", "region": "Jawa Tengah",
         "language": "id", "min_interval_s": 60.0, "max_interval_s": 900.0}
        for case in CASES
    ]  # fmt: skip


def _page(title: str, body: str, head: str = "") -> str:
    return (
        f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{head}'
        f"</head><body>{body}</body></html>"
    )


def _article_page(a: DemoArticle, *, paragraphs: list[str] | None = None, head: str = "", extra: str = "") -> str:
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in (a.paragraphs if paragraphs is None else paragraphs))
    body = (
        f'<article><h1>{html.escape(a.title)}</h1><time datetime="{a.published.isoformat()}">'
        f"{a.published:%d/%m/%Y %H:%M}</time>{paras}{extra}</article>"
    )
    return _page(f"{a.title} - Kabar Serayu", body, head)


CHALLENGE = _page(
    "Just a moment...",
    '<div class="main-wrapper" role="main"><noscript><span id="challenge-error-text">Enable JavaScript and '
    "cookies to continue</span></noscript></div><script>window._cf_chl_opt={cvId:'3',cType:'managed'};"
    '</script><script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8a1b"></script>',
    '<meta name="robots" content="noindex,nofollow">',
)
SHRUNK = "Selengkapnya di aplikasi Kabar Serayu."  # what a shrunk page still says
FORBIDDEN = _page("Access denied", "<h1>Access denied</h1><p>Error code 1020</p>")
CONSENT = _page(
    "Sebelum Anda melanjutkan",
    '<div id="didomi-host"><div class="didomi-notice"><h2>Kami menghargai privasi Anda</h2><p>Kami dan mitra '
    "kami menggunakan cookie.</p><button>Terima semua cookie</button><button>Kelola pilihan</button></div></div>",
)
JS_SHELL = _page(
    "Kabar Serayu",
    '<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>'
    '<script src="/static/js/main.3c1d.js"></script>',
)


def blocked_app() -> Starlette:
    """The cases as one app, to mount at :data:`PREFIX`. The shrink switch is per app instance."""
    pool = _articles()
    shrunk = {"on": False}

    def listed(case: str) -> list[tuple[int, DemoArticle]]:
        count = FEED_SIZE * 2 if case == "menyusut" and shrunk["on"] else FEED_SIZE
        return [(n, pool[n % len(pool)]) for n in range(count)]

    def feed(request: Request) -> Response:
        case = request.path_params["case"]
        if case not in CASES:
            return HTMLResponse("Not found", status_code=404)
        if case == "terlarang":
            return HTMLResponse(FORBIDDEN, status_code=403)
        base = str(request.base_url).rstrip("/")
        items = "".join(
            f"<item><title>{html.escape(a.title)}</title><link>{base}{_path(case, n, a)}</link>"
            f"<guid>{base}{_path(case, n, a)}</guid><pubDate>{rfc822(a.published)}</pubDate></item>"
            for n, a in listed(case)
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Kabar Serayu</title>'
            f"<link>{base}/</link><description>Kasus {case}</description>{items}</channel></rss>"
        )
        return Response(xml, media_type="application/rss+xml; charset=utf-8")

    def article(request: Request) -> Response:
        case, n = request.path_params["case"], request.path_params["n"]
        if case not in CASES or not 0 <= n < FEED_SIZE * 2:
            return HTMLResponse("Not found", status_code=404)
        a = pool[n % len(pool)]
        if case == "tantangan":
            return HTMLResponse(CHALLENGE, headers={"Cache-Control": "private, max-age=0, no-store"})
        if case == "terlarang":
            return HTMLResponse(FORBIDDEN, status_code=403)
        if case == "js":
            return HTMLResponse(JS_SHELL)
        if case == "persetujuan":
            return HTMLResponse(CONSENT)
        if case == "dibatasi":
            return HTMLResponse("Too Many Requests", status_code=429, headers={"Retry-After": "1"})
        if case == "premium":
            ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
                  "datePublished": a.published.isoformat(), "isAccessibleForFree": "False",
                  "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": "False", "cssSelector": ".premium"}}  # fmt: skip
            head = f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
            box = '<div class="premium paywall"><p>Konten ini khusus pelanggan. Berlangganan untuk membaca.</p></div>'
            return HTMLResponse(_article_page(a, paragraphs=[a.first_sentence], head=head, extra=box))
        if case == "menyusut" and n >= FEED_SIZE:
            return HTMLResponse(_article_page(a, paragraphs=[SHRUNK]))
        return HTMLResponse(_article_page(a))

    async def switch(request: Request) -> Response:
        shrunk["on"] = request.method == "POST"
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/{case}/feed.xml", feed),
            Route("/{case}/{n:int}-{slug}.html", article),
            Route("/menyusut/susut", switch, methods=["POST", "DELETE"]),
        ]
    )
