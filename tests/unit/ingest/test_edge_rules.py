"""The ingest edge rules (services/ingest/articles.py, services/ingest/urls.py, shared/limits.py):
byte limits, the publication-date rule, URL and title rules. Pure functions, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from services.ingest.articles import ArticleIn, InvalidArticle, build_raw_article, clean_line, to_raw
from services.ingest.extract.model import ExtractedArticle
from services.ingest.urls import InvalidURL, canonical_url, clean_url
from shared.ids import article_id
from shared.limits import (
    MAX_HTML_BYTES,
    MAX_TEXT_BYTES,
    MAX_TITLE_CHARS,
    TooLarge,
    encoded_size,
    is_plausible_published_at,
    published_at_problem,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
URL = "https://berita.example/2025/06/01/banjir"


def _article(**overrides: object) -> ArticleIn:
    return ArticleIn.model_validate({"url": URL, "title": "Banjir di Kudus", "text": "Isi berita.", **overrides})


def _build(**overrides: object) -> object:
    fields: dict[str, object] = {
        "url": URL,
        "canonical": URL,
        "title": "Banjir",
        "text": "Isi berita.",
        "source": "berita.example",
        "origin": "crawler",
        "ingested_at": NOW,
        **overrides,
    }
    return build_raw_article(**fields)  # type: ignore[arg-type]


# --- sizes: one rule, in bytes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("😀" * 199_999, 4 * 199_999), ("中" * 170_000, 3 * 170_000), ('"' * 200_000, 2 * 200_000)],
    ids=["emoji", "cjk", "escaped-quotes"],
)
def test_text_over_the_byte_limit_is_refused_naming_field_size_and_limit(text: str, size: int) -> None:
    # HEAD: these were under the 200,000-character limit and went to Kafka (the emoji one at
    # ~800 KB raw, 1.6 MB enriched: over the broker's limit).
    with pytest.raises(TooLarge) as caught:
        _build(text=text)
    assert (caught.value.field, caught.value.size, caught.value.limit) == ("text", size, MAX_TEXT_BYTES)
    assert "text is" in str(caught.value) and f"{MAX_TEXT_BYTES:,}" in str(caught.value)


def test_a_long_ascii_text_under_the_byte_limit_is_accepted() -> None:
    # HEAD refused it (200,000 characters), although it is far under the broker's limit.
    text = "kata " * 70_000  # 350,000 bytes
    assert encoded_size(text) <= MAX_TEXT_BYTES
    assert _build(text=text).text == text  # type: ignore[attr-defined]


def test_html_over_its_cap_is_refused_before_extraction() -> None:
    calls: list[str] = []
    article = _article(text=None, html="<p>" + "x" * MAX_HTML_BYTES + "</p>")
    with pytest.raises(TooLarge) as caught:
        to_raw(article, lambda html, url: calls.append(url) or ExtractedArticle(url=url))  # type: ignore[func-returns-value]
    assert caught.value.field == "html" and caught.value.limit == MAX_HTML_BYTES
    assert calls == []


def test_html_that_extracts_to_more_than_the_text_limit_is_refused() -> None:
    # HEAD: RawArticle's validation failed inside the endpoint: a 500.
    article = _article(text=None, html="<p>small page</p>")
    big = ExtractedArticle(url=URL, title="x", text="中" * 150_000)
    with pytest.raises(TooLarge) as caught:
        to_raw(article, lambda html, url: big)
    assert caught.value.field == "text extracted from html"
    assert caught.value.size == 450_000


def test_metadata_is_bounded_so_the_record_stays_in_its_envelope() -> None:
    raw = _build(
        title="T" * (MAX_TITLE_CHARS + 500),
        description="d" * 100_000,
        authors=["a" * 10_000] * 100,
        tags=["t" * 10_000] * 1000,
        outlet="o" * 10_000,
    )
    assert len(raw.title) == MAX_TITLE_CHARS  # type: ignore[attr-defined]
    assert len(raw.to_bytes()) - len(raw.text) < 64 * 1024  # type: ignore[attr-defined]


# --- publication dates: one rule --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), False),
        (datetime(1970, 1, 1, tzinfo=UTC), False),
        (datetime(1994, 12, 31, 23, 59, tzinfo=UTC), False),
        (datetime(1995, 1, 1, tzinfo=UTC), True),
        (NOW - timedelta(days=3), True),
        (NOW + timedelta(minutes=59), True),
        (NOW + timedelta(minutes=61), False),
        (datetime(2025, 6, 1, 19, 30, tzinfo=timezone(timedelta(hours=7))), True),  # 12:30 UTC
        (datetime(2025, 6, 1, 12, 0), False),  # naive
    ],
)
def test_the_publication_date_rule(value: datetime, ok: bool) -> None:
    assert is_plausible_published_at(value, NOW) is ok
    assert (published_at_problem(value, NOW) is None) is ok


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00+07:00", "9999-12-31T23:59:59-14:00"])
def test_the_api_refuses_an_implausible_date_naming_published_at(value: str) -> None:
    # HEAD accepted 0001-01-01 and 1970 (it checked only the future).
    with pytest.raises(ValidationError) as caught:
        _article(published_at=value)
    assert caught.value.errors()[0]["loc"] == ("published_at",)
    assert "published_at" in caught.value.errors()[0]["msg"]


def test_the_extractor_and_the_crawler_use_the_same_rule() -> None:
    from services.ingest.dates import is_plausible

    # HEAD: the crawler and the extractor allowed 15 minutes of skew, the API an hour. The
    # extractor picks dates with services/ingest/dates.py; the crawler builds its articles with
    # build_raw_article, as the API does.
    ahead = datetime.now(UTC) + timedelta(minutes=45)
    assert is_plausible(ahead) and _build(published_at=ahead).published_at == ahead  # type: ignore[attr-defined]
    assert not is_plausible(datetime(1994, 6, 1, tzinfo=UTC))


# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com:99999/x",
        "http://example.com:abc/x",
        "http://example.com:0/x",
        "http://exa mple.com/x",
        "http://ex\x00ample.com/x",
        "http://ex\u202eample.com/x",
        "http://a..b/x",
        "http://[zz]/x",
        "http://[::1/x",
    ],
)
def test_bad_hosts_and_ports_are_refused(url: str) -> None:
    # HEAD: the port ones passed validation and raised ValueError in article_id (a 500); the
    # hosts were stored.
    with pytest.raises(InvalidURL):
        clean_url(url)
    with pytest.raises(InvalidURL):
        canonical_url(url)
    with pytest.raises(ValidationError) as caught:
        _article(url=url)
    assert caught.value.errors()[0]["loc"] == ("url",)


def test_credentials_are_removed_from_the_stored_and_the_canonical_url() -> None:
    # HEAD kept user:pass@ in both.
    article = _article(url="https://user:s3cret@Berita.example/2025/06/01/banjir?utm_source=x")
    raw = to_raw(article)
    assert "s3cret" not in raw.url and "user" not in raw.url
    assert raw.url == "https://Berita.example/2025/06/01/banjir?utm_source=x"
    assert raw.canonical_url == URL
    assert raw.id == article_id(URL)
    assert "s3cret" not in _build(url="http://u:s3cret@berita.example/x").url  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM:80/a?utm_source=x&b=2&a=1#frag", "http://example.com/a?a=1&b=2"),
        ("https://berita.example:443/x", "https://berita.example/x"),
        ("http://127.0.0.1:8101/kabar/a-1", "http://127.0.0.1:8101/kabar/a-1"),
        ("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://bücher.example/x", "http://bücher.example/x"),
        ("http://a_b.example.com/x y", "http://a_b.example.com/x%20y"),
    ],
)
def test_valid_urls_keep_their_canonical_form_and_id(url: str, canonical: str) -> None:
    assert clean_url(url) == url
    assert canonical_url(url) == canonical


# --- titles -----------------------------------------------------------------------------------


def test_titles_lose_controls_nul_and_bidi_controls() -> None:
    # HEAD stored them as sent.
    article = _article(title="Harga\x00 beras\u202e naik\u2066 di\x07 Kudus\u2069\t\n")
    assert article.title == "Harga beras naik di Kudus"
    assert to_raw(article).title == "Harga beras naik di Kudus"
    assert clean_line("\u05d0\u200f ok") == "\u05d0\u200f ok"  # RLM/LRM are legitimate: kept


def test_a_title_of_only_control_characters_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        _article(title="\u202e\x00\u2066")
    assert caught.value.errors()[0]["loc"] == ("title",)
    with pytest.raises(InvalidArticle) as refused:
        _build(title="\x00\u202e")
    assert refused.value.field == "title"
