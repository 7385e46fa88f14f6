"""A pushed article may name its outlet (issue 15, item 2): the name given wins over the page's
metadata, which wins over none; the domain stays in ``source``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.ingest.articles import ArticleIn, to_raw

HTML = (
    '<html><head><meta property="og:site_name" content="Suara Muria"><title>Banjir di Kudus</title></head>'
    "<body><article><h1>Banjir di Kudus</h1><p>" + "Banjir merendam tiga desa di Kudus pada Selasa pagi. " * 8
    + "</p></article></body></html>"
)  # fmt: skip


def test_the_outlet_given_is_kept_beside_the_domain() -> None:
    raw = to_raw(ArticleIn(url="https://www.lintasmuria.example/a", title="Banjir", text="Banjir di Kudus.",
                           outlet="  Lintas Muria "))  # fmt: skip
    assert (raw.outlet, raw.source) == ("Lintas Muria", "lintasmuria.example")


def test_without_a_name_none_is_invented() -> None:
    raw = to_raw(ArticleIn(url="https://kabarjateng.example/a", title="Banjir", text="Banjir di Kudus."))
    assert (raw.outlet, raw.source) == (None, "kabarjateng.example")


def test_the_name_given_beats_the_pages_metadata() -> None:
    assert to_raw(ArticleIn(url="https://x.example/a", title="Banjir", html=HTML)).outlet == "Suara Muria"
    given = ArticleIn(url="https://x.example/a", title="Banjir", html=HTML, outlet="Lintas Muria")
    assert to_raw(given).outlet == "Lintas Muria"


def test_an_empty_or_overlong_name_is_refused() -> None:
    for bad in ("", "x" * 201):
        with pytest.raises(ValidationError, match="outlet"):
            ArticleIn(url="https://x.example/a", title="Banjir", text="Banjir.", outlet=bad)
