"""The thinnest Python HTTP service in front of Elasticsearch, as a reference for
``bench_search``: a bare ASGI app on the same uvicorn, sending the timeline query through the same
Elasticsearch client as the search API, with no framework, validation, authentication or rate
limit. Its latency over direct Elasticsearch is what one extra Python HTTP hop costs on the machine.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs

import orjson
from elasticsearch import AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer

from services.search.criteria import Criteria, timeline_aggs
from shared.settings import articles_alias

ALIAS = articles_alias(os.environ.get("WARTA_INDEX_PREFIX", ""))
_es: AsyncElasticsearch | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _es
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                url = os.environ.get("WARTA_ES_URL", "http://127.0.0.1:9200")
                _es = AsyncElasticsearch(url, serializer=OrjsonSerializer())
                await send({"type": "lifespan.startup.complete"})
            else:
                if _es is not None:
                    await _es.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert _es is not None
    args = parse_qs(scope["query_string"].decode())
    resp = await _es.search(index=ALIAS, size=0, query=Criteria(q=args.get("q", [""])[0]).es_query(),
                            aggs=timeline_aggs(args.get("interval", ["day"])[0]), timeout="10s")  # fmt: skip
    buckets = [{"key": b["key_as_string"], "count": b["doc_count"]} for b in resp["aggregations"]["t"]["buckets"]]
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": orjson.dumps({"buckets": buckets})})
