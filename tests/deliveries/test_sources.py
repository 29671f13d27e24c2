"""Events written by the service's own operations reach subscribers, and the outbox is
read in commit order: an event committed late is delivered, never skipped."""

import uuid

import httpx
import pytest
from standardwebhooks import Webhook

from app.core.db import Database
from app.models import OutboxEvent, Role
from tests.conftest import TenantKeys
from tests.deliveries.conftest import deliver_due, move_clock_on, write_events
from tests.deliveries.receiver import Receiver
from tests.deliveries.test_delivery import CHANGED, changed, subscribe
from tests.runs.test_runs_api import all_results, finished, start

pytestmark = pytest.mark.usefixtures("worker_reaches_loopback")


async def test_filing_a_change_request_is_delivered_as_change_request_created(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver, ["change_request.created"])
    tree = await hooks.post(
        "/api/v1/category-trees",
        json={"key": "value", "name": "价值维度", "requires_approval": True},
    )
    filed = await hooks.post(
        f"/api/v1/category-trees/{tree.json()['id']}/categories",
        json={"code": "STRAT", "name": "战略客户"},
        params={"note": "新增战略客户分类"},
        headers=tenant.headers(Role.EDITOR),
    )
    assert filed.status_code == 202, filed.text

    await deliver_due(database, tenant.id)

    [request] = receiver.received
    message = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert message["type"] == "change_request.created"
    assert message["data"]["change_request_id"] == filed.json()["id"]
    assert message["data"]["kind"] == "category.create"
    assert message["data"]["note"] == "新增战略客户分类"


async def test_an_event_committed_after_a_later_one_is_still_delivered_in_order(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    await subscribe(hooks, receiver)
    customer = str(uuid.uuid4())
    async with database.sessionmaker() as slow, slow.begin():
        # This transaction takes its id (and its outbox id) first, and commits last.
        kind, payload = changed(customer, "first")
        slow.add(OutboxEvent(tenant_id=tenant.id, event_type=kind, payload=payload))
        await slow.flush()
        await write_events(database, tenant.id, changed(customer, "second"))
        await deliver_due(database, tenant.id, settle=False)  # it could not settle now
        assert receiver.received == []  # "second" waits behind the open transaction

    await move_clock_on(database, tenant.id)  # the dispatcher's follow-up is due
    await deliver_due(database, tenant.id)
    codes = [r.message["data"]["to"]["code"] for r in receiver.received]
    assert codes == ["first", "second"]


async def test_a_tenant_receives_only_its_own_events(
    hooks: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    make_tenant: object,
    receiver: Receiver,
) -> None:
    await subscribe(hooks, receiver)
    other: TenantKeys = await make_tenant()  # type: ignore[operator]
    await write_events(database, other.id, changed(str(uuid.uuid4()), "theirs"))
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "ours"))
    await deliver_due(database, tenant.id)
    await deliver_due(database, other.id)
    assert [r.message["data"]["to"]["code"] for r in receiver.received] == ["ours"]
    assert all(r.message["type"] == CHANGED for r in receiver.received)


async def test_an_apply_run_delivers_each_change_and_its_completion(
    hooks: httpx.AsyncClient,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    classified: dict[str, str],
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(hooks, receiver, [CHANGED, "run.completed"])
    run = await start(api, tree_ids=[classified["value"]], mode="apply")
    done = await finished(api, database, run["id"])
    assert done["status"] == "succeeded", done

    await deliver_due(database, tenant.id)

    changes = [r.message for r in receiver.received if r.message["type"] == CHANGED]
    results = await all_results(api, run["id"], changed="true")
    assert sorted(m["data"]["customer_id"] for m in changes) == sorted(
        r["customer_id"] for r in results
    )
    assert all(m["data"]["run_id"] == run["id"] for m in changes)
    completed = [r for r in receiver.received if r.message["type"] == "run.completed"]
    assert [r.message["data"]["run_id"] for r in completed] == [run["id"]]
    for request in receiver.received:
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
