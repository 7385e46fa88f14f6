"""Demo sites for feeds as they are: the documents regional outlets really serve.

- ``suarakawanua`` (Manado, WITA): an Atom feed (``/atom.xml``: ``xml:base`` and relative links,
  ``rel="alternate"`` among ``self``/``replies``/``enclosure`` links, ``type="html"`` titles with
  entities, ``content type="html"``, an entry with ``updated`` only) and a Google News sitemap
  (``/sitemap-news.xml``: ``news:publication_date`` with and without seconds, in UTC or WITA,
  ``news:title``, ``news:language``). Article pages carry no date: the feed's date is the one.
- ``khatulistiwa`` (Pontianak, WIB): three RSS feeds (``/rss/<name>.xml``), each article in one,
  its date written in one of the odd ways (``date_style`` in the data file): Indonesian day and
  month names with WIB/WITA/WIT (``Sen, 02 Jun 2025 07:15:00 WIB``), no zone (read as WIB), ISO
  8601 in ``pubDate``, ``dc:date`` only, an English date with ``WIT``. ``latin1``: windows-1252
  bytes declared ``ISO-8859-1`` in the prolog, no charset in the header; ``charset``: windows-1252
  declared in the prolog but served as ``charset=utf-8``; ``bom``: UTF-8 with a BOM served as
  ``charset=iso-8859-1``, double-escaped entities, numeric entities and CDATA with markup in titles.
  Article pages carry no date.
- ``radartimur`` (Jayapura, WIT): WordPress installs (one per path prefix, ``install`` in the data
  file) whose REST API is off: ``/`` answers 401 ``rest_login_required``, ``/merauke/`` 403,
  ``/sorong/`` a 404 HTML page, ``/biak/`` its HTML home page with 200 and has no feed either
  (only ``/biak/wp-sitemap.xml``). Article pages carry ``article:published_time``.

Every article here is listed by :data:`FEED_VARIANT_SOURCES`; none is in ``manifest.SITE_KEYS``,
so the demo's article counts are unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from services.ingest.demo_sites.content import DATA_DIR, DemoArticle, load_site
from services.ingest.demo_sites.sites import (
    TEMPLATES,
    Handler,
    Stats,
    _base,
    _counted,
    _esc,
    _respond,
    _sitemap_index,
    _urlset,
)

FEED_SITE_KEYS = ("suarakawanua", "khatulistiwa", "radartimur")
KHATULISTIWA_FEEDS = ("latin1", "charset", "bom")
RADARTIMUR_INSTALLS = ("", "merauke/", "sorong/", "biak/")

_ID_DAYS = ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min")
_ID_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
_ZONE_WORDS = {7: "WIB", 8: "WITA", 9: "WIT"}


@cache
def article_extras(key: str) -> dict[int, dict[str, Any]]:
    """Per article id, the data file's fields that ``load_site`` does not read (feed, date_style,
    install)."""
    raw = yaml.safe_load((DATA_DIR / f"{key}.yaml").read_text(encoding="utf-8"))
    return {int(entry["id"]): entry for entry in raw["articles"]}


def suarakawanua_path(a: DemoArticle) -> str:
    return f"/berita/{a.category.lower()}/{a.slug}"


def khatulistiwa_path(a: DemoArticle) -> str:
    return f"/baca/{a.id}/{a.slug}.html"


def radartimur_path(a: DemoArticle) -> str:
    install = article_extras("radartimur")[a.id]["install"]
    return f"/{install}{a.published:%Y/%m/%d}/{a.slug}/"


FEED_PATHS = {"suarakawanua": suarakawanua_path, "khatulistiwa": khatulistiwa_path, "radartimur": radartimur_path}


def feed_date(value: datetime, style: str) -> str:
    """``value`` written as ``style``: id_word (``Sen, 02 Jun 2025 07:15:00 WIB``), en_word
    (``Sat, 07 Jun 2025 16:45:00 WIT``), naive (``Wed, 04 Jun 2025 09:30:00``), iso, rfc822."""
    offset = value.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    clock = f"{value:%d} {{month}} {value:%Y %H:%M:%S}"
    if style == "id_word":
        day, month = _ID_DAYS[value.weekday()], _ID_MONTHS[value.month - 1]
        return f"{day}, {clock.format(month=month)} {_ZONE_WORDS[hours]}"
    if style == "en_word":
        return f"{value:%a}, {clock.format(month=f'{value:%b}')} {_ZONE_WORDS[hours]}"
    if style == "naive":
        return f"{value:%a}, {clock.format(month=f'{value:%b}')}"
    if style == "iso":
        return value.isoformat()
    return value.strftime("%a, %d %b %Y %H:%M:%S %z")


def _article_page(
    request: Request, stats: Stats, key: str, a: DemoArticle, path: str, *, dated: bool = False
) -> Response:
    site = load_site(key)
    html = TEMPLATES.get_template("feeds/article.html").render(
        base=_base(request), site=site, a=a, path=path, dated=dated
    )
    return _respond(request, stats, key, html, "text/html; charset=utf-8", last_modified=a.modified)


def _by_path(key: str, request: Request) -> DemoArticle | None:
    path = FEED_PATHS[key]
    return next((a for a in load_site(key).articles if path(a) == request.url.path), None)


# --- Suara Kawanua: Atom and a Google News sitemap ---------------------------------------------


def atom_feed(base: str, articles: list[DemoArticle]) -> str:
    """The Atom document of ``/atom.xml``. Links are relative to ``xml:base`` (the feed's) or to
    an entry's own ``xml:base``; the oldest entry has ``updated`` only."""
    entries = []
    for index, a in enumerate(articles):
        section = a.category.lower()
        own_base = index % 2 == 1  # every other entry resolves against its own xml:base
        href = a.slug if own_base else f"{section}/{a.slug}"
        entry_base = f' xml:base="{base}/berita/{section}/"' if own_base else ""
        # type="html": the title is HTML, so "&" is written "&amp;" inside the XML-escaped text.
        title = _esc(_esc(a.title))
        published = "" if index == len(articles) - 1 else f"<published>{a.published.isoformat()}</published>"
        entries.append(
            f'<entry{entry_base}><title type="html">{title}</title>'
            f'<link rel="replies" type="text/html" href="{href}#komentar"/>'
            f'<link rel="enclosure" type="image/jpeg" href="/media/{a.id}.jpg" length="1024"/>'
            f'<link rel="alternate" type="text/html" href="{href}"/>'
            f"<id>tag:suarakawanua.id,2025:{a.id}</id>{published}<updated>{a.modified.isoformat()}</updated>"
            f"<author><name>{_esc(a.author)}</name></author>"
            f'<content type="html">{_esc("<p>" + a.paragraphs[0] + "</p>")}</content></entry>'
        )
    newest = max(a.modified for a in articles)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}/berita/" xml:lang="id">'
        f'<title>Suara Kawanua</title><link rel="self" href="/atom.xml"/><link rel="alternate" href="/"/>'
        f"<id>tag:suarakawanua.id,2025:feed</id><updated>{newest.isoformat()}</updated>{''.join(entries)}</feed>"
    )


