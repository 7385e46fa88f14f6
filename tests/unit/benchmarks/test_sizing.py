"""The publication-hour count of ``python -m benchmarks.bench_sizing`` (benchmarks/bench_sizing.py),
which gives the sizing guide its peak-to-average ratio, and its size summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.bench_sizing import publication_hours, summary


def _write(folder: Path, urls: list[str]) -> None:
    lines = [json.dumps({"id": str(i), "source_url": url}) for i, url in enumerate(urls)]
    (folder / "dev.01.jsonl").write_text("\n".join(lines) + "\n")


def test_publication_hours_reads_the_time_in_cnn_indonesia_and_suara_urls(tmp_path: Path) -> None:
    _write(tmp_path, [
        # CNN Indonesia: /YYYYMMDDHHMMSS-, Suara: /YYYY/MM/DD/HHMMSS/ (both WIB).
        "http://www.cnnindonesia.com/olahraga/20161112230644-142-172253/ronaldo/",  # Saturday 23:06
        "http://m.cnnindonesia.com/ekonomi/20170608134411-85-220331/pertamina/",  # Thursday 13:44
        "http://www.suara.com/entertainment/2017/09/06/181222/bocor-james-bond",  # Wednesday 18:12
        "http://www.suara.com/bisnis/2017/03/13/201620/mentan-lepas-ekspor",  # Monday 20:16
        "http://www.suara.com/bisnis/2017/03/13/201900/mentan-lagi",  # Monday 20:19
        # No time in the URL, or not a time of day: not counted.
        "https://kumparan.com/ananda/ketua-mpr-mustahil",
        "http://www.antaranews.com/berita/659644/jayawijaya",
        "http://www.cnnindonesia.com/olahraga/20161112990644-142-1/bad-hour/",
        "",
    ])  # fmt: skip
    hours = publication_hours(tmp_path)
    assert hours["articles"] == 5
    assert hours["days"] == 4 and (hours["first_day"], hours["last_day"]) == ("2016-11-12", "2017-09-06")
    assert {h: n for h, n in hours["per_hour"].items() if n} == {23: 1, 13: 1, 18: 1, 20: 2}
    assert hours["busiest_hour"] == 20
    assert hours["busiest_hour_over_mean"] == pytest.approx(2 / (5 / 24), abs=0.01)  # 9.6
    assert hours["weekday_over_mean"] == {
        "Mon": 2.8,
        "Tue": 0.0,
        "Wed": 1.4,
        "Thu": 1.4,
        "Fri": 0.0,
        "Sat": 1.4,
        "Sun": 0.0,
    }
    assert hours["busiest_weekday_over_mean"] == 2.8


def test_summary_of_record_sizes() -> None:
    sizes = list(range(1, 101))
    assert summary(sizes) == {"records": 100, "mean_bytes": 50.5, "median_bytes": 50.5, "p95_bytes": 95.0}
