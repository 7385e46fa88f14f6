"""Settings of Warta's small Elasticsearch indices: API keys, audit, tombstones, monitors and
their matches and deliveries, digests, press releases, the crawler's registry and backfills.

One shard each, and ``auto_expand_replicas: 0-1``: no replica on a single node (the index stays
green), one on a cluster of two or more nodes, so losing a node loses none of them and leaves them
writable. The articles index is sized by ``WARTA_ES_REPLICAS`` instead (services/search/index.py).
"""

from __future__ import annotations

from typing import Any

SMALL_INDEX: dict[str, Any] = {"number_of_shards": 1, "auto_expand_replicas": "0-1"}
