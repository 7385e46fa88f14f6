"""``make bench-alerts``: what the alerts consumer (``warta search alerts``) costs indexing, and how
soon it matches. Writes ``benchmarks/results/alerts.json``.

Documents: IndoSum development articles, enriched in this process by the real ``enrich()`` (so
their entities and regions are real), then fed to ``articles.enriched`` directly: the stages
measured are the indexer and the alerts consumer, not ingest and enrich.

Saved searches: 500 monitor queries of the kinds media monitors and PR teams write, built from the
same articles' entities (officials, institutions, places, regions) and words: phrases, ``entity:``
and ``region:`` filters, NEAR, wildcards, NOT, ``title:``, ``source:``. One in ten has a webhook
(a local receiver) in part 2, and in a third run of part 1.

1. **Indexing throughput with and without alerts.** Each round drains the same records through a
   fresh namespace three times: the indexer alone, the indexer with the alerts consumer running and
   500 saved searches active, and the same with one saved search in ten calling a webhook. The rate
   is the indexer's committed records per second from its first commit (as in ``bench_pipeline``);
   the order of the runs rotates from round to round, so drift in machine speed hits all of them;
   a ratio is the median of the rounds' ratios. Also reported: the CPU-seconds each process
   (indexer, alerts, this checkout's Elasticsearch and Kafka) used during the drain, how long the
   alerts consumer took to catch up after the indexer finished, the matches it recorded and the
   webhook calls made.
2. **Index to match at a steady 20 articles/s** for 60 s, the indexer and the alerts consumer
   running with the 500 saved searches: per matched article, its earliest ``matched_at`` minus its
   ``indexed_at`` (p50/p95/p99), and index to webhook arrival for the monitors with a webhook.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from benchmarks.bench_search import percentile
from benchmarks.corpus import OUTLETS, indosum_articles, random_date
from services.search.alerts.store import DELIVERY_STATE_RESET, QUERY_STATE_RESET, AlertIndices
from services.search.query import parse
from shared.schemas import EnrichedArticle, utcnow
from shared.settings import articles_alias
from shared.topics import Topic
from tests.pipeline import ES_URL, KAFKA, Namespace, Pipeline
from tests.webhooks import Receiver

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
LOGS = Path(__file__).resolve().parents[1] / "artifacts" / "bench-alerts-logs"
STOPWORDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "stopwords" / "stopwords-id.txt"
ENV = {"WARTA_LOG_LEVEL": "WARNING"}


# --- documents and saved searches ----------------------------------------------------------------


def enriched_corpus(n: int, seed: int = 11) -> list[EnrichedArticle]:
    """``n`` IndoSum development articles through the real enrichment (entities, regions...)."""
    from services.enrich.enrichment import enrich
    from services.ingest.articles import ArticleIn, to_raw

    bases = indosum_articles()
    rng = random.Random(seed)
    raws = []
    for i in range(n):
        b = bases[i % len(bases)]
        outlet = OUTLETS[rng.randrange(len(OUTLETS))]
        raws.append(to_raw(ArticleIn.model_validate({
            "url": f"https://{outlet}/berita/bench-alerts/{i}", "title": b["title"], "text": b["text"],
            "published_at": random_date(rng, 30).isoformat(), "source": outlet})))  # fmt: skip
    return [enrich(r) for r in raws]


_NAME = re.compile(r"^[A-Za-z][A-Za-z .'-]{2,60}$")


def monitor_queries(corpus: list[EnrichedArticle], n: int = 500, seed: int = 3) -> list[str]:
    """``n`` realistic monitor queries from the corpus's entities and words (each one parses)."""
    rng = random.Random(seed)
    stop = set(STOPWORDS.read_text().split())
    people, orgs, places, regions, words = (collections.Counter[str]() for _ in range(5))
    for a in corpus:
        for e in {(e.type, e.canonical) for e in a.entities if _NAME.match(e.canonical)}:
            {"PER": people, "ORG": orgs, "LOC": places}[e[0]][e[1]] += 1
        regions.update({r.name for r in a.regions if _NAME.match(r.name)})
        words.update({w for w in re.findall(r"\b[a-z]{5,}\b", f"{a.title} {a.body}".lower()) if w not in stop})
    # Topic words as monitors use them: frequent enough to match, rare enough to mean something.
    topical = [w for w, c in words.most_common() if 5 <= c <= len(corpus) // 20][:800]

    def top(counter: collections.Counter[str], k: int) -> list[str]:
        # Names that recur, but not boilerplate: a name in more than 2% of the articles (an outlet's
        # own name, the country) is no one's monitor.
        common = max(2, len(corpus) // 50)
        return [name for name, c in counter.most_common() if 2 <= c <= common][:k] or list(counter)[:k]

    per, org, loc, reg = top(people, 150), top(orgs, 150), top(places, 100), top(regions, 60)

    def w() -> str:
        return rng.choice(topical)

    templates = [
        lambda: f'"{rng.choice(org)}"',
        lambda: f'"{rng.choice(per)}" OR "{rng.choice(per)}"',
        lambda: f'entity:"{rng.choice(org + per)}"',
        lambda: f'"{rng.choice(org)}" AND ({w()} OR {w()})',
        lambda: f'"{rng.choice(per)}" NEAR/10 {w()}',
        lambda: f'region:"{rng.choice(reg)}" AND ({w()} OR {w()} OR {w()})',
        lambda: f'"{rng.choice(loc)}" AND {w()} NOT {w()}',
        lambda: f"title:{w()} AND {w()[:4]}*",
        lambda: f"{w()} AND {w()} AND {w()}",
        lambda: f'source:{rng.choice(OUTLETS)} AND ("{rng.choice(org)}" OR {w()})',
        lambda: f'entity:"{rng.choice(per)}" AND NOT {w()}',
        lambda: f'"{rng.choice(loc)}" ONEAR/3 {w()}',
    ]
    out: list[str] = []
    while len(out) < n:
        query = templates[len(out) % len(templates)]()
        try:
            parse(query)
        except ValueError:
            continue
        out.append(query)
    return out


def save_monitors(es: Elasticsearch, prefix: str, queries: list[str], webhook: str | None) -> list[str]:
    """Store the saved searches as the API would (one in ten with ``webhook``); returns their ids."""
    idx = AlertIndices(prefix)
    idx.ensure(es)
    now = utcnow().isoformat()
    docs = [{"id": f"bench{n:04d}", "name": f"monitor {n}", "query": q, "enabled": True, "created_at": now,
             "updated_at": now, "webhook_url": webhook if webhook and n % 10 == 0 else None,
             **DELIVERY_STATE_RESET, **QUERY_STATE_RESET} for n, q in enumerate(queries)]  # fmt: skip
    bulk(es, ({"_index": idx.saved, "_id": d["id"], "_source": d} for d in docs), refresh=True)
    return [str(d["id"]) for d in docs]


# --- Kafka helpers --------------------------------------------------------------------------------


def produce(producer: KafkaProducer, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    for f in [producer.send(topic, key=k, value=v) for k, v in records]:
        f.get(30)


class Committed:
    """A consumer group's committed position on a topic, summed over its partitions. Read through
    a consumer of the group (it does not join): KafkaAdminClient.list_consumer_group_offsets was
    seen answering {} for a group that had committed, which would wait forever."""

    def __init__(self, group: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=KAFKA, group_id=group, enable_auto_commit=False)
        self.parts = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or [])]

    def __call__(self) -> int:
        return sum(self.consumer.committed(tp) or 0 for tp in self.parts)

    def close(self) -> None:
        self.consumer.close(autocommit=False)


def end_offsets(topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=KAFKA)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        return int(sum(consumer.end_offsets(parts).values()))
    finally:
        consumer.close()


def wait_for_group(admin: KafkaAdminClient, group: str, timeout_s: float = 60.0) -> None:
    """Until ``group`` is stable with a member that has partitions (the consumer is ready)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        [desc] = admin.describe_consumer_groups([group])
        if desc.state == "Stable" and desc.members:
            return
        time.sleep(0.2)
    raise RuntimeError(f"consumer group {group} did not become stable")


def cpu_seconds(pid: int) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / tick


def infra_pids() -> dict[str, list[int]]:
    """This checkout's Elasticsearch and Kafka JVMs (their CPU is where alerts cost indexing most),
    not those of another stack on the machine."""
    import subprocess

    stack = str(Path(os.environ.get("WARTA_STACK_DIR", ROOT / ".stack")).resolve())

    def pgrep(pattern: str) -> list[int]:
        out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
        return [
            int(x) for x in out.split() if stack in Path(f"/proc/{x}/cmdline").read_bytes().decode(errors="replace")
        ]

    return {"elasticsearch": pgrep("org.elasticsearch.bootstrap"), "kafka": pgrep("kafka.Kafka")}


def renumbered(corpus: list[EnrichedArticle], copies: int, tag: str) -> list[tuple[bytes, bytes]]:
    """``copies`` copies of the corpus under new ids, serialized once."""
    now = utcnow()
    out = []
    for k in range(copies):
        for e in corpus:
            copy = e.model_copy(update={"id": f"{e.id}-{tag}{k}", "ingested_at": now})
            out.append((copy.id.encode(), copy.to_bytes()))
    return out


# --- 1. throughput -------------------------------------------------------------------------------


def drain(
    es: Elasticsearch, records: list[tuple[bytes, bytes]], queries: list[str] | None, label: str, webhooks: bool = False
) -> dict[str, Any]:
    """The indexer drains ``records`` in a fresh namespace, with the alerts consumer and
    ``queries`` saved when given (one in ten with a webhook if ``webhooks``). Returns the
    indexer's rate and, with alerts, its catch-up."""
    ns = Namespace(prefix=f"bench-alerts-{label}-")
    ns.cleanup()
    ns.create()
    s = ns.settings
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=5)
    produce(producer, s.topic(Topic.ARTICLES_ENRICHED), records)
    producer.close()
    admin = KafkaAdminClient(bootstrap_servers=KAFKA)
    receiver = Receiver()
    p = Pipeline(ns, LOGS / label, extra_env={**ENV, "WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"})
    enriched, indexed = s.topic(Topic.ARTICLES_ENRICHED), s.topic(Topic.ARTICLES_INDEXED)
    indexer_done = Committed(f"{ns.prefix}search-indexer", enriched)
    alerts_done = Committed(f"{ns.prefix}search-alerts", indexed)
    result: dict[str, Any] = {}
    try:
        if queries is not None:
            save_monitors(es, ns.prefix, queries, receiver.url if webhooks else None)
            p.start(["alerts"])
            wait_for_group(admin, f"{ns.prefix}search-alerts")
        p.start(["indexer"])
        while (first := indexer_done()) == 0:
            time.sleep(0.05)
        watched = {"indexer": [p.procs["indexer"].popen.pid], **infra_pids()}  # type: ignore[union-attr]
        if queries is not None:
            watched["alerts"] = [p.procs["alerts"].popen.pid]  # type: ignore[union-attr]
        t0, cpu0 = time.perf_counter(), {k: sum(map(cpu_seconds, v)) for k, v in watched.items()}
        while (done := indexer_done()) < len(records):
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        result["indexer_docs_per_s"] = (done - first) / wall
        # CPU-seconds per process while the indexer drained: where the time of the two cores went.
        result["cpu_s"] = {k: round(sum(map(cpu_seconds, v)) - cpu0[k], 2) for k, v in watched.items()}
        result["drain_s"] = round(wall, 2)
        if queries is not None:
            total = end_offsets(indexed)
            while alerts_done() < total:
                time.sleep(0.1)
            result["alerts_caught_up_after_indexer_s"] = round(time.perf_counter() - t0 - wall, 1)
            matches = AlertIndices(ns.prefix).matches
            es.indices.refresh(index=matches)
            result["matches"] = int(es.count(index=matches)["count"])
            result["webhook_calls"] = len(receiver.received)
        return result
    finally:
        p.stop()
        indexer_done.close()
        alerts_done.close()
        admin.close()
        receiver.close()
        ns.cleanup()


