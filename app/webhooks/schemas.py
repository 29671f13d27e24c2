"""Inbound webhook events as senders post them, and what the API answers about them."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypeAliasType

from app.activity.schemas import ORDER_EXAMPLE, ComplaintIn, InteractionIn, OrderIn
from app.core.schemas import RequestBody
from app.models import WebhookEvent

InboundEventType = TypeAliasType(
    "InboundEventType",
    Literal["order.created", "order.updated", "interaction.created", "complaint.created"],
)
WebhookEventStatus = TypeAliasType("WebhookEventStatus", Literal["accepted", "processed", "failed"])
MAX_EVENT_ITEMS = 1000


class WebhookEnvelope(RequestBody):
    """What is validated first: the type, and data as an object (checked per type)."""

    type: InboundEventType
    data: dict[str, Any]


class WebhookBatch(RequestBody):
    """Several items of the event's type in one event."""

    items: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_EVENT_ITEMS)]


class OrderBatch(RequestBody):
    items: Annotated[list[OrderIn], Field(min_length=1, max_length=MAX_EVENT_ITEMS)]


class InteractionBatch(RequestBody):
    items: Annotated[list[InteractionIn], Field(min_length=1, max_length=MAX_EVENT_ITEMS)]


class ComplaintBatch(RequestBody):
    items: Annotated[list[ComplaintIn], Field(min_length=1, max_length=MAX_EVENT_ITEMS)]


class WebhookEventIn(RequestBody):
    """An inbound event (documentation of the body; the route reads it itself, after the
    signature): `data` is one item of the bulk endpoint of its type (`order.*`: an order,
    `interaction.created`: an interaction, `complaint.created`: a complaint) or
    `{"items": [...]}` of up to 1,000 of them."""

    type: InboundEventType = Field(description="What happened")
    data: OrderIn | InteractionIn | ComplaintIn | OrderBatch | InteractionBatch | ComplaintBatch


class WebhookReceipt(BaseModel):
    """The stored event: new (202) or received before under the same `webhook-id` (200,
    `duplicate`, nothing written again)."""

    id: uuid.UUID
    webhook_id: str
    type: InboundEventType
    status: WebhookEventStatus
    items: int
    duplicate: bool
    received_at: datetime

    @classmethod
    def of(cls, event: WebhookEvent, *, duplicate: bool) -> "WebhookReceipt":
        return cls.model_validate(
            {
                "id": event.id,
                "webhook_id": event.webhook_id,
                "type": event.event_type,
                "status": event.status,
                "items": event.items,
                "duplicate": duplicate,
                "received_at": event.received_at,
            }
        )


class WebhookEventOut(BaseModel):
    """A received event and how far its reclassification got."""

    id: uuid.UUID
    webhook_id: str
    type: InboundEventType
    status: WebhookEventStatus = Field(
        description="accepted: stored, reclassification queued; processed: every customer "
        "of the event reclassified; failed: see `reason`"
    )
    reason: str | None = None
    items: int
    received_at: datetime
    processed_at: datetime | None = None

    @classmethod
    def of(cls, event: WebhookEvent) -> "WebhookEventOut":
        return cls.model_validate(
            {
                "id": event.id,
                "webhook_id": event.webhook_id,
                "type": event.event_type,
                "status": event.status,
                "reason": event.reason,
                "items": event.items,
                "received_at": event.received_at,
                "processed_at": event.processed_at,
            }
        )


class InboundSecretOut(BaseModel):
    """A new inbound secret, shown this once."""

    secret: str = Field(description="`whsec_` + base64; sign inbound events with it")
    created_at: datetime
    previous_valid_until: datetime | None = Field(
        default=None, description="Until when the secret it replaced still verifies (24 h)"
    )


EVENT_EXAMPLE = {"type": "order.created", "data": ORDER_EXAMPLE}
RECEIPT_EXAMPLE = {
    "id": "0193a7f2-5b1c-7d2e-9f3a-4b5c6d7e8f90",
    "webhook_id": "msg_2Kx9fQbN7wVzL1",
    "type": "order.created",
    "status": "accepted",
    "items": 1,
    "duplicate": False,
    "received_at": "2026-12-07T10:15:00+08:00",
}
EVENT_OUT_EXAMPLE = {
    "id": "0193a7f2-5b1c-7d2e-9f3a-4b5c6d7e8f90",
    "webhook_id": "msg_2Kx9fQbN7wVzL1",
    "type": "order.created",
    "status": "processed",
    "reason": None,
    "items": 1,
    "received_at": "2026-12-07T10:15:00+08:00",
    "processed_at": "2026-12-07T10:15:00.420000+08:00",
}
SECRET_EXAMPLE = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6n1XjkOebKk=",
    "created_at": "2026-12-07T10:00:00+08:00",
    "previous_valid_until": "2026-12-08T10:00:00+08:00",
}
