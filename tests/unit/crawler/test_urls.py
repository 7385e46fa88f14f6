from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.urls import InvalidURL, canonicalize, compile_patterns, matches_patterns, same_site


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM:80/a/../b/?utm_source=x&b=2&a=1&fbclid=z#frag", "http://example.com/b/?a=1&b=2"),
        ("https://berita.example/2024/06/x/?utm_medium=rss&utm_campaign=x", "https://berita.example/2024/06/x/"),
        ("https://berita.example/x?gclid=1&id=3&mc_cid=2&igshid=9&share=wa", "https://berita.example/x?id=3"),
        ("http://127.0.0.1:8101/kabar/a-1?utm_source=homepage", "http://127.0.0.1:8101/kabar/a-1"),
        ("https://berita.example:443/./a/./b", "https://berita.example/a/b"),
    ],
)
def test_canonicalize(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected


def test_relative_links_resolve_against_the_page() -> None:
    page = "http://kabar.example/berita/"
    assert canonicalize("2024/06/a.html?utm_source=populer", base=page) == "http://kabar.example/berita/2024/06/a.html"
    assert canonicalize("../kanal/x", base="http://kabar.example/berita/2024/") == "http://kabar.example/berita/kanal/x"
    assert canonicalize("//cdn.example/x", base=page) == "http://cdn.example/x"


@pytest.mark.parametrize(
    "raw", ["mailto:redaksi@example.id", "javascript:void(0)", "ftp://x.example/a", "/relative/only", "http://"]
)
def test_non_http_urls_are_refused(raw: str) -> None:
    with pytest.raises(InvalidURL):
        canonicalize(raw)


@pytest.mark.parametrize(
    ("raw", "base"), [("http://[::1/x", None), ("http://[::1/x", "http://kabar.example/"), ("a", "http://[::1/")]
)
def test_unparsable_urls_are_refused_with_the_one_error(raw: str, base: str | None) -> None:
    # HEAD: a ValueError escaped canonicalize, so one such link in a feed crashed the whole crawl.
    with pytest.raises(InvalidURL):
        canonicalize(raw, base=base)


@given(
    path=st.lists(st.sampled_from(["a", "b", "..", ".", "berita", "2024"]), max_size=6),
    params=st.dictionaries(
        st.sampled_from(["id", "p", "utm_source", "fbclid", "hal"]), st.text("abc123", max_size=3), max_size=4
    ),
)
def test_canonicalize_is_idempotent(path: list[str], params: dict[str, str]) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = canonicalize("https://Berita.example/" + "/".join(path) + (f"?{query}" if query else ""))
    assert canonicalize(url) == url
    assert "utm_" not in url and "fbclid" not in url


def test_patterns_apply_to_path_and_query() -> None:
    include, exclude = compile_patterns([r"^/berita/.+\.html$"]), compile_patterns([r"cetak="])
    assert matches_patterns("http://a.example/berita/2024/06/x.html", include, exclude)
    assert not matches_patterns("http://a.example/kanal/x", include, exclude)
    assert not matches_patterns("http://a.example/berita/x.html?cetak=1", compile_patterns([r"^/berita/"]), exclude)
    assert matches_patterns("http://a.example/anything", [], [])


def test_same_site_ignores_www_but_not_port() -> None:
    assert same_site("https://www.a.example/x", "https://a.example/y")
    assert not same_site("http://127.0.0.1:8101/", "http://127.0.0.1:8102/")


def test_patterns_cannot_backtrack_catastrophically() -> None:
    # HEAD ran patterns on Python's re: about a second here, doubling with every "a".
    include = compile_patterns([r"(a+)+$"])
    t0 = time.perf_counter()
    assert not matches_patterns(f"https://berita.example/{'a' * 25}!", include, [])
    assert time.perf_counter() - t0 < 0.1
