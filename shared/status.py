"""``warta status``: the whole system on one screen.

Every component (the local stack's processes), consumer lag per group and partition, the Celery
queue length, the DLQ record counts per stage, the index document count and the slowest stage (mean
of the ``warta_stage_seconds`` histograms scraped from every process's ``/metrics``). ``--json``
prints the same as one JSON object. Each section is collected on its own with short timeouts: a
component that is down shows up as an error in its section, never as a hang.

Collection (``collect_*``) and presentation (``aggregate_*``, ``render``) are separate so the
latter are unit-tested without servers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.settings import CommonSettings
from shared.topics import Stage, Topic

# Consumer group (logical) -> the topic it consumes (logical).
GROUPS: dict[str, Topic] = {
    "enrich-bridge": Topic.ARTICLES_RAW,
    "search-indexer": Topic.ARTICLES_ENRICHED,
    "search-alerts": Topic.ARTICLES_INDEXED,
}
CELERY_QUEUE = "enrich"  # services.enrich.settings.EnrichSettings.queue
METRIC_COMPONENTS = {"ingest-api", "search-api", "enrich-bridge", "search-indexer", "search-alerts", "ingest-crawler"}


# --- pure aggregation ---------------------------------------------------------------------------


def aggregate_lag(
    group: str, topic: str, committed: Mapping[int, int | None], ends: Mapping[int, int], begins: Mapping[int, int]
) -> list[dict[str, Any]]:
    """One row per partition. A partition without a committed offset lags by everything retained."""
    rows = []
    for part in sorted(ends):
        end = ends[part]
        pos = committed.get(part)
        base = pos if pos is not None and pos >= 0 else begins.get(part, 0)
        rows.append({"group": group, "topic": topic, "partition": part, "committed": pos, "end": end,
                     "lag": max(0, end - base)})  # fmt: skip
    return rows


def aggregate_stage_seconds(metrics_texts: Iterable[str]) -> dict[str, dict[str, float]]:
    """Sum ``warta_stage_seconds`` sum and count per stage over several processes' /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[str, float]] = {}
    for text in metrics_texts:
        for family in text_string_to_metric_families(text):
            if family.name != "warta_stage_seconds":
                continue
            for s in family.samples:
                stage = s.labels.get("stage")
                if not stage or s.name not in ("warta_stage_seconds_sum", "warta_stage_seconds_count"):
                    continue
                entry = out.setdefault(stage, {"count": 0.0, "sum": 0.0})
                entry["sum" if s.name.endswith("_sum") else "count"] += float(s.value)
    for entry in out.values():
        entry["mean_s"] = entry["sum"] / entry["count"] if entry["count"] else 0.0
    return out


# Source health states a crawler exports as 0/1 gauges (services/ingest/crawler/metrics.py), in
# the precedence of services/ingest/crawler/health.py; a source with none set is ok.
SOURCE_STATES = ("blocked", "failing", "paywalled", "silent")


def aggregate_source_health(metrics_texts: Iterable[str]) -> dict[str, Any]:
    """Each source's health state from the ``warta_crawl_source_<state>`` gauges of the crawler
    (and ingest API) processes: ``{"states": {source_id: state}, "counts": {state: n}}``."""
    from prometheus_client.parser import text_string_to_metric_families

    flags: dict[str, set[str]] = {}
    for text in metrics_texts:
        for family in text_string_to_metric_families(text):
            state = family.name.removeprefix("warta_crawl_source_")
            if state not in SOURCE_STATES:
                continue
            for sample in family.samples:
                source = sample.labels.get("source_id")
                if source:
                    on = flags.setdefault(source, set())
                    if sample.value >= 1:
                        on.add(state)
    states = {sid: next((st for st in SOURCE_STATES if st in on), "ok") for sid, on in sorted(flags.items())}
    counts: dict[str, int] = {}
    for st in states.values():
        counts[st] = counts.get(st, 0) + 1
    return {"states": states, "counts": counts}


