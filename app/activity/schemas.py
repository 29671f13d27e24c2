"""Orders, interactions and complaints as integrations send them."""

from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StringConstraints

from app.core.bulk import bulk_items
from app.core.schemas import DateOrDateTime, MoneyIn, RequestBody

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
CustomerCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
When = DateOrDateTime
WHEN_DESCRIPTION = (
    "A date (`2026-11-20`) or date-time; a date-time without offset is read in the "
    "tenant's time zone, and metrics count the tenant-local day"
)


class ActivityItem(RequestBody):
    external_id: ExternalId = Field(description="Your id; re-sending it updates, never duplicates")
    customer_code: CustomerCode = Field(description="客户编号 of the customer")


class OrderIn(ActivityItem):
    """An order (订单)."""

    amount: MoneyIn = Field(
        description=(
            "CNY, 2 decimals, not negative. A refund is not a negative order: re-send the "
            "order (same external_id) with status refunded, and it counts in no metric"
        )
    )
    ordered_at: When = Field(description=WHEN_DESCRIPTION)
    status: Literal["pending", "paid", "completed", "cancelled", "refunded"] = Field(
        default="completed", description="cancelled and refunded orders count in no metric"
    )


class InteractionIn(ActivityItem):
    """A contact with the customer (沟通记录)."""

    occurred_at: When = Field(description=WHEN_DESCRIPTION)
    channel: Literal["phone", "visit", "email", "wechat", "meeting", "online", "other"] = "other"
    direction: Literal["inbound", "outbound"] = "outbound"
    replied: StrictBool | None = Field(
        default=None, description="For outbound outreach: did the customer reply"
    )
    is_inquiry: StrictBool = Field(default=False, description="询价/咨询")
    summary: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ComplaintIn(ActivityItem):
    """A complaint (投诉)."""

    occurred_at: When = Field(description=WHEN_DESCRIPTION)
    severity: Literal["minor", "major"] = Field(default="minor", description="major = 重大投诉")
    summary: Annotated[str, StringConstraints(max_length=2000)] | None = None


class OrderBulk(RequestBody):
    """Orders (up to 10,000), idempotent by external_id."""

    items: Annotated[list[dict[str, Any]], bulk_items(OrderIn)]


class InteractionBulk(RequestBody):
    """Interactions (up to 10,000), idempotent by external_id."""

    items: Annotated[list[dict[str, Any]], bulk_items(InteractionIn)]


class ComplaintBulk(RequestBody):
    """Complaints (up to 10,000), idempotent by external_id."""

    items: Annotated[list[dict[str, Any]], bulk_items(ComplaintIn)]


ORDER_EXAMPLE = {
    "external_id": "SO-2026-000123",
    "customer_code": "C000123",
    "amount": "125000.00",
    "ordered_at": "2026-11-20",
    "status": "completed",
}
INTERACTION_EXAMPLE = {
    "external_id": "CALL-88231",
    "customer_code": "C000123",
    "occurred_at": "2026-11-21T15:30:00+08:00",
    "channel": "phone",
    "direction": "outbound",
    "replied": True,
    "is_inquiry": False,
    "summary": "确认下季度采购计划",
}
COMPLAINT_EXAMPLE = {
    "external_id": "TS-2026-0042",
    "customer_code": "C000123",
    "occurred_at": "2026-11-02",
    "severity": "major",
    "summary": "交付延迟两周",
}
