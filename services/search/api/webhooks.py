"""The alert webhook, as the OpenAPI document's ``webhooks`` (OpenAPI 3.1) describes it: what the
alerts consumer (``services/search/alerts/dispatcher.py``) POSTs to a monitor's ``webhook_url``.
Documentation only: nothing here serves a request. The full guide is ``docs/alerts.md``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from services.search.api.models import AlertPayload

webhooks_router = APIRouter(tags=["alerts"])


@webhooks_router.post(
    "alert",
    summary="New matches of a monitor",
    description="Warta sends one `POST` to the monitor's `webhook_url` for each batch of new matches, with a "
    "compact UTF-8 JSON body. Verify the signature over the raw body bytes: `X-Warta-Signature` is `sha256=` and "
    "the hex HMAC-SHA256, keyed with the deployment's `WARTA_WEBHOOK_SECRET`, of `X-Warta-Timestamp` + `.` + "
    "the body; refuse a timestamp more than 300 s from your clock, and deduplicate on `X-Warta-Delivery`.\n\n"
    "Any 2xx answer is a delivery (the body is not read). Anything else (another status, redirects included, "
    "a connection error, a 10 s timeout) is a failed attempt, retried after 2, 4, 8, 16, 32, 64 and 128 s: 8 "
    "attempts in all, each signed afresh. `GET /v1/saved-searches/{saved_id}/deliveries` lists the attempts.",
    responses={200: {"description": "Any 2xx: delivered"}, 500: {"description": "Any other answer: retried"}},
)
def alert(
    payload: AlertPayload,
    x_warta_signature: Annotated[
        str,
        Header(
            alias="X-Warta-Signature",
            description="`sha256=` + hex HMAC-SHA256(WARTA_WEBHOOK_SECRET, X-Warta-Timestamp + `.` + raw body)",
            examples=["sha256=cfe8f11b006bb393d0eb0708c8d303a8e779fa2e2d5da8c3a4041f6d39275cea"],
        ),
    ],
    x_warta_timestamp: Annotated[
        str,
        Header(
            alias="X-Warta-Timestamp",
            description="Unix time in seconds when this attempt was signed",
            examples=["1796466031"],
        ),
    ],
    x_warta_delivery: Annotated[
        str,
        Header(
            alias="X-Warta-Delivery", description="The delivery_id of the body", examples=["16132290851e9404b6e30bad"]
        ),
    ],
    user_agent: Annotated[str, Header(alias="User-Agent", description="`Warta-Alerts/1`")] = "Warta-Alerts/1",
) -> None:
    """Never called: it documents the request a receiver gets."""
