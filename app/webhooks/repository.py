"""Queries of inbound webhooks: secrets, events, and the customers events wait on."""

import functools
import uuid
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Text,
    Uuid,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.pagination import PageParams, keyset_page
from app.models import InboundSecret, Tenant, WebhookEvent, WebhookEventCustomer, table_of

_UUIDS = ARRAY(Uuid())
_INTEGERS = ARRAY(Integer())
_TEXTS = ARRAY(Text())


async def tenant_and_secret(
    session: AsyncSession, slug: str
) -> tuple[Tenant, InboundSecret] | None:
    """The tenant of a slug with its inbound secret (None: no such tenant, or no secret)."""
    row = (await session.execute(_tenant_and_secret(), {"slug": slug})).first()
    return (row.Tenant, row.InboundSecret) if row is not None else None


@functools.cache
def _tenant_and_secret() -> Select[Tenant, InboundSecret]:
    """The statement of `tenant_and_secret`, made once (every inbound event runs it)."""
    return (
        select(Tenant, InboundSecret)
        .join(InboundSecret, InboundSecret.tenant_id == Tenant.id)
        .where(Tenant.slug == bindparam("slug", type_=String()))
    )


async def secret_of(session: AsyncSession, tenant_id: uuid.UUID) -> InboundSecret | None:
    """The tenant's secret row, locked (a rotation reads the current one and replaces it)."""
    return await session.scalar(
        select(InboundSecret).where(InboundSecret.tenant_id == tenant_id).with_for_update()
    )


async def insert_event(
    session: AsyncSession, event: WebhookEvent, customer_ids: list[uuid.UUID]
) -> WebhookEvent | None:
    """Store the event with the customers it waits on, in one statement, unless its
    webhook-id was stored before (None then, and nothing written). A concurrent delivery
    of the same id waits here for the first one's transaction."""
    return await session.scalar(
        _insert_event(),
        {
            "tenant_id": event.tenant_id,
            "webhook_id": event.webhook_id,
            "event_type": event.event_type,
            "items": event.items,
            "customers_pending": event.customers_pending,
            "customer_ids": customer_ids,
        },
    )


@functools.cache
def _insert_event() -> Select[WebhookEvent]:
    """The statement of `insert_event`, made once (every inbound event runs it)."""
    stored = (
        pg_insert(WebhookEvent)
        .values(
            tenant_id=bindparam("tenant_id", type_=Uuid()),
            webhook_id=bindparam("webhook_id"),
            event_type=bindparam("event_type"),
            items=bindparam("items"),
            customers_pending=bindparam("customers_pending"),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "webhook_id"])
        .returning(*table_of(WebhookEvent).c)
        .cte("stored")
    )
    listed = (
        func.unnest(bindparam("customer_ids", type_=_UUIDS))
        .table_valued("customer_id")
        .render_derived(name="listed")
    )
    waiting = (
        insert(WebhookEventCustomer)
        .from_select(
            ["tenant_id", "event_id", "customer_id"],
            # Every customer with the event, if it was stored (else no row at all).
            select(stored.c.tenant_id, stored.c.id, listed.c.customer_id).select_from(
                stored.join(listed, true())
            ),
        )
        .cte("waiting")
    )
    return select(aliased(WebhookEvent, stored)).add_cte(waiting)


async def event_by_webhook_id(
    session: AsyncSession, tenant_id: uuid.UUID, webhook_id: str
) -> WebhookEvent | None:
    return await session.scalar(
        select(WebhookEvent).where(
            WebhookEvent.tenant_id == tenant_id, WebhookEvent.webhook_id == webhook_id
        )
    )


async def lock_customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> None:
    """Reclassifications of one customer take turns (until the transaction ends), so the
    later one reads the activity the earlier one may not have seen."""
    key = func.hashtextextended(literal(f"webhook:{tenant_id}:{customer_id}"), 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def lock_customers(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: list[uuid.UUID]
) -> None:
    """`lock_customer` for several customers in one statement, in id order (so that two
    batches sharing customers wait for each other instead of deadlocking)."""
    keys = [f"webhook:{tenant_id}:{customer_id}" for customer_id in sorted(customer_ids)]
    listed = (
        func.unnest(bindparam("keys", keys, type_=_TEXTS))
        .table_valued("key", with_ordinality="n")
        .render_derived(name="listed")
    )
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(listed.c.key, 0)))
        .select_from(listed)
        .order_by(listed.c.n)
    )


