"""Queries of outbound webhooks: endpoints, deliveries and their attempts, the jobs that
send them."""

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import sql
from app.core.pagination import PageParams, keyset_page
from app.jobs import queue
from app.models import Job, WebhookAttempt, WebhookDelivery, WebhookEndpoint

DISPATCH_JOB = "deliveries.dispatch"
SEND_JOB = "deliveries.send"


async def endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint | None:
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def endpoints_page(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams
) -> tuple[list[WebhookEndpoint], str | None]:
    return await keyset_page(
        session,
        select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id),
        [WebhookEndpoint.created_at, WebhookEndpoint.id],
        page,
    )


async def deliveries_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    page: PageParams,
    status: str | None,
) -> tuple[list[WebhookDelivery], str | None]:
    """An endpoint's deliveries, newest event first."""
    statement = select(WebhookDelivery).where(
        WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return await keyset_page(
        session, statement, [WebhookDelivery.event_id, WebhookDelivery.id], page, descending=True
    )


async def delivery(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID, *, for_update: bool = False
) -> WebhookDelivery | None:
    statement = select(WebhookDelivery).where(
        WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id == delivery_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def attempts_of(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    """Every attempt of the given deliveries, oldest first."""
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.tenant_id == tenant_id, WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
    )
    found: dict[uuid.UUID, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found


async def queue_job(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    delay: timedelta | None = None,
) -> None:
    """Have a job of `kind` for `payload` run (after `delay`): a queued one is brought
    forward if it would run later, else one is queued. A running one does not count: it
    may have looked for work before this work came."""
    run_after = func.now() + delay if delay is not None else func.now()
    pulled = await session.scalar(
        update(Job)
        .where(
            Job.tenant_id == tenant_id,
            Job.kind == kind,
            Job.status == "queued",
            Job.payload == payload,
        )
        .values(run_after=func.least(Job.run_after, run_after))
        .returning(Job.id)
    )
    if pulled is None:
        await queue.enqueue(session, tenant_id=tenant_id, kind=kind, payload=payload, delay=delay)


async def current_snapshot(session: AsyncSession) -> str:
    """PostgreSQL's snapshot now, to store: which transactions have committed."""
    return str(await session.scalar(select(sql.current_snapshot())))


async def outbox_horizon(session: AsyncSession) -> int:
    """The oldest transaction still running: every older one has committed or not."""
    return int(
        await session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        or 0
    )