RUNS = {"alone": (False, False), "alerts": (True, False), "alerts_webhooks": (True, True)}


def throughput(
    es: Elasticsearch, corpus: list[EnrichedArticle], queries: list[str], copies: int, rounds: int
) -> dict[str, Any]:
    """Per round, the same records drained three times: the indexer alone, with the alerts consumer
    and 500 saved searches, and the same with one saved search in ten having a webhook (which adds
    the dispatcher's work). The order rotates from round to round."""
    records = renumbered(corpus, copies, "t")
    rates: dict[str, list[float]] = {name: [] for name in RUNS}
    details: dict[str, list[dict[str, Any]]] = {name: [] for name in RUNS if name != "alone"}
    names = list(RUNS)
    for r in range(rounds):
        for name in names[r % 3 :] + names[: r % 3]:
            alerts, webhooks = RUNS[name]
            got = drain(es, records, queries if alerts else None, f"r{r}-{name}", webhooks)
            print(f"round {r + 1} {name}: {got}", flush=True)
            rates[name].append(got["indexer_docs_per_s"])
            if name != "alone":
                details[name].append({k: v for k, v in got.items() if k != "indexer_docs_per_s"})

    def ratios(name: str) -> list[float]:
        return [w / a for w, a in zip(rates[name], rates["alone"], strict=True)]

    return {
        "documents": len(records),
        "rounds": rounds,
        "indexer_docs_per_s_without_alerts": round(statistics.median(rates["alone"]), 1),
        "indexer_docs_per_s_with_alerts_500_monitors": round(statistics.median(rates["alerts"]), 1),
        "ratio": round(statistics.median(ratios("alerts")), 3),
        "ratio_rounds": [round(x, 3) for x in ratios("alerts")],
        "indexer_docs_per_s_with_alerts_500_monitors_50_webhooks": round(
            statistics.median(rates["alerts_webhooks"]), 1
        ),
        "ratio_with_webhooks": round(statistics.median(ratios("alerts_webhooks")), 3),
        "ratio_with_webhooks_rounds": [round(x, 3) for x in ratios("alerts_webhooks")],
        "rates_per_round": {k: [round(x, 1) for x in v] for k, v in rates.items()},
        "runs": details,
    }