async def take_pending_many(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """`take_pending` for several customers in one statement: by customer, the (id,
    webhook-id) of each event taken in, oldest first."""
    taken = (
        update(WebhookEventCustomer)
        .where(
            WebhookEventCustomer.tenant_id == tenant_id,
            WebhookEventCustomer.customer_id.in_(customer_ids),
            WebhookEventCustomer.processed_at.is_(None),
        )
        .values(processed_at=func.now())
        .returning(WebhookEventCustomer.event_id, WebhookEventCustomer.customer_id)
        .cte("taken")
    )
    rows = await session.execute(
        select(taken.c.customer_id, WebhookEvent.id, WebhookEvent.webhook_id)
        .join(taken, taken.c.event_id == WebhookEvent.id)
        .where(WebhookEvent.tenant_id == tenant_id)
        .order_by(WebhookEvent.received_at, WebhookEvent.id)
    )
    found: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for customer_id, event_id, webhook_id in rows:
        found.setdefault(customer_id, []).append((event_id, webhook_id))
    return found


async def settle_many(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    settled: list[tuple[uuid.UUID, str | None]],
) -> None:
    """`settle` for many (event, failure) pairs — one per customer of an event that is
    done, the failure None when it was reclassified — in one update (after locking the
    events in id order, as `settle` does)."""
    if not settled:
        return
    customers: dict[uuid.UUID, int] = {}
    failures: dict[uuid.UUID, str] = {}
    for event_id, failure in settled:
        customers[event_id] = customers.get(event_id, 0) + 1
        if failure is not None:
            failures.setdefault(event_id, failure)
    await session.execute(
        select(WebhookEvent.id)
        .where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id.in_(sorted(customers)))
        .order_by(WebhookEvent.id)
        .with_for_update()
    )
    ids = list(customers)
    done = (
        func.unnest(
            bindparam("event_ids", ids, type_=_UUIDS),
            bindparam("customers", [customers[i] for i in ids], type_=_INTEGERS),
            bindparam("failures", [failures.get(i) for i in ids], type_=_TEXTS),
        )
        .table_valued("event_id", "customers", "failure")
        .render_derived(name="done")
    )
    failed = done.c.failure.is_not(None)
    last = WebhookEvent.customers_pending == done.c.customers
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id == done.c.event_id)
        .values(
            customers_pending=WebhookEvent.customers_pending - done.c.customers,
            status=case(
                (failed, "failed"),
                (last & (WebhookEvent.status == "accepted"), "processed"),
                else_=WebhookEvent.status,
            ),
            reason=case((failed, done.c.failure), else_=WebhookEvent.reason),
            processed_at=case(
                (failed | last, func.clock_timestamp()), else_=WebhookEvent.processed_at
            ),
        )
    )


async def take_pending(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> list[tuple[uuid.UUID, str]]:
    """Mark the customer's waiting events as taken in; their (id, webhook-id), oldest
    first. Rolled back with the caller's transaction if it fails."""
    taken = (
        update(WebhookEventCustomer)
        .where(
            WebhookEventCustomer.tenant_id == tenant_id,
            WebhookEventCustomer.customer_id == customer_id,
            WebhookEventCustomer.processed_at.is_(None),
        )
        .values(processed_at=func.now())
        .returning(WebhookEventCustomer.event_id)
        .cte("taken")
    )
    rows = await session.execute(
        select(WebhookEvent.id, WebhookEvent.webhook_id)
        .join(taken, taken.c.event_id == WebhookEvent.id)
        .where(WebhookEvent.tenant_id == tenant_id)
        .order_by(WebhookEvent.received_at, WebhookEvent.id)
    )
    return [(row.id, row.webhook_id) for row in rows]


async def settle(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_ids: list[uuid.UUID],
    *,
    failure: str | None = None,
) -> None:
    """One customer of each event is done (reclassified, or failed for `failure`): an
    event is processed when its last customer is, failed as soon as one fails. Events
    are updated in id order, so two customers' settlements never deadlock."""
    if not event_ids:
        return
    last = WebhookEvent.customers_pending == 1
    values: dict[str, Any] = {"customers_pending": WebhookEvent.customers_pending - 1}
    if failure is None:
        values |= {
            "status": case(
                (last & (WebhookEvent.status == "accepted"), "processed"), else_=WebhookEvent.status
            ),
            "processed_at": case((last, func.clock_timestamp()), else_=WebhookEvent.processed_at),
        }
    else:
        values |= {"status": "failed", "reason": failure, "processed_at": func.clock_timestamp()}
    ordered = (
        select(WebhookEvent.id)
        .where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id.in_(event_ids))
        .order_by(WebhookEvent.id)
        .with_for_update()
    )
    locked = list(await session.scalars(ordered))
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id.in_(locked))
        .values(values)
    )


async def list_events(
    session: AsyncSession, tenant_id: uuid.UUID, status: str | None, page: PageParams
) -> tuple[list[WebhookEvent], str | None]:
    """One page of the tenant's events, newest first."""
    statement = select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(WebhookEvent.status == status)
    return await keyset_page(
        session, statement, [WebhookEvent.received_at, WebhookEvent.id], page, descending=True
    )
