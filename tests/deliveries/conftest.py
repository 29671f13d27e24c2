"""Outbound webhook tests: an app that may reach 127.0.0.1, a receiver listening there,
and a way to run the tenant's delivery jobs with the clock moved on."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import exists, func, select, tuple_, update

from app.core.db import Database
from app.core.settings import Settings, get_settings
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.main import create_app
from app.models import (
    Job,
    OutboxEvent,
    Role,
    WebhookDelivery,
    WebhookDispatchPosition,
    WebhookEndpoint,
)
from tests.conftest import TenantKeys
from tests.deliveries.receiver import Receiver
from tests.runs.conftest import classified  # noqa: F401 - a fixture for these tests too

LOOPBACK = '["127.0.0.1/32"]'


@pytest.fixture(scope="session")
def loopback_app(database_url: str, database: Database) -> Any:
    """The app with CRMC_WEBHOOK_ALLOWED_NETWORKS allowing 127.0.0.1 (the receiver)."""
    settings = Settings(
        database_url=database_url,
        log_json=False,
        api_key_touch_seconds=0,
        webhook_allowed_networks=["127.0.0.1/32"],
    )
    return create_app(settings, database)


@pytest.fixture
async def hooks(loopback_app: Any, tenant: TenantKeys) -> AsyncIterator[httpx.AsyncClient]:
    """The test tenant's admin on the app that may reach 127.0.0.1."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=loopback_app),
        base_url="http://test",
        headers=tenant.headers(Role.ADMIN),
    ) as http:
        yield http


@pytest.fixture
def worker_reaches_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Delivery jobs (which read the process settings) may reach 127.0.0.1 too."""
    monkeypatch.setenv("CRMC_WEBHOOK_ALLOWED_NETWORKS", LOOPBACK)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 that records what it receives."""
    with Receiver.running() as running:
        yield running


DELIVERY_KINDS = ["deliveries.dispatch", "deliveries.send"]


async def deliver_due(
    database: Database,
    tenant_id: uuid.UUID,
    *,
    settle: bool = True,
    kinds: list[str] = DELIVERY_KINDS,
) -> int:
    """Run the tenant's delivery jobs that are due, until none is — and, with `settle`,
    until every outbox event of a tenant with an enabled endpoint has been dispatched.

    The dispatcher reads only events older than the oldest transaction still running,
    and PostgreSQL's snapshot spans the whole server: on the machine's server, another
    test's open transaction in another database holds it back, and it looks again a
    second later. Settling brings that look forward, a bounded number of times (polling,
    no time asserted). `kinds`: only these jobs (dispatch alone, say)."""
    load_handlers()
    ran = 0
    for _ in range(SETTLE_TRIES):
        worker = Worker(database, tenant_id=tenant_id, kinds=kinds)
        ran += await worker.run_until_idle()
        if not settle or not await _undispatched(database, tenant_id):
            return ran
        await asyncio.sleep(0.05)
        await move_clock_on(database, tenant_id)
    raise AssertionError(f"the outbox of {tenant_id} was not dispatched")


SETTLE_TRIES = 600


async def _undispatched(database: Database, tenant_id: uuid.UUID) -> bool:
    """Whether the tenant has an enabled endpoint and an outbox event past its dispatch
    position."""
    position = (
        select(WebhookDispatchPosition.txid, WebhookDispatchPosition.event_id)
        .where(WebhookDispatchPosition.tenant_id == tenant_id)
        .subquery()
    )
    async with database.sessionmaker() as session:
        listening = await session.scalar(
            select(
                exists().where(
                    WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.enabled.is_(True)
                )
            )
        )
        if not listening:
            return False
        behind = await session.scalar(
            select(
                exists().where(
                    OutboxEvent.tenant_id == tenant_id,
                    ~exists().where(
                        tuple_(OutboxEvent.txid, OutboxEvent.id)
                        <= tuple_(position.c.txid, position.c.event_id)
                    ),
                )
            )
        )
        return bool(behind)


async def move_clock_on(database: Database, tenant_id: uuid.UUID) -> None:
    """As if the next retry's time had come: every pending delivery and queued delivery
    job of the tenant is due now."""
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.status == "pending")
            .values(next_attempt_at=func.now())
        )
        await session.execute(
            update(Job)
            .where(Job.tenant_id == tenant_id, Job.kind.in_(DELIVERY_KINDS), Job.status == "queued")
            .values(run_after=func.now())
        )


async def write_events(
    database: Database, tenant_id: uuid.UUID, *events: tuple[str, dict[str, Any]]
) -> None:
    """Outbox events, written in one transaction as a run's apply writes them."""
    async with database.sessionmaker() as session, session.begin():
        for event_type, payload in events:
            session.add(OutboxEvent(tenant_id=tenant_id, event_type=event_type, payload=payload))


async def delivery_state(database: Database, tenant_id: uuid.UUID) -> str:
    """The tenant's deliveries and delivery jobs, for an assertion's message."""
    async with database.sessionmaker() as session:
        deliveries = (
            await session.execute(
                select(
                    WebhookDelivery.status,
                    WebhookDelivery.attempts,
                    WebhookDelivery.next_attempt_at,
                    WebhookDelivery.claimed_until,
                    func.now(),
                ).where(WebhookDelivery.tenant_id == tenant_id)
            )
        ).all()
        jobs = (
            await session.execute(
                select(Job.kind, Job.status, Job.run_after, Job.attempts, Job.result, Job.error)
                .where(Job.tenant_id == tenant_id, Job.kind.in_(DELIVERY_KINDS))
                .order_by(Job.created_at)
            )
        ).all()
    return f"deliveries {deliveries}; jobs {jobs}"
