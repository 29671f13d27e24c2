"""Activity in bulk: orders, interactions, complaints."""

from fastapi import APIRouter

from app.activity import service
from app.activity.schemas import (
    COMPLAINT_EXAMPLE,
    INTERACTION_EXAMPLE,
    ORDER_EXAMPLE,
    ComplaintBulk,
    InteractionBulk,
    OrderBulk,
)
from app.core.auth import EditorKey
from app.core.bulk import BulkResult, refuse_if_nothing_kept
from app.core.deps import Session
from app.core.openapi import documented
from app.core.routing import ApiRoute

router = APIRouter(prefix="/api/v1", tags=["activity"], route_class=ApiRoute)

_RESULT_EXAMPLE = {
    "received": 2,
    "created": 1,
    "updated": 0,
    "failed": 1,
    "errors": [
        {
            "index": 1,
            "errors": [
                {
                    "loc": ["customer_code"],
                    "msg": "客户编号 C999 不存在",
                    "type": "unknown_customer",
                }
            ],
        }
    ],
}


@router.post(
    "/orders/bulk",
    response_model=BulkResult,
    **documented(
        "upsertOrders",
        "Record orders in bulk",
        example=_RESULT_EXAMPLE,
        request_example={"items": [ORDER_EXAMPLE]},
    ),
)
async def upsert_orders(principal: EditorKey, session: Session, body: OrderBulk) -> BulkResult:
    """Up to 10,000 orders. Idempotent by `external_id`: re-sending one updates it, never
    duplicates it. Customers are referenced by `customer_code` (merged codes work too);
    an unknown code fails only that item."""
    result = await service.upsert_activity(session, principal, service.ORDERS, body.items)
    return refuse_if_nothing_kept(result)


@router.post(
    "/interactions/bulk",
    response_model=BulkResult,
    **documented(
        "upsertInteractions",
        "Record interactions in bulk",
        example=_RESULT_EXAMPLE,
        request_example={"items": [INTERACTION_EXAMPLE]},
    ),
)
async def upsert_interactions(
    principal: EditorKey,
    session: Session,
    body: InteractionBulk,
) -> BulkResult:
    """Up to 10,000 interactions (calls, visits, e-mails, WeChat …), idempotent by
    `external_id`."""
    result = await service.upsert_activity(session, principal, service.INTERACTIONS, body.items)
    return refuse_if_nothing_kept(result)


@router.post(
    "/complaints/bulk",
    response_model=BulkResult,
    **documented(
        "upsertComplaints",
        "Record complaints in bulk",
        example=_RESULT_EXAMPLE,
        request_example={"items": [COMPLAINT_EXAMPLE]},
    ),
)
async def upsert_complaints(
    principal: EditorKey,
    session: Session,
    body: ComplaintBulk,
) -> BulkResult:
    """Up to 10,000 complaints (`severity` minor or major), idempotent by `external_id`."""
    result = await service.upsert_activity(session, principal, service.COMPLAINTS, body.items)
    return refuse_if_nothing_kept(result)
