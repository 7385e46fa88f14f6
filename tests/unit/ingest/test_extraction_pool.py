"""The extraction worker pool: what bounds the CPU an HTML push can cost (real processes, no
network)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from services.ingest.extract.pool import CpuBudget, ExtractionBudgetSpent, ExtractionPool, ExtractionTooSlow

PAGE = (
    "<html><body><article>"
    + "".join(f"<p>Paragraf {i}: pemerintah kabupaten membahas anggaran daerah bersama dewan.</p>" for i in range(20))
    + "</article></body></html>"
)


def link_heavy(size: int) -> str:
    """Markup that costs extraction about 6 µs per byte on this machine (HEAD: ~6 s per MiB in the
    request's thread, unbounded)."""
    words = " ".join(f"kata{i % 997}" for i in range(40))
    link = f'<a href="/x">{words}</a> '
    return "<html><body><div>" + link * (size // len(link)) + "</div></body></html>"


@pytest.fixture
def pool() -> Iterator[ExtractionPool]:
    p = ExtractionPool(workers=1, cpu_limit_s=0.5)
    try:
        yield p
    finally:
        p.close()


def test_extracts_a_page_in_a_worker(pool: ExtractionPool) -> None:
    article = pool.extract(PAGE, "https://berita.example/a")
    assert "anggaran daerah" in article.text


def test_a_page_over_the_cpu_limit_is_stopped_and_the_pool_recovers(pool: ExtractionPool) -> None:
    pool.extract(PAGE, "https://berita.example/warm-up")
    t0 = time.monotonic()
    with pytest.raises(ExtractionTooSlow) as caught:
        pool.extract(link_heavy(1024 * 1024), "https://berita.example/links")
    assert time.monotonic() - t0 < 4.0  # 0.5 s of CPU, plus the page's transfer and a busy machine
    assert caught.value.limit_s == 0.5
    # The interrupted worker was replaced: the next page is extracted normally.
    assert "anggaran daerah" in pool.extract(PAGE, "https://berita.example/b").text


def test_a_closed_pool_refuses_work(pool: ExtractionPool) -> None:
    pool.close()
    with pytest.raises(RuntimeError):
        pool.extract(PAGE, "https://berita.example/a")


def test_a_batch_budget_stops_and_then_refuses_pages(pool: ExtractionPool) -> None:
    budget = CpuBudget(0.8)
    page = link_heavy(1024 * 1024)
    with pytest.raises(ExtractionTooSlow) as first:
        pool.extract(page, "https://berita.example/1", budget=budget)
    assert not isinstance(first.value, ExtractionBudgetSpent)  # its own 0.5 s limit
    with pytest.raises(ExtractionBudgetSpent):  # the 0.3 s left of the budget
        pool.extract(page, "https://berita.example/2", budget=budget)
    t0 = time.monotonic()
    with pytest.raises(ExtractionBudgetSpent):  # nothing left: not even started
        pool.extract(PAGE, "https://berita.example/3", budget=budget)
    assert time.monotonic() - t0 < 0.1
    assert budget.remaining() <= 0.01
