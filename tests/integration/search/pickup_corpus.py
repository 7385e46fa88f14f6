"""A press release, three outlets' rewrites of it and articles that did not carry it, as indexed
documents (:func:`services.search.index.to_document`): shared by the pickup API test and the
"Bukti tayang" browser test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.search.index import to_document
from shared.schemas import EnrichedArticle

RELEASED_AT = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)  # 09:00 WIB
RELEASE_TITLE = "Pemkab Blora Salurkan Bantuan Benih Padi untuk 4.500 Petani"
RELEASE_PARAGRAPHS = [
    "Pemerintah Kabupaten Blora menyalurkan bantuan benih padi unggul kepada 4.500 petani di 16 kecamatan "
    "untuk mempercepat masa tanam kedua tahun ini.",
    "Bupati Blora Arief Rohman mengatakan bantuan sebanyak 112 ton benih itu berasal dari anggaran daerah dan "
    "dibagikan melalui kelompok tani yang sudah terdaftar di dinas pertanian.",
    "Menurut Arief, petani yang menerima benih juga akan didampingi penyuluh lapangan selama satu musim agar "
    "hasil panen meningkat dan serangan hama wereng dapat ditekan sejak awal.",
    "Kepala Dinas Pertanian dan Pangan Blora Ngaliman menjelaskan penyaluran dilakukan bertahap mulai pekan ini "
    "dan ditargetkan selesai sebelum akhir bulan sehingga tidak mengganggu jadwal tanam.",
    "Ia meminta kelompok tani segera melengkapi data anggota dan melaporkan kendala di lapangan kepada petugas "
    "kecamatan supaya bantuan tepat sasaran dan tidak ada petani yang terlewat.",
]
RELEASE_TEXT = "\n\n".join(RELEASE_PARAGRAPHS)
ORIGINAL_URL = "https://blorakab.example/berita/bantuan-benih-padi-4500-petani"

# Outlet, title, body, delay from the release.
REWRITES: list[tuple[str, str, str, timedelta]] = [
    # A straight copy with a dateline and a credit: same title, keeps everything.
    ("Suara Blora", RELEASE_TITLE, "BLORA – " + RELEASE_TEXT + "\n\nEditor: Rudi", timedelta(minutes=35)),
    # A new intro and title, a "Baca juga" block, the rest kept.
    (
        "Lintas Muria",
        "Ribuan Petani Blora Terima Benih Padi Gratis",
        "Lintas Muria, Blora – Kabar gembira bagi ribuan petani di Blora yang akan menerima benih padi unggul untuk "
        "masa tanam kedua.\n\n"
        + "\n\n".join(RELEASE_PARAGRAPHS[1:3])
        + "\n\nBaca juga: Harga gabah di Blora naik\n\n"
        + "\n\n".join(RELEASE_PARAGRAPHS[3:]),
        timedelta(hours=3),
    ),
    # Only the first half, title kept word for word apart from case and punctuation.
    (
        "Kabar Pantura",
        RELEASE_TITLE.upper() + "!",
        "\n\n".join(RELEASE_PARAGRAPHS[:3]) + "\n\n(hms)",
        timedelta(days=1, hours=2),
    ),
]
# Same topic (Blora, farmers, the same officials), a different story.
UNRELATED_TITLE = "Petani Blora Keluhkan Harga Pupuk"
UNRELATED = (
    "Sejumlah petani di Blora mengeluhkan harga pupuk nonsubsidi yang naik menjelang masa tanam kedua.\n\n"
    "Bupati Blora Arief Rohman mengatakan pemerintah daerah akan mengecek stok pupuk di kios resmi dan meminta "
    "distributor tidak menaikkan harga di atas ketentuan.\n\n"
    "Kepala Dinas Pertanian dan Pangan Blora Ngaliman menambahkan petugas kecamatan akan mendata kebutuhan pupuk "
    "setiap kelompok tani agar distribusi merata."
)


def document(ident: str, outlet: str, title: str, body: str, published_at: datetime, url: str | None = None,
             ingested_at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """One article as the indexer writes it."""
    slug = outlet.lower().replace(" ", "")
    url = url or f"https://{slug}.example/{ident}"
    article = EnrichedArticle(
        schema_version=1, id=ident, url=url, canonical_url=url, title=title, source=f"{slug}.example", outlet=outlet,
        published_at=published_at, ingested_at=ingested_at or published_at, enriched_at=published_at, text=body,
        body=body, language="id", language_confidence=0.99, word_count=len(body.split()), story_id=ident,
        story_size=1,
    )  # fmt: skip
    return to_document(article, datetime.now(UTC).isoformat())


def corpus(token: str, released_at: datetime = RELEASED_AT) -> list[dict[str, Any]]:
    """The three rewrites (ids ``<token>-p0..2``), the unrelated article (``<token>-u``) and a copy
    published after the seven-day window (``<token>-late``)."""
    docs = [document(f"{token}-p{i}", outlet, title, body, released_at + delay)
            for i, (outlet, title, body, delay) in enumerate(REWRITES)]  # fmt: skip
    docs.append(document(f"{token}-u", "Jateng Pos", UNRELATED_TITLE, UNRELATED, released_at + timedelta(hours=5)))
    docs.append(document(f"{token}-late", "Radar Kudus", RELEASE_TITLE, RELEASE_TEXT, released_at + timedelta(days=9)))
    return docs


def original(token: str, released_at: datetime = RELEASED_AT) -> dict[str, Any]:
    """The release on the institution's own site, as crawled (``<token>-orig``)."""
    return document(f"{token}-orig", "Humas Blora", RELEASE_TITLE, RELEASE_TEXT, released_at,
                    url=f"{ORIGINAL_URL}?t={token}")  # fmt: skip