def slowest_stage(stages: Mapping[str, Mapping[str, float]]) -> str | None:
    measured = {k: v["mean_s"] for k, v in stages.items() if v.get("count")}
    return max(measured, key=lambda k: measured[k]) if measured else None


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render(report: Mapping[str, Any]) -> str:
    """The one-screen text view of a report produced by :func:`collect`."""
    lines: list[str] = []
    add = lines.append

    def section(title: str, key: str) -> Any:
        add("")
        add(title)
        value = report.get(key)
        if isinstance(value, dict) and "error" in value:
            add(f"  unavailable: {value['error']}")
            return None
        return value

    cfg = report.get("config", {})
    add(f"Warta status   kafka {cfg.get('kafka')}   elasticsearch {cfg.get('es')}   redis {cfg.get('redis')}")
    comps = section("COMPONENTS", "components")
    if comps is not None:
        add(f"  {'component':<18}{'pid':>8}{'port':>7}  health")
        for r in comps:
            state = "healthy" if r.get("healthy") else ("running" if r.get("running") else "stopped")
            add(f"  {r['component']:<18}{r.get('pid') or '-':>8}{r.get('port') or '-':>7}  {state}")
    lag = section("CONSUMER LAG", "lag")
    if lag is not None:
        add(f"  {'group':<22}{'partition':>10}{'committed':>11}{'end':>10}{'lag':>9}")
        for r in lag["partitions"]:
            committed = "-" if r["committed"] is None else r["committed"]
            add(f"  {r['group']:<22}{r['partition']:>10}{committed:>11}{r['end']:>10}{r['lag']:>9}")
        add("  total: " + ", ".join(f"{g} {n}" for g, n in lag["total"].items()))
    queue = section("CELERY QUEUE", "queue")
    if queue is not None:
        add(f"  {queue['key']}: {queue['length']} task(s) waiting")
    dlq = section("DLQ", "dlq")
    if dlq is not None:
        add("  " + ", ".join(f"{stage}: {n} record(s)" for stage, n in dlq.items()))
    index = section("INDEX", "index")
    if index is not None:
        names = index["indices"]
        behind = f"{len(names)} indices, {names[0]} ... {names[-1]}" if len(names) > 3 else ", ".join(names)
        add(f"  {index['alias']} -> {behind or '(no index)'}: {index['docs']} document(s)")
    cluster = section("CLUSTER", "cluster")
    if cluster is not None:
        render_cluster(cluster, add)
    sources = section("SOURCES (crawler health; reasons on the Sources page)", "sources")
    if sources is not None:
        if not sources["states"]:
            add("  no source health yet (is the crawler's metrics port reachable?)")
        else:
            add("  " + ", ".join(f"{n} {st}" for st, n in sorted(sources["counts"].items())))
            for sid, st in sources["states"].items():
                if st != "ok":
                    add(f"  {sid:<30}{st}")
    stages = section("STAGES (mean time per unit of work)", "stages")
    if stages is not None:
        if not stages["per_stage"]:
            add("  no measurements yet (are the processes' metrics ports reachable?)")
        for name, v in sorted(stages["per_stage"].items(), key=lambda kv: -kv[1]["mean_s"]):
            mark = "  <- slowest" if name == stages["slowest"] else ""
            add(f"  {name:<10}{_fmt_s(v['mean_s']):>12}  over {int(v['count'])}{mark}")
    return "\n".join(lines)


def render_cluster(cluster: Mapping[str, Any], add: Callable[[str], None]) -> None:
    kafka, es, rds = cluster.get("kafka", {}), cluster.get("elasticsearch", {}), cluster.get("redis", {})
    if "error" in kafka:
        add(f"  kafka: unavailable: {kafka['error']}")
    else:
        add(f"  kafka: {len(kafka['brokers'])} broker(s), {len(kafka['under_replicated'])} under-replicated "
            f"of {kafka['partitions']} partition(s)")  # fmt: skip
        for b in kafka["brokers"]:
            mark = "  controller" if b["controller"] else ""
            add(f"    broker {b['id']:<3} {b['address']:<22} leads {b['leads']}{mark}")
        for u in kafka["under_replicated"]:
            add(f"    under-replicated {u['topic']}/{u['partition']}: isr {u['isr']} of replicas {u['replicas']}")
    if "error" in es:
        add(f"  elasticsearch: unavailable: {es['error']}")
    else:
        add(f"  elasticsearch: {es['status']}, {len(es['nodes'])} node(s), {es['active_shards']} active shard(s), "
            f"{es['unassigned_shards']} unassigned")  # fmt: skip
        for n in es["nodes"]:
            mark = "  master" if n["master"] else ""
            add(f"    node {n['name']:<12} {n['address'] or '-':<22} heap {n['heap_percent']}%{mark}")
    if "error" in rds:
        add(f"  redis: unavailable: {rds['error']}")
    elif rds.get("mode") == "sentinel":
        add(
            f"  redis: sentinel master {rds['name']} at {rds['master'] or '(unknown)'} ({rds['sentinels']} sentinel(s))"
        )
    else:
        add(f"  redis: single server {rds.get('master')}")


# --- collection ---------------------------------------------------------------------------------


def collect_components() -> list[dict[str, Any]]:
    """The local stack's processes, and the cluster stack's when it has any running."""
    from shared.stack import manager

    cluster = [{**r, "component": f"cluster/{r['component']}"} for r in manager.status_cluster() if r["running"]]
    return manager.status() + cluster


