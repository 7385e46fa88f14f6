"""Fixture content of the demo sites: loading the YAML data files and formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
