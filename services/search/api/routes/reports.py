"""``GET /v1/reports``: the clipping report ("kliping media") of the articles the criteria select, as
one HTML page or an A4 PDF (services/search/reports). Any key may read one (reader); a report is
computed per request and stored nowhere, so there is nothing for teams to own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.search.api.deps import IndexDep, ReaderKey
from services.search.api.models import ReportParams
from services.search.criteria import JAKARTA
from services.search.reports.data import gather
from services.search.reports.render import render_html, render_pdf
from services.search.reports.style import REPORT_CSP

router = APIRouter(tags=["reports"])

# PDF rendering takes a CPU for about a second per few dozen pages: at most two at once per process,
# so reports never starve searches of the thread pool.
_PDF_SLOTS = anyio.CapacityLimiter(2)


@router.get(
    "/reports",
    response_class=Response,
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "The report: an HTML page, or an A4 PDF with page numbers",
        }
    },
    summary="Clipping report",
)
async def report(p: Annotated[ReportParams, Query()], index: IndexDep, _: ReaderKey) -> Response:
    """The report of the matches of ``q`` and the filters (the same criteria as search): how many
    articles and stories, the timeline (per day up to 60 days, per week up to two years, per month
    beyond; WIB), the tone mix, the top outlets, people, institutions (with the tone toward them) and
    regions, and the stories most widely carried, each with its title, outlets, summary and link.
    Indonesian by default, English with ``lang=en``. ``format=pdf`` is an A4 PDF with page numbers
    (a download). Charts are SVG drawn from the data. A malformed query is a 400 with its
    ``position``; nothing is stored."""
    data = await gather(index.es, index.alias, p.criteria(), top=p.top, stories=p.stories,
                        timeout=index.search_timeout)  # fmt: skip
    html = render_html(data, p.lang, p.title)
    day = datetime.now(UTC).astimezone(JAKARTA).date().isoformat()
    name = f"{'laporan' if p.lang == 'id' else 'report'}-{day}"
    if p.format == "html":
        return Response(html, media_type="text/html; charset=utf-8", headers={
            "Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{name}.html"'})  # fmt: skip
    pdf = await anyio.to_thread.run_sync(render_pdf, html, limiter=_PDF_SLOTS)
    return Response(pdf, media_type="application/pdf", headers={
        "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}.pdf"'})  # fmt: skip
