"""Fixture content of the demo sites: loading the YAML data files and formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"
SITE_KEYS = ("lintasmuria", "kabarserayu", "penadewata", "gemalereng")

_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


@dataclass(frozen=True)
class DemoArticle:
    id: int
    slug: str
    title: str
    paragraphs: list[str]
    published: datetime
    modified: datetime
    category: str
    author: str
    tags: list[str] = field(default_factory=list)
    press_release: bool = False
    encoding: str = "utf-8"

    @property
    def first_sentence(self) -> str:
        return self.paragraphs[0].split(". ")[0].rstrip(".") + "."

    @property
    def last_sentence(self) -> str:
        return self.paragraphs[-1].rsplit(". ", 1)[-1]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class DemoSite:
    key: str
    name: str
    tagline: str
    zone: str
    articles: list[DemoArticle]  # newest first

    def by_id(self, article_id: int) -> DemoArticle | None:
        return next((a for a in self.articles if a.id == article_id), None)

    def by_slug(self, slug: str) -> DemoArticle | None:
        return next((a for a in self.articles if a.slug == slug), None)


@cache
def load_site(key: str) -> DemoSite:
    raw: dict[str, Any] = yaml.safe_load((DATA_DIR / f"{key}.yaml").read_text(encoding="utf-8"))
    articles = []
    for entry in raw["articles"]:
        published = datetime.fromisoformat(entry["published"])
        articles.append(
            DemoArticle(
                id=int(entry["id"]),
                slug=entry["slug"],
                title=entry["title"],
                paragraphs=[" ".join(p.split()) for p in entry["paragraphs"]],
                published=published,
                modified=datetime.fromisoformat(entry.get("modified") or entry["published"]),
                category=entry["category"],
                author=entry["author"],
                tags=list(entry.get("tags", [])),
                press_release=bool(entry.get("press_release", False)),
                encoding=entry.get("encoding", "utf-8"),
            )
        )
    articles.sort(key=lambda a: a.published, reverse=True)
    meta = raw["site"]
    return DemoSite(key=meta["key"], name=meta["name"], tagline=meta["tagline"], zone=meta["zone"], articles=articles)


def tanggal(value: datetime, zone: str) -> str:
    """Indonesian display date, e.g. ``Senin, 3 Juni 2024 | 09:15 WIB``."""
    return f"{_DAYS[value.weekday()]}, {value.day} {_MONTHS[value.month - 1]} {value.year} | {value:%H:%M} {zone}"


def rfc822(value: datetime) -> str:
    return value.strftime("%a, %d %b %Y %H:%M:%S %z")


# --- History (served only when the sites start with ``history=True``) ----------------------------

HISTORY_COUNT = 12
HISTORY_ID_BASE = 9000
_HISTORY_TOPICS = (
    ("Perbaikan Jalan Desa", "perbaikan-jalan-desa", "jalan desa sepanjang dua kilometer diperbaiki"),
    ("Pasar Murah Menjelang Hari Raya", "pasar-murah-menjelang-hari-raya", "pasar murah digelar di balai desa"),
    ("Vaksinasi Ternak Gratis", "vaksinasi-ternak-gratis", "ratusan ekor sapi dan kambing divaksin"),
    ("Pelatihan UMKM Batik", "pelatihan-umkm-batik", "puluhan perajin mengikuti pelatihan pemasaran daring"),
    ("Normalisasi Sungai", "normalisasi-sungai", "alat berat dikerahkan untuk mengeruk sedimen sungai"),
    ("Festival Kuliner Rakyat", "festival-kuliner-rakyat", "ribuan pengunjung memadati alun-alun"),
)


def history_articles(site: DemoSite) -> list[DemoArticle]:
    """Older articles of ``site``: :data:`HISTORY_COUNT` of them, one every 12 days going back
    from 12 days before the site's oldest live article (newest first), at 08:00 in the site's
    own zone. Deterministic, so tests can compute what a backfill must collect."""
    oldest = min(a.published for a in site.articles)
    start = oldest.replace(hour=8, minute=0, second=0, microsecond=0)
    articles = []
    for n in range(HISTORY_COUNT):
        published = start - timedelta(days=12 * (n + 1))
        title, slug, lead = _HISTORY_TOPICS[n % len(_HISTORY_TOPICS)]
        place = site.name
        when = f"{published.day} {_MONTHS[published.month - 1]} {published.year}"
        paragraphs = [
            f"Pada {when}, {lead} menurut keterangan pemerintah setempat kepada {place}. "
            f"Kegiatan ini merupakan bagian dari program kerja tahun {published.year} yang sudah direncanakan sejak awal.",
            "Kepala desa mengatakan warga menyambut baik kegiatan tersebut dan berharap program serupa terus berlanjut. "
            "Menurutnya, manfaat kegiatan langsung dirasakan oleh warga dari berbagai dusun.",
            f"Panitia mencatat kegiatan berjalan lancar tanpa kendala berarti hingga sore hari. "
            f"Evaluasi kegiatan nomor {n + 1} akan disampaikan dalam rapat koordinasi bulan depan.",
        ]
        articles.append(
            DemoArticle(
                id=HISTORY_ID_BASE + n,
                slug=f"arsip-{slug}-{published:%Y%m%d}",
                title=f"{title} {when}",
                paragraphs=paragraphs,
                published=published,
                modified=published,
                category="Daerah",
                author="Redaksi",
                tags=["arsip"],
            )
        )
    return articles


def with_history(site: DemoSite) -> DemoSite:
    """``site`` with :func:`history_articles` after its live ones (newest first)."""
    return replace(site, articles=[*site.articles, *history_articles(site)])
