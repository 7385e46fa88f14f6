"""Syndication clustering benchmark (issue 5): ``python -m evals.eval_dedup``.

Builds labelled streams from IndoSum (``../shared/data/summarization/indosum/``): originals,
syndicated variants (new dateline, rewritten intro, "Baca juga" blocks, scattered word edits,
swapped/dropped paragraphs, ending cut, credits and share text) and hard negatives (articles that
copy one or two background paragraphs of another story; different stories of the same category
are in every stream anyway). Parameters are tuned on ``dev.01`` with one transform profile and
seed; they are reported on ``dev.02`` and ``dev.03`` with a harsher profile and other seeds.

Reports pairwise precision/recall, per-transform recall, background false merges, articles/s
per core for the clustering step alone (in-memory and Redis), and Redis memory per article.
Writes ``evals/results/dedup.json``. ``--quick`` skips the grid search and the 10k memory run.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import re
import resource
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.enrich.cluster import ClusterSettings, MemoryClusterStore, RedisClusterStore, StoryClusterer

DATA = Path("../shared/data/summarization/indosum")
RESULTS = Path("evals/results/dedup.json")
REDIS_URL = os.environ.get("WARTA_REDIS_URL", "redis://127.0.0.1:6379/0")

CITIES = ["BLORA", "Semarang", "Kudus", "PATI", "Rembang", "Grobogan", "Surakarta", "Magelang", "Tegal", "Jepara"]
OUTLETS = ["klikjateng.com", "Suaramerdeka.com", "jatengpos.id", "Radar Kudus", "Murianews", "Beritajateng.id"]
INTRO_OPENERS = [
    "Dalam keterangan tertulis yang diterima redaksi, disebutkan bahwa",
    "Kabar menggembirakan datang hari ini, di mana",
    "Sebagaimana disampaikan dalam siaran pers resmi,",
    "Informasi yang dihimpun menyebutkan",
    "Di tengah sorotan publik,",
]
EDITORS = [
    "Editor: Ahmad Fauzi",
    "Pewarta: Siti Rahma\nEditor: Budi Santoso",
    "Penulis: Dwi Lestari | Editor: Rudi",
    "(ant/rid)",
    "Reporter: Yanto\nRedaktur: Ika",
]
SHARE = [
    "Bagikan: Facebook Twitter WhatsApp",
    "Share: Facebook | Twitter | Telegram",
    "Dapatkan update berita pilihan setiap hari dari kami di Google News",
]


# ---------------------------------------------------------------- data


def article_id(name: str) -> str:
    """A production-shaped article id (24 hex, like ``shared.ids.article_id``): Redis memory per
    article depends on id length, and IndoSum ids are up to ~60 characters."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]


