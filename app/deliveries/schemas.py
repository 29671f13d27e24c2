"""Outbound webhook endpoints and deliveries as the API shows them."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator
from typing_extensions import TypeAliasType

from app.core.schemas import RequestBody

EventType = TypeAliasType(
    "EventType",
    Literal[
        "customer.classification_changed",
        "run.completed",
        "run.failed",
        "run.drift_detected",
        "change_request.created",
    ],
)
DeliveryStatus = TypeAliasType("DeliveryStatus", Literal["pending", "succeeded", "failed"])
# An http(s) URL with a host and no credentials, without control characters or spaces:
# what parse_url takes has this shape (it still refuses some that have it).
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20/?#@\\]+(?:[/?#][^\x00-\x20]*)?$"
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=8, max_length=2000, pattern=URL_PATTERN),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
EventTypes = Annotated[
    list[EventType],
    Field(
        min_length=1,
        max_length=len(get_args(EventType.__value__)),
        json_schema_extra={"uniqueItems": True},  # checked by _distinct
    ),
]


def _distinct(values: list[EventType] | None) -> list[EventType] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("event_types must be distinct")
    return values


class EndpointCreate(RequestBody):
    """A receiver of the tenant's events: where, which events, and whether it is on."""

    url: Url = Field(examples=["https://erp.example.com/hooks/crm"])
    event_types: EventTypes = Field(examples=[["customer.classification_changed"]])
    enabled: StrictBool = True
    description: Description | None = Field(default=None, examples=["ERP 客户分类同步"])

    _distinct_types = field_validator("event_types")(_distinct)


class EndpointUpdate(RequestBody):
    """What may change; omitted fields stay as they are."""

    url: Url | None = None
    event_types: EventTypes | None = None
    enabled: StrictBool | None = None
    description: Description | None = None

    _distinct_types = field_validator("event_types")(_distinct)


class EndpointOut(BaseModel):
    """An endpoint, without its secret (shown only when it is created)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[EventType]
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the service disabled it (`gone`: the receiver answered 410)"
    )
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    """A new endpoint and its signing secret, shown only this once."""

    secret: str = Field(
        description="Standard Webhooks signing secret (`whsec_` + base64): verify the "
        "`webhook-signature` header of every delivery with it"
    )


class AttemptOut(BaseModel):
    """One HTTP request of a delivery."""

    model_config = ConfigDict(from_attributes=True)

    attempted_at: datetime
    status_code: int | None = Field(description="The receiver's answer; null when none came")
    latency_ms: int
    error: str | None = Field(description="What went wrong (timeout, refused address, …)")


class DeliveryOut(BaseModel):
    """One event for one endpoint, with every attempt made to deliver it."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: int
    event_type: EventType
    status: DeliveryStatus
    next_attempt_at: datetime | None = Field(description="When a pending delivery is tried next")
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptOut]


ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": "5f0c6a2e-3b1d-4c8e-9a57-2d4b6e8f0a13",
    "url": "https://erp.example.com/hooks/crm",
    "description": "ERP 客户分类同步",
    "event_types": ["customer.classification_changed", "run.completed"],
    "enabled": True,
    "disabled_reason": None,
    "created_at": "2026-12-07T09:30:00+08:00",
    "updated_at": "2026-12-07T09:30:00+08:00",
}
DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": "8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "endpoint_id": ENDPOINT_EXAMPLE["id"],
    "event_id": 1042,
    "event_type": "customer.classification_changed",
    "status": "succeeded",
    "next_attempt_at": None,
    "created_at": "2026-12-07T10:00:00+08:00",
    "finished_at": "2026-12-07T10:00:05+08:00",
    "attempts": [
        {
            "attempted_at": "2026-12-07T10:00:00+08:00",
            "status_code": 503,
            "latency_ms": 120,
            "error": "HTTP 503",
        },
        {
            "attempted_at": "2026-12-07T10:00:05+08:00",
            "status_code": 200,
            "latency_ms": 85,
            "error": None,
        },
    ],
}
