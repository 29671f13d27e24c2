"""From the outbox to deliveries: each tenant's events, read past its position in commit
order, become one delivery per enabled endpoint that subscribes to the event's type.

Outbox ids are taken before commit, so a later id can commit before an earlier one.
Events are read in (`txid`, `id`) order and only from transactions older than the
oldest one still running (the horizon): no transaction below it can still add events,
so moving the position past them never skips one. A statement trigger on the outbox
queues the dispatch job in the transaction that writes the events (migration
8182198e9664); a writer that found a dispatch job queued, which then ran before the
writer committed, is caught by the follow-up the job schedules while any transaction
older than its start is still running.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.sql import visible_in
from app.deliveries import repository
from app.models import OutboxEvent, WebhookDelivery, WebhookDispatchPosition, WebhookEndpoint

BATCH = 5000
_AFTER_EVERYTHING = 2**63 - 1


async def ensure_position(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Give the tenant a position if it has none: past every transaction that has
    ended, so a first endpoint does not receive the tenant's history."""
    horizon = await repository.outbox_horizon(session)
    await session.execute(
        insert(WebhookDispatchPosition)
        .values(tenant_id=tenant_id, txid=horizon - 1, event_id=_AFTER_EVERYTHING)
        .on_conflict_do_nothing()
    )


async def start_listening(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Before an endpoint is created or enabled: when no other endpoint of the tenant is
    enabled, nobody has been dispatching, so the position jumps past every transaction
    that has ended (an endpoint gets the events written from now on, not a backlog)."""
    listening = await session.scalar(
        exists().where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.enabled).select()
    )
    if listening:
        await ensure_position(session, tenant_id)
        return
    horizon = await repository.outbox_horizon(session)
    statement = insert(WebhookDispatchPosition).values(
        tenant_id=tenant_id, txid=horizon - 1, event_id=_AFTER_EVERYTHING
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[WebhookDispatchPosition.tenant_id],
            set_={
                "txid": statement.excluded.txid,
                "event_id": statement.excluded.event_id,
                "updated_at": func.now(),
            },
        )
    )


@dataclass(frozen=True)
class Batch:
    """What one dispatch step did."""

    events: int
    endpoints: set[uuid.UUID]
    more: bool


async def dispatch_batch(session: AsyncSession, tenant_id: uuid.UUID) -> Batch:
    """Turn the next events past the tenant's position into deliveries and move the
    position past them, in the caller's transaction."""
    position = await session.scalar(
        select(WebhookDispatchPosition)
        .where(WebhookDispatchPosition.tenant_id == tenant_id)
        .with_for_update()
    )
    if position is None:
        await ensure_position(session, tenant_id)
        return Batch(0, set(), more=False)
    horizon = await repository.outbox_horizon(session)
    events = (
        await session.execute(
            select(OutboxEvent.txid, OutboxEvent.id)
            .where(
                OutboxEvent.tenant_id == tenant_id,
                _past(position),
                OutboxEvent.txid < horizon,
            )
            .order_by(OutboxEvent.txid, OutboxEvent.id)
            .limit(BATCH)
        )
    ).all()
    if not events:
        return Batch(0, set(), more=False)
    last_txid, last_id = events[-1]
    within = and_(
        OutboxEvent.tenant_id == tenant_id,
        _past(position),
        tuple_(OutboxEvent.txid, OutboxEvent.id) <= tuple_(literal(last_txid), literal(last_id)),
    )
    created = await session.scalars(
        insert(WebhookDelivery)
        .from_select(
            ["tenant_id", "endpoint_id", "event_id", "event_type", "customer_id"],
            select(
                OutboxEvent.tenant_id,
                WebhookEndpoint.id,
                OutboxEvent.id,
                OutboxEvent.event_type,
                OutboxEvent.payload["customer_id"].astext.cast(WebhookDelivery.customer_id.type),
            )
            .join(
                WebhookEndpoint,
                and_(
                    WebhookEndpoint.tenant_id == OutboxEvent.tenant_id,
                    WebhookEndpoint.enabled,
                    OutboxEvent.event_type == WebhookEndpoint.event_types.any_(),
                    _listening(OutboxEvent.txid, OutboxEvent.created_at),
                ),
            )
            .where(within),
            include_defaults=False,  # else one uuid4() default would be shared by every row
        )
        .on_conflict_do_nothing()
        .returning(WebhookDelivery.endpoint_id)
    )
    endpoints = set(created.all())
    position.txid, position.event_id = last_txid, last_id
    position.updated_at = func.now()
    await session.flush()
    return Batch(len(events), endpoints, more=len(events) == BATCH)


def _listening(txid: Any, created_at: Any) -> ColumnElement[bool]:
    """Whether the endpoint was listening when the event's transaction committed: not
    visible in the snapshot it began listening with (endpoints from before snapshots
    were kept: created before the event)."""
    snapshot = WebhookEndpoint.listening_snapshot
    return or_(
        and_(snapshot.is_not(None), ~visible_in(txid, snapshot)),
        and_(snapshot.is_(None), WebhookEndpoint.created_at <= created_at),
    )


def _past(position: WebhookDispatchPosition) -> ColumnElement[bool]:
    return tuple_(OutboxEvent.txid, OutboxEvent.id) > tuple_(
        literal(position.txid), literal(position.event_id)
    )


async def held_back(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    """Whether committed events wait past the position (their transaction was newer
    than one still running when the position last moved)."""
    position = await session.get(WebhookDispatchPosition, tenant_id)
    if position is None:
        return False
    return bool(
        await session.scalar(
            exists().where(OutboxEvent.tenant_id == tenant_id, _past(position)).select()
        )
    )


async def next_transaction_id(session: AsyncSession) -> int:
    """The id the next transaction to write will get."""
    return int(
        await session.scalar(text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))
        or 0
    )