def detokenise(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = re.sub(r" ([.,;:!?%)\]])", r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", text)
    text = re.sub(r'" ([^"]*?) "', r'"\1"', text)
    return text.replace(" / ", "/")


@dataclass
class Source:
    article_id: str
    category: str
    paragraphs: list[str]
    summary: str


def load_fold(name: str, exclude: set[str]) -> list[Source]:
    sources = []
    for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] in exclude:
            continue
        exclude.add(row["id"])
        paragraphs = [detokenise([t for s in p for t in s]) for p in row["paragraphs"]]
        summary = detokenise([t for s in row["summary"] for t in s])
        sources.append(Source(article_id(row["id"]), row["category"], [p for p in paragraphs if p], summary))
    return sources


# ---------------------------------------------------------------- benchmark


@dataclass(frozen=True)
class Profile:
    """Transform strengths of one benchmark part."""

    name: str
    syndicated_share: float  # originals that get variants
    max_variants: int
    edit_rate: float  # scattered word edits
    max_dropped: int
    cut_range: tuple[float, float]  # share of words kept by "ending cut"
    background_share: float  # hosts that copy background paragraphs
    shuffle_all: bool  # variants may arrive before their original


TUNE = Profile("tune", 0.4, 4, 0.03, 1, (0.5, 0.6), 0.25, False)
TEST = Profile("test", 0.5, 5, 0.05, 2, (0.4, 0.55), 0.35, True)


@dataclass
class Item:
    article_id: str
    text: str
    story: str  # true label
    kind: str  # original | variant | background
    transforms: tuple[str, ...] = ()
    background_of: str | None = None


@dataclass
class Benchmark:
    items: list[Item] = field(default_factory=list)


def _edit_words(paragraph: str, rate: float, rng: random.Random, vocabulary: list[str]) -> str:
    words = paragraph.split()
    out: list[str] = []
    for word in words:
        roll = rng.random()
        if roll < rate / 3:
            continue  # deletion
        if roll < 2 * rate / 3:
            out.append(rng.choice(vocabulary))  # substitution
            continue
        out.append(word)
        if roll < rate:
            out.append(rng.choice(vocabulary))  # insertion
    return " ".join(out)


def _rewrite_intro(paragraph: str, rng: random.Random, vocabulary: list[str]) -> str:
    words = paragraph.split()
    half = len(words) // 2
    reordered = words[half:] + words[:half]
    edited = _edit_words(" ".join(reordered), 0.35, rng, vocabulary)
    return f"{rng.choice(INTRO_OPENERS)} {edited}"


def _strip_dateline(paragraph: str) -> str:
    return re.sub(r"^[^.]{0,40}?\s[-–—]{1,2}\s", "", paragraph, count=1)


def make_variant(
    source: Source, rng: random.Random, profile: Profile, vocabulary: list[str], leads: list[str]
) -> tuple[str, tuple[str, ...]]:
    """A syndicated copy of ``source`` with 2-4 random transforms (always a new dateline)."""
    paragraphs = list(source.paragraphs)
    optional = ["intro", "baca", "edits", "swap", "drop", "cut", "credits", "share"]
    chosen = ["dateline", *rng.sample(optional, rng.randint(2, 4))]
    if "cut" in chosen:
        total = sum(len(p.split()) for p in paragraphs)
        keep = rng.uniform(*profile.cut_range) * total
        kept, count = [], 0
        for p in paragraphs:
            if count >= keep:
                break
            kept.append(p)
            count += len(p.split())
        paragraphs = kept
    if "drop" in chosen and len(paragraphs) > 3:
        for _ in range(rng.randint(1, profile.max_dropped)):
            if len(paragraphs) > 3:
                paragraphs.pop(rng.randrange(1, len(paragraphs)))
    if "swap" in chosen and len(paragraphs) > 3:
        i = rng.randrange(1, len(paragraphs) - 1)
        paragraphs[i], paragraphs[i + 1] = paragraphs[i + 1], paragraphs[i]
    if "edits" in chosen:
        paragraphs = [_edit_words(p, profile.edit_rate, rng, vocabulary) for p in paragraphs]
    if "intro" in chosen:
        paragraphs[0] = _rewrite_intro(_strip_dateline(paragraphs[0]), rng, vocabulary)
    dateline = rng.choice(
        [
            f"{rng.choice(CITIES)} –",
            f"{rng.choice(CITIES)} (ANTARA) -",
            f"{rng.choice(OUTLETS)} –",
            f"{rng.choice(OUTLETS)}, {rng.choice(CITIES)} –",
        ]
    )
    paragraphs[0] = f"{dateline} {_strip_dateline(paragraphs[0])}"
    if "baca" in chosen:
        for _ in range(rng.randint(1, 3)):
            label = rng.choice(["Baca juga:", "Baca Juga :", "Simak juga:", "BACA JUGA:"])
            paragraphs.insert(rng.randrange(1, len(paragraphs) + 1), f"{label} {rng.choice(leads)}")
    if "credits" in chosen:
        paragraphs.append(rng.choice(EDITORS))
    if "share" in chosen:
        paragraphs.insert(rng.choice([0, len(paragraphs)]), rng.choice(SHARE))
    return "\n".join(paragraphs), tuple(chosen)


def build_benchmark(sources: list[Source], profile: Profile, seed: int) -> Benchmark:
    """Originals, their variants and background-sharing negatives, in arrival order."""
    rng = random.Random(seed)
    sources = list(sources)
    rng.shuffle(sources)
    vocabulary = [w for s in sources[:200] for p in s.paragraphs for w in p.split() if w.isalpha()]
    leads = [" ".join(s.paragraphs[0].split()[:10]) for s in sources]
    # Hosts are used only as the own content of background negatives, never as originals.
    long_sources = [s for s in sources if len(s.paragraphs) >= 6]
    n_hosts = int(len(sources) * profile.background_share / 2)
    hosts = long_sources[:n_hosts]
    host_ids = {s.article_id for s in hosts}
    originals = [s for s in sources if s.article_id not in host_ids]
    stories: list[list[Item]] = []
    for source in originals:
        members = [Item(source.article_id, "\n".join(source.paragraphs), source.article_id, "original")]
        if rng.random() < profile.syndicated_share:
            for k in range(rng.randint(1, profile.max_variants)):
                text, transforms = make_variant(source, rng, profile, vocabulary, leads)
                members.append(
                    Item(article_id(f"{source.article_id}~v{k}"), text, source.article_id, "variant", transforms)
                )
        stories.append(members)
    # Donors are full-length stories, so one or two paragraphs are background, not the story.
    donors = [s for s in originals if len(s.paragraphs) >= 5]
    for host in hosts:
        donor = rng.choice(donors)
        background = (
            [p for p in donor.paragraphs[1:] if len(p.split()) >= 20] or donor.paragraphs[1:] or donor.paragraphs
        )
        copied = rng.sample(background, min(len(background), rng.randint(1, 2)))
        paragraphs = list(host.paragraphs)
        for paragraph in copied:
            paragraphs.insert(rng.randrange(1, len(paragraphs) + 1), paragraph)
        stories.append(
            [
                Item(
                    article_id(f"{host.article_id}~bg"),
                    "\n".join(paragraphs),
                    host.article_id,
                    "background",
                    background_of=donor.article_id,
                )
            ]
        )
    items: list[Item]
    if profile.shuffle_all:
        items = [item for story in stories for item in story]
        rng.shuffle(items)
    else:
        # Originals first in their story, stories interleaved.
        queue = [list(story) for story in stories]
        rng.shuffle(queue)
        items = []
        pending: list[list[Item]] = []
        for story in queue:
            items.append(story.pop(0))
            if story:
                pending.append(story)
            if pending and rng.random() < 0.7:
                chosen = rng.choice(pending)
                items.append(chosen.pop(0))
                if not chosen:
                    pending.remove(chosen)
        for story in pending:
            items.extend(story)
    return Benchmark(items)


# ---------------------------------------------------------------- scoring


def pairs(groups: Counter[Any]) -> int:
    return sum(n * (n - 1) // 2 for n in groups.values())


def score(benchmark: Benchmark, predicted: dict[str, str]) -> dict[str, Any]:
    items = benchmark.items
    true_pairs = pairs(Counter(item.story for item in items))
    predicted_pairs = pairs(Counter(predicted[item.article_id] for item in items))
    both = pairs(Counter((item.story, predicted[item.article_id]) for item in items))
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    by_id = {item.article_id: item for item in items}
    # Per transform: does a variant share its original's predicted story?
    per_transform: dict[str, list[int]] = {}
    for item in items:
        if item.kind == "variant":
            joined = int(predicted[item.article_id] == predicted[item.story])
            for transform in item.transforms:
                per_transform.setdefault(transform, []).append(joined)
    background = [item for item in items if item.kind == "background"]
    merged = sum(predicted[item.article_id] == predicted[item.background_of] for item in background)  # type: ignore[index]
    wrong_merges = Counter()
    for item in items:
        canonical = by_id.get(predicted[item.article_id])
        if canonical is not None and canonical.story != item.story:
            wrong_merges[(item.kind, canonical.kind)] += 1
    return {
        "articles": len(items),
        "true_stories": len({item.story for item in items}),
        "predicted_stories": len(set(predicted.values())),
        "true_pairs": true_pairs,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "variant_recall_by_transform": {k: round(sum(v) / len(v), 4) for k, v in sorted(per_transform.items())},
        "background_negatives": len(background),
        "background_false_merges": merged,
        "wrong_merges_by_kind": {f"{a}->{b}": n for (a, b), n in wrong_merges.items()},
    }


# ---------------------------------------------------------------- runs


def run(clusterer: StoryClusterer, benchmark: Benchmark) -> tuple[dict[str, str], float, float]:
    """Cluster the stream; return predictions, wall seconds and process CPU seconds."""
    predicted: dict[str, str] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    for item in benchmark.items:
        predicted[item.article_id] = clusterer.assign(item.article_id, "", item.text, None).story_id
    return predicted, time.perf_counter() - wall, time.process_time() - cpu


def memory_run(settings: ClusterSettings, benchmark: Benchmark) -> tuple[dict[str, str], float, float]:
    return run(StoryClusterer(settings, MemoryClusterStore(settings)), benchmark)


def _redis_cpu(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _delete_prefix(client: Any, prefix: str) -> None:
    batch = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)


def redis_run(settings: ClusterSettings, benchmark: Benchmark) -> dict[str, Any]:
    """Same stream on Redis; also measures Redis CPU and memory per article."""
    import redis

    prefix = f"warta-eval:{uuid.uuid4().hex[:10]}"
    settings = settings.model_copy(update={"redis_key_prefix": prefix})
    client = redis.Redis.from_url(REDIS_URL)
    store = RedisClusterStore(client, settings)
    try:
        server_cpu = _redis_cpu(client)
        predicted, wall, cpu = run(StoryClusterer(settings, store), benchmark)
        server_cpu = _redis_cpu(client) - server_cpu
        memory = redis_memory(client, prefix)
    finally:
        _delete_prefix(client, prefix)
    n = len(benchmark.items)
    return {
        "predicted": predicted,
        "articles_per_s_wall": round(n / wall, 1),
        "client_cpu_s": round(cpu, 3),
        "redis_server_cpu_s": round(server_cpu, 3),
        "articles_per_s_per_core": round(n / (cpu + server_cpu), 1),
        "memory": {**memory, "bytes_per_article": round(memory["key_bytes"] / n, 1)},
    }


def redis_memory(client: Any, prefix: str) -> dict[str, Any]:
    """Sum of ``MEMORY USAGE`` over the prefix's keys, by key kind and encoding."""
    by_kind: Counter[str] = Counter()
    encodings: Counter[str] = Counter()
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
        pipe.object("encoding", key)
    replies = pipe.execute()
    for i, key in enumerate(keys):
        kind = key.decode().removeprefix(prefix + ":").split(":")[0]
        by_kind[kind] += int(replies[2 * i] or 0)
        encodings[f"{kind}:{replies[2 * i + 1].decode()}"] += 1
    return {
        "keys": len(keys),
        "key_bytes": sum(by_kind.values()),
        "bytes_by_kind": dict(by_kind),
        "encodings": dict(encodings),
    }


def memory_10k(settings: ClusterSettings, sources: list[Source]) -> dict[str, Any]:
    """Index 10,000 articles (all sources plus variants) in Redis and measure memory."""
    import redis

    rng = random.Random(99)
    vocabulary = [w for s in sources[:200] for p in s.paragraphs for w in p.split() if w.isalpha()]
    leads = [" ".join(s.paragraphs[0].split()[:10]) for s in sources]
    texts = [(s.article_id, "\n".join(s.paragraphs)) for s in sources]
    while len(texts) < 10_000:
        source = rng.choice(sources)
        texts.append(
            (article_id(f"{source.article_id}~m{len(texts)}"), make_variant(source, rng, TEST, vocabulary, leads)[0])
        )
    prefix = f"warta-eval:{uuid.uuid4().hex[:10]}"
    settings = settings.model_copy(update={"redis_key_prefix": prefix})
    client = redis.Redis.from_url(REDIS_URL)
    clusterer = StoryClusterer(settings, RedisClusterStore(client, settings))
    try:
        before = int(client.info("memory")["used_memory"])
        stories = Counter(clusterer.assign(article_id, "", text).story_id for article_id, text in texts)
        after = int(client.info("memory")["used_memory"])
        memory = redis_memory(client, prefix)
    finally:
        _delete_prefix(client, prefix)
    return {
        "articles": len(texts),
        "stories": len(stories),
        "used_memory_delta_bytes": after - before,
        "used_memory_delta_per_article": round((after - before) / len(texts), 1),
        "memory_usage_sum_per_article": round(memory["key_bytes"] / len(texts), 1),
        **memory,
        "note": "used_memory is server-wide (other clients may write meanwhile); MEMORY USAGE sums only this run's keys",
    }


GRID = {
    "shingle_size": [2, 3, 4],
    "lsh_rows": [2, 3],
    "threshold": [0.4, 0.5, 0.6],
    "min_jaccard": [0.1, 0.2, 0.3],
}


def tune(benchmark: Benchmark) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Grid search on the tune part: maximise recall subject to precision >= 0.99, then F1."""
    trials = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values, strict=True))
        predicted, wall, _ = memory_run(ClusterSettings(**params), benchmark)
        result = score(benchmark, predicted)
        trials.append(
            {
                **params,
                "precision": result["precision"],
                "recall": result["recall"],
                "f1": result["f1"],
                "articles_per_s": round(len(benchmark.items) / wall, 1),
            }
        )
        print(json.dumps(trials[-1]), file=sys.stderr, flush=True)
    eligible = [t for t in trials if t["precision"] >= 0.99] or trials
    best = max(eligible, key=lambda t: (t["recall"], t["f1"], t["articles_per_s"]))
    return {k: best[k] for k in GRID}, trials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="defaults only: no grid search, no 10k run")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args(argv)

    seen: set[str] = set()
    folds = {name: load_fold(name, seen) for name in ("dev.01", "dev.02", "dev.03")}
    report: dict[str, Any] = {"data": str(DATA), "profiles": {"tune": TUNE.__dict__, "test": TEST.__dict__}}

    tune_bench = build_benchmark(folds["dev.01"], TUNE, seed=1)
    if args.quick:
        chosen: dict[str, Any] = {k: getattr(ClusterSettings(), k) for k in GRID}
    else:
        chosen, trials = tune(tune_bench)
        report["grid"] = trials
    settings = ClusterSettings(**chosen)
    report["settings"] = settings.model_dump()
    predicted, wall, cpu = memory_run(settings, tune_bench)
    report["tune_dev.01"] = {
        **score(tune_bench, predicted),
        "articles_per_s_per_core": round(len(tune_bench.items) / cpu, 1),
    }

    report["test"] = {}
    for name, seed in (("dev.02", 2), ("dev.03", 3)):
        bench = build_benchmark(folds[name], TEST, seed=seed)
        predicted, wall, cpu = memory_run(settings, bench)
        entry: dict[str, Any] = {
            **score(bench, predicted),
            "memory_backend": {
                "articles_per_s_wall": round(len(bench.items) / wall, 1),
                "articles_per_s_per_core": round(len(bench.items) / cpu, 1),
            },
        }
        if not args.no_redis:
            redis_result = redis_run(settings, bench)
            redis_predicted = redis_result.pop("predicted")
            entry["redis_backend"] = {**redis_result, "same_stories_as_memory": redis_predicted == predicted}
        report["test"][name] = entry
        print(name, json.dumps({k: entry[k] for k in ("precision", "recall")}), file=sys.stderr)

    tests = list(report["test"].values())
    report["summary"] = {
        "precision_min": min(t["precision"] for t in tests),
        "recall_min": min(t["recall"] for t in tests),
        "memory_articles_per_s_per_core_min": min(t["memory_backend"]["articles_per_s_per_core"] for t in tests),
    }
    if not args.no_redis:
        report["summary"]["redis_articles_per_s_per_core_min"] = min(
            t["redis_backend"]["articles_per_s_per_core"] for t in tests
        )
        if not args.quick:
            all_sources = [s for fold in folds.values() for s in fold]
            report["redis_memory_10k"] = memory_10k(settings, all_sources)
            report["summary"]["redis_bytes_per_article_10k"] = report["redis_memory_10k"][
                "memory_usage_sum_per_article"
            ]
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report["summary"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
