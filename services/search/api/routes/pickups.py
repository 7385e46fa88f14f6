"""``/v1/pickups``: press-release pickups ("bukti tayang"): track a release, list the articles that
carried it (outlet, first seen, delay, how much of the release each kept, title changed, the lead's
diff), export them as CSV or a PDF proof sheet, and score partner outlets over a period.

Releases belong to a team (the creating key's): a reader key reads its team's, an analyst key also
tracks and deletes them, an admin key reaches every team's; another team's release answers 404,
like a missing one. Pickups are computed from the article index on every read
(services/search/pickups/), so an article is listed about a second after it is indexed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from services.search.api.deps import AnalystKey, ReaderKey
from services.search.api.models import NOT_FOUND, ErrorBody
from services.search.criteria import BadRequest, parse_when
from services.search.pickups import PickupInputError, Pickups
from services.search.pickups.export import pickups_csv, proof_pdf, scorecard_csv
from services.search.pickups.models import PickupIn, Release, ReleaseDetail, Scorecard
from shared.auth import team_scope

router = APIRouter(prefix="/pickups", tags=["pickups"])
TEAMS = "A non-admin key reaches only its team's releases; another team's is a 404, like a missing one."
# PDF rendering takes a CPU: at most two at once per process, so searches keep the thread pool.
_PDF_SLOTS = anyio.CapacityLimiter(2)


async def get_pickups(request: Request) -> Pickups:
    return request.app.state.pickups  # type: ignore[no-any-return]


PickupsDep = Annotated[Pickups, Depends(get_pickups)]


def _invalid(exc: PickupInputError, where: str = "body") -> RequestValidationError:
    # The same 422 shape as any other invalid field (shared.http).
    return RequestValidationError([{"loc": (where, exc.field), "msg": exc.message, "type": f"pickup.{exc.kind}"}])


def _not_found(release_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"release {release_id} not found")


@router.post(
    "",
    response_model=Release,
    status_code=201,
    responses={
        200: {"model": Release, "description": "This team already tracks this release: the tracked one"},
        413: {"model": ErrorBody, "description": "The request body is over the size cap of this endpoint"},
    },
    summary="Track a press release",
    description="Track a release given by its `text` (and `title`), or by the `url` of its original on the "
    "institution's site when Warta has indexed that page (Warta does not fetch it: a URL that is not indexed is a "
    "422 saying so). Articles published from a day before `released_at` to `window_days` after it (default 7) are "
    "compared with it. Sending the same release again returns the tracked one (200). The release belongs to the "
    "key's team. Errors: 422 naming the field (both or neither of `text` and `url`, a text under 20 words, a URL "
    "not indexed); 403 for a reader key.",
)
async def create_pickup(body: PickupIn, pickups: PickupsDep, key: AnalystKey, response: Response) -> Any:
    try:
        release, created = await pickups.create(key.team, key.name, body.title, body.text, body.url,
                                                body.released_at, body.window_days)  # fmt: skip
    except PickupInputError as exc:
        raise _invalid(exc) from exc
    if not created:
        response.status_code = 200
    return release


@router.get(
    "",
    response_model=list[Release],
    summary="List tracked releases",
    description=f"The releases of the key's team (every team's for an admin key), latest release first, each with "
    f"how many outlets and articles carried it so far. {TEAMS}",
)
async def list_pickups(pickups: PickupsDep, key: ReaderKey, size: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    return await pickups.releases(team_scope(key), size)


def _period(date_from: str | None, date_to: str | None) -> tuple[datetime, datetime]:
    hi = parse_when(date_to, "to", end=True) or datetime.now(UTC)
    try:
        lo = parse_when(date_from, "from") or hi - timedelta(days=30)
    except OverflowError as exc:  # "to" in the first month of year 1
        raise BadRequest("to: too early", code="invalid_date", params={"name": "to", "value": date_to}) from exc
    if lo > hi:
        raise BadRequest("from is after to", code="date_range_reversed")
    return lo, hi


@router.get(
    "/scorecard",
    response_model=Scorecard,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Partner scorecard",
    description="Per outlet, over the releases released in the period (`from`/`to`: dates or date-times, Asia/Jakarta "
    "without a zone; default the last 30 days): releases carried and their share of the period's releases, "
    "articles, the median over releases of the outlet's first delay, and the mean over releases of how much of "
    f"each it kept. `format=csv` downloads it (UTF-8 with a byte order mark). {TEAMS} At most 1,000 releases per "
    "period (else 422).",
)
async def pickup_scorecard(
    pickups: PickupsDep,
    key: ReaderKey,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    lo, hi = _period(date_from, date_to)
    try:
        releases, outlets = await pickups.scorecard(team_scope(key), lo, hi)
    except PickupInputError as exc:
        raise _invalid(exc, "query") from exc
    if format == "csv":
        return Response(scorecard_csv(releases, outlets), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="skor-media-{lo.date()}-{hi.date()}.csv"'})  # fmt: skip
    return {"from": lo, "to": hi, "releases": releases, "outlets": outlets}


@router.get(
    "/{release_id}",
    response_model=ReleaseDetail,
    responses=NOT_FOUND,
    summary="A release and its pickups",
    description="The release with its text and every article that carried it, oldest first: outlet, first seen "
    "(publication time, else ingest time), delay from the release, `kept` (share of the release's text it kept), "
    f"`share` (share of the article that is the release), title changed, and the lead's word diff. {TEAMS}",
)
async def get_pickup(release_id: str, pickups: PickupsDep, key: ReaderKey) -> Any:
    found = await pickups.get(release_id, team_scope(key))
    if found is None:
        raise _not_found(release_id)
    return found


@router.get(
    "/{release_id}/export",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {"text/csv": {}, "application/pdf": {}}}},
    summary="Export a release's pickups",
    description="`format=csv`: one row per article (UTF-8 with a byte order mark, times in Asia/Jakarta). "
    "`format=pdf`: the proof sheet (bukti tayang), A4 with page numbers: the release, every pickup and each lead's "
    f"changes; Indonesian, or English with `lang=en`. {TEAMS}",
)
async def export_pickup(
    release_id: str,
    pickups: PickupsDep,
    key: ReaderKey,
    format: Literal["csv", "pdf"] = "csv",
    lang: Literal["id", "en"] = "id",
) -> Response:
    found = await pickups.get(release_id, team_scope(key))
    if found is None:
        raise _not_found(release_id)
    name = f"bukti-tayang-{release_id}"
    if format == "csv":
        return Response(pickups_csv(found), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})  # fmt: skip
    pdf = await anyio.to_thread.run_sync(proof_pdf, found, lang, limiter=_PDF_SLOTS)
    return Response(pdf, media_type="application/pdf", headers={
        "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}.pdf"'})  # fmt: skip


@router.delete(
    "/{release_id}",
    status_code=204,
    responses=NOT_FOUND,
    summary="Stop tracking a release",
    description=f"Delete the release (its pickups are computed, so nothing else is stored). 204; 404 if there is none. "
    f"{TEAMS} 403 for a reader key.",
)
async def delete_pickup(release_id: str, pickups: PickupsDep, key: AnalystKey) -> None:
    if not await pickups.delete(release_id, team_scope(key)):
        raise _not_found(release_id)
