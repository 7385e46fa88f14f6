"""``python -m services.search.reports.example``: the report of the demo data (the articles the
demo stack, ``make up``, has indexed) as ``docs/examples/laporan-demo.pdf``, and its HTML beside it
with ``--html``. Reads the index the search settings name (``WARTA_ES_URL``, ``WARTA_INDEX_PREFIX``)
directly; the search API need not run."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from elasticsearch import AsyncElasticsearch

from services.search.criteria import Criteria
from services.search.reports.data import gather
from services.search.reports.render import render_html, render_pdf
from services.search.settings import SearchSettings

OUT = Path(__file__).resolve().parents[3] / "docs" / "examples" / "laporan-demo.pdf"


async def build(args: argparse.Namespace) -> tuple[str, bytes, int]:
    settings = SearchSettings()
    es = AsyncElasticsearch(settings.es_hosts, request_timeout=60)
    try:
        criteria = Criteria(q=args.q, date_from=args.date_from, date_to=args.date_to)
        data = await gather(es, settings.alias, criteria, stories=args.stories)
    finally:
        await es.close()
    html = render_html(data, args.lang, args.title)
    return html, await asyncio.to_thread(render_pdf, html), data.articles


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--q", default="", help="query (default: every article)")
    parser.add_argument("--from", dest="date_from", default=None)
    parser.add_argument("--to", dest="date_to", default=None)
    parser.add_argument("--lang", choices=["id", "en"], default="id")
    parser.add_argument("--title", default="Kliping Media: data demo Warta")
    parser.add_argument("--stories", type=int, default=100)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--html", action="store_true", help="also write the HTML next to the PDF")
    args = parser.parse_args(argv)
    html, pdf, articles = asyncio.run(build(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pdf)
    if args.html:
        args.out.with_suffix(".html").write_text(html, encoding="utf-8")
    print(f"{args.out}: {articles} articles, {len(pdf):,} bytes")


if __name__ == "__main__":
    main()
