"""``GET /v1/audit``: the audit log (admin only), newest first: who removed or restored which
article, when and why (:mod:`shared.audit`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from services.search.api.deps import AdminKey, AuditDep
from services.search.api.models import AuditEvent
from shared.audit import MAX_LIST

router = APIRouter(prefix="/audit", tags=["keys"])


@router.get(
    "",
    response_model=list[AuditEvent],
    summary="Read the audit log (admin)",
    description="Administrative actions, newest first: `article.remove` and `article.restore`, each with the "
    f"key that did it (id, name, role), the target, the reason and the time. `size` up to {MAX_LIST}; "
    "`action` and `target_id` narrow it. The log is append-only: the API offers no way to change it. "
    "403 for a reader key.",
)
async def list_audit(audit: AuditDep, _: AdminKey, size: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
                     action: Annotated[str | None, Query(max_length=100)] = None,
                     target_id: Annotated[str | None, Query(max_length=128)] = None) -> Any:  # fmt: skip
    return await run_in_threadpool(audit.list, size, action, target_id)
