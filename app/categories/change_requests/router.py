"""Change requests (审核): list, read with the diff, approve, reject."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.categories.change_requests import service
from app.categories.change_requests.schemas import (
    APPROVED_EXAMPLE,
    CHANGE_REQUEST_EXAMPLE,
    REJECTED_EXAMPLE,
    ApproveBody,
    ChangeRequestFilter,
    ChangeRequestOut,
    ChangeRequestStatus,
    RejectBody,
)
from app.core.auth import ApproverKey, ViewerKey
from app.core.deps import Session
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute

router = APIRouter(prefix="/api/v1/change-requests", tags=["change-requests"], route_class=ApiRoute)


@router.get(
    "",
    response_model=Page[ChangeRequestOut],
    **documented(
        "listChangeRequests",
        "List change requests",
        example={"items": [CHANGE_REQUEST_EXAMPLE], "next_cursor": None},
    ),
)
async def list_change_requests(
    principal: ViewerKey,
    session: Session,
    page: PageQuery,
    status: Annotated[ChangeRequestStatus | None, Query()] = None,
    tree_id: Annotated[uuid.UUID | None, Query()] = None,
    submitted_by: Annotated[
        str | None, Query(max_length=255, description="Submitting actor, e.g. `user:张伟`")
    ] = None,
    kind: Annotated[str | None, Query(max_length=64, description="e.g. `category.create`")] = None,
) -> Page[ChangeRequestOut]:
    """Change requests of the tenant, newest first, filtered by status (`pending` for
    the review inbox, 审核中心), tree, submitter and kind."""
    rows, next_cursor = await service.list_change_requests(
        session,
        principal,
        ChangeRequestFilter(status, tree_id, submitted_by, kind),
        page,
    )
    return Page(items=[ChangeRequestOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{request_id}",
    response_model=ChangeRequestOut,
    **documented(
        "getChangeRequest", "Get a change request", example=CHANGE_REQUEST_EXAMPLE, errors=[404]
    ),
)
async def get_change_request(
    principal: ViewerKey, session: Session, request_id: uuid.UUID
) -> ChangeRequestOut:
    """One change request with the diff approving it would apply."""
    return ChangeRequestOut.model_validate(
        await service.get_change_request(session, principal, request_id)
    )


@router.post(
    "/{request_id}/approve",
    response_model=ChangeRequestOut,
    **documented(
        "approveChangeRequest",
        "Approve a change request",
        example=APPROVED_EXAMPLE,
        request_example={"reason": "符合2024年大客户管理策略"},
        errors=[404, 409],
    ),
)
async def approve_change_request(
    principal: ApproverKey,
    session: Session,
    request_id: uuid.UUID,
    body: ApproveBody | None = None,
) -> ChangeRequestOut:
    """Apply the change and mark the request approved, atomically (role approver or
    admin). The approving actor must differ from the submitting one (four-eyes; 403).
    If the target changed since the request was filed, or the change no longer fits
    the tree, the answer is 409 and the request stays pending."""
    request = await service.approve(
        session, principal, request_id, body.reason if body is not None else None
    )
    return ChangeRequestOut.model_validate(request)


@router.post(
    "/{request_id}/reject",
    response_model=ChangeRequestOut,
    **documented(
        "rejectChangeRequest",
        "Reject a change request",
        example=REJECTED_EXAMPLE,
        request_example={"reason": "分类层级错误,需重新设置二级分类关联上级"},
        errors=[404, 409],
    ),
)
async def reject_change_request(
    principal: ApproverKey, session: Session, request_id: uuid.UUID, body: RejectBody
) -> ChangeRequestOut:
    """Reject a pending request; the reason (驳回原因) is required. Nothing is applied."""
    return ChangeRequestOut.model_validate(
        await service.reject(session, principal, request_id, body.reason)
    )
