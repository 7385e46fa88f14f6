"""The Grafana dashboard, the alert rules and the scrape config in deploy/ parse, and every metric
they reference is one Warta actually exports (shared/metrics.py, the crawler's metrics)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import Counter, Gauge, Histogram, Summary

import services.ingest.crawler.metrics as crawler_metrics
import shared.metrics as shared_metrics

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
METRIC_RE = re.compile(r"\bwarta_[a-z0-9_]+\b")
LABEL_MATCH_RE = re.compile(r"\b(stage|outcome)\s*(=~|=)\s*\"([^\"]*)\"")


def exported_series() -> dict[str, set[str]]:
    """Every series name Warta exports -> its label names."""
    out: dict[str, set[str]] = {}
    for module in (shared_metrics, crawler_metrics):
        for obj in vars(module).values():
            if not isinstance(obj, Counter | Gauge | Histogram | Summary):
                continue
            name, labels = obj._name, set(obj._labelnames)
            if isinstance(obj, Counter):
                names = [f"{name}_total"]
            elif isinstance(obj, Histogram):
                names = [f"{name}_bucket", f"{name}_sum", f"{name}_count"]
                labels = labels | {"le"}
            else:
                names = [name]
            for n in names:
                out[n] = labels
    return out


def dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_exported_series_are_found() -> None:
    series = exported_series()
    assert {"warta_messages_total", "warta_freshness_seconds_bucket", "warta_consumer_lag",
            "warta_crawl_source_silent"} <= set(series)  # fmt: skip


def test_dashboard_parses_and_has_the_required_panels() -> None:
    dash = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    assert dash["uid"] and dash["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    exprs = " ".join(dashboard_exprs())
    for metric in ("warta_messages_total", "warta_consumer_lag", "warta_celery_queue_length", "warta_dlq_total",
                   "warta_freshness_seconds_bucket", "warta_partitions_paused"):  # fmt: skip
        assert metric in exprs, f"no panel shows {metric}"
    for q in ("0.50", "0.95", "0.99"):
        assert f"histogram_quantile({q}, sum by (le) (rate(warta_freshness_seconds_bucket" in exprs


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()
    names = {r["alert"] for r in rules}
    assert {"WartaConsumerLagHigh", "WartaDlqGrowth", "WartaSourceSilent", "WartaFreshnessP95High"} <= names
    for r in rules:
        assert r["expr"].strip() and r["labels"]["severity"] in {"info", "warning", "critical"}
        assert r["annotations"]["summary"]
        if "for" in r:
            assert re.fullmatch(r"\d+[smh]", r["for"]), r["for"]
    freshness = next(r for r in rules if r["alert"] == "WartaFreshnessP95High")
    assert "histogram_quantile(0.95" in freshness["expr"] and freshness["expr"].rstrip().endswith("> 3")
    silent = next(r for r in rules if r["alert"] == "WartaSourceSilent")
    assert "warta_crawl_source_silent" in silent["expr"]
    for state in ("blocked", "paywalled"):
        rule = next(r for r in rules if r["alert"] == f"WartaSource{state.capitalize()}")
        assert f"warta_crawl_source_{state}" in rule["expr"]


def test_every_referenced_metric_and_label_exists() -> None:
    series = exported_series()
    exprs = dashboard_exprs() + [r["expr"] for r in alert_rules()]
    stages = set(shared_metrics.STAGES) | {"index"}
    for expr in exprs:
        for metric in METRIC_RE.findall(expr):
            assert metric in series, f"{metric} (in {expr!r}) is not exported by Warta"
        for label, op, value in LABEL_MATCH_RE.findall(expr):
            if label == "stage":
                wanted = value.split("|") if op == "=~" else [value]
                assert set(wanted) <= stages, f"unknown stage in {expr!r}"
        for group in re.findall(r"by \(([^)]*)\)", expr):
            labels = {x.strip() for x in group.split(",")}
            used = [m for m in METRIC_RE.findall(expr)]
            allowed = set().union(*(series[m] for m in used)) if used else set()
            assert labels <= allowed, f"{expr!r} groups by {labels - allowed}, which its metrics do not have"


def test_scrape_config_covers_every_process_and_loads_the_rules() -> None:
    doc = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert "prometheus-alerts.yml" in doc["rule_files"]
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    warta_services = {name for name, svc in compose["services"].items() if svc.get("image", "").startswith("warta")}
    warta_services -= {"setup"}  # a one-shot job, no metrics
    scraped = set()
    for job in doc["scrape_configs"]:
        for sc in job.get("static_configs", []):
            scraped |= {t.split(":")[0] for t in sc["targets"]}
        for sd in job.get("dns_sd_configs", []):
            scraped |= set(sd["names"])
    assert warta_services <= scraped, f"not scraped: {warta_services - scraped}"
    assert scraped <= set(compose["services"]), f"unknown services: {scraped - set(compose['services'])}"
