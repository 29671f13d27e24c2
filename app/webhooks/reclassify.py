"""Reclassifying a customer for the events that wait on it (the job's one transaction).

The job is queued once per customer however many events arrive before it runs
(`queue.enqueue_once_many`), so a burst costs one reclassification. It takes every event
still waiting on the customer, reclassifies through the same path as
`POST /customers/{id}/reclassify` (Python back end, every tree with a published ruleset,
as of the tenant's today; locks respected, history with source `webhook`, outbox event
on a change) and settles the events — all in one transaction: a crash before the commit
leaves the events waiting and the job to be run again, a crash after it leaves nothing
to do twice.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InvalidInput, NotFound
from app.models import InboundSecret, Tenant
from app.runs.many_customers import reclassify_many
from app.runs.one_customer import reclassify_customer
from app.webhooks import repository
from app.webhooks.service import webhook_principal

SOURCE: Final = "webhook"
MAX_REASON: Final = 500
GONE: Final = "客户已不存在 / the customer no longer exists"


@dataclass(frozen=True)
class Reclassification:
    """What one job did: the events it took in and the trees whose category changed."""

    events: int
    changed_trees: int
    failure: str | None = None


async def reclassify_waiting(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> Reclassification:
    """Reclassify the customer for its waiting events and mark them processed."""
    await repository.lock_customer(session, tenant_id, customer_id)
    taken = await repository.take_pending(session, tenant_id, customer_id)
    if not taken:
        return Reclassification(0, 0)  # an earlier job took them in
    event_ids = [event_id for event_id, _ in taken]
    tenant = await session.get(Tenant, tenant_id)
    secret = await session.get(InboundSecret, tenant_id)
    # Events are accepted only for a tenant with a secret.
    assert tenant is not None
    assert secret is not None
    principal = webhook_principal(tenant, secret, SOURCE)
    try:
        async with session.begin_nested():
            done = await reclassify_customer(
                session,
                principal,
                customer_id,
                source=SOURCE,
                reason=event_reason([webhook_id for _, webhook_id in taken]),
            )
    except NotFound:
        await repository.settle(session, tenant_id, event_ids, failure=GONE)
        return Reclassification(len(taken), 0, GONE)
    except InvalidInput as exc:
        if not _nothing_to_run(exc):
            raise
        done = []  # no tree has a published ruleset: the activity is stored, that is all
    await repository.settle(session, tenant_id, event_ids)
    return Reclassification(len(taken), sum(1 for d in done if d.applied))


async def reclassify_waiting_many(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_ids: list[uuid.UUID],
    request_ids: Mapping[uuid.UUID, str],
) -> dict[uuid.UUID, Reclassification]:
    """`reclassify_waiting` for a batch of customers, set-based (app/runs/many_customers.py),
    in the caller's one transaction: by customer, what was done. `request_ids` gives the
    correlation id of each customer's audit events (its job)."""
    ids = sorted(set(customer_ids))
    await repository.lock_customers(session, tenant_id, ids)
    taken = await repository.take_pending_many(session, tenant_id, ids)
    done = {c: Reclassification(0, 0) for c in ids}
    if not taken:
        return done  # earlier jobs took them in
    tenant = await session.get(Tenant, tenant_id)
    secret = await session.get(InboundSecret, tenant_id)
    # Events are accepted only for a tenant with a secret.
    assert tenant is not None
    assert secret is not None
    principal = webhook_principal(tenant, secret, SOURCE)
    reasons = {
        c: event_reason([webhook_id for _, webhook_id in events]) for c, events in taken.items()
    }
    outcomes = await reclassify_many(
        session,
        principal,
        sorted(taken),
        source=SOURCE,
        reasons=reasons,
        request_ids=request_ids,
    )
    settled: list[tuple[uuid.UUID, str | None]] = []
    for customer_id, events in taken.items():
        changed = outcomes[customer_id].changed_trees
        failure = GONE if changed is None else None
        settled += [(event_id, failure) for event_id, _ in events]
        done[customer_id] = Reclassification(len(events), changed or 0, failure)
    await repository.settle_many(session, tenant_id, settled)
    return done


async def fail_waiting(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID, failure: str
) -> None:
    """The job failed for good: the customer's waiting events fail, saying why."""
    taken = await repository.take_pending(session, tenant_id, customer_id)
    await repository.settle(
        session, tenant_id, [event_id for event_id, _ in taken], failure=failure
    )


def event_reason(webhook_ids: list[str]) -> str:
    """The history rows' reason: the events (their webhook-ids) that led to the change."""
    text = "webhook " + ", ".join(webhook_ids)
    if len(text) <= MAX_REASON:
        return text
    more = f" … (+{len(webhook_ids)})"
    return text[: MAX_REASON - len(more)] + more


def _nothing_to_run(exc: InvalidInput) -> bool:
    return any(error.get("type") == "nothing_to_run" for error in exc.errors or [])
