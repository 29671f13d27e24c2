"""Outbound webhook tests: an app that may reach 127.0.0.1, a receiver listening there,
and a way to run the tenant's delivery jobs with the clock moved on."""

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, update

from app.core.db import Database
from app.core.settings import Settings, get_settings
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.main import create_app
from app.models import Job, OutboxEvent, Role, WebhookDelivery
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


async def deliver_due(database: Database, tenant_id: uuid.UUID) -> int:
    """Run the tenant's delivery jobs that are due, until none is."""
    load_handlers()
    return await Worker(database, tenant_id=tenant_id, kinds=DELIVERY_KINDS).run_until_idle()


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
