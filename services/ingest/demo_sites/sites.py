"""The four demo sites as Starlette apps. Absolute URLs are built from the request's own base URL,
so the sites work on any host and port.

Every 2xx response carries an ETag (and article pages a Last-Modified) and honours
If-None-Match / If-Modified-Since with 304, so conditional GET can be tested. :class:`Stats`
counts requests, conditional requests and 304s per site.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from services.ingest.demo_sites.blocked import PREFIX as BLOCKED_PREFIX
from services.ingest.demo_sites.blocked import blocked_app
from services.ingest.demo_sites.content import DemoArticle, DemoSite, load_site, rfc822, tanggal, with_history

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Failure cases (paths are per site; see manifest.py).
PRIVATE_LINK = "http://192.168.10.5/berita/2024/06/arsip-rapat-internal.html"
METADATA_LINK = "http://169.254.169.254/latest/meta-data/"
LOOP_A = "/berita/pindah/jadwal-samsat-keliling.html"
LOOP_B = "/berita/pindah/jadwal-samsat-keliling-2.html"
DRAFT = "/berita/draf/2024/06/rancangan-apbd-perubahan.html"
RATE_LIMITED_SLUG = "jembatan-gantung-penghubung-dua-desa-di-purbalingga-rampung"


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the site saw it: when its handler started and ended (epoch seconds)."""

    site: str
    path: str
    started: float
    ended: float


