"""Prometheus metrics of the crawler. Labels: source id (sources are few), and small fixed sets
of outcomes and reasons (the reasons are the FetchError / DiscoveryError / crawler labels)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CRAWL_ITEMS = Counter(
    "warta_crawl_items_total",
    "Article URLs per source by outcome (discovered, fetched, published, skipped, failed) and reason",
    ["source_id", "outcome", "reason"],
)
CRAWL_RUNS = Counter("warta_crawl_runs_total", "Crawls per source by status", ["source_id", "status"])
CRAWL_SECONDS = Histogram(
    "warta_crawl_duration_seconds",
    "Duration of one crawl of one source",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
FETCH_SECONDS = Histogram(
    "warta_crawl_fetch_seconds",
    "Duration of one page fetch (including politeness waits)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SOURCE_SILENT = Gauge(
    "warta_crawl_source_silent",
    "1 when the source produced nothing for several usual intervals",
    ["source_id"],
    multiprocess_mode="max",
)
SOURCE_FAILING = Gauge(
    "warta_crawl_source_failing", "1 when the source failed repeatedly", ["source_id"], multiprocess_mode="max"
)
SOURCE_BLOCKED = Gauge(
    "warta_crawl_source_blocked",
    "1 when the site keeps the crawler out (HTTP 403/429/451, bot challenge, JavaScript shell, short pages)",
    ["source_id"],
    multiprocess_mode="max",
)
SOURCE_PAYWALLED = Gauge(
    "warta_crawl_source_paywalled",
    "1 when most articles the source fetched are behind a paywall",
    ["source_id"],
    multiprocess_mode="max",
)
LAST_SUCCESS = Gauge(
    "warta_crawl_last_success_timestamp_seconds",
    "Unix time of the last successful crawl",
    ["source_id"],
    multiprocess_mode="max",
)
NEXT_CRAWL = Gauge(
    "warta_crawl_next_crawl_timestamp_seconds",
    "Unix time of the next scheduled crawl",
    ["source_id"],
    multiprocess_mode="max",
)
LEASES_HELD = Gauge(
    "warta_crawl_host_leases_held", "Host leases this crawler process holds", multiprocess_mode="livesum"
)
LEASE_TAKEOVERS = Counter(
    "warta_crawl_host_lease_takeovers_total",
    "Host leases taken from a crawler that never released them (it died or stalled)",
)
LEASE_LOSSES = Counter(
    "warta_crawl_host_lease_losses_total",
    "Host leases this crawler lost (renewal refused or too late); it stopped fetching the host",
)
