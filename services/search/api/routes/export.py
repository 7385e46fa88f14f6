"""``GET /v1/export``: every match as CSV or ndjson, streamed. Each record is the indexed article
without its body (:data:`~services.search.criteria.EXPORT_SOURCE`), not a search hit: a CSV row
of :data:`~services.search.criteria.EXPORT_COLUMNS` with every cell neutralised for spreadsheets
(UTF-8 with a byte order mark), or the stored fields as one JSON line. Both give the outlet by
name (else its domain) and the times in one zone, ``tz`` (default Asia/Jakarta), which the CSV
header names."""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import orjson
from elasticsearch import AsyncElasticsearch
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.search.api.deps import IndexDep, ReaderKey
from services.search.api.models import ExportParams
from services.search.criteria import EXPORT_SOURCE, export_header, export_record, export_row

log = logging.getLogger(__name__)

router = APIRouter(tags=["search"])

EXPORT_PAGE = 1000
EXPORT_KEEP_ALIVE = "2m"


class ExportInterrupted(RuntimeError):
    """An export failed after its response started; raised to make the server cut the body short."""


async def _close_pit(es: AsyncElasticsearch, pit_id: str) -> None:
    """Close a point in time, best effort: it expires after EXPORT_KEEP_ALIVE anyway."""
    try:
        await es.close_point_in_time(id=pit_id)
    except Exception as exc:
        log.info("could not close an export's point in time", extra={"error": repr(exc)[:500]})


@router.get("/export", responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}})
async def export(p: Annotated[ExportParams, Query()], index: IndexDep, _: ReaderKey) -> StreamingResponse:
    """Every match, streamed: a point in time and ``search_after``, one page in memory.

    The point in time is opened and the first page read before the response starts, so a bad
    query or a backend failure there is an ordinary 4xx/5xx. Later the status is sent: a
    failure ends the body without the chunked encoding's last chunk (after an ``{"error": ...}``
    line in ndjson), which HTTP clients report as an incomplete read, never as a complete file.
    """
    es, fmt, tz = index.es, p.format, p.zone()
    query = p.criteria().es_query()

    async def page(pit_id: str, after: list[Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query, "size": EXPORT_PAGE, "_source": EXPORT_SOURCE,
                                "pit": {"id": pit_id, "keep_alive": EXPORT_KEEP_ALIVE},
                                "sort": [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]}  # fmt: skip
        if after:
            body["search_after"] = after
        return dict(await es.search(**body))

    pit_id: str = (await es.open_point_in_time(index=index.alias, keep_alive=EXPORT_KEEP_ALIVE))["id"]
    try:
        first = await page(pit_id, None)
    except BaseException:
        await _close_pit(es, pit_id)
        raise

    def encode_header(header: list[str]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf).writerow(header)
        return buf.getvalue().encode()

    def encode(hits: list[dict[str, Any]]) -> bytes:
        buf = io.StringIO()
        if fmt == "csv":
            writer = csv.writer(buf)
            for h in hits:
                writer.writerow(export_row(h["_source"], tz))
        else:
            for h in hits:
                buf.write(json.dumps(export_record(h["_source"], tz), ensure_ascii=False) + "\n")
        return buf.getvalue().encode()

    async def stream() -> AsyncIterator[bytes]:
        nonlocal pit_id
        resp, sent = first, 0
        try:
            if fmt == "csv":
                # The byte order mark makes spreadsheets (Excel) read the file as UTF-8.
                yield codecs.BOM_UTF8 + encode_header(export_header(tz))
            while hits := resp["hits"]["hits"]:
                pit_id = resp.get("pit_id", pit_id)
                yield encode(hits)
                sent += len(hits)
                if len(hits) < EXPORT_PAGE:  # a short page is the last one: no empty request
                    break
                try:
                    resp = await page(pit_id, hits[-1]["sort"])
                except Exception as exc:
                    log.warning("export interrupted", extra={"records": sent, "error": repr(exc)[:2000]})
                    if fmt == "ndjson":
                        yield orjson.dumps({"error": f"export interrupted after {sent} records: the search "
                                                     "backend failed; this file is incomplete"}) + b"\n"  # fmt: skip
                    # Raising after the response started makes the server drop the connection
                    # without the final chunk: the client sees the truncation.
                    raise ExportInterrupted(f"export interrupted after {sent} records") from exc
        finally:
            with anyio.CancelScope(shield=True):  # also when the client went away mid-stream
                await _close_pit(es, pit_id)

    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    headers = {"Content-Disposition": f'attachment; filename="warta-export.{fmt}"'}
    return StreamingResponse(stream(), media_type=media, headers=headers)
