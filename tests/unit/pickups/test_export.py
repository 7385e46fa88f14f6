"""The proof sheet's delays: to the minute, as the release page shows them ("2 jam 20 mnt",
"3 hari 4 jam"), in the sheet's language; never decimal hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.search.pickups import ReleaseText, pickup_of
from services.search.pickups.export import LABELS, delay_text, proof_html
from tests.integration.search.pickup_corpus import RELEASE_TEXT, RELEASE_TITLE

AT = datetime(2025, 6, 2, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "id_text", "en_text"),
    [
        (0, "0 mnt", "0 min"),
        (29, "0 mnt", "0 min"),
        (35 * 60, "35 mnt", "35 min"),
        (3600, "1 jam", "1 h"),
        (2 * 3600 + 20 * 60, "2 jam 20 mnt", "2 h 20 min"),
        (2 * 3600 + 15 * 60, "2 jam 15 mnt", "2 h 15 min"),  # decimal hours made both "2.3 jam"
        (91 * 60 + 10, "1 jam 31 mnt", "1 h 31 min"),
        (26 * 3600, "1 hari 2 jam", "1 d 2 h"),
        (3 * 86400 + 4 * 3600 + 59, "3 hari 4 jam", "3 d 4 h"),
        (3 * 86400 + 20 * 60, "3 hari", "3 d"),  # days: to the hour
        (-10 * 60, "\u221210 mnt", "\u221210 min"),  # carried before the release time
        (None, "–", "–"),
    ],
)
def test_delay_to_the_minute(seconds: int | None, id_text: str, en_text: str) -> None:
    assert delay_text(seconds, "id") == id_text
    assert delay_text(seconds, "en") == en_text


def test_the_proof_sheet_shows_delays_like_the_release_page() -> None:
    release = ReleaseText.of(RELEASE_TITLE, RELEASE_TEXT)
    pickups = []
    for i, delay in enumerate((timedelta(minutes=140), timedelta(hours=76))):
        src = {"id": f"a{i}", "title": RELEASE_TITLE, "body": RELEASE_TEXT, "url": f"https://x.example/{i}",
               "source": "x.example", "outlet": f"Media {i}", "published_at": (AT + delay).isoformat()}  # fmt: skip
        p = pickup_of(release, AT, src)
        assert p is not None
        pickups.append(p)
    doc = {"id": "r", "title": RELEASE_TITLE, "released_at": AT.isoformat(), "window_days": 7,
           "window_end": (AT + timedelta(days=7)).isoformat(), "url": None, "pickups": pickups}  # fmt: skip
    html = proof_html(doc, "id")
    assert ">2 jam 20 mnt<" in html and ">3 hari 4 jam<" in html and "2.3 jam" not in html
    en = proof_html(doc, "en")
    assert ">2 h 20 min<" in en and ">3 d 4 h<" in en
    assert LABELS["id"]["kept"] == "Isi dipertahankan" and LABELS["en"]["kept"] == "Text kept"
