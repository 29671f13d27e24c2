"""Reclassification jobs are done in batches: one worker look takes several customers'
jobs and reclassifies them together, with every semantics of one job (locks respected,
history source `webhook` with the event ids, an outbox event only on a change), and a
customer that cannot be reclassified holds back none of the others."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.core.db import Database
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.models import AuditEvent, Job, OutboxEvent
from app.runs import many_customers, one_customer
from tests.conftest import TenantKeys
from tests.webhooks.conftest import RECLASSIFY, Sender, new_customer, order


async def _install(api: httpx.AsyncClient, template: str) -> str:
    installed = await api.post(f"/api/v1/templates/{template}/install")
    assert installed.status_code == 201, installed.text
    return str(installed.json()["tree_id"])


async def _held(api: httpx.AsyncClient, customer_id: str, tree_id: str) -> list[str]:
    held = (await api.get(f"/api/v1/customers/{customer_id}/assignments/{tree_id}")).json()
    return sorted(item["category"]["code"] for item in held["items"])


async def _events(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    listed = (await api.get("/api/v1/webhooks/events", params={"limit": 500})).json()
    return {e["webhook_id"]: e for e in listed["items"]}


async def _one_look(database: Database, tenant_id: uuid.UUID) -> int:
    """One worker look at the tenant's queue: how many jobs it did."""
    load_handlers()
    return await Worker(database, kinds=[RECLASSIFY], tenant_id=tenant_id).run_once()


async def _jobs(database: Database, tenant_id: uuid.UUID) -> dict[str, Job]:
    async with database.sessionmaker() as session:
        rows = await session.scalars(
            select(Job).where(Job.tenant_id == tenant_id, Job.kind == RECLASSIFY)
        )
        return {job.payload["customer_id"]: job for job in rows}


