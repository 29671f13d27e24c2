"""Outbound webhook endpoints (admin) and the deliveries made to them."""

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited
from app.core.auth import Principal
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.core.pagination import PageParams
from app.deliveries import repository
from app.deliveries.addresses import Network, UnresolvableHost, UnsafeTarget, resolve
from app.deliveries.dispatch import start_listening
from app.deliveries.schemas import EndpointCreate, EndpointUpdate
from app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

AUDITED = Audited(
    "webhook_endpoint", ("url", "description", "event_types", "enabled", "disabled_reason")
)


class EndpointNotFound(NotFound):
    default_detail = Text("找不到该 Webhook 端点", "No such webhook endpoint")


class DeliveryNotFound(NotFound):
    default_detail = Text("找不到该 Webhook 投递", "No such webhook delivery")


class EndpointDisabled(Conflict):
    default_detail = Text(
        "该 Webhook 端点已停用,请先启用再重新投递",
        "The webhook endpoint is disabled; enable it before redelivering",
    )


@dataclass(frozen=True)
class DeliveryView:
    """A delivery and every attempt made at it."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]

    def as_dict(self) -> dict[str, Any]:
        d = self.delivery
        return {
            "id": d.id,
            "endpoint_id": d.endpoint_id,
            "event_id": d.event_id,
            "event_type": d.event_type,
            "status": d.status,
            "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
            "created_at": d.created_at,
            "finished_at": d.finished_at,
            "attempts": self.attempts,
        }


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def check_url(url: str, allowed: Sequence[Network]) -> None:
    """422 at `url` unless it is an http(s) URL whose host resolves only to addresses
    deliveries may reach. A name that does not resolve (yet) is accepted: each delivery
    resolves and checks it again."""
    try:
        await resolve(url, allowed)
    except UnresolvableHost:
        return
    except UnsafeTarget as exc:
        raise InvalidInput(
            Text(f"不允许的 Webhook 地址:{exc.reason.zh}", f"URL not allowed: {exc.reason.en}"),
            errors=[{"loc": ["body", "url"], "msg": exc.reason.en, "type": "url_not_allowed"}],
        ) from exc


async def _endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    found = await repository.endpoint(
        session, principal.tenant_id, endpoint_id, for_update=for_update
    )
    if found is None:
        raise EndpointNotFound
    return found


async def create_endpoint(
    session: AsyncSession, principal: Principal, body: EndpointCreate, allowed: Sequence[Network]
) -> WebhookEndpoint:
    """Add an endpoint with a new secret (on the returned row, for the caller to show
    once). It receives the events written from now on."""
    await check_url(body.url, allowed)
    if body.enabled:
        await start_listening(session, principal.tenant_id)
    endpoint = WebhookEndpoint(
        tenant_id=principal.tenant_id,
        url=body.url,
        description=body.description,
        event_types=list(body.event_types),
        enabled=body.enabled,
        secret=new_secret(),
        listening_snapshot=await repository.current_snapshot(session) if body.enabled else None,
    )
    await AUDITED.write(session, principal, endpoint, "create")
    return endpoint


async def list_endpoints(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[WebhookEndpoint], str | None]:
    """The tenant's endpoints, oldest first."""
    return await repository.endpoints_page(session, principal.tenant_id, page)


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    """One endpoint of the tenant."""
    return await _endpoint(session, principal, endpoint_id)


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    changes: EndpointUpdate,
    if_match: str | None,
    allowed: Sequence[Network],
) -> WebhookEndpoint:
    """Change url, events, description or `enabled` under If-Match. Enabling clears the
    reason the service disabled it and resumes its pending deliveries."""
    endpoint = await _endpoint(session, principal, endpoint_id, for_update=True)
    check_if_match(if_match, endpoint.version)
    values: dict[str, Any] = {
        name: value for name, value in changes.model_dump(exclude_unset=True).items()
    }
    for required in ("url", "event_types", "enabled"):
        if required in values and values[required] is None:
            values.pop(required)
    if "url" in values:
        await check_url(values["url"], allowed)
    resumed = values.get("enabled") is True and not endpoint.enabled
    if resumed:
        values["disabled_reason"] = None
        values["listening_snapshot"] = await repository.current_snapshot(session)
        await start_listening(session, principal.tenant_id)
    await AUDITED.update(session, principal, endpoint, values)
    if resumed:
        await repository.queue_job(
            session, principal.tenant_id, repository.SEND_JOB, {"endpoint_id": str(endpoint.id)}
        )
    return endpoint


async def delete_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, if_match: str | None
) -> None:
    """Delete the endpoint with its deliveries and their attempts."""
    endpoint = await _endpoint(session, principal, endpoint_id, for_update=True)
    check_if_match(if_match, endpoint.version)
    await AUDITED.delete(session, principal, endpoint)


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    page: PageParams,
    status: str | None,
) -> tuple[list[DeliveryView], str | None]:
    """An endpoint's deliveries, newest event first, each with every attempt."""
    await _endpoint(session, principal, endpoint_id)
    rows, next_cursor = await repository.deliveries_page(
        session, principal.tenant_id, endpoint_id, page, status
    )
    attempts = await repository.attempts_of(session, principal.tenant_id, [d.id for d in rows])
    return [DeliveryView(d, attempts[d.id]) for d in rows], next_cursor


async def redeliver(
    session: AsyncSession, principal: Principal, delivery_id: uuid.UUID
) -> DeliveryView:
    """Send the delivery again now, with a fresh round of retries; the receiver gets the
    same `webhook-id` (it is the same message). Refused while its endpoint is disabled."""
    delivery = await repository.delivery(session, principal.tenant_id, delivery_id, for_update=True)
    if delivery is None:
        raise DeliveryNotFound
    endpoint = await _endpoint(session, principal, delivery.endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = func.now()
    delivery.claimed_until = None
    delivery.finished_at = None
    await session.flush()
    await session.refresh(delivery)
    await repository.queue_job(
        session, principal.tenant_id, repository.SEND_JOB, {"endpoint_id": str(endpoint.id)}
    )
    attempts = await repository.attempts_of(session, principal.tenant_id, [delivery.id])
    return DeliveryView(delivery, attempts[delivery.id])