def metrics_urls() -> list[str]:
    """The /metrics URLs of the local stack's Warta processes."""
    from shared.stack import manager
    from shared.stack.infra import Paths

    s = manager.StackSettings()
    comps = manager.components(s, Paths(s.dir.resolve()))
    return [f"http://127.0.0.1:{c.port}/metrics" for c in comps
            if c.kind == "warta" and c.port and (c.name in METRIC_COMPONENTS or c.name.startswith("enrich-worker"))]  # fmt: skip


def collect_lag(settings: CommonSettings) -> dict[str, Any]:
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    servers = settings.kafka_bootstrap.split(",")
    admin = KafkaAdminClient(bootstrap_servers=servers, client_id="warta-status", request_timeout_ms=5000)
    consumer = KafkaConsumer(bootstrap_servers=servers, client_id="warta-status", request_timeout_ms=5000,
                             enable_auto_commit=False)  # fmt: skip
    try:
        rows: list[dict[str, Any]] = []
        for group, topic in GROUPS.items():
            physical = settings.topic(topic)
            parts = [TopicPartition(physical, p) for p in sorted(consumer.partitions_for_topic(physical) or [])]
            if not parts:
                continue
            group_id = f"{settings.topic_prefix}{group}"
            offsets = admin.list_consumer_group_offsets(group_id)
            committed = {tp.partition: (om.offset if om.offset >= 0 else None) for tp, om in offsets.items()
                         if tp.topic == physical}  # fmt: skip
            ends = {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
            begins = {tp.partition: off for tp, off in consumer.beginning_offsets(parts).items()}
            rows += aggregate_lag(group, physical, committed, ends, begins)
        total: dict[str, int] = {}
        for r in rows:
            total[r["group"]] = total.get(r["group"], 0) + r["lag"]
        return {"partitions": rows, "total": total}
    finally:
        consumer.close()
        admin.close()


def collect_dlq(settings: CommonSettings) -> dict[str, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), client_id="warta-status",
                             request_timeout_ms=5000, enable_auto_commit=False)  # fmt: skip
    try:
        out = {}
        for stage in Stage:
            topic = settings.topic(stage.dlq)
            parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
            if not parts:
                out[stage.value] = 0
                continue
            ends, begins = consumer.end_offsets(parts), consumer.beginning_offsets(parts)
            out[stage.value] = sum(ends[tp] - begins[tp] for tp in parts)
        return out
    finally:
        consumer.close()


def collect_queue(settings: CommonSettings) -> dict[str, Any]:
    from shared.redis_clients import redis_client

    r = redis_client(settings.redis_url, sentinels=settings.redis_sentinels, master=settings.redis_sentinel_master,
                     socket_timeout=3, socket_connect_timeout=3)  # fmt: skip
    try:
        key = f"{settings.redis_prefix}{CELERY_QUEUE}"
        return {"key": key, "length": int(r.llen(key))}
    finally:
        r.close()


def collect_index(settings: CommonSettings) -> dict[str, Any]:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(settings.es_hosts, request_timeout=5, max_retries=0)
    alias = settings.alias
    try:
        indices = sorted(es.options(ignore_status=404).indices.get_alias(name=alias).body.keys()) \
            if es.indices.exists_alias(name=alias) else []  # fmt: skip
        docs = int(es.count(index=alias)["count"]) if indices else 0
        return {"alias": alias, "indices": indices, "docs": docs}
    finally:
        es.close()


def collect_cluster(settings: CommonSettings) -> dict[str, Any]:
    """Every Kafka broker with the partitions of Warta's topics it leads, the under-replicated
    partitions, every Elasticsearch node with the cluster health, and where Redis's master is
    (the Sentinel's answer when ``WARTA_REDIS_SENTINELS`` is set). Each part fails on its own."""
    return {"kafka": _safe(lambda: collect_kafka_cluster(settings)), "elasticsearch": _safe(lambda: collect_es_cluster(settings)),
            "redis": _safe(lambda: collect_redis_cluster(settings))}  # fmt: skip


def collect_kafka_cluster(settings: CommonSettings) -> dict[str, Any]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","), client_id="warta-status",
                             request_timeout_ms=5000)  # fmt: skip
    try:
        cluster = admin.describe_cluster()
        names = set(admin.list_topics())
        topics = [settings.topic(t) for t in Topic if settings.topic(t) in names]
        described = admin.describe_topics(topics) if topics else []
    finally:
        admin.close()
    return aggregate_kafka_cluster(cluster, described)


