"""``/v1/saved-searches``: monitors: create, list, read, change and delete them, and read their
``/matches`` and webhook ``/deliveries``. Each monitor belongs to a team (the creating key's): a
reader key reads its team's monitors, an analyst key also creates, changes and deletes them, an
admin key reaches every team's. Another team's monitor answers 404, like a missing one. Matching and delivering is the alerts
consumer's work (services/search/alerts/); it also writes the read-only ``delivery_*`` and
``query_*`` state shown here. The store is synchronous (and a webhook check resolves a name), so
its calls run in the thread pool."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from services.search.alerts import SavedSearchStore, WebhookRefused
from services.search.api.deps import AnalystKey, ReaderKey, SavedSearchesDep
from services.search.api.models import NOT_FOUND, Delivery, Match, SavedSearch, SavedSearchIn, SavedSearchPatch
from services.search.api.routes.digests import digest_changes, digest_fields
from services.search.criteria import Criteria
from shared.auth import ApiKey, team_scope

router = APIRouter(prefix="/saved-searches", tags=["alerts"])
QUERY_ERRORS = "a malformed query is a 400 with `error`, `code` and its `position` (docs/query-language.md)"
TEAMS = "A non-admin key reaches only its team's monitors; another team's is a 404, like a missing one."


def _check_query(q: str | None) -> None:
    """Compile the query as a search would: a malformed one is a 400 with its position."""
    if q is not None:
        Criteria(q=q).es_query()


def _refused_webhook(exc: WebhookRefused) -> RequestValidationError:
    # The same 422 shape as any other invalid field (shared.http).
    return RequestValidationError([{"loc": ("body", "webhook_url"), "msg": exc.message,
                                    "type": f"webhook_refused.{exc.reason}"}])  # fmt: skip


def _check_spike(spike: bool, webhook_url: str | None, channels: dict[str, Any] | None) -> None:
    """Spike alerts are sent to the monitor's webhook and to its chat channel: a spike setting with
    neither is a 422."""
    if spike and not webhook_url and not (channels or {}).get("chat_webhook_url"):
        raise RequestValidationError([{"loc": ("body", "spike"), "type": "spike_needs_webhook",
                                       "msg": "spike alerts are sent to the monitor's webhook_url and to its chat "
                                              "channel (channels.chat_webhook_url): set one of them (or remove spike "
                                              "first)"}])  # fmt: skip


def _not_found(saved_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"saved search {saved_id} not found")


async def _visible(store: SavedSearchStore, saved_id: str, key: ApiKey) -> None:
    """404 unless the monitor exists and ``key`` may see it: its matches and deliveries are reached
    only through it."""
    if await run_in_threadpool(store.get, saved_id, team_scope(key)) is None:
        raise _not_found(saved_id)


@router.post(
    "",
    status_code=201,
    response_model=SavedSearch,
    summary="Create a monitor",
    description="Save a query as a monitor: the alerts consumer records every newly indexed article it matches "
    "(`/matches`) and, with a `webhook_url`, POSTs each batch of new matches there (the `alert` webhook). "
    "The monitor belongs to the key's team (an admin key may name another in `team`). "
    f"Errors: {QUERY_ERRORS}; a refused webhook URL is a 422 with the reason in `detail[].type` (docs/alerts.md); "
    "403 for a reader key, or for a non-admin key naming another team.",
)
async def create_saved(body: SavedSearchIn, store: SavedSearchesDep, key: AnalystKey) -> Any:
    team = body.team or key.team
    if team_scope(key) not in (None, team):
        raise HTTPException(status_code=403, detail=f"only an admin key may create a monitor for another team than "
                                                    f"its own ({key.team})")  # fmt: skip
    _check_query(body.query)
    try:  # the webhook checks resolve the name: off the event loop
        digest = await run_in_threadpool(digest_fields, body.schedule, body.channels, store)
        _check_spike(body.spike is not None, body.webhook_url, digest["channels"])
        spike = body.spike.model_dump() if body.spike else None
        return await run_in_threadpool(lambda: store.create(body.name, body.query, body.webhook_url, team=team,
                                                            spike=spike, **digest))  # fmt: skip
    except WebhookRefused as exc:
        raise _refused_webhook(exc) from exc


@router.get(
    "",
    response_model=list[SavedSearch],
    summary="List monitors",
    description="The monitors of the key's team (every team's for an admin key), with the state of its query "
    "(`query_status`) and of its webhook (`delivery_status`).",
)
async def list_saved(store: SavedSearchesDep, key: ReaderKey) -> Any:
    return await run_in_threadpool(store.list, team_scope(key))


@router.get(
    "/{saved_id}",
    response_model=SavedSearch,
    responses=NOT_FOUND,
    summary="Read a monitor",
    description=f"One monitor. 404 if there is none. {TEAMS}",
)
async def get_saved(saved_id: str, store: SavedSearchesDep, key: ReaderKey) -> Any:
    found = await run_in_threadpool(store.get, saved_id, team_scope(key))
    if found is None:
        raise _not_found(saved_id)
    return found


@router.patch(
    "/{saved_id}",
    response_model=SavedSearch,
    responses=NOT_FOUND,
    summary="Change a monitor",
    description="Change the fields given; `webhook_url: null` removes the webhook, and a new webhook URL or query "
    f"resets its state fields; the team never changes. Errors: 404 if there is none; {QUERY_ERRORS}; a refused "
    f"webhook URL is a 422; 403 for a reader key. {TEAMS}",
)
async def update_saved(saved_id: str, body: SavedSearchPatch, store: SavedSearchesDep, key: AnalystKey) -> Any:
    _check_query(body.query)
    # null clears the webhook (and the digest's schedule and channels); for the other fields it means "unchanged".
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items()
               if v is not None or k in ("webhook_url", "spike")}  # spike: null stops spike alerts  # fmt: skip
    try:
        if body.model_fields_set & {"schedule", "channels"}:  # checked against the monitor's current digest
            current = await run_in_threadpool(store.get, saved_id, team_scope(key))
            changes.update(await run_in_threadpool(digest_changes, body, current, store))
        # a spike alert needs a webhook or a chat channel: check what the change leaves
        if changes.get("spike") or changes.get("webhook_url", "") is None or "channels" in changes:
            current = await run_in_threadpool(store.get, saved_id, team_scope(key)) or {}
            merged = {**current, **changes}
            _check_spike(bool(merged.get("spike")), merged.get("webhook_url"), merged.get("channels"))
        found = await run_in_threadpool(store.update, saved_id, changes, team_scope(key))
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
    description="Delete the monitor; deliveries not yet sent are cancelled. 204 with no body; 404 if there is none; "
    f"403 for a reader key. {TEAMS}",
)
async def delete_saved(saved_id: str, store: SavedSearchesDep, key: AnalystKey) -> None:
    if not await run_in_threadpool(store.delete, saved_id, team_scope(key)):
        raise _not_found(saved_id)


@router.get(
    "/{saved_id}/matches",
    response_model=list[Match],
    responses=NOT_FOUND,
    summary="A monitor's matches",
    description=f"The articles the monitor matched, newest match first (`size`, up to 500). 404 if there is none. {TEAMS}",
)
async def saved_matches(saved_id: str, store: SavedSearchesDep, key: ReaderKey,
                        size: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:  # fmt: skip
    await _visible(store, saved_id, key)
    return await run_in_threadpool(store.matches, saved_id, size)


@router.get(
    "/{saved_id}/deliveries",
    response_model=list[Delivery],
    responses=NOT_FOUND,
    summary="A monitor's webhook deliveries",
    description="The webhook deliveries of the monitor, newest first (`size`, up to 500): `status` (pending, "
    f"delivering, delivered, failed, cancelled), attempts and a log entry per attempt. 404 if there is none. {TEAMS}",
)
async def saved_deliveries(saved_id: str, store: SavedSearchesDep, key: ReaderKey,
                           size: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:  # fmt: skip
    await _visible(store, saved_id, key)
    return await run_in_threadpool(store.deliveries, saved_id, size)
