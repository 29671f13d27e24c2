"""The database side of sending: which deliveries go next, and what an attempt did.

A sender claims due deliveries under a lease (`claimed_until`), so any number of
workers can send one endpoint's deliveries side by side, and a crashed sender's are
taken over when the lease runs out (at least once). Only the first pending delivery of
each customer is due: a later event for the same customer and endpoint waits while an
earlier one is pending or retrying, so a receiver sees one customer's events in order.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Interval, exists, func, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.deliveries.sending import Outcome
from app.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint

# When the next attempt goes out after each failed one (the first goes out at once);
# after the last one the delivery has failed.
RETRY_DELAYS: Final = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
ATTEMPTS: Final = len(RETRY_DELAYS) + 1
LEASE: Final = timedelta(minutes=5)
GONE: Final = "gone"


@dataclass(frozen=True)
class Claimed:
    """A delivery a sender holds, with the event it carries."""

    delivery_id: uuid.UUID
    attempts: int
    event_type: str
    occurred_at: datetime
    data: dict[str, Any]


def _first_of_its_customer(d: Any) -> ColumnElement[bool]:
    earlier = aliased(WebhookDelivery)
    return ~exists().where(
        earlier.endpoint_id == d.endpoint_id,
        earlier.customer_id == d.customer_id,
        earlier.status == "pending",
        earlier.event_id < d.event_id,
    )


def _free(d: Any) -> ColumnElement[bool]:
    return or_(d.claimed_until.is_(None), d.claimed_until < func.now())


async def claim_due(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, limit: int
) -> list[Claimed]:
    """Hold up to `limit` due deliveries of the endpoint, oldest due first."""
    d = WebhookDelivery
    due = (
        select(d.id)
        .where(
            d.tenant_id == tenant_id,
            d.endpoint_id == endpoint_id,
            d.status == "pending",
            d.next_attempt_at <= func.now(),
            _free(d),
            _first_of_its_customer(d),
        )
        .order_by(d.next_attempt_at, d.event_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    held = (
        await session.execute(
            update(d)
            .where(d.id.in_(due.scalar_subquery()))
            .values(claimed_until=func.now() + LEASE)
            .returning(d.id, d.event_id, d.attempts, d.event_type)
        )
    ).all()
    if not held:
        return []
    events = {
        row.id: row
        for row in await session.execute(
            select(OutboxEvent.id, OutboxEvent.created_at, OutboxEvent.payload).where(
                OutboxEvent.tenant_id == tenant_id,
                OutboxEvent.id.in_([h.event_id for h in held]),
            )
        )
    }
    return [
        Claimed(
            h.id,
            h.attempts,
            h.event_type,
            events[h.event_id].created_at,
            events[h.event_id].payload,
        )
        for h in sorted(held, key=lambda h: h.event_id)
        if h.event_id in events
    ]


async def record(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    claimed: Sequence[Claimed],
    outcomes: Sequence[Outcome],
) -> None:
    """Keep each attempt and move its delivery on: done, retried after the next delay,
    or failed (no attempt left, or the receiver is gone). Deliveries deleted meanwhile
    (with their endpoint) are skipped."""
    still_there = set(
        await session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.tenant_id == tenant_id,
                WebhookDelivery.id.in_([c.delivery_id for c in claimed]),
            )
            .with_for_update()
        )
    )
    for item, outcome in zip(claimed, outcomes, strict=True):
        if item.delivery_id in still_there:
            await _record_one(session, tenant_id, item, outcome)


async def _record_one(
    session: AsyncSession, tenant_id: uuid.UUID, claimed: Claimed, outcome: Outcome
) -> None:
    session.add(
        WebhookAttempt(
            tenant_id=tenant_id,
            delivery_id=claimed.delivery_id,
            attempted_at=outcome.attempted_at,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
    )
    attempts = claimed.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "claimed_until": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.succeeded:
        values |= {"status": "succeeded", "finished_at": func.now()}
    elif outcome.gone or attempts >= ATTEMPTS:
        values |= {"status": "failed", "finished_at": func.now()}
    else:
        values["next_attempt_at"] = func.now() + RETRY_DELAYS[attempts - 1]
    # Only a pending one: a sender whose lease ran out must not undo what the sender
    # that took over recorded (its attempt is kept all the same).
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.id == claimed.delivery_id,
            WebhookDelivery.status == "pending",
        )
        .values(**values)
    )


async def disable_gone(session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    """The receiver answered 410: the endpoint gets nothing more until an admin enables
    it again (its pending deliveries wait)."""
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id)
        .values(
            enabled=False,
            disabled_reason=GONE,
            version=WebhookEndpoint.version + 1,
            updated_at=func.now(),
        )
    )


async def wait_for_next(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> timedelta | None:
    """How long until one of the endpoint's deliveries can be tried: the first free one
    that waits for no earlier one of its customer, or one held by a sender whose lease
    may run out (that sender may have died). None: nothing pending."""
    d = WebhookDelivery
    pending = (d.tenant_id == tenant_id, d.endpoint_id == endpoint_id, d.status == "pending")
    next_free = await session.scalar(
        select(type_coerce(d.next_attempt_at - func.now(), Interval()))
        .where(*pending, _free(d), _first_of_its_customer(d))
        .order_by(d.next_attempt_at, d.event_id)
        .limit(1)
    )
    lease_ends = await session.scalar(
        select(type_coerce(func.min(d.claimed_until) - func.now(), Interval())).where(
            *pending, d.claimed_until >= func.now()
        )
    )
    waits = [wait for wait in (next_free, lease_ends) if wait is not None]
    if not waits:
        return None
    return max(min(waits), timedelta(0))