def news_sitemap(base: str, articles: list[DemoArticle]) -> str:
    """The Google News sitemap: publication dates as WITA with seconds, WITA without seconds and
    UTC (``Z``), in turn; titles with entities."""
    urls = []
    for index, a in enumerate(articles):
        if index % 3 == 0:
            stamp = a.published.isoformat()
        elif index % 3 == 1:
            stamp = a.published.isoformat(timespec="minutes")
        else:
            stamp = a.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        urls.append(
            f"<url><loc>{base}{suarakawanua_path(a)}</loc><news:news><news:publication>"
            "<news:name>Suara Kawanua</news:name><news:language>id</news:language></news:publication>"
            f"<news:publication_date>{stamp}</news:publication_date><news:title>{_esc(a.title)}</news:title>"
            "</news:news></url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{"".join(urls)}</urlset>'
    )


def suarakawanua_app(stats: Stats) -> Starlette:
    key = "suarakawanua"
    site = load_site(key)

    def atom(request: Request) -> Response:
        return _respond(request, stats, key, atom_feed(_base(request), site.articles), "application/atom+xml")

    def sitemap(request: Request) -> Response:
        return _respond(request, stats, key, news_sitemap(_base(request), site.articles), "application/xml")

    def article(request: Request) -> Response:
        a = _by_path(key, request)
        if a is None:
            return PlainTextResponse("Tidak ditemukan", status_code=404)
        return _article_page(request, stats, key, a, suarakawanua_path(a))

    def c(handler: Handler) -> Handler:
        return _counted(key, stats, handler)

    return Starlette(
        routes=[
            Route("/atom.xml", c(atom)),
            Route("/sitemap-news.xml", c(sitemap)),
            Route("/berita/{section}/{slug}", c(article)),
        ]
    )


# --- Warta Khatulistiwa: RSS with odd dates and encodings ---------------------------------------

