"""Accepted events reclassify their customers: one job per customer however many events
arrive before it runs, nothing lost when a worker dies, history source `webhook`."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.db import Database
from app.jobs import queue
from app.models import AssignmentHistory, Job, OutboxEvent
from tests.conftest import TenantKeys
from tests.webhooks.conftest import (
    RECLASSIFY,
    Sender,
    new_customer,
    order,
    run_reclassifications,
    stored,
)


@pytest.fixture
async def value_tree(api: httpx.AsyncClient) -> str:
    """The seed 客户价值 tree with its published ruleset."""
    installed = await api.post("/api/v1/templates/value/install")
    assert installed.status_code == 201, installed.text
    return str(installed.json()["tree_id"])


async def _category(api: httpx.AsyncClient, customer_id: str, tree_id: str) -> str | None:
    held = (await api.get(f"/api/v1/customers/{customer_id}/assignments/{tree_id}")).json()
    return held["items"][0]["category"]["code"] if held["items"] else None


async def _events(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    listed = (await api.get("/api/v1/webhooks/events", params={"limit": 500})).json()
    return {e["webhook_id"]: e for e in listed["items"]}


async def test_an_order_event_moves_the_customer_with_webhook_history_and_an_outbox_event(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    value_tree: str,
) -> None:
    customer_id = await new_customer(api, "BIG")
    big = {"type": "order.created", "data": order("BIG", "SO-BIG", "900000.00")}
    response = await sender.post(big, webhook_id="msg_big")
    assert response.status_code == 202, response.text
    assert await _category(api, customer_id, value_tree) is None  # not waited for

    assert await run_reclassifications(database, tenant.id) == 1
    assert await _category(api, customer_id, value_tree) == "HIGH"
    history = (await api.get(f"/api/v1/customers/{customer_id}/history")).json()["items"]
    latest = next(h for h in history if h["tree"]["id"] == value_tree)
    assert latest["to_category"]["code"] == "HIGH"
    assert latest["source"] == "webhook"
    assert "msg_big" in latest["reason"]
    assert (await _events(api))["msg_big"]["status"] == "processed"
    async with database.sessionmaker() as session:
        moved = list(
            await session.scalars(
                select(OutboxEvent.payload).where(
                    OutboxEvent.tenant_id == tenant.id,
                    OutboxEvent.event_type == "customer.classification_changed",
                )
            )
        )
    assert [(m["customer_id"], m["to"]["code"], m["source"]) for m in moved] == [
        (customer_id, "HIGH", "webhook")
    ]


async def test_a_burst_for_one_customer_is_one_reclassification(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    value_tree: str,
) -> None:
    one = await new_customer(api, "ONE")
    other = await new_customer(api, "OTHER")
    for n in range(5):
        event = {"type": "order.created", "data": order("ONE", f"SO-{n}", "200000.00")}
        assert (await sender.post(event, webhook_id=f"msg_{n}")).status_code == 202
    await sender.post({"type": "order.created", "data": order("OTHER", "SO-X")}, webhook_id="x")
    assert (await stored(database, tenant.id)).jobs == 2

    assert await run_reclassifications(database, tenant.id) == 2
    assert await _category(api, one, value_tree) == "HIGH"
    assert await _category(api, other, value_tree) is not None
    events = await _events(api)
    assert {events[f"msg_{n}"]["status"] for n in range(5)} == {"processed"}
    history = (await api.get(f"/api/v1/customers/{one}/history")).json()["items"]
    [change] = [h for h in history if h["tree"]["id"] == value_tree]
    assert all(f"msg_{n}" in change["reason"] for n in range(5))


async def test_an_event_arriving_while_its_customer_is_reclassified_queues_again(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    value_tree: str,
) -> None:
    customer_id = await new_customer(api, "C1")
    await sender.post({"type": "order.created", "data": order("C1", "SO-1", "1000.00")})
    async with database.sessionmaker() as session, session.begin():
        running = await queue.claim(session, "w-1", [RECLASSIFY], tenant_id=tenant.id)
    assert running is not None
    later = {"type": "order.created", "data": order("C1", "SO-2", "900000.00")}
    assert (await sender.post(later)).status_code == 202
    assert (await stored(database, tenant.id)).jobs == 2  # the running one does not absorb it
    async with database.sessionmaker() as session, session.begin():
        await queue.finish(session, running)  # as if it had run and found nothing new
    await run_reclassifications(database, tenant.id)
    assert await _category(api, customer_id, value_tree) == "HIGH"


async def test_a_worker_dying_after_the_claim_loses_nothing(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    value_tree: str,
) -> None:
    customer_id = await new_customer(api, "C1")
    await sender.post({"type": "order.created", "data": order("C1", "SO-1", "900000.00")})
    async with database.sessionmaker() as session, session.begin():
        # Claimed by a worker that then dies: its lease runs out at once.
        lost = await queue.claim(
            session, "dead", [RECLASSIFY], lease=timedelta(0), tenant_id=tenant.id
        )
    assert lost is not None
    assert await run_reclassifications(database, tenant.id) == 1
    assert await _category(api, customer_id, value_tree) == "HIGH"
    async with database.sessionmaker() as session:
        job = await session.get(Job, lost.id, populate_existing=True)
        assert job is not None
        assert (job.status, job.attempts) == ("succeeded", 2)


async def test_a_job_run_twice_reclassifies_once(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    value_tree: str,
) -> None:
    customer_id = await new_customer(api, "C1")
    await sender.post({"type": "order.created", "data": order("C1", "SO-1", "900000.00")})
    await run_reclassifications(database, tenant.id)
    async with database.sessionmaker() as session, session.begin():
        job = await session.scalar(
            select(Job).where(Job.tenant_id == tenant.id, Job.kind == RECLASSIFY)
        )
        assert job is not None
        job.status = "queued"  # as if its worker died after the commit, before finishing
    await run_reclassifications(database, tenant.id)
    async with database.sessionmaker() as session:
        rows = await session.scalars(
            select(AssignmentHistory).where(
                AssignmentHistory.tenant_id == tenant.id,
                AssignmentHistory.customer_id == uuid.UUID(customer_id),
            )
        )
        assert [r.source for r in rows] == ["webhook"]


async def test_a_customer_deleted_before_its_job_fails_the_event_with_a_reason(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    value_tree: str,
) -> None:
    customer_id = await new_customer(api, "GONE")
    await sender.post({"type": "order.created", "data": order("GONE", "SO-1")}, webhook_id="m")
    deleted = await api.delete(f"/api/v1/customers/{customer_id}")
    assert deleted.status_code == 204, deleted.text
    await run_reclassifications(database, tenant.id)
    event = (await _events(api))["m"]
    assert event["status"] == "failed"
    assert "no longer exists" in event["reason"]


async def test_without_a_published_ruleset_the_event_is_processed_and_nothing_moves(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    await sender.post({"type": "order.created", "data": order("C1", "SO-1")}, webhook_id="m")
    assert await run_reclassifications(database, tenant.id) == 1
    assert (await _events(api))["m"]["status"] == "processed"


async def test_a_locked_assignment_stays_and_the_event_is_processed(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    value_tree: str,
) -> None:
    customer_id = await new_customer(api, "C1")
    categories = (await api.get(f"/api/v1/category-trees/{value_tree}/categories")).json()
    low = next(c for c in categories["items"] if c["code"] == "LOW")
    locked = await api.put(
        f"/api/v1/customers/{customer_id}/assignments/{value_tree}",
        json={"category_id": low["id"], "locked": True, "reason": "合同约定"},
    )
    assert locked.status_code == 200, locked.text
    await sender.post({"type": "order.created", "data": order("C1", "SO-1", "900000.00")})
    await run_reclassifications(database, tenant.id)
    assert await _category(api, customer_id, value_tree) == "LOW"
    statuses = {e["status"] for e in (await _events(api)).values()}
    assert statuses == {"processed"}


async def test_a_failed_attempt_gives_way_to_the_job_queued_while_it_ran(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    value_tree: str,
) -> None:
    customer_id = await new_customer(api, "C1")
    await sender.post({"type": "order.created", "data": order("C1", "SO-1")}, webhook_id="a")
    async with database.sessionmaker() as session, session.begin():
        running = await queue.claim(session, "w-1", [RECLASSIFY], tenant_id=tenant.id)
    assert running is not None
    big = {"type": "order.created", "data": order("C1", "SO-2", "900000.00")}
    await sender.post(big, webhook_id="b")
    async with database.sessionmaker() as session, session.begin():
        # Back to the queue it cannot go (one queued job per customer): the newer one
        # does its work.
        failed = {"type": "RuntimeError", "message": "boom"}
        assert await queue.finish(session, running, error=failed) == "cancelled"
    assert await run_reclassifications(database, tenant.id) == 1
    assert await _category(api, customer_id, value_tree) == "HIGH"
    events = await _events(api)
    assert (events["a"]["status"], events["b"]["status"]) == ("processed", "processed")
