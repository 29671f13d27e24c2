"""The approval workflow (审核): file, approve (four eyes), reject.

Filing happens inside a domain's edit (the edit validated itself first, so a request
that could never apply is refused at once). Approving applies the change through the
kind's registered applier in the approval's own transaction: the change and the
request's new status commit together or not at all.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited
from app.categories.change_requests import repository
from app.categories.change_requests.registry import applier_for
from app.categories.change_requests.schemas import ChangeRequestFilter
from app.core.auth import Principal, same_person
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.i18n import Text
from app.core.pagination import PageParams
from app.models import ChangeRequest, OutboxEvent

T = TypeVar("T")
# A request's audit state: the fields that have a value (status always has one).
AUDITED = Audited(
    "change_request",
    (
        "kind",
        "status",
        "tree_id",
        "target_id",
        "target_version",
        "submitted_by",
        "decided_by",
        "reason",
        "result",
    ),
    omit_null=True,
)


@dataclass(frozen=True)
class Applied(Generic[T]):
    """An edit applied at once; `done` is what it made or changed."""

    done: T


@dataclass(frozen=True)
class Filed:
    """An edit on a tree that requires approval, filed as `request` instead of applied."""

    request: ChangeRequest


class ChangeRequestNotFound(NotFound):
    default_detail = Text("找不到该变更申请", "No such change request")


class AlreadyDecided(Conflict):
    def __init__(self, status: str) -> None:
        super().__init__(
            Text(f"该变更申请已处理(状态:{status})", f"The change request is already {status}"),
            extra={"request_status": status},
        )


class ApproverIsSubmitter(Forbidden):
    def __init__(self, actor: str) -> None:
        super().__init__(
            Text(
                f"审批人不能是提交人本人(四眼原则):该变更由 {actor} 提交,请由另一位审批人处理",
                f"Four-eyes rule: the change was submitted by {actor}, who cannot approve it; "
                "another approver must",
            )
        )


async def submit(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: str,
    tree_id: uuid.UUID | None,
    target_id: uuid.UUID | None,
    target_version: int | None,
    payload: dict[str, Any],
    diff: dict[str, Any],
    note: str | None,
) -> ChangeRequest:
    """File a pending change request; audited, and `change_request.created` in the outbox
    (for outbound webhooks). The caller has validated the change."""
    applier_for(kind)  # an unregistered kind could never be approved
    request = ChangeRequest(
        tenant_id=principal.tenant_id,
        kind=kind,
        tree_id=tree_id,
        target_id=target_id,
        target_version=target_version,
        payload=payload,
        diff=diff,
        note=note,
        status="pending",
        submitted_by=principal.actor,
        submitted_by_key_id=principal.api_key_id,
    )
    await AUDITED.write(session, principal, request, "submit", extra={"diff": diff})
    session.add(
        OutboxEvent(
            tenant_id=principal.tenant_id,
            event_type="change_request.created",
            payload={
                "change_request_id": str(request.id),
                "kind": kind,
                "tree_id": str(tree_id) if tree_id else None,
                "target_id": str(target_id) if target_id else None,
                "submitted_by": principal.actor,
                "note": note,
                "created_at": request.created_at.isoformat(),
            },
        )
    )
    return request


async def list_change_requests(
    session: AsyncSession, principal: Principal, where: ChangeRequestFilter, page: PageParams
) -> tuple[list[ChangeRequest], str | None]:
    """One page of the tenant's change requests, newest first."""
    return await repository.page_of_change_requests(session, principal.tenant_id, where, page)


async def get_change_request(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, *, lock: bool = False
) -> ChangeRequest:
    request = await repository.change_request(session, principal.tenant_id, request_id, lock=lock)
    if request is None:
        raise ChangeRequestNotFound
    return request


async def _pending(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID
) -> ChangeRequest:
    request = await get_change_request(session, principal, request_id, lock=True)
    if request.status != "pending":
        raise AlreadyDecided(request.status)
    return request


async def approve(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, comment: str | None
) -> ChangeRequest:
    """Apply a pending request atomically and mark it approved.

    403 when the approver is the submitter: the same key, unless a delegating key named
    two different users with X-Actor both times (names compared case- and
    width-insensitively, invisible characters ignored); 409 when it is no longer pending
    or its target changed since it was filed — then nothing changes and it stays pending.
    """
    request = await _pending(session, principal, request_id)
    if same_person(
        request.submitted_by_key_id, request.submitted_by, principal.api_key_id, principal.actor
    ):
        raise ApproverIsSubmitter(request.submitted_by)
    before = AUDITED.snapshot(request)
    result = await applier_for(request.kind)(session, principal, request)
    request.status = "approved"
    request.decided_by = principal.actor
    request.decided_at = datetime.now(UTC)
    request.reason = comment
    request.result = result
    await AUDITED.write(session, principal, request, "approve", before=before)
    return request


async def reject(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, reason: str
) -> ChangeRequest:
    """Mark a pending request rejected with the reason; nothing is applied."""
    request = await _pending(session, principal, request_id)
    before = AUDITED.snapshot(request)
    request.status = "rejected"
    request.decided_by = principal.actor
    request.decided_at = datetime.now(UTC)
    request.reason = reason
    await AUDITED.write(session, principal, request, "reject", before=before)
    return request