# feed name -> (XML declaration encoding, bytes encoding, Content-Type, BOM)
_KHATULISTIWA_ENCODINGS = {
    "latin1": ("ISO-8859-1", "cp1252", "application/rss+xml", b""),
    "charset": ("windows-1252", "cp1252", "application/rss+xml; charset=utf-8", b""),
    "bom": ("UTF-8", "utf-8", "text/xml; charset=iso-8859-1", b"\xef\xbb\xbf"),
}


def khatulistiwa_feed(base: str, name: str) -> tuple[bytes, str]:
    """The bytes and Content-Type of ``/rss/<name>.xml``."""
    declared, encoding, content_type, bom = _KHATULISTIWA_ENCODINGS[name]
    extras = article_extras("khatulistiwa")
    items = []
    for a in load_site("khatulistiwa").articles:
        extra = extras[a.id]
        if extra["feed"] != name:
            continue
        style = extra["date_style"]
        date = (
            f"<dc:date>{a.published.isoformat()}</dc:date>"
            if style == "dc_date"
            else f"<pubDate>{feed_date(a.published, style)}</pubDate>"
        )
        if name == "bom":
            # A CMS that escapes twice; a numeric entity; CDATA around markup.
            title = (
                f"<title>{_esc(_esc(a.title))}</title>" if a.id % 2 else f"<title><![CDATA[<b>{a.title}</b>]]></title>"
            )
        else:
            title = f"<title>{_esc(a.title)}</title>"
        items.append(
            f"<item>{title}<link>{base}{khatulistiwa_path(a)}</link><guid>{base}/?p={a.id}</guid>{date}"
            f"<description><![CDATA[<p>{a.paragraphs[0]}</p>]]></description></item>"
        )
    xml = (
        f'<?xml version="1.0" encoding="{declared}"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Warta Khatulistiwa &#8211; {name}</title><link>{base}/</link>"
        f"<description>Kabar dari Bumi Khatulistiwa</description><language>id</language>{''.join(items)}"
        "</channel></rss>"
    )
    return bom + xml.encode(encoding), content_type


