"""``warta status`` aggregation and formatting, without servers."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

from shared.status import aggregate_lag, aggregate_stage_seconds, main, render, slowest_stage


def metrics_text(observations: dict[str, list[float]]) -> str:
    """/metrics text of one process that observed these stage timings."""
    registry = CollectorRegistry()
    h = Histogram("warta_stage_seconds", "x", ["stage"], registry=registry)
    for stage, values in observations.items():
        for v in values:
            h.labels(stage).observe(v)
    return generate_latest(registry).decode()


def test_lag_per_partition_uses_committed_or_retained_start() -> None:
    rows = aggregate_lag("search-indexer", "p-articles.enriched", committed={0: 90, 1: None},
                         ends={0: 100, 1: 50, 2: 7}, begins={0: 0, 1: 10, 2: 7})  # fmt: skip
    assert [(r["partition"], r["committed"], r["lag"]) for r in rows] == [(0, 90, 10), (1, None, 40), (2, None, 0)]


def test_stage_means_are_summed_over_processes_and_the_slowest_wins() -> None:
    worker_a = metrics_text({"enrich": [0.2, 0.4]})
    worker_b = metrics_text({"enrich": [0.3]})
    indexer = metrics_text({"index": [0.05, 0.15]})
    stages = aggregate_stage_seconds([worker_a, worker_b, indexer, "# not a metric line\n"])
    assert stages["enrich"]["count"] == 3
    assert abs(stages["enrich"]["mean_s"] - 0.3) < 1e-9
    assert abs(stages["index"]["mean_s"] - 0.1) < 1e-9
    assert slowest_stage(stages) == "enrich"
    assert slowest_stage({}) is None
    assert slowest_stage({"x": {"count": 0, "sum": 0, "mean_s": 0}}) is None


def report() -> dict[str, object]:
    return {
        "config": {"kafka": "k:9092", "es": "http://e:9200", "redis": "redis://r:6379/0"},
        "components": [{"component": "kafka", "pid": 12, "port": 9092, "running": True, "healthy": True},
                       {"component": "enrich-bridge", "pid": None, "port": 9101, "running": False, "healthy": False}],
        "lag": {"partitions": aggregate_lag("enrich-bridge", "articles.raw", {0: 5}, {0: 8}, {0: 0}),
                "total": {"enrich-bridge": 3}},
        "queue": {"key": "warta:enrich", "length": 17},
        "dlq": {"enrich": 2, "search": 0},
        "index": {"alias": "articles", "indices": ["articles-v2"], "docs": 1234},
        "stages": {"per_stage": {"enrich": {"count": 10, "sum": 1.0, "mean_s": 0.1},
                                 "index": {"count": 4, "sum": 0.02, "mean_s": 0.005}}, "slowest": "enrich"},
    }  # fmt: skip


def test_render_shows_every_section_on_one_screen() -> None:
    text = render(report())
    assert "enrich-bridge" in text and "stopped" in text and "healthy" in text
    assert "total: enrich-bridge 3" in text
    assert "warta:enrich: 17 task(s) waiting" in text
    assert "enrich: 2 record(s), search: 0 record(s)" in text
    assert "articles -> articles-v2: 1234 document(s)" in text
    enrich_line = next(line for line in text.splitlines() if line.strip().startswith("enrich ") and "ms" in line)
    assert "100.0 ms" in enrich_line and "slowest" in enrich_line
    assert len(text.splitlines()) < 40, "one screen"


def test_render_sums_up_monthly_indices_on_one_line() -> None:
    r = report()
    r["index"] = {"alias": "articles", "indices": [f"articles-v1-2026.{m:02d}" for m in range(1, 13)], "docs": 99}
    assert "articles -> 12 indices, articles-v1-2026.01 ... articles-v1-2026.12: 99 document(s)" in render(r)


def test_render_reports_a_section_that_failed() -> None:
    r = report()
    r["lag"] = {"error": "NoBrokersAvailable: NoBrokersAvailable"}
    text = render(r)
    assert "CONSUMER LAG\n  unavailable: NoBrokersAvailable" in text
    assert "CELERY QUEUE" in text  # the other sections still show


def test_main_json_and_exit_code(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import shared.status as status

    monkeypatch.setattr(status, "collect", lambda settings, extra_metrics=(), stack=True: report())
    assert main(["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["index"]["docs"] == 1234
    broken = report()
    broken["dlq"] = {"error": "down"}
    monkeypatch.setattr(status, "collect", lambda settings, extra_metrics=(), stack=True: broken)
    assert main([]) == 1
    assert "unavailable: down" in capsys.readouterr().out


def test_source_health_states_from_the_crawler_gauges() -> None:
    """Each source's state by health.py's precedence, over the crawler's and the ingest API's
    /metrics; ``render`` lists the sources that are not ok."""
    from shared.status import aggregate_source_health

    def process(flags: dict[str, dict[str, int]]) -> str:
        registry = CollectorRegistry()
        gauges = {st: Gauge(f"warta_crawl_source_{st}", "x", ["source_id"], registry=registry)
                  for st in ("silent", "failing", "blocked", "paywalled")}  # fmt: skip
        for sid, on in flags.items():
            for st, gauge in gauges.items():
                gauge.labels(sid).set(on.get(st, 0))
        return generate_latest(registry).decode()

    crawler = process(
        {"lm-rss": {}, "cf": {"blocked": 1, "failing": 1, "silent": 1}, "koran": {"paywalled": 1, "silent": 1}}
    )
    api = process({"sepi": {"silent": 1}, "lm-rss": {}})
    sources = aggregate_source_health([crawler, api])
    assert sources["states"] == {"cf": "blocked", "koran": "paywalled", "lm-rss": "ok", "sepi": "silent"}
    assert sources["counts"] == {"blocked": 1, "paywalled": 1, "ok": 1, "silent": 1}
    text = render({"sources": sources})
    assert "1 blocked, 1 ok, 1 paywalled, 1 silent" in text
    assert "cf                            blocked" in text and "lm-rss " not in text