async def _outbox(database: Database, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    async with database.sessionmaker() as session:
        return list(
            await session.scalars(
                select(OutboxEvent.payload).where(
                    OutboxEvent.tenant_id == tenant_id,
                    OutboxEvent.event_type == "customer.classification_changed",
                )
            )
        )


async def test_one_look_reclassifies_several_customers_and_leaves_a_locked_one(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    value = await _install(api, "value")
    ids = {code: await new_customer(api, code) for code in ("A", "B", "LOCKED")}
    categories = (await api.get(f"/api/v1/category-trees/{value}/categories")).json()
    low = next(c for c in categories["items"] if c["code"] == "LOW")
    locked = await api.put(
        f"/api/v1/customers/{ids['LOCKED']}/assignments/{value}",
        json={"category_id": low["id"], "locked": True, "reason": "合同约定"},
    )
    assert locked.status_code == 200, locked.text
    for code in ids:
        for n in range(2):  # two events per customer: one job each, both taken in
            big = {"type": "order.created", "data": order(code, f"SO-{code}-{n}", "900000.00")}
            assert (await sender.post(big, webhook_id=f"msg_{code}_{n}")).status_code == 202

    assert await _one_look(database, tenant.id) == 3
    assert await _held(api, ids["A"], value) == ["HIGH"]
    assert await _held(api, ids["B"], value) == ["HIGH"]
    assert await _held(api, ids["LOCKED"], value) == ["LOW"]
    assert {e["status"] for e in (await _events(api)).values()} == {"processed"}
    for code in ("A", "B"):
        history = (await api.get(f"/api/v1/customers/{ids[code]}/history")).json()["items"]
        [change] = [h for h in history if h["source"] == "webhook"]
        assert change["to_category"]["code"] == "HIGH"
        assert f"msg_{code}_0" in change["reason"]
        assert f"msg_{code}_1" in change["reason"]
    locked_history = (await api.get(f"/api/v1/customers/{ids['LOCKED']}/history")).json()
    assert [h["source"] for h in locked_history["items"]] == ["manual"]
    moved = await _outbox(database, tenant.id)
    assert sorted((m["customer_id"], m["to"]["code"], m["source"]) for m in moved) == sorted(
        [(ids["A"], "HIGH", "webhook"), (ids["B"], "HIGH", "webhook")]
    )
    jobs = await _jobs(database, tenant.id)
    assert {job.status for job in jobs.values()} == {"succeeded"}
    assert jobs[ids["A"]].result == {"events": 2, "changed_trees": 1, "failure": None}
    assert jobs[ids["LOCKED"]].result == {"events": 2, "changed_trees": 0, "failure": None}
    async with database.sessionmaker() as session:
        audited = list(
            await session.execute(
                select(AuditEvent.entity_id, AuditEvent.request_id).where(
                    AuditEvent.tenant_id == tenant.id, AuditEvent.action == "reclassify"
                )
            )
        )
    # Each customer's audit event carries its own job as the correlation id.
    assert sorted(audited) == sorted(
        (ids[code], f"job:{jobs[ids[code]].id}") for code in ("A", "B")
    )

    # Nothing changed since: another event moves nothing and writes no outbox event.
    again = {"type": "order.created", "data": order("A", "SO-A-2", "10.00")}
    assert (await sender.post(again, webhook_id="msg_A_2")).status_code == 202
    assert await _one_look(database, tenant.id) == 1
    assert len(await _outbox(database, tenant.id)) == 2


async def test_a_batch_applies_what_reclassifying_one_customer_would(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    """Single- and multi-assign trees: after the batch, reclassifying each customer on
    its own finds nothing left to change."""
    trees = [await _install(api, template) for template in ("value", "grading", "risk")]
    amounts = {"S": "10.00", "M": "150000.00", "L": "900000.00", "XL": "3000000.00"}
    ids = {code: await new_customer(api, code) for code in amounts}
    for code, amount in amounts.items():
        event = {"type": "order.created", "data": order(code, f"SO-{code}", amount)}
        assert (await sender.post(event)).status_code == 202
    assert await _one_look(database, tenant.id) == len(amounts)
    for customer_id in ids.values():
        answer = await api.post(
            f"/api/v1/customers/{customer_id}/reclassify", json={"dry_run": True}
        )
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        assert {item["tree_id"] for item in items} == set(trees)
        assert not [item for item in items if item["changed"]], items
        for item in items:
            codes = sorted(c["code"] for c in item["categories"])
            assert await _held(api, customer_id, item["tree_id"]) == codes


async def test_a_customer_deleted_in_a_batch_fails_its_events_and_the_others_proceed(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    value = await _install(api, "value")
    ids = {code: await new_customer(api, code) for code in ("A", "GONE", "B")}
    for code in ids:
        big = {"type": "order.created", "data": order(code, f"SO-{code}", "900000.00")}
        assert (await sender.post(big, webhook_id=f"msg_{code}")).status_code == 202
    assert (await api.delete(f"/api/v1/customers/{ids['GONE']}")).status_code == 204

    assert await _one_look(database, tenant.id) == 3
    events = await _events(api)
    assert events["msg_GONE"]["status"] == "failed"
    assert "no longer exists" in events["msg_GONE"]["reason"]
    assert (events["msg_A"]["status"], events["msg_B"]["status"]) == ("processed", "processed")
    assert await _held(api, ids["A"], value) == ["HIGH"]
    assert await _held(api, ids["B"], value) == ["HIGH"]


@pytest.fixture
def failing_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Make computing the values of one customer fail, in a batch and on its own."""

    def fail(customer_id: str) -> None:
        def failing(real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def values(session: Any, tenant_id: Any, ids: Any, *rest: Any) -> Any:
                if uuid.UUID(customer_id) in ids:
                    raise RuntimeError(f"cannot compute the values of {customer_id}")
                return await real(session, tenant_id, ids, *rest)

            return values

        for module in (many_customers, one_customer):
            monkeypatch.setattr(module, "customer_values", failing(module.customer_values))

    return fail


async def test_a_customer_failing_in_a_batch_holds_back_none_of_the_others(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    failing_for: Callable[[str], None],
) -> None:
    value = await _install(api, "value")
    ids = {code: await new_customer(api, code) for code in ("A", "BAD", "B")}
    for code in ids:
        big = {"type": "order.created", "data": order(code, f"SO-{code}", "900000.00")}
        assert (await sender.post(big, webhook_id=f"msg_{code}")).status_code == 202
    failing_for(ids["BAD"])

    assert await _one_look(database, tenant.id) == 3
    assert await _held(api, ids["A"], value) == ["HIGH"]
    assert await _held(api, ids["B"], value) == ["HIGH"]
    assert await _held(api, ids["BAD"], value) == []
    events = await _events(api)
    assert (events["msg_A"]["status"], events["msg_B"]["status"]) == ("processed", "processed")
    assert events["msg_BAD"]["status"] == "accepted"  # its job will try again
    jobs = await _jobs(database, tenant.id)
    bad = jobs[ids["BAD"]]
    assert (bad.status, bad.attempts) == ("queued", 1)
    assert bad.error is not None
    assert bad.error["type"] == "RuntimeError"
    assert {jobs[ids[c]].status for c in ("A", "B")} == {"succeeded"}

    # Its last attempt fails too: the event fails, saying why.
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Job).where(Job.id == bad.id).values(max_attempts=2, run_after=Job.created_at)
        )
    assert await _one_look(database, tenant.id) == 1
    failed = (await _events(api))["msg_BAD"]
    assert failed["status"] == "failed"
    assert "cannot compute the values" in failed["reason"]


async def test_the_rules_kept_between_batches_follow_an_edit_of_a_category(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    """The worker keeps the published rules between batches; a category renamed since
    the last batch is read afresh (history and outbox carry the new name)."""
    await _install(api, "value")
    customer_id = await new_customer(api, "A")
    small = {"type": "order.created", "data": order("A", "SO-1", "10.00")}
    assert (await sender.post(small)).status_code == 202
    assert await _one_look(database, tenant.id) == 1  # the rules are now kept
    value = (await api.get("/api/v1/category-trees")).json()["items"][0]["id"]
    categories = (await api.get(f"/api/v1/category-trees/{value}/categories")).json()
    high = next(c for c in categories["items"] if c["code"] == "HIGH")
    renamed = await api.patch(f"/api/v1/categories/{high['id']}", json={"name": "大客户"})
    assert renamed.status_code == 200, renamed.text

    big = {"type": "order.created", "data": order("A", "SO-2", "900000.00")}
    assert (await sender.post(big)).status_code == 202
    assert await _one_look(database, tenant.id) == 1
    history = (await api.get(f"/api/v1/customers/{customer_id}/history")).json()["items"]
    assert history[0]["to_category"]["code"] == "HIGH"
    assert history[0]["to_category"]["name"] == "大客户"
    moved = [m for m in await _outbox(database, tenant.id) if m["to"]["code"] == "HIGH"]
    assert [m["to"]["name"] for m in moved] == ["大客户"]
