"""``/v1/keys``: create, list and disable API keys (admin only), and ``/v1/keys/me``: the calling
key's own name, role and team (any key; the web app asks it at login). A new key's plaintext is in
the creation answer only; the store keeps its hash."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from services.search.api.deps import AdminKey, KeysDep, ReaderKey
from services.search.api.models import NOT_FOUND, KeyCreated, KeyIn, KeyInfo, KeySelf

router = APIRouter(prefix="/keys", tags=["keys"])


@router.post(
    "",
    status_code=201,
    response_model=KeyCreated,
    summary="Create an API key",
    description="A new key with a name, a role (`reader`, `analyst` or `admin`) and a team (`default` unless "
    "given). A reader reads its team's monitors; an analyst also manages them; an admin manages every team. "
    "The answer holds the key itself, shown this once: only its hash is stored. 422 names an invalid field.",
)
async def create_key(body: KeyIn, keys: KeysDep, _: AdminKey) -> Any:
    key, info = await run_in_threadpool(keys.create, body.name, body.role, None, body.team)
    return KeyCreated(id=info.id, name=info.name, role=info.role, team=info.team, key=key)


@router.get(
    "",
    response_model=list[KeyInfo],
    summary="List API keys",
    description="Every key's id (its hash), name, role, team, prefix and whether it is disabled; never the key itself.",
)
async def list_keys(keys: KeysDep, _: AdminKey) -> Any:
    return await run_in_threadpool(keys.list)


@router.get(
    "/me",
    response_model=KeySelf,
    summary="The calling key",
    description="The name, role and team of the key that makes the request (never the key itself), so a client "
    "can show what the key may do.",
)
async def my_key(key: ReaderKey) -> Any:
    return KeySelf(id=key.id, name=key.name, role=key.role, team=key.team)


@router.delete(
    "/{key_id}",
    status_code=204,
    responses=NOT_FOUND,
    summary="Disable an API key",
    description="Disable the key: every API process refuses it within about a second. 204 with no body; 404 if "
    "there is no such key.",
)
async def disable_key(key_id: str, keys: KeysDep, _: AdminKey) -> None:
    if not await run_in_threadpool(keys.disable, key_id):
        raise HTTPException(status_code=404, detail=f"key {key_id} not found")
