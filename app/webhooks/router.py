"""Inbound webhooks: the tenant's secret (admin), signed events, received events."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.core.auth import AdminKey, ViewerKey
from app.core.deps import Session
from app.core.openapi import documented, raw_json_body, security_scheme
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.webhooks import service
from app.webhooks.dependencies import Now, SignedEvent
from app.webhooks.schemas import (
    EVENT_EXAMPLE,
    EVENT_OUT_EXAMPLE,
    RECEIPT_EXAMPLE,
    SECRET_EXAMPLE,
    InboundSecretOut,
    WebhookEventIn,
    WebhookEventOut,
    WebhookEventStatus,
    WebhookReceipt,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], route_class=ApiRoute)

_SIGNED = security_scheme(
    "StandardWebhooks",
    {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": "Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of "
        "webhook-id.webhook-timestamp.body>` (several, space-separated, allowed) with the "
        "tenant's inbound secret (`POST /api/v1/webhooks/inbound-secret`); the timestamp "
        "within 5 minutes of now.",
    },
)
_SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event's unique id: a second delivery of it changes nothing",
        "schema": {"type": "string", "maxLength": 255, "example": "msg_2Kx9fQbN7wVzL1"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds when it was signed (within 5 minutes of now)",
        "schema": {"type": "string", "example": "1796616900"},
    },
]


def _receive_docs() -> dict[str, Any]:
    docs = documented(
        "receiveWebhookEvent",
        "Receive a signed event",
        example=RECEIPT_EXAMPLE,
        status_code=202,
        request_example=EVENT_EXAMPLE,
        authenticated=False,
        errors=[401],
        responses={
            200: {
                "description": "Received before under this webhook-id; nothing changed",
                "model": WebhookReceipt,
                "content": {
                    "application/json": {"example": {**RECEIPT_EXAMPLE, "duplicate": True}}
                },
            }
        },
    )
    docs["responses"][401]["description"] = (
        "Missing, invalid or expired signature, or an unknown tenant (one answer for all)"
    )
    docs["openapi_extra"] = {
        "requestBody": raw_json_body(WebhookEventIn, EVENT_EXAMPLE),
        "security": _SIGNED,
        "parameters": _SIGNATURE_HEADERS,
    }
    return docs


@router.post("/{tenant_slug}/events", response_model=WebhookReceipt, **_receive_docs())
async def receive_webhook_event(
    session: Session, signed: SignedEvent, now: Now, response: Response
) -> WebhookReceipt:
    """An order, interaction or complaint from your systems, signed with Standard Webhooks
    (the tenant's inbound secret; no API key). `data` is one item shaped as in the bulk
    endpoint of its type, or `{"items": [...]}` of up to 1,000. A valid event is stored
    once per `webhook-id` together with its activity (idempotent by `external_id`) and
    answered 202 at once; each of its customers is then reclassified in every tree with a
    published ruleset (history source `webhook`). A missing, wrong or expired signature,
    or an unknown tenant, is one and the same 401; invalid data is a 422 and stores
    nothing."""
    receipt = await service.receive_event(session, signed, now)
    if receipt.duplicate:
        response.status_code = 200
    return WebhookReceipt.of(receipt.event, duplicate=receipt.duplicate)


@router.post(
    "/inbound-secret",
    response_model=InboundSecretOut,
    **documented(
        "rotateInboundWebhookSecret",
        "Create or rotate the inbound webhook secret",
        example=SECRET_EXAMPLE,
        status_code=201,
    ),
)
async def rotate_inbound_secret(
    principal: AdminKey, session: Session, now: Now
) -> InboundSecretOut:
    """A new secret for signing inbound events, shown this once (`whsec_` + base64). The
    secret it replaces keeps verifying for 24 hours, so senders can switch without losing
    events."""
    rotated = await service.rotate_secret(session, principal, now)
    return InboundSecretOut(
        secret=rotated.secret,
        created_at=rotated.created_at,
        previous_valid_until=rotated.previous_valid_until,
    )


@router.get(
    "/events",
    response_model=Page[WebhookEventOut],
    **documented(
        "listWebhookEvents",
        "List received webhook events",
        example={"items": [EVENT_OUT_EXAMPLE], "next_cursor": None},
    ),
)
async def list_webhook_events(
    principal: ViewerKey,
    session: Session,
    page: PageQuery,
    status: Annotated[
        WebhookEventStatus | None, Query(description="Only events in this state")
    ] = None,
) -> Page[WebhookEventOut]:
    """Inbound events, newest first, with how far each got: accepted (stored, its
    customers' reclassification queued), processed, or failed with the reason."""
    rows, next_cursor = await service.list_events(session, principal, status, page)
    return Page(items=[WebhookEventOut.of(row) for row in rows], next_cursor=next_cursor)