def khatulistiwa_app(stats: Stats) -> Starlette:
    key = "khatulistiwa"

    def feed(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _KHATULISTIWA_ENCODINGS:
            return PlainTextResponse("Tidak ditemukan", status_code=404)
        body, content_type = khatulistiwa_feed(_base(request), name)
        return _respond(request, stats, key, body, content_type)

    def article(request: Request) -> Response:
        a = _by_path(key, request)
        if a is None:
            return PlainTextResponse("Tidak ditemukan", status_code=404)
        return _article_page(request, stats, key, a, khatulistiwa_path(a))

    def c(handler: Handler) -> Handler:
        return _counted(key, stats, handler)

    return Starlette(routes=[Route("/rss/{name}.xml", c(feed)), Route("/baca/{id:int}/{slug}.html", c(article))])


# --- Radar Timur: WordPress with the REST API off -------------------------------------------------


def radartimur_app(stats: Stats) -> Starlette:
    key = "radartimur"
    site = load_site(key)
    extras = article_extras(key)

    def install_of(request: Request) -> str:
        prefix = request.path_params.get("install", "")
        return f"{prefix}/" if prefix else ""

    def articles(install: str) -> list[DemoArticle]:
        return [a for a in site.articles if extras[a.id]["install"] == install]

    def rest(request: Request) -> Response:
        install = install_of(request)
        if install not in RADARTIMUR_INSTALLS:
            return PlainTextResponse("Not found", status_code=404)
        if install == "":  # "Disable REST API" plugins: logged-in users only
            body = {
                "code": "rest_login_required",
                "message": "REST API restricted to authenticated users.",
                "data": {"status": 401},
            }
            return JSONResponse(body, status_code=401)
        if install == "merauke/":
            body = {
                "code": "rest_forbidden",
                "message": "Sorry, you are not allowed to do that.",
                "data": {"status": 403},
            }
            return JSONResponse(body, status_code=403)
        if install == "sorong/":  # blocked in the web server: its own 404 page
            return Response("<html><body><h1>404 Not Found</h1></body></html>", status_code=404, media_type="text/html")
        # biak/: /wp-json/ rewritten to the theme's home page, with 200
        home = f"<!doctype html><html><head><title>{site.name}</title></head><body><h1>{site.name}</h1></body></html>"
        return _respond(request, stats, key, home, "text/html; charset=UTF-8")

    def feed(request: Request) -> Response:
        install = install_of(request)
        if install not in RADARTIMUR_INSTALLS or install == "biak/":
            return PlainTextResponse("Not found", status_code=404)
        base = _base(request)
        items = "".join(
            f"<item><title>{_esc(a.title)}</title><link>{base}{radartimur_path(a)}</link>"
            f"<pubDate>{feed_date(a.published, 'rfc822')}</pubDate></item>"
            for a in articles(install)
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{site.name}</title><link>{base}/{install}</link><language>id-ID</language>{items}</channel></rss>"
        )
        return _respond(request, stats, key, xml, "application/rss+xml; charset=UTF-8")

    def sitemap_index(request: Request) -> Response:
        install = install_of(request)
        if install not in RADARTIMUR_INSTALLS:
            return PlainTextResponse("Not found", status_code=404)
        return _respond(
            request,
            stats,
            key,
            _sitemap_index([f"{_base(request)}/{install}wp-sitemap-posts-post-1.xml"]),
            "application/xml",
        )

    def sitemap_posts(request: Request) -> Response:
        install = install_of(request)
        base = _base(request)
        xml = _urlset([(f"{base}{radartimur_path(a)}", a) for a in articles(install)])
        return _respond(request, stats, key, xml, "application/xml")

    def article(request: Request) -> Response:
        a = _by_path(key, request)
        if a is None:
            return PlainTextResponse("Tidak ditemukan", status_code=404)
        return _article_page(request, stats, key, a, radartimur_path(a), dated=True)

    def c(handler: Handler) -> Handler:
        return _counted(key, stats, handler)

    routes = []
    for prefix in ("", "/{install}"):
        routes += [
            Route(f"{prefix}/wp-json/wp/v2/posts", c(rest)),
            Route(f"{prefix}/feed/", c(feed)),
            Route(f"{prefix}/wp-sitemap.xml", c(sitemap_index)),
            Route(f"{prefix}/wp-sitemap-posts-post-1.xml", c(sitemap_posts)),
            Route(f"{prefix}/{{y:int}}/{{m:int}}/{{d:int}}/{{slug}}/", c(article)),
        ]
    return Starlette(routes=routes)


def feed_variant_apps(stats: Stats) -> dict[str, Starlette]:
    """The feed-variant sites by key, in port order after the main sites."""
    return {
        "suarakawanua": suarakawanua_app(stats),
        "khatulistiwa": khatulistiwa_app(stats),
        "radartimur": radartimur_app(stats),
    }


def feed_variant_sources(base_urls: dict[str, str]) -> list[dict[str, Any]]:
    """Source specs (``SourceCreate`` fields) for the feed-variant sites, one per variant."""
    common = {"language": "id", "min_interval_s": 60.0, "max_interval_s": 900.0}
    kawanua, khatulistiwa, timur = (base_urls[k] for k in FEED_SITE_KEYS)
    specs: list[dict[str, Any]] = [
        {"id": "suarakawanua-atom", "type": "rss", "name": "Suara Kawanua (Atom)", "url": f"{kawanua}/atom.xml"},
        {
            "id": "suarakawanua-news",
            "type": "sitemap",
            "name": "Suara Kawanua (Google News sitemap)",
            "url": f"{kawanua}/sitemap-news.xml",
        },
    ]
    specs += [
        {
            "id": f"khatulistiwa-{name}",
            "type": "rss",
            "name": f"Warta Khatulistiwa ({name})",
            "url": f"{khatulistiwa}/rss/{name}.xml",
        }
        for name in KHATULISTIWA_FEEDS
    ]
    specs += [
        {
            "id": f"radartimur-{install.rstrip('/') or 'jayapura'}",
            "type": "wordpress",
            "name": f"Radar Timur {install.rstrip('/') or 'Jayapura'} (WordPress, REST off)",
            "url": f"{timur}/{install}",
        }
        for install in RADARTIMUR_INSTALLS
    ]
    return [{**spec, **common} for spec in specs]


def feed_variant_articles(base_urls: dict[str, str], source_id: str) -> list[DemoArticle]:
    """The articles crawling ``source_id`` (of :func:`feed_variant_sources`) must collect."""
    site, _, variant = source_id.partition("-")
    articles = load_site(site).articles
    if site == "khatulistiwa":
        return [a for a in articles if article_extras(site)[a.id]["feed"] == variant]
    if site == "radartimur":
        install = "" if variant == "jayapura" else f"{variant}/"
        return [a for a in articles if article_extras(site)[a.id]["install"] == install]
    return list(articles)
