"""What a crawler must collect from the demo sites, and the sources that reach them.

Tests assert that every expected article is collected exactly once with this title, a body that
contains the first and last sentences and none of :data:`BOILERPLATE_MARKERS`, and this
publication time with its zone offset (WIB +07:00, WITA +08:00). :data:`EXPECTED_FAILURES` lists
the failure cases and the reason each must be recorded with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.ingest.demo_sites.content import SITE_KEYS, load_site
from services.ingest.demo_sites.sites import DRAFT, LOOP_A, PATHS, PRIVATE_LINK

# Text from navigation, share bars, "Baca juga" blocks, related lists, comments and footers.
BOILERPLATE_MARKERS = (
    "Baca juga",
    "BACA JUGA",
    "Bagikan",
    "Komentar",
    "KOMENTAR",
    "Terpopuler",
    "TERPOPULER",
    "Berita Terkait",
    "BERITA LAINNYA",
    "Hak cipta",
    "Berlangganan",
    "Tinggalkan Balasan",
    "Pedoman",
    "warga sudah lama menunggu kabar baik",  # comments
    "desa kami yang belum tersentuh",
    "jalan rusak di desa kami, Mas",
    "bermanfaat buat warga perantauan",
    "semoga program seperti ini berlanjut",
    "menunggu kabar serupa dari pemerintah daerah",
    "kanal WhatsApp Pena Dewata",
    "Pasang iklan",
)


@dataclass(frozen=True)
class ExpectedArticle:
    site: str
    outlet: str
    url: str
    title: str
    first_sentence: str
    last_sentence: str
    published_at: datetime
    zone: str
    press_release: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "outlet": self.outlet,
            "url": self.url,
            "title": self.title,
            "first_sentence": self.first_sentence,
            "last_sentence": self.last_sentence,
            "published_at": self.published_at.isoformat(),
            "zone": self.zone,
            "press_release": self.press_release,
        }


def expected_articles(base_urls: dict[str, str], sites: tuple[str, ...] = SITE_KEYS) -> list[ExpectedArticle]:
    """The articles of ``sites`` with absolute canonical URLs for the given base URLs."""
    out = []
    for key in sites:
        site = load_site(key)
        for a in site.articles:
            out.append(
                ExpectedArticle(
                    site=key,
                    outlet=site.name,
                    url=f"{base_urls[key]}{PATHS[key](a)}",
                    title=a.title,
                    first_sentence=a.first_sentence,
                    last_sentence=a.last_sentence,
                    published_at=a.published,
                    zone=site.zone,
                    press_release=a.press_release,
                )
            )
    return out


# source id -> failure reasons that crawling it must record (besides what it collects).
EXPECTED_FAILURES: dict[str, dict[str, Any]] = {
    "lintasmuria-ekonomi-feed": {"failed": {"malformed_feed"}, "why": "category feed is not well-formed XML"},
    "kabarserayu-indeks": {
        "failed": {"robots", "redirect_loop", "ssrf_blocked"},
        "why": f"{DRAFT} is disallowed by robots.txt, {LOOP_A} redirects in a loop, {PRIVATE_LINK} is a private address",
    },
    "kabarserayu-arsip": {
        "failed": {"http_429"},
        "retry_after_s": 120,
        "why": "sitemap always answers 429 Retry-After: 120",
    },
    "gemalereng-rss": {"failed": {"timeout"}, "why": "slow host, with a read timeout shorter than its delay"},
}


def demo_sources(
    base_urls: dict[str, str], *, min_interval_s: float = 60.0, max_interval_s: float = 900.0
) -> list[dict[str, Any]]:
    """Source specs (``SourceCreate`` fields) covering every demo site and source type."""
    b = base_urls
    common = {"language": "id", "min_interval_s": min_interval_s, "max_interval_s": max_interval_s}
    return [
        {
            "id": "lintasmuria-wp",
            "type": "wordpress",
            "name": "Lintas Muria (WordPress API)",
            "url": f"{b['lintasmuria']}/",
            "outlet": "Lintas Muria",
            "region": "Jawa Tengah",
            **common,
        },
        {
            "id": "lintasmuria-rss",
            "type": "rss",
            "name": "Lintas Muria (RSS)",
            "url": f"{b['lintasmuria']}/feed/",
            "outlet": "Lintas Muria",
            "region": "Jawa Tengah",
            **common,
        },
        {
            "id": "lintasmuria-sitemap",
            "type": "sitemap",
            "name": "Lintas Muria (sitemap)",
            "url": f"{b['lintasmuria']}/wp-sitemap.xml",
            "outlet": "Lintas Muria",
            "region": "Jawa Tengah",
            **common,
        },
        {
            "id": "lintasmuria-ekonomi-feed",
            "type": "rss",
            "name": "Lintas Muria Ekonomi (feed rusak)",
            "url": f"{b['lintasmuria']}/category/ekonomi/feed/",
            "outlet": "Lintas Muria",
            "region": "Jawa Tengah",
            **common,
        },
        {
            "id": "kabarserayu-indeks",
            "type": "listing",
            "name": "Kabar Serayu (indeks)",
            "url": f"{b['kabarserayu']}/berita/",
            "outlet": "Kabar Serayu",
            "region": "Jawa Tengah",
            "include_patterns": [r"^/berita/.+\.html$"],
            "exclude_patterns": [r"[?&]cetak="],
            "max_pages": 5,
            **common,
        },
        {
            "id": "kabarserayu-sitemap",
            "type": "sitemap",
            "name": "Kabar Serayu (Google News sitemap)",
            "url": f"{b['kabarserayu']}/sitemap.xml",
            "outlet": "Kabar Serayu",
            "region": "Jawa Tengah",
            **common,
        },
        {
            "id": "kabarserayu-arsip",
            "type": "sitemap",
            "name": "Kabar Serayu (arsip, selalu 429)",
            "url": f"{b['kabarserayu']}/sitemap-arsip.xml",
            "outlet": "Kabar Serayu",
            "region": "Jawa Tengah",
            **common,
        },
        {
            "id": "penadewata-sitemap",
            "type": "sitemap",
            "name": "Pena Dewata (sitemap index)",
            "url": f"{b['penadewata']}/sitemap_index.xml",
            "outlet": "Pena Dewata",
            "region": "Bali",
            **common,
        },
        {
            "id": "penadewata-indeks",
            "type": "listing",
            "name": "Pena Dewata (indeks)",
            "url": f"{b['penadewata']}/indeks/",
            "outlet": "Pena Dewata",
            "region": "Bali",
            "include_patterns": ["^/kabar/"],
            **common,
        },
        {
            "id": "gemalereng-rss",
            "type": "rss",
            "name": "Gema Lereng (RSS, lambat)",
            "url": f"{b['gemalereng']}/feed.xml",
            "outlet": "Gema Lereng",
            "region": "Jawa Tengah",
            **common,
        },
    ]
