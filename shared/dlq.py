"""``warta dlq list`` and ``warta dlq replay``: inspect DLQ records and re-publish them after a fix.

Replay re-publishes each record's original payload to the topic the stage consumes, keyed by the
article id, and commits its position in the DLQ under the group ``dlq-replay-<stage>`` so a record
is replayed once. With a filter (``--article-id``/``--reason``) nothing is committed, so records the
filter skipped stay replayable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition

from shared.kafka import make_consumer, make_producer
from shared.schemas import DlqRecord, MessageError, decode
from shared.settings import CommonSettings
from shared.topics import Stage


def _read(
    consumer: KafkaConsumer, topic: str, from_committed: bool
) -> Iterator[tuple[TopicPartition, int, DlqRecord | None, bytes]]:
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(parts)
    if not from_committed:
        consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    remaining = {tp for tp in parts if consumer.position(tp) < ends[tp]}
    while remaining:
        batch = consumer.poll(timeout_ms=1000)
        if not batch and all(consumer.position(tp) >= ends[tp] for tp in remaining):
            break
        for tp, records in batch.items():
            for r in records:
                if r.offset >= ends[tp]:
                    continue
                try:
                    record: DlqRecord | None = decode(DlqRecord, r.value)
                except MessageError:
                    record = None
                yield tp, r.offset, record, r.value
        remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}


def dlq_list(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta dlq list", description="Show the records in a stage's DLQ.")
    p.add_argument("--stage", required=True, choices=[s.value for s in Stage])
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true", help="one JSON record per line")
    a = p.parse_args(argv)
    settings = CommonSettings()
    stage = Stage(a.stage)
    consumer = make_consumer(settings, None)
    shown = 0
    try:
        for tp, offset, record, raw in _read(consumer, settings.topic(stage.dlq), from_committed=False):
            if shown >= a.limit:
                break
            shown += 1
            if a.json:
                print(raw.decode("utf-8", "replace"))
            elif record is None:
                print(f"{tp.partition}:{offset}  (unreadable DLQ record)")
            else:
                print(f"{tp.partition}:{offset}  {record.failed_at:%Y-%m-%d %H:%M:%S}  {record.reason:<14} "
                      f"attempts={record.attempts}  article={record.article_id or '-'}  {record.error[:100]}")  # fmt: skip
    finally:
        consumer.close()
    if not a.json:
        print(f"{shown} record(s) in {settings.topic(stage.dlq)}", file=sys.stderr)
    return 0


def dlq_replay(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="warta dlq replay", description="Re-publish DLQ records to the stage's input.")
    p.add_argument("--stage", required=True, choices=[s.value for s in Stage])
    p.add_argument("--article-id")
    p.add_argument("--reason")
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args(argv)
    settings = CommonSettings()
    stage = Stage(a.stage)
    filtered = bool(a.article_id or a.reason)
    consumer = make_consumer(settings, f"dlq-replay-{stage.value}")
    producer = make_producer(settings)
    target = settings.topic(stage.source)
    replayed = skipped = 0
    try:
        for _tp, _offset, record, _raw in _read(consumer, settings.topic(stage.dlq), from_committed=True):
            if (
                record is None
                or (a.article_id and record.article_id != a.article_id)
                or (a.reason and record.reason != a.reason)
            ):
                skipped += 1
                continue
            if not a.dry_run:
                key = record.article_id.encode() if record.article_id else None
                producer.send(target, key=key, value=record.payload.encode("utf-8")).get(timeout=30)
            replayed += 1
        if not a.dry_run and not filtered:
            consumer.commit()
    finally:
        producer.close(timeout=10)
        consumer.close(autocommit=False)
    verb = "would replay" if a.dry_run else "replayed"
    print(json.dumps({"stage": stage.value, verb.replace(" ", "_"): replayed, "skipped": skipped, "to": target}))
    return 0