class Stats:
    """Request counters and a request log, thread-safe (the sites run in server threads).
    ``crawl_delay`` (site key to seconds) is the ``Crawl-delay`` the site's robots.txt announces,
    for the sites that support one (penadewata); tests set it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.conditional: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.paths: Counter[str] = Counter()
        self.user_agents: set[str] = set()
        self.log: list[LoggedRequest] = []
        self.crawl_delay: dict[str, float] = {}
        self._open: dict[int, tuple[str, str, float]] = {}
        self._next_token = 0

    def request_started(self, site: str, path: str, started: float) -> int:
        with self._lock:
            self._next_token += 1
            self._open[self._next_token] = (site, path, started)
            return self._next_token

    def request_ended(self, token: int, ended: float) -> None:
        with self._lock:
            site, path, started = self._open.pop(token)
            self.log.append(LoggedRequest(site, path, started, ended))

    def in_flight(self) -> list[tuple[str, str, float]]:
        """(site, path, started) of the requests being handled right now."""
        with self._lock:
            return list(self._open.values())

    def requests_log(self) -> list[LoggedRequest]:
        """Every request so far, in the order the handlers started."""
        with self._lock:
            return sorted(self.log, key=lambda r: r.started)

    def count(self, site: str, request: Request) -> None:
        with self._lock:
            self.requests[site] += 1
            self.paths[f"{site}{request.url.path}"] += 1
            self.user_agents.add(request.headers.get("user-agent", ""))
            if "if-none-match" in request.headers or "if-modified-since" in request.headers:
                self.conditional[site] += 1

    def count_304(self, site: str) -> None:
        with self._lock:
            self.not_modified[site] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "conditional": dict(self.conditional),
                "not_modified": dict(self.not_modified),
            }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _respond(
    request: Request,
    stats: Stats,
    site: str,
    body: str | bytes,
    media_type: str,
    *,
    last_modified: datetime | None = None,
    encoding: str = "utf-8",
) -> Response:
    data = body if isinstance(body, bytes) else body.encode(encoding)
    etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
    headers = {"ETag": etag}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    fresh = request.headers.get("if-none-match") == etag
    since = request.headers.get("if-modified-since")
    if not fresh and since and last_modified is not None and "if-none-match" not in request.headers:
        try:
            fresh = last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            fresh = False
    if fresh:
        stats.count_304(site)
        return Response(status_code=304, headers=headers)
    # Set Content-Type by hand: Starlette would append "charset=utf-8" to any text/* type, and the
    # windows-1252 page must be served without a charset in the header.
    return Response(data, headers={**headers, "Content-Type": media_type})


def _html(
    request: Request,
    stats: Stats,
    site_key: str,
    template: str,
    *,
    last_modified: datetime | None = None,
    charset: str = "utf-8",
    **ctx: Any,
) -> Response:
    html = TEMPLATES.get_template(template).render(base=_base(request), charset=charset, **ctx)
    media = "text/html; charset=utf-8" if charset == "utf-8" else "text/html"  # windows-1252 page: no header charset
    return _respond(request, stats, site_key, html.encode(charset), media, last_modified=last_modified)


def _xml(
    request: Request, stats: Stats, site: str, xml: str, media: str = "application/xml; charset=utf-8"
) -> Response:
    return _respond(request, stats, site, xml, media)


Handler = Callable[[Request], Any]


def _counted(site: str, stats: Stats, handler: Handler, delay_s: float = 0.0) -> Handler:
    async def endpoint(request: Request) -> Response:
        token = stats.request_started(site, request.url.path, time.time())
        stats.count(site, request)
        try:
            if delay_s:
                await asyncio.sleep(delay_s)
            result = handler(request)
            if asyncio.iscoroutine(result):
                result = await result
            return result  # type: ignore[no-any-return]
        finally:
            stats.request_ended(token, time.time())

    return endpoint


def _crawl_delay_line(stats: Stats, site: str) -> str:
    delay = stats.crawl_delay.get(site)
    return f"Crawl-delay: {delay:g}\n" if delay else ""


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rss(base: str, site: DemoSite, items: list[tuple[DemoArticle, str]], *, sy_period: str | None = None) -> str:
    sy = (
        f"<sy:updatePeriod>{sy_period}</sy:updatePeriod><sy:updateFrequency>1</sy:updateFrequency>" if sy_period else ""
    )
    entries = "".join(
        f"<item><title>{_esc(a.title)}</title><link>{_esc(link)}</link>"
        f'<guid isPermaLink="false">{base}/?p={a.id}</guid><pubDate>{rfc822(a.published)}</pubDate>'
        f"<dc:creator><![CDATA[{a.author}]]></dc:creator><category><![CDATA[{a.category}]]></category>"
        f"<description><![CDATA[{a.first_sentence}]]></description></item>"
        for a, link in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        f"<channel><title>{_esc(site.name)}</title><link>{base}/</link><description>{_esc(site.tagline)}</description>"
        f"<language>id-ID</language>{sy}{entries}</channel></rss>"
    )


def _urlset(entries: list[tuple[str, DemoArticle]], *, news: str | None = None) -> str:
    ns = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    body = []
    for loc, a in entries:
        extra = (
            f"<news:news><news:publication><news:name>{_esc(news)}</news:name><news:language>id</news:language>"
            f"</news:publication><news:publication_date>{a.published.isoformat()}</news:publication_date>"
            f"<news:title>{_esc(a.title)}</news:title></news:news>"
            if news
            else ""
        )
        body.append(f"<url><loc>{_esc(loc)}</loc><lastmod>{a.modified.isoformat()}</lastmod>{extra}</url>")
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{ns}>{"".join(body)}</urlset>'


def _sitemap_index(locs: list[str], lastmods: list[datetime] | None = None) -> str:
    stamps = [f"<lastmod>{m.isoformat()}</lastmod>" for m in lastmods] if lastmods else [""] * len(locs)
    body = "".join(f"<sitemap><loc>{_esc(loc)}</loc>{m}</sitemap>" for loc, m in zip(locs, stamps, strict=True))
    return f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>'


def _pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


# --- 1. Lintas Muria: WordPress-like ----------------------------------------------------------


def lintasmuria_path(a: DemoArticle) -> str:
    return f"/{a.published:%Y/%m/%d}/{a.slug}/"


def lintasmuria_app(stats: Stats, history: bool = False) -> Starlette:
    live = load_site("lintasmuria")
    # With history, older articles are on the listing pages, the API and the sitemap, not in the feed.
    site = with_history(live) if history else live
    key = site.key
    per_page = 3

    def card(a: DemoArticle) -> dict[str, Any]:
        return {
            "path": lintasmuria_path(a),
            "title": a.title,
            "first_sentence": a.first_sentence,
            "display_date": tanggal(a.published, site.zone),
            "category": a.category,
        }

    popular = [card(a) for a in site.articles[:3]]

    def listing(request: Request, articles: list[DemoArticle], page: int, prefix: str, heading: str) -> Response:
        pages = _pages(len(articles), per_page)
        if page < 1 or page > pages:
            return PlainTextResponse("Halaman tidak ditemukan", status_code=404)
        items = [card(a) for a in articles[(page - 1) * per_page : page * per_page]]

        def url(n: int) -> str:
            return prefix if n == 1 else f"{prefix}page/{n}/"

        return _html(
            request,
            stats,
            key,
            "lintasmuria/listing.html",
            site=site,
            popular=popular,
            items=items,
            heading=heading,
            pages=[{"number": n, "url": url(n)} for n in range(1, pages + 1)],
            next_url=url(page + 1) if page < pages else None,
            prev_url=url(page - 1) if page > 1 else None,
        )

    def home(request: Request) -> Response:
        if "p" in request.query_params:  # WordPress shortlink
            a = site.by_id(int(request.query_params["p"]) if request.query_params["p"].isdigit() else -1)
            if a is None:
                return PlainTextResponse("Tidak ditemukan", status_code=404)
            return RedirectResponse(lintasmuria_path(a), status_code=301)
        page = int(request.path_params.get("page", 1))
        return listing(request, site.articles, page, "/", "Berita Terbaru")

    def category(request: Request) -> Response:
        slug = request.path_params["slug"]
        articles = [a for a in site.articles if a.category.lower() == slug]
        return listing(
            request,
            articles,
            int(request.path_params.get("page", 1)),
            f"/category/{slug}/",
            f"Kategori: {slug.title()}",
        )

    def article(request: Request) -> Response:
        a = site.by_slug(request.path_params["slug"])
        if a is None or lintasmuria_path(a) != request.url.path:
            return PlainTextResponse("Tidak ditemukan", status_code=404)
        i = site.articles.index(a)
        related = [card(r) for r in site.articles if r is not a][:3]
        prev = card(site.articles[i + 1]) if i + 1 < len(site.articles) else None
        return _html(
            request,
            stats,
            key,
            "lintasmuria/article.html",
            last_modified=a.modified,
            site=site,
            a=a,
            path=lintasmuria_path(a),
            display_date=tanggal(a.published, site.zone),
            related=related,
            popular=popular,
            prev=prev,
        )

    def feed(request: Request) -> Response:
        base = _base(request)
        items = [
            (a, f"{base}{lintasmuria_path(a)}?utm_source=rss&utm_medium=rss&utm_campaign={a.slug}")
            for a in live.articles
        ]
        return _xml(
            request, stats, key, _rss(base, site, items, sy_period="hourly"), "application/rss+xml; charset=UTF-8"
        )

    def broken_feed(request: Request) -> Response:
        # Not well-formed: an unescaped ampersand and no closing tags (a half-written cache file).
        base = _base(request)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Lintas Muria &raquo; Ekonomi</title>'
            f"<item><title>Harga cabai & bawang naik</title><link>{base}/2024/06/09/harga-cabai-naik/</link>"
            "<pubDate>Sun, 09 Jun 2024 07:00:00 +0700</pubDate"
        )
        return Response(xml, media_type="application/rss+xml; charset=UTF-8")

    def wp_posts(request: Request) -> Response:
        q = request.query_params
        try:
            per_page = min(100, int(q.get("per_page", 10)))
            page = int(q.get("page", 1))
        except ValueError:
            return JSONResponse({"code": "rest_invalid_param"}, status_code=400)
        articles = list(site.articles)
        if q.get("modified_after"):
            after = datetime.fromisoformat(q["modified_after"].replace("Z", "+00:00"))
            if after.tzinfo is None:
                after = after.replace(tzinfo=UTC)
            articles = [a for a in articles if a.modified > after]
        for name in ("after", "before"):
            if q.get(name):  # WordPress: by publication date; a time without zone is taken as UTC here
                limit = datetime.fromisoformat(q[name].replace("Z", "+00:00"))
                limit = limit if limit.tzinfo else limit.replace(tzinfo=UTC)
                articles = [a for a in articles if (a.published > limit if name == "after" else a.published < limit)]
        articles.sort(
            key=lambda a: a.modified if q.get("orderby") == "modified" else a.published,
            reverse=q.get("order", "desc") == "desc",
        )
        total_pages = _pages(len(articles), per_page) if articles else 0
        if page > max(total_pages, 1):
            return JSONResponse(
                {
                    "code": "rest_post_invalid_page_number",
                    "message": "Jumlah halaman yang diminta lebih besar dari jumlah halaman yang tersedia.",
                },
                status_code=400,
            )
        base = _base(request)
        posts = [
            {
                "id": a.id,
                "date": a.published.replace(tzinfo=None).isoformat(),
                "date_gmt": a.published.astimezone(UTC).replace(tzinfo=None).isoformat(),
                "modified": a.modified.replace(tzinfo=None).isoformat(),
                "modified_gmt": a.modified.astimezone(UTC).replace(tzinfo=None).isoformat(),
                "slug": a.slug,
                "link": f"{base}{lintasmuria_path(a)}",
                "title": {"rendered": a.title},
                "excerpt": {"rendered": f"<p>{a.first_sentence}</p>"},
            }
            for a in articles[(page - 1) * per_page : page * per_page]
        ]
        body = json.dumps(posts, ensure_ascii=False)
        response = _respond(request, stats, key, body, "application/json; charset=UTF-8")
        response.headers["X-WP-Total"] = str(len(articles))
        response.headers["X-WP-TotalPages"] = str(total_pages)
        return response

    def sitemap_index(request: Request) -> Response:
        return _xml(request, stats, key, _sitemap_index([f"{_base(request)}/wp-sitemap-posts-post-1.xml"]))

    def sitemap_posts(request: Request) -> Response:
        base = _base(request)
        return _xml(request, stats, key, _urlset([(f"{base}{lintasmuria_path(a)}", a) for a in site.articles]))

    def about(request: Request) -> Response:
        # A page without article links (only navigation): not usable as a listing source.
        html = (
            '<!doctype html><html lang="id"><head><meta charset="utf-8"><title>Tentang Kami - Lintas Muria</title>'
            '<link rel="alternate" type="application/rss+xml" title="Lintas Muria" href="/feed/"></head><body>'
            '<nav><a href="/">Beranda</a> <a href="/category/ekonomi/">Ekonomi</a> <a href="/tentang-kami/">Tentang</a>'
            "</nav><h1>Tentang Kami</h1><p>Lintas Muria adalah media daring yang meliput Kudus, Jepara dan Pati.</p>"
            "<p>Redaksi: Jl. Sunan Muria No. 1, Kudus.</p></body></html>"
        )
        return _respond(request, stats, key, html, "text/html; charset=utf-8")

    def robots(request: Request) -> Response:
        text = f"User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\nSitemap: {_base(request)}/wp-sitemap.xml\n"
        return _respond(request, stats, key, text, "text/plain; charset=utf-8")

    def c(handler: Handler) -> Handler:
        return _counted(key, stats, handler)

    return Starlette(
        routes=[
            Route("/", c(home)),
            Route("/page/{page:int}/", c(home)),
            Route("/robots.txt", c(robots)),
            Route("/tentang-kami/", c(about)),
            Route("/feed/", c(feed)),
            Route("/category/ekonomi/feed/", c(broken_feed)),
            Route("/category/{slug}/", c(category)),
            Route("/category/{slug}/page/{page:int}/", c(category)),
            Route("/wp-json/wp/v2/posts", c(wp_posts)),
            Route("/wp-sitemap.xml", c(sitemap_index)),
            Route("/wp-sitemap-posts-post-1.xml", c(sitemap_posts)),
            Route("/{y:int}/{m:int}/{d:int}/{slug}/", c(article)),
        ]
    )


# --- 2. Kabar Serayu: custom CMS, sitemap and listing pages only --------------------------------


def kabarserayu_path(a: DemoArticle) -> str:
    return f"/berita/{a.published:%Y/%m}/{a.slug}.html"


def kabarserayu_app(stats: Stats, history: bool = False) -> Starlette:
    live = load_site("kabarserayu")
    # With history, older articles are on the /berita/ listing pages, not in the news sitemap.
    site = with_history(live) if history else live
    key = site.key
    per_page = 3
    rate_limited_once: set[str] = set()
    lock = threading.Lock()

    def card(a: DemoArticle) -> dict[str, Any]:
        path = kabarserayu_path(a)
        return {
            "path": path,
            "rel_href": path.removeprefix("/berita/"),  # relative to the /berita/ index page
            "title": a.title,
            "first_sentence": a.first_sentence,
            "display_date": tanggal(a.published, site.zone),
        }

    popular = [card(a) for a in site.articles[1:4]]

    def indeks(request: Request) -> Response:
        raw = request.query_params.get("hal", "1")
        page = int(raw) if raw.isdigit() else 1
        pages = _pages(len(site.articles), per_page)
        if page > pages:
            return PlainTextResponse("Halaman tidak ada", status_code=404)
        extra = []
        if page == 1:
            extra = [
                {"href": DRAFT, "text": "Rancangan APBD Perubahan (draf)"},
                {"href": LOOP_A, "text": "Jadwal Samsat Keliling"},
                {"href": PRIVATE_LINK, "text": "Arsip rapat internal"},
            ]
        return _html(
            request,
            stats,
            key,
            "kabarserayu/indeks.html",
            site=site,
            popular=popular,
            page=page,
            items=[card(a) for a in site.articles[(page - 1) * per_page : page * per_page]],
            pages=list(range(1, pages + 1)),
            next_href=f"?hal={page + 1}" if page < pages else None,
            extra_links=extra,
        )

    def home(request: Request) -> Response:
        return _html(
            request,
            stats,
            key,
            "kabarserayu/indeks.html",
            site=site,
            popular=popular,
            page=1,
            items=[{**card(a), "rel_href": kabarserayu_path(a)} for a in site.articles[:3]],
            pages=[],
            next_href=None,
            extra_links=[],
        )

    def detail(request: Request) -> Response:
        slug = request.path_params["slug"]
        a = site.by_slug(slug)
        if a is None or kabarserayu_path(a) != request.url.path:
            return PlainTextResponse("Berita tidak ditemukan", status_code=404)
        if slug == RATE_LIMITED_SLUG:
            with lock:
                first = slug not in rate_limited_once
                rate_limited_once.add(slug)
            if first:
                return PlainTextResponse("Terlalu banyak permintaan", status_code=429, headers={"Retry-After": "1"})
        # Links inside an article are relative to the article's directory: other articles of the same month.
        related = [
            {
                **card(r),
                "rel_href": kabarserayu_path(r).rsplit("/", 1)[-1]
                if r.published.month == a.published.month
                else kabarserayu_path(r),
            }
            for r in site.articles
            if r is not a
        ][:3]
        return _html(
            request,
            stats,
            key,
            "kabarserayu/detail.html",
            last_modified=a.modified,
            charset=a.encoding,
            site=site,
            a=a,
            path=kabarserayu_path(a),
            display_date=tanggal(a.published, site.zone),
            related=related,
            popular=popular,
        )

    def loop_a(request: Request) -> Response:
        return RedirectResponse(LOOP_B, status_code=302)

    def loop_b(request: Request) -> Response:
        return RedirectResponse(LOOP_A, status_code=302)

    def draft(request: Request) -> Response:
        return HTMLResponse("<html><body><h1>DRAF - jangan diterbitkan</h1><p>Rancangan internal.</p></body></html>")

    def sitemap(request: Request) -> Response:
        base = _base(request)
        return _xml(
            request, stats, key, _urlset([(f"{base}{kabarserayu_path(a)}", a) for a in live.articles], news=site.name)
        )

    def busy_sitemap(request: Request) -> Response:
        return PlainTextResponse("Server sibuk, coba lagi nanti", status_code=429, headers={"Retry-After": "120"})

    def robots(request: Request) -> Response:
        return _respond(request, stats, key, "User-agent: *\nDisallow: /berita/draf/\nDisallow: /cari\n", "text/plain")

    def c(handler: Handler) -> Handler:
        return _counted(key, stats, handler)

    return Starlette(
        routes=[
            Route("/", c(home)),
            Route("/robots.txt", c(robots)),
            Route("/berita/", c(indeks)),
            Route(LOOP_A, c(loop_a)),
            Route(LOOP_B, c(loop_b)),
            Route(DRAFT, c(draft)),
            Route("/berita/{y:int}/{m:int}/{slug}.html", c(detail)),
            Route("/sitemap.xml", c(sitemap)),
            Route("/sitemap-arsip.xml", c(busy_sitemap)),
            Mount(BLOCKED_PREFIX, app=blocked_app()),  # blocked/paywalled cases, linked from nothing
        ]
    )


# --- 3. Pena Dewata: JSON-LD article pages ---------------------------------------------------


def penadewata_path(a: DemoArticle) -> str:
    return f"/kabar/{a.slug}-{a.id}"


def penadewata_app(stats: Stats, history: bool = False) -> Starlette:
    live = load_site("penadewata")
    # With history, older articles are on /indeks/ and in monthly archive sitemaps
    # (/sitemap-arsip-YYYY-MM.xml) listed in the index with their lastmod.
    site = with_history(live) if history else live
    archive: dict[str, list[DemoArticle]] = {}
    for old in site.articles[len(live.articles) :]:
        archive.setdefault(f"{old.published:%Y-%m}", []).append(old)
    key = site.key
    per_page = 4

    def card(a: DemoArticle) -> dict[str, Any]:
        return {"path": penadewata_path(a), "title": a.title, "display_date": tanggal(a.published, site.zone)}

    def indeks(request: Request) -> Response:
        raw = request.query_params.get("page", "1")
        page = int(raw) if raw.isdigit() else 1
        pages = _pages(len(site.articles), per_page)
        if page > pages:
            return PlainTextResponse("Tidak ada", status_code=404)
        return _html(
            request,
            stats,
            key,
            "penadewata/indeks.html",
            site=site,
            items=[card(a) for a in site.articles[(page - 1) * per_page : page * per_page]],
            next_url=f"/indeks/?{urlencode({'page': page + 1})}" if page < pages else None,
        )

    def article(request: Request) -> Response:
        slug, _, raw_id = request.path_params["slug_id"].rpartition("-")
        a = site.by_id(int(raw_id)) if raw_id.isdigit() else None
        if a is None or a.slug != slug:
            return PlainTextResponse("Tidak ditemukan", status_code=404)
        base = _base(request)
        url = f"{base}{penadewata_path(a)}"
        article_ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "mainEntityOfPage": {"@type": "WebPage", "@id": url},
            "headline": a.title,
            "image": [f"{base}/media/{a.id}/utama.jpg"],
            "datePublished": a.published.isoformat(),
            "dateModified": a.modified.isoformat(),
            "author": [{"@type": "Person", "name": a.author}],
            "publisher": {
                "@type": "Organization",
                "name": site.name,
                "logo": {"@type": "ImageObject", "url": f"{base}/logo.png"},
            },
            "articleSection": a.category,
            "keywords": a.tags,
            "inLanguage": "id",
            "description": a.first_sentence,
            "articleBody": "\n\n".join(a.paragraphs),
        }
        breadcrumb_ld = {
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": "Beranda", "item": f"{base}/"},
                {"@type": "ListItem", "position": 2, "name": a.category, "item": f"{base}/kanal/{a.category.lower()}/"},
            ],
        }
        related = [card(r) for r in site.articles if r is not a][:3]
        return _html(
            request,
            stats,
            key,
            "penadewata/article.html",
            last_modified=a.modified,
            site=site,
            a=a,
            path=penadewata_path(a),
            display_date=tanggal(a.published, site.zone).replace(" |", ","),
            related=related,
            article_ld=Markup(json.dumps(article_ld, ensure_ascii=False).replace("</", "<\\/")),
            breadcrumb_ld=Markup(json.dumps(breadcrumb_ld, ensure_ascii=False)),
        )

    def sitemap_index(request: Request) -> Response:
        base = _base(request)
        locs = [f"{base}/post-sitemap.xml", f"{base}/news-sitemap.xml"]
        if not archive:
            return _xml(request, stats, key, _sitemap_index(locs))
        newest = max(a.modified for a in live.articles)
        lastmods = [newest, newest] + [max(a.modified for a in month) for month in archive.values()]
        locs += [f"{base}/sitemap-arsip-{month}.xml" for month in archive]
        return _xml(request, stats, key, _sitemap_index(locs, lastmods))

    def post_sitemap(request: Request) -> Response:
        base = _base(request)
        return _xml(request, stats, key, _urlset([(f"{base}{penadewata_path(a)}", a) for a in live.articles]))

    def archive_sitemap(request: Request) -> Response:
        month = archive.get(request.path_params["month"])
        if month is None:
            return PlainTextResponse("Tidak ada", status_code=404)
        base = _base(request)
        return _xml(request, stats, key, _urlset([(f"{base}{penadewata_path(a)}", a) for a in month]))

    def news_sitemap(request: Request) -> Response:
        base = _base(request)
        # Google News sitemaps list recent articles only; tracking parameters sneak in via the CMS.
        entries = [(f"{base}{penadewata_path(a)}?utm_source=googlenews", a) for a in live.articles[:3]]
        return _xml(request, stats, key, _urlset(entries, news=site.name))

    def robots(request: Request) -> Response:
        return _respond(
            request,
            stats,
            key,
            f"User-agent: *\nDisallow:\n{_crawl_delay_line(stats, key)}\nSitemap: {_base(request)}/sitemap_index.xml\n",
            "text/plain",
        )

    def c(handler: Handler) -> Handler:
        return _counted(key, stats, handler)

    return Starlette(
        routes=[
            Route("/", c(indeks)),
            Route("/indeks/", c(indeks)),
            Route("/robots.txt", c(robots)),
            Route("/kabar/{slug_id}", c(article)),
            Route("/sitemap_index.xml", c(sitemap_index)),
            Route("/post-sitemap.xml", c(post_sitemap)),
            Route("/news-sitemap.xml", c(news_sitemap)),
            Route("/sitemap-arsip-{month}.xml", c(archive_sitemap)),
        ]
    )


# --- 4. Gema Lereng: a slow host ---------------------------------------------------------------


def gemalereng_path(a: DemoArticle) -> str:
    return f"/artikel/{a.slug}/"


def gemalereng_app(stats: Stats, delay_s: float) -> Starlette:
    site = load_site("gemalereng")
    key = site.key

    def feed(request: Request) -> Response:
        base = _base(request)
        items = [(a, f"{base}{gemalereng_path(a)}") for a in site.articles]
        return _xml(request, stats, key, _rss(base, site, items, sy_period="daily"), "application/rss+xml")

    def article(request: Request) -> Response:
        a = site.by_slug(request.path_params["slug"])
        if a is None:
            return PlainTextResponse("Tidak ditemukan", status_code=404)
        return _html(
            request,
            stats,
            key,
            "gemalereng/article.html",
            last_modified=a.modified,
            site=site,
            a=a,
            path=gemalereng_path(a),
            display_date=tanggal(a.published, site.zone),
        )

    def not_found(request: Request) -> Response:
        return PlainTextResponse("Not found", status_code=404)

    def c(handler: Handler) -> Handler:
        return _counted(key, stats, handler, delay_s)

    return Starlette(
        routes=[Route("/feed.xml", c(feed)), Route("/artikel/{slug}/", c(article)), Route("/robots.txt", c(not_found))]
    )


def build_apps(stats: Stats, slow_delay_s: float = 1.0, history: bool = False) -> dict[str, Starlette]:
    """The site apps by key, in port order (base_port + index). ``history``: the sites also serve
    older articles (content.history_articles) for backfills; off, the article sets tests count."""
    return {
        "lintasmuria": lintasmuria_app(stats, history),
        "kabarserayu": kabarserayu_app(stats, history),
        "penadewata": penadewata_app(stats, history),
        "gemalereng": gemalereng_app(stats, slow_delay_s),
    }


PATHS: dict[str, Callable[[DemoArticle], str]] = {
    "lintasmuria": lintasmuria_path,
    "kabarserayu": kabarserayu_path,
    "penadewata": penadewata_path,
    "gemalereng": gemalereng_path,
}
