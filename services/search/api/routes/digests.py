"""A monitor's digest (services/search/digests/): the ``schedule`` and ``channels`` fields of
``/v1/saved-searches`` (validated here for the create and update routes), the digests sent
(``GET /{id}/digests``) and a preview of the next one (``GET /{id}/digests/preview``). Sending is
the digest scheduler's work (``warta search digests``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from services.search.alerts import SavedSearchStore, WebhookRefused, check_webhook_url, now_utc
from services.search.api.deps import ReaderKey, SavedSearchesDep
from services.search.api.models import NOT_FOUND, ErrorBody
from services.search.digests.build import build_digest
from services.search.digests.config import NO_CHANNEL, Channels, Schedule
from services.search.digests.render import render
from services.search.digests.schedule import Period, digest_key, latest_boundary, next_boundary
from services.search.digests.store import DigestDeliveries
from shared.auth import team_scope

router = APIRouter(prefix="/saved-searches", tags=["digests"])


def _invalid(loc: tuple[str, ...], msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": msg, "type": kind}])


def _check_chat_url(url: str | None, store: SavedSearchStore) -> None:
    """The alert webhook's rules for the chat webhook: a refused URL is a 422 naming
    ``channels.chat_webhook_url`` and the reason (``webhook_refused.<reason>``). May block on DNS."""
    if url is None:
        return
    try:
        check_webhook_url(url, store.guard)
    except WebhookRefused as exc:
        raise _invalid(("channels", "chat_webhook_url"), exc.message, f"webhook_refused.{exc.reason}") from exc


def _full(model: BaseModel | None) -> dict[str, Any] | None:
    # Every field, defaults included: stored whole, so a partial update replaces the old value.
    return None if model is None else model.model_dump(mode="json")


def digest_fields(schedule: Schedule | None, channels: Channels | None, store: SavedSearchStore) -> dict[str, Any]:
    """The ``schedule`` and ``channels`` a new monitor stores. Raises the 422 of a schedule without
    a channel or of a refused chat webhook. Blocking (DNS)."""
    if schedule is not None and (channels is None or channels.empty):
        raise _invalid(("channels",), NO_CHANNEL, "value_error.digest_without_channel")
    _check_chat_url(channels.chat_webhook_url if channels else None, store)
    return {"schedule": _full(schedule), "channels": _full(channels)}


def digest_changes(body: BaseModel, current: dict[str, Any] | None, store: SavedSearchStore) -> dict[str, Any]:
    """The ``schedule``/``channels`` changes of a PATCH body (given ones only; null removes), checked
    against the monitor's current state (``current``; None: the route answers 404). Raises the
    422s of :func:`digest_fields`. Blocking (DNS)."""
    given = body.model_fields_set & {"schedule", "channels"}
    if not given or current is None:
        return {}
    changes = {k: _full(getattr(body, k)) for k in given}
    schedule = changes.get("schedule", current.get("schedule"))
    channels = Channels.model_validate(changes.get("channels", current.get("channels")) or {})
    if schedule is not None and channels.empty:
        raise _invalid(("channels",), NO_CHANNEL, "value_error.digest_without_channel")
    if "channels" in changes and channels.chat_webhook_url != (current.get("channels") or {}).get("chat_webhook_url"):
        _check_chat_url(channels.chat_webhook_url, store)
    return changes


class ChannelState(BaseModel):
    status: str = Field(description="pending, sending, sent, failed or cancelled")
    at: datetime | None = Field(None, description="When it last changed")
    sends: int = Field(0, description="Sends attempted (more than 1 after a retry or a crash mid-send)")
    error: str | None = Field(None, description="Why the last send failed")
    message_id: str | None = Field(None, description="E-mail: the Message-ID (the same on every attempt)")
    recipients: list[str] | None = Field(None, description="E-mail: the addresses it was sent to")
    refused: list[str] | None = Field(None, description="E-mail: recipients the SMTP server refused, with its answer")
    status_code: int | None = Field(None, description="Chat: the webhook's HTTP status")


class DigestDelivery(BaseModel):
    id: str = Field(description="The digest's key: the monitor's id and the end of its period")
    saved_search_id: str = Field(description="The monitor")
    period_start: datetime = Field(description="The period covered, from (inclusive)...")
    period_end: datetime = Field(description="...to (exclusive): when the digest was due")
    status: Literal["sending", "retrying", "sent", "failed", "cancelled"] = Field(
        description="sending (claimed by a scheduler), retrying (a channel failed; see next_attempt_at), sent, "
        "failed (after the last attempt) or cancelled (monitor or schedule removed)"
    )
    attempts: int = Field(description="Attempts so far (a take-over after a crash counts as one)")
    articles: int | None = Field(None, description="Articles in the digest")
    stories: int | None = Field(None, description="Stories in the digest")
    created_at: datetime = Field(description="When a scheduler claimed it")
    sent_at: datetime | None = Field(None, description="When every channel had gone out")
    next_attempt_at: datetime | None = Field(None, description="When a retrying digest is tried again")
    channels: dict[str, ChannelState] = Field(default_factory=dict, description="email and chat")
    log: list[dict[str, Any]] = Field(default_factory=list, description="One entry per failed send: at, channel, error")


class DigestList(BaseModel):
    next_at: datetime | None = Field(None, description="When the next digest is due; null without a schedule")
    digests: list[DigestDelivery] = Field(description="Digests of the monitor, newest period first")


async def _monitor(request: Request, saved_id: str, key: Any) -> dict[str, Any]:
    store: SavedSearchStore = request.app.state.saved
    found = await run_in_threadpool(store.get, saved_id, team_scope(key))
    if found is None:
        raise HTTPException(status_code=404, detail=f"saved search {saved_id} not found")
    return found


@router.get(
    "/{saved_id}/digests",
    response_model=DigestList,
    responses=NOT_FOUND,
    summary="A monitor's digests",
    description="The digests sent for the monitor, newest period first (`size`, up to 200), each with its status and "
    "the state of each channel, and when the next one is due. 404 if there is no such monitor (or it is another "
    "team's).",
)
async def list_digests(saved_id: str, request: Request, store: SavedSearchesDep, key: ReaderKey,
                       size: Annotated[int, Query(ge=1, le=200)] = 20) -> Any:  # fmt: skip
    saved = await _monitor(request, saved_id, key)
    deliveries = DigestDeliveries(store.es, request.app.state.index_prefix)
    digests = await run_in_threadpool(deliveries.list, saved_id, size)
    next_at = next_boundary(Schedule.model_validate(saved["schedule"]), now_utc()) if saved.get("schedule") else None
    return {"next_at": next_at, "digests": digests}


@router.get(
    "/{saved_id}/digests/preview",
    # Errors are JSON; only the 200 is HTML or text (declared below).
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {"content": {"text/html": {}, "text/plain": {}}, "description": "The digest as HTML, text or chat text"},
        409: {"model": ErrorBody, "description": "The monitor has no schedule"},
    },
    summary="Preview a monitor's next digest",
    description="The next digest as it stands now: the matches since the last scheduled time, rendered as the "
    "e-mail's HTML (`format=html`) or text part (`text`), or as the chat message (`chat`). Nothing is sent. 404 if "
    "there is no such monitor; 409 if it has no schedule.",
)
async def preview_digest(saved_id: str, request: Request, store: SavedSearchesDep, key: ReaderKey,
                         format: Literal["html", "text", "chat"] = "html") -> Response:  # fmt: skip
    saved = await _monitor(request, saved_id, key)
    if not saved.get("schedule"):
        raise HTTPException(status_code=409, detail="the monitor has no schedule: set one to preview its digest")
    schedule = Schedule.model_validate(saved["schedule"])
    now = now_utc()
    period = Period(latest_boundary(schedule, now), now)
    base = str(request.base_url).rstrip("/")
    digest = await run_in_threadpool(build_digest, store.es, request.app.state.index_prefix,
                                     request.app.state.index.alias, saved, schedule, period,
                                     digest_key(saved_id, period), base)  # fmt: skip
    rendered = render(digest)
    if format == "html":
        return HTMLResponse(rendered.html)
    return PlainTextResponse(rendered.text if format == "text" else rendered.chat)
