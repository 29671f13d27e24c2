"""Inbound webhook tests: a tenant with an inbound secret, and a sender that signs as an
ERP would (with the `standardwebhooks` library, the same one the service checks with)."""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from app.core.db import Database
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.models import Job, Order, WebhookEvent
from tests.conftest import TenantKeys

RECLASSIFY = "webhook.reclassify"


@dataclass
class Sender:
    """Posts signed events to one tenant's inbound URL."""

    client: httpx.AsyncClient
    slug: str
    secret: str

    def headers(
        self,
        body: bytes,
        *,
        webhook_id: str | None = None,
        at: datetime | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        at = at or datetime.now(UTC)
        signature = Webhook(secret or self.secret).sign(webhook_id, at, body)
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
        }

    async def post(
        self,
        event: dict[str, Any] | bytes,
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **signing: Any,
    ) -> httpx.Response:
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        return await self.client.post(
            f"/api/v1/webhooks/{slug or self.slug}/events",
            content=body,
            headers=headers if headers is not None else self.headers(body, **signing),
        )


@pytest.fixture
async def sender(app: Any, tenant: TenantKeys) -> AsyncIterator[Sender]:
    """The tenant with a fresh inbound secret, and a sender with a client of its own (no
    API key: the signature is all it has)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        made = await http.post("/api/v1/webhooks/inbound-secret", headers=tenant.headers())
        assert made.status_code == 201, made.text
        yield Sender(http, tenant.slug, made.json()["secret"])


def today() -> str:
    """Today in the tenants' default time zone, as the reclassification counts it."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def order(code: str, external_id: str, amount: str = "1000.00", **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer_code": code,
        "amount": amount,
        "ordered_at": today(),
        **extra,
    }


async def new_customer(api: httpx.AsyncClient, code: str) -> str:
    made = await api.post("/api/v1/customers", json={"code": code, "name": f"客户{code}"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


@dataclass
class Stored:
    """What the database holds for a tenant: events, orders, reclassification jobs."""

    events: int
    orders: int
    jobs: int


async def stored(database: Database, tenant_id: uuid.UUID) -> Stored:
    async with database.sessionmaker() as session:

        async def count(model: Any, *where: Any) -> int:
            query = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
            return int(await session.scalar(query.where(*where)) or 0)

        return Stored(
            await count(WebhookEvent),
            await count(Order),
            await count(Job, Job.kind == RECLASSIFY),
        )


async def run_reclassifications(database: Database, tenant_id: uuid.UUID) -> int:
    """Run the tenant's queued reclassification jobs until none is left."""
    load_handlers()
    return await Worker(database, kinds=[RECLASSIFY], tenant_id=tenant_id).run_until_idle()


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
