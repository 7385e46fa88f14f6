"""``/v1/saved-searches``: monitors (admin only): create, list, read, change and delete them, and
read their ``/matches`` and webhook ``/deliveries``. Matching and delivering is the alerts
consumer's work (services/search/alerts/); it also writes the read-only ``delivery_*`` and
``query_*`` state shown here. The store is synchronous (and a webhook check resolves a name), so
its calls run in the thread pool."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from services.search.alerts import WebhookRefused
from services.search.api.deps import AdminKey, SavedSearchesDep
from services.search.api.models import NOT_FOUND, Delivery, Match, SavedSearch, SavedSearchIn, SavedSearchPatch
from services.search.criteria import Criteria

router = APIRouter(prefix="/saved-searches", tags=["alerts"])
QUERY_ERRORS = "a malformed query is a 400 with `error`, `code` and its `position` (docs/query-language.md)"


def _check_query(q: str | None) -> None:
    """Compile the query as a search would: a malformed one is a 400 with its position."""
    if q is not None:
        Criteria(q=q).es_query()


def _refused_webhook(exc: WebhookRefused) -> RequestValidationError:
    # The same 422 shape as any other invalid field (shared.http).
    return RequestValidationError([{"loc": ("body", "webhook_url"), "msg": exc.message,
                                    "type": f"webhook_refused.{exc.reason}"}])  # fmt: skip


def _not_found(saved_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"saved search {saved_id} not found")


@router.post(
    "",
    status_code=201,
    response_model=SavedSearch,
    summary="Create a monitor",
    description="Save a query as a monitor: the alerts consumer records every newly indexed article it matches "
    "(`/matches`) and, with a `webhook_url`, POSTs each batch of new matches there (the `alert` webhook). "
    f"Errors: {QUERY_ERRORS}; a refused webhook URL is a 422 with the reason in `detail[].type` (docs/alerts.md).",
)
async def create_saved(body: SavedSearchIn, store: SavedSearchesDep, _: AdminKey) -> Any:
    _check_query(body.query)
    try:  # the webhook check resolves the name: off the event loop
        return await run_in_threadpool(store.create, body.name, body.query, body.webhook_url)
    except WebhookRefused as exc:
        raise _refused_webhook(exc) from exc


@router.get(
    "",
    response_model=list[SavedSearch],
    summary="List monitors",
    description="Every monitor, with the state of its query (`query_status`) and of its webhook (`delivery_status`).",
)
async def list_saved(store: SavedSearchesDep, _: AdminKey) -> Any:
    return await run_in_threadpool(store.list)


@router.get(
    "/{saved_id}",
    response_model=SavedSearch,
    responses=NOT_FOUND,
    summary="Read a monitor",
    description="One monitor. 404 if there is none.",
)
async def get_saved(saved_id: str, store: SavedSearchesDep, _: AdminKey) -> Any:
    found = await run_in_threadpool(store.get, saved_id)
    if found is None:
        raise _not_found(saved_id)
    return found


@router.patch(
    "/{saved_id}",
    response_model=SavedSearch,
    responses=NOT_FOUND,
    summary="Change a monitor",
    description="Change the fields given; `webhook_url: null` removes the webhook, and a new webhook URL or query "
    f"resets its state fields. Errors: 404 if there is none; {QUERY_ERRORS}; a refused webhook URL is a 422.",
)
async def update_saved(saved_id: str, body: SavedSearchPatch, store: SavedSearchesDep, _: AdminKey) -> Any:
    _check_query(body.query)
    # null clears the webhook; for the other fields it means "unchanged".
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k == "webhook_url"}
    try:
        found = await run_in_threadpool(store.update, saved_id, changes)
    except WebhookRefused as exc:
        raise _refused_webhook(exc) from exc
    if found is None:
        raise _not_found(saved_id)
    return found


@router.delete(
    "/{saved_id}",
    status_code=204,
    responses=NOT_FOUND,
    summary="Delete a monitor",
    description="Delete the monitor; deliveries not yet sent are cancelled. 204 with no body; 404 if there is none.",
)
async def delete_saved(saved_id: str, store: SavedSearchesDep, _: AdminKey) -> None:
    if not await run_in_threadpool(store.delete, saved_id):
        raise _not_found(saved_id)


@router.get(
    "/{saved_id}/matches",
    response_model=list[Match],
    responses=NOT_FOUND,
    summary="A monitor's matches",
    description="The articles the monitor matched, newest match first (`size`, up to 500). 404 if there is none.",
)
async def saved_matches(saved_id: str, store: SavedSearchesDep, _: AdminKey,
                        size: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:  # fmt: skip
    if await run_in_threadpool(store.get, saved_id) is None:
        raise _not_found(saved_id)
    return await run_in_threadpool(store.matches, saved_id, size)


@router.get(
    "/{saved_id}/deliveries",
    response_model=list[Delivery],
    responses=NOT_FOUND,
    summary="A monitor's webhook deliveries",
    description="The webhook deliveries of the monitor, newest first (`size`, up to 500): `status` (pending, "
    "delivering, delivered, failed, cancelled), attempts and a log entry per attempt. 404 if there is none.",
)
async def saved_deliveries(saved_id: str, store: SavedSearchesDep, _: AdminKey,
                           size: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:  # fmt: skip
    if await run_in_threadpool(store.get, saved_id) is None:
        raise _not_found(saved_id)
    return await run_in_threadpool(store.deliveries, saved_id, size)