# --- 2. latency at a steady rate -----------------------------------------------------------------


def latency(
    es: Elasticsearch, corpus: list[EnrichedArticle], queries: list[str], rate: float, seconds: float
) -> dict[str, Any]:
    ns = Namespace(prefix="bench-alerts-latency-")
    ns.cleanup()
    ns.create()
    s = ns.settings
    receiver = Receiver()
    admin = KafkaAdminClient(bootstrap_servers=KAFKA)
    p = Pipeline(ns, LOGS / "latency", extra_env={**ENV, "WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"})
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=0)
    n = int(rate * seconds)
    ids: list[str] = []
    try:
        save_monitors(es, ns.prefix, queries, receiver.url)
        p.start(["alerts", "indexer"])
        wait_for_group(admin, f"{ns.prefix}search-alerts")
        wait_for_group(admin, f"{ns.prefix}search-indexer")
        alerts_done = Committed(f"{ns.prefix}search-alerts", s.topic(Topic.ARTICLES_INDEXED))
        pid = p.procs["alerts"].popen.pid  # type: ignore[union-attr]
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        topic = s.topic(Topic.ARTICLES_ENRICHED)
        for i in range(n):  # paced by the clock, not by sleeps that drift
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            base = corpus[i % len(corpus)]
            article = base.model_copy(update={"id": f"{base.id}-l{i}", "ingested_at": utcnow()})
            producer.send(topic, key=article.id.encode(), value=article.to_bytes())
            ids.append(article.id)
        producer.flush()
        sent_s = time.perf_counter() - t0
        deadline = time.monotonic() + 120
        while alerts_done() < n and time.monotonic() < deadline:
            time.sleep(0.2)
        alerts_done.close()
        alerts_cpu = cpu_seconds(pid) - cpu0
        time.sleep(3)  # the last webhook calls
        alias = articles_alias(ns.prefix)
        es.indices.refresh(index=alias)
        indexed_at = {h["_id"]: datetime.fromisoformat(h["_source"]["indexed_at"]).timestamp()
                      for h in es.search(index=alias, size=n, source_includes=["indexed_at"])["hits"]["hits"]}  # fmt: skip
        matches = AlertIndices(ns.prefix).matches
        es.indices.refresh(index=matches)
        first_match = es.search(index=matches, size=0, aggs={"a": {"terms": {"field": "article_id", "size": n},
                                                                   "aggs": {"t": {"min": {"field": "matched_at"}}}}})  # fmt: skip
        match_lat = [b["t"]["value"] / 1000 - indexed_at[b["key"]] for b in first_match["aggregations"]["a"]["buckets"]]
        arrived: dict[str, float] = {}
        for _, body, at in receiver.received:
            for a in json.loads(body)["articles"]:
                arrived[a["id"]] = min(at, arrived.get(a["id"], at))
        hook_lat = [at - indexed_at[i] for i, at in arrived.items() if i in indexed_at]

        def pct(values: list[float]) -> dict[str, float] | None:
            if not values:
                return None
            return {q: round(percentile(values, v), 3) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))} | {
                "max": round(max(values), 3)}  # fmt: skip

        return {
            "offered_rate_per_s": rate,
            "articles": n,
            "sent_in_s": round(sent_s, 1),
            "indexed": len(indexed_at),
            "articles_matched": len(match_lat),
            "matches": int(es.count(index=matches)["count"]),
            "index_to_match_s": pct(match_lat),
            "webhook_calls": len(receiver.received),
            "index_to_webhook_s": pct(hook_lat),
            "alerts_cpu_share_of_one_core": round(alerts_cpu / max(time.perf_counter() - t0, 1e-9), 3),
        }
    finally:
        producer.close()
        p.stop()
        admin.close()
        receiver.close()
        ns.cleanup()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=int, default=2000, help="enriched articles (then copied under new ids)")
    ap.add_argument("--copies", type=int, default=10, help="copies of the corpus per throughput drain")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--monitors", type=int, default=500)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--skip-throughput", action="store_true")
    a = ap.parse_args()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    es = Elasticsearch(ES_URL, request_timeout=120)
    corpus = enriched_corpus(a.corpus)
    queries = monitor_queries(corpus, a.monitors)
    print(
        f"enriched {len(corpus)} articles and built {len(queries)} monitors in {time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    result: dict[str, Any] = {"started_at": started.isoformat(), "cores": os.cpu_count(), "monitors": len(queries),
                              "monitor_examples": queries[:12], "corpus": len(corpus),
                              "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    if not a.skip_throughput:
        result["throughput"] = throughput(es, corpus, queries, a.copies, a.rounds)
        print(json.dumps(result["throughput"]), flush=True)
    result["latency"] = latency(es, corpus, queries, a.rate, a.seconds)
    print(json.dumps(result["latency"]), flush=True)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    es.close()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "alerts.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
