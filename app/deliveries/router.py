"""Outbound webhooks (admin): endpoints, their deliveries, redelivery."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.auth import AdminKey
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.deliveries import service
from app.deliveries.dependencies import AllowedNetworks
from app.deliveries.schemas import (
    DELIVERY_EXAMPLE,
    ENDPOINT_EXAMPLE,
    DeliveryOut,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["webhook-endpoints"], route_class=ApiRoute)

_SECRET_EXAMPLE = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" + "C9Ujhm5tE0o="


@router.get(
    "/webhook-endpoints",
    response_model=Page[EndpointOut],
    **documented(
        "listWebhookEndpoints",
        "List outbound webhook endpoints",
        example={"items": [ENDPOINT_EXAMPLE], "next_cursor": None},
    ),
)
async def list_endpoints(
    principal: AdminKey, session: Session, page: PageQuery
) -> Page[EndpointOut]:
    """The tenant's endpoints, oldest first, without their secrets."""
    rows, next_cursor = await service.list_endpoints(session, principal, page)
    return Page(items=[EndpointOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/webhook-endpoints",
    response_model=EndpointCreated,
    **documented(
        "createWebhookEndpoint",
        "Create an outbound webhook endpoint",
        status_code=201,
        example={**ENDPOINT_EXAMPLE, "secret": _SECRET_EXAMPLE},
        request_example={
            "url": ENDPOINT_EXAMPLE["url"],
            "event_types": ENDPOINT_EXAMPLE["event_types"],
            "description": ENDPOINT_EXAMPLE["description"],
        },
        etag=True,
    ),
)
async def create_endpoint(
    principal: AdminKey,
    session: Session,
    body: EndpointCreate,
    allowed: AllowedNetworks,
    response: Response,
) -> EndpointCreated:
    """Subscribe a URL to events written from now on. Each delivery is a POST of
    `{"type", "timestamp", "data"}` signed with Standard Webhooks (`webhook-id`,
    `webhook-timestamp`, `webhook-signature`) using the `secret` in this answer — shown
    only this once. A URL whose host resolves to a loopback, private, link-local or
    cloud metadata address is refused (422)."""
    endpoint = await service.create_endpoint(session, principal, body, allowed)
    set_etag(response, endpoint.version)
    return EndpointCreated.model_validate(
        {**EndpointOut.model_validate(endpoint).model_dump(), "secret": endpoint.secret}
    )


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response_model=EndpointOut,
    **documented(
        "getWebhookEndpoint",
        "Get an outbound webhook endpoint",
        example=ENDPOINT_EXAMPLE,
        errors=[404],
        etag=True,
    ),
)
async def get_endpoint(
    principal: AdminKey, session: Session, endpoint_id: uuid.UUID, response: Response
) -> EndpointOut:
    """One endpoint, without its secret; the `ETag` header guards updates."""
    endpoint = await service.get_endpoint(session, principal, endpoint_id)
    set_etag(response, endpoint.version)
    return EndpointOut.model_validate(endpoint)


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response_model=EndpointOut,
    **documented(
        "updateWebhookEndpoint",
        "Update an outbound webhook endpoint",
        example=ENDPOINT_EXAMPLE,
        request_example={"enabled": True},
        errors=[404, 412],
        etag=True,
    ),
)
async def update_endpoint(
    principal: AdminKey,
    session: Session,
    endpoint_id: uuid.UUID,
    changes: EndpointUpdate,
    allowed: AllowedNetworks,
    response: Response,
    if_match: IfMatch = None,
) -> EndpointOut:
    """Change the URL, the event types, the description or `enabled`. Enabling an
    endpoint the service disabled (its receiver answered 410) resumes its pending
    deliveries; while disabled it receives no new events."""
    endpoint = await service.update_endpoint(
        session, principal, endpoint_id, changes, if_match, allowed
    )
    set_etag(response, endpoint.version)
    return EndpointOut.model_validate(endpoint)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    **documented(
        "deleteWebhookEndpoint",
        "Delete an outbound webhook endpoint",
        status_code=204,
        errors=[404, 412],
    ),
)
async def delete_endpoint(
    principal: AdminKey, session: Session, endpoint_id: uuid.UUID, if_match: IfMatch = None
) -> Response:
    """Delete the endpoint, its deliveries and their attempts."""
    await service.delete_endpoint(session, principal, endpoint_id, if_match)
    return Response(status_code=204)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    **documented(
        "listWebhookDeliveries",
        "List an endpoint's deliveries and their attempts",
        example={"items": [DELIVERY_EXAMPLE], "next_cursor": None},
        errors=[404],
    ),
)
async def list_deliveries(
    principal: AdminKey,
    session: Session,
    endpoint_id: uuid.UUID,
    page: PageQuery,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in it")] = None,
) -> Page[DeliveryOut]:
    """Every event sent (or to be sent) to the endpoint, newest first, with every
    attempt: when, the receiver's status code, the latency and what went wrong. A
    failed attempt is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and
    24 h; then the delivery has failed (redeliver it by hand)."""
    views, next_cursor = await service.list_deliveries(
        session, principal, endpoint_id, page, status
    )
    return Page(
        items=[DeliveryOut.model_validate(v.as_dict()) for v in views], next_cursor=next_cursor
    )


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    **documented(
        "redeliverWebhook",
        "Send a delivery again",
        status_code=202,
        example={
            **DELIVERY_EXAMPLE,
            "status": "pending",
            "finished_at": None,
            "next_attempt_at": "2026-12-07T11:00:00+08:00",
        },
        errors=[404, 409],
    ),
)
async def redeliver(principal: AdminKey, session: Session, delivery_id: uuid.UUID) -> DeliveryOut:
    """Queue the delivery to be sent again at once, with a new round of retries. The
    receiver gets the same `webhook-id`, so it can tell a message it already handled.
    409 while the endpoint is disabled."""
    view = await service.redeliver(session, principal, delivery_id)
    return DeliveryOut.model_validate(view.as_dict())