def aggregate_kafka_cluster(cluster: Mapping[str, Any], topics: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Brokers (with the partitions each leads) and the under-replicated partitions: those whose
    in-sync replicas are fewer than their replicas, or that have no leader."""
    leads: dict[int, int] = {}
    under: list[dict[str, Any]] = []
    partitions = 0
    for t in topics:
        for part in t.get("partitions", []):
            partitions += 1
            leader = part.get("leader", -1)
            if leader is not None and leader >= 0:
                leads[leader] = leads.get(leader, 0) + 1
            replicas, isr = list(part.get("replicas", [])), list(part.get("isr", []))
            if len(isr) < len(replicas) or leader is None or leader < 0:
                under.append({"topic": t["topic"], "partition": part["partition"], "leader": leader,
                              "replicas": replicas, "isr": isr})  # fmt: skip
    brokers = [{"id": b["node_id"], "address": f"{b['host']}:{b['port']}", "leads": leads.get(b["node_id"], 0),
                "controller": b["node_id"] == cluster.get("controller_id")}
               for b in sorted(cluster.get("brokers", []), key=lambda b: b["node_id"])]  # fmt: skip
    return {"brokers": brokers, "partitions": partitions, "under_replicated": under}


def collect_es_cluster(settings: CommonSettings) -> dict[str, Any]:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(settings.es_hosts, request_timeout=5, max_retries=1)
    try:
        health = es.cluster.health().body
        nodes = es.cat.nodes(format="json", h="name,http_address,heap.percent,node.role,master").body
    finally:
        es.close()
    return {
        "status": health["status"],
        "nodes": [
            {
                "name": n["name"],
                "address": n.get("http_address"),
                "heap_percent": n.get("heap.percent"),
                "master": n.get("master") == "*",
            }
            for n in sorted(nodes, key=lambda n: n["name"])
        ],
        "active_shards": health["active_shards"],
        "unassigned_shards": health["unassigned_shards"],
    }


def collect_redis_cluster(settings: CommonSettings) -> dict[str, Any]:
    from shared.redis_clients import parse_sentinels, sentinel_master

    if not settings.redis_sentinels:
        return {"mode": "single", "master": settings.redis_url}
    master = sentinel_master(settings.redis_sentinels, settings.redis_sentinel_master)
    return {"mode": "sentinel", "name": settings.redis_sentinel_master,
            "master": f"{master[0]}:{master[1]}" if master else None,
            "sentinels": len(parse_sentinels(settings.redis_sentinels))}  # fmt: skip


def _scrape(urls: Iterable[str]) -> list[str]:
    """The metrics pages that answered 200 (a process that is down is skipped)."""
    import httpx

    texts = []
    for url in urls:
        try:
            r = httpx.get(url, timeout=2, follow_redirects=True)
        except httpx.HTTPError:
            continue
        if r.status_code == 200:
            texts.append(r.text)
    return texts


def collect_stages(urls: Iterable[str]) -> dict[str, Any]:
    texts = _scrape(urls)
    per_stage = aggregate_stage_seconds(texts)
    return {"per_stage": per_stage, "slowest": slowest_stage(per_stage), "scraped": len(texts)}


def collect_sources(urls: Iterable[str]) -> dict[str, Any]:
    return aggregate_source_health(_scrape(urls))


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def collect(settings: CommonSettings, extra_metrics: Iterable[str] = (), stack: bool = True) -> dict[str, Any]:
    urls = [*(metrics_urls() if stack else []), *extra_metrics]
    jobs: dict[str, Callable[[], Any]] = {
        "lag": lambda: collect_lag(settings),
        "queue": lambda: collect_queue(settings),
        "dlq": lambda: collect_dlq(settings),
        "index": lambda: collect_index(settings),
        "stages": lambda: collect_stages(urls),
        "sources": lambda: collect_sources(urls),
        "cluster": lambda: collect_cluster(settings),
    }
    if stack:
        jobs["components"] = collect_components
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {k: pool.submit(_safe, fn) for k, fn in jobs.items()}
        report: dict[str, Any] = {k: f.result() for k, f in futures.items()}
    redis_at = f"sentinel {settings.redis_sentinels}" if settings.redis_sentinels else settings.redis_url
    report["config"] = {"kafka": settings.kafka_bootstrap, "es": settings.es_url, "redis": redis_at,
                        "topic_prefix": settings.topic_prefix, "index_prefix": settings.index_prefix}  # fmt: skip
    return report


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="warta status", description="Every component, lag, queue, DLQ, index and the slowest stage."
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--metrics", action="append", default=[], metavar="URL",
                   help="another /metrics URL to include in the stage timings (repeatable)")  # fmt: skip
    p.add_argument("--no-stack", action="store_true", help="skip the local stack's process table and metrics ports")
    a = p.parse_args(argv)
    report = collect(CommonSettings(), extra_metrics=a.metrics, stack=not a.no_stack)
    if a.json:
        print(json.dumps(report, default=str))
    else:
        print(render(report))
    failed = [k for k in ("lag", "queue", "dlq", "index") if isinstance(report.get(k), dict) and "error" in report[k]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
