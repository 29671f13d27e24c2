"""Outbox events reach a local receiver signed (Standard Webhooks), at least once, in
order per customer, retried on failure with the backoff, stopped by a 410."""

import asyncio
import socket
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from standardwebhooks import Webhook

from app.core.db import Database
from app.deliveries import sender
from app.models import Job, WebhookDelivery
from tests.conftest import TenantKeys
from tests.deliveries.conftest import deliver_due, delivery_state, move_clock_on, write_events
from tests.deliveries.receiver import Receiver

pytestmark = pytest.mark.usefixtures("worker_reaches_loopback")

CHANGED = "customer.classification_changed"


def changed(customer: str, to: str) -> tuple[str, dict[str, Any]]:
    return CHANGED, {"customer_id": customer, "customer_code": f"C-{to}", "to": {"code": to}}


async def subscribe(
    hooks: httpx.AsyncClient, receiver: Receiver, event_types: list[str] | None = None
) -> dict[str, Any]:
    created = await hooks.post(
        "/api/v1/webhook-endpoints",
        json={"url": receiver.url(), "event_types": event_types or [CHANGED]},
    )
    assert created.status_code == 201, created.text
    return created.json()


async def deliveries(hooks: httpx.AsyncClient, endpoint: dict[str, Any], **params: Any) -> Any:
    listed = await hooks.get(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", params=params
    )
    assert listed.status_code == 200, listed.text
    return listed.json()


async def test_an_event_arrives_signed_and_the_receiver_verifies_it(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    customer = str(uuid.uuid4())
    await write_events(database, tenant.id, changed(customer, "A"))

    await deliver_due(database, tenant.id)

    [request] = receiver.received
    assert request.path == "/hook"
    verified = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert verified["type"] == CHANGED
    assert verified["data"]["customer_id"] == customer
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["status"] == "succeeded"
    assert delivery["id"] == request.headers["webhook-id"]
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 200
    assert attempt["error"] is None
    assert attempt["latency_ms"] >= 0


async def test_an_endpoint_gets_only_the_event_types_it_subscribes_to_from_its_creation_on(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    await write_events(database, tenant.id, ("run.completed", {"run_id": "before"}))
    await subscribe(hooks, receiver, ["run.completed"])
    await write_events(
        database,
        tenant.id,
        changed(str(uuid.uuid4()), "A"),
        ("run.completed", {"run_id": "after"}),
    )

    await deliver_due(database, tenant.id)

    assert [r.message["data"] for r in receiver.received] == [{"run_id": "after"}]


async def test_a_failed_attempt_is_retried_after_the_backoff_and_then_succeeds(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    receiver.answers = [500]
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))

    await deliver_due(database, tenant.id)
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["status"] == "pending"
    assert [a["status_code"] for a in delivery["attempts"]] == [500]
    assert delivery["attempts"][0]["error"] == "HTTP 500"

    await deliver_due(database, tenant.id)  # the retry is not due yet (5 s)
    assert len(receiver.received) == 1

    await move_clock_on(database, tenant.id)
    await deliver_due(database, tenant.id)
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    Webhook(endpoint["secret"]).verify(second.body, second.headers)


async def test_a_delivery_fails_after_the_last_retry(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    receiver.respond = lambda _: 503
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))

    await deliver_due(database, tenant.id)
    for _ in range(12):
        await move_clock_on(database, tenant.id)
        await deliver_due(database, tenant.id)

    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 10  # at once, then 5 s, 5 min, … 24 h
    assert len(receiver.received) == 10
    failed = await deliveries(hooks, endpoint, status="failed")
    assert [d["id"] for d in failed["items"]] == [delivery["id"]]


async def test_a_410_disables_the_endpoint_and_stops_its_deliveries(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    receiver.answers = [410]
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))

    await deliver_due(database, tenant.id)

    read = (await hooks.get(f"/api/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert read["enabled"] is False
    assert read["disabled_reason"] == "gone"
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["status"] == "failed"
    assert delivery["attempts"][0]["status_code"] == 410

    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "B"))
    await move_clock_on(database, tenant.id)
    await deliver_due(database, tenant.id)
    assert len(receiver.received) == 1
    redelivered = await hooks.post(f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver")
    assert redelivered.status_code == 409

    enabled = await hooks.patch(
        f"/api/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True}
    )
    assert enabled.json()["disabled_reason"] is None
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "C"))
    await deliver_due(database, tenant.id)
    codes = [r.message["data"]["to"]["code"] for r in receiver.received]
    assert codes == ["A", "C"]  # B came while it was disabled


async def test_one_customers_events_arrive_in_order_while_an_earlier_one_is_retried(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    await subscribe(hooks, receiver)
    first_customer, other_customer = str(uuid.uuid4()), str(uuid.uuid4())
    failed_once: set[str] = set()

    def respond(request: Any) -> int:
        code = request.message["data"]["to"]["code"]
        if code == "A1" and code not in failed_once:
            failed_once.add(code)
            return 500
        return 200

    receiver.respond = respond
    await write_events(
        database,
        tenant.id,
        changed(first_customer, "A1"),
        changed(other_customer, "B1"),
        changed(first_customer, "A2"),
    )

    await deliver_due(database, tenant.id)
    codes = [r.message["data"]["to"]["code"] for r in receiver.received]
    assert sorted(codes) == ["A1", "B1"]  # A2 waits for A1

    await move_clock_on(database, tenant.id)
    await deliver_due(database, tenant.id)
    of_first = [
        r.message["data"]["to"]["code"]
        for r in receiver.received
        if r.message["data"]["customer_id"] == first_customer
    ]
    assert of_first == ["A1", "A1", "A2"]


async def test_a_delivery_is_sent_again_on_request_with_the_same_webhook_id(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))
    await deliver_due(database, tenant.id)
    [delivery] = (await deliveries(hooks, endpoint))["items"]

    redelivered = await hooks.post(f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver")
    assert redelivered.status_code == 202, redelivered.text
    assert redelivered.json()["status"] == "pending"
    await deliver_due(database, tenant.id)

    first, again = receiver.received
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == delivery["id"]
    Webhook(endpoint["secret"]).verify(again.body, again.headers)
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [200, 200]


async def test_redelivering_an_unknown_or_another_tenants_delivery_is_not_found(
    hooks: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    make_tenant: Any,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(hooks, receiver)
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))
    await deliver_due(database, tenant.id)
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    other = await make_tenant()
    for delivery_id in (delivery["id"], str(uuid.uuid4())):
        missing = await hooks.post(
            f"/api/v1/webhook-deliveries/{delivery_id}/redeliver",
            headers=other.headers() if delivery_id == delivery["id"] else {},
        )
        assert missing.status_code == 404
    assert (
        await hooks.get(
            f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=other.headers()
        )
    ).status_code == 404


async def test_deliveries_are_listed_newest_first_in_pages(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    await write_events(
        database, tenant.id, *(changed(str(uuid.uuid4()), f"X{n}") for n in range(3))
    )
    await deliver_due(database, tenant.id)

    first = await deliveries(hooks, endpoint, limit=2)
    second = await deliveries(hooks, endpoint, limit=2, cursor=first["next_cursor"])
    listed = first["items"] + second["items"]
    assert second["next_cursor"] is None
    event_ids = [d["event_id"] for d in listed]
    assert event_ids == sorted(event_ids, reverse=True)
    assert len(set(event_ids)) == 3


async def test_many_events_are_all_delivered_once(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    await subscribe(hooks, receiver)
    customers = [str(uuid.uuid4()) for _ in range(20)]
    await write_events(
        database, tenant.id, *(changed(c, f"{n}") for n in range(3) for c in customers)
    )
    await deliver_due(database, tenant.id)

    assert len(receiver.received) == 60
    for customer in customers:
        codes = [
            r.message["data"]["to"]["code"]
            for r in receiver.received
            if r.message["data"]["customer_id"] == customer
        ]
        assert codes == ["0", "1", "2"]


async def test_a_re_enabled_endpoint_gets_no_event_committed_while_it_was_disabled(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    # Another session's transaction (another test, another tenant) runs throughout: the
    # oldest running transaction, by which the dispatcher knows what has committed,
    # stays behind the event written while the endpoint was off.
    endpoint = await subscribe(hooks, receiver)
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    async with database.engine.connect() as elsewhere:
        await elsewhere.execute(text("SELECT pg_current_xact_id()"))
        assert (await hooks.patch(path, json={"enabled": False})).status_code == 200
        await write_events(database, tenant.id, changed(str(uuid.uuid4()), "OFF"))
        assert (await hooks.patch(path, json={"enabled": True})).status_code == 200
        await elsewhere.rollback()
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "ON"))
    await deliver_due(database, tenant.id)
    assert [r.message["data"]["to"]["code"] for r in receiver.received] == ["ON"]


async def test_a_delivery_held_by_a_crashed_sender_is_sent_once_its_lease_runs_out(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))
    await deliver_due(database, tenant.id, kinds=["deliveries.dispatch"])
    async with database.sessionmaker() as session, session.begin():
        held = await sender.claim_due(session, tenant.id, uuid.UUID(endpoint["id"]), 10)
    assert len(held) == 1  # ... and the sender that holds it dies here

    await deliver_due(database, tenant.id)
    assert receiver.received == []

    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.tenant_id == tenant.id)
            .values(claimed_until=func.now() - timedelta(seconds=1))
        )
    await move_clock_on(database, tenant.id)
    await deliver_due(database, tenant.id)
    # Failed once in CI on the shared server with nothing received: say what was left.
    assert len(receiver.received) == 1, await delivery_state(database, tenant.id)
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["status"] == "succeeded"


async def test_the_request_goes_to_the_checked_address_under_the_endpoints_host_name(
    hooks: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = await hooks.post(
        "/api/v1/webhook-endpoints",
        json={"url": f"http://hooks.crm.test:{receiver.port}/in", "event_types": [CHANGED]},
    )
    assert created.status_code == 201, created.text  # not resolvable yet: accepted
    looked_up: list[Any] = []

    async def resolver(host: Any, port: Any, **_: Any) -> list[Any]:
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolver)
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))
    await deliver_due(database, tenant.id)

    [request] = receiver.received
    assert request.headers["Host"] == f"hooks.crm.test:{receiver.port}"
    assert request.path == "/in"
    assert looked_up == ["hooks.crm.test"]  # once, by the guard; httpx got the address


async def test_deleting_an_endpoint_drops_its_pending_deliveries(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    receiver.answers = [500]
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))
    await deliver_due(database, tenant.id)
    deleted = await hooks.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}")
    assert deleted.status_code == 204

    await move_clock_on(database, tenant.id)
    await deliver_due(database, tenant.id)
    assert len(receiver.received) == 1
    async with database.sessionmaker() as session:
        left = await session.scalar(
            select(func.count()).where(WebhookDelivery.tenant_id == tenant.id)
        )
        failed_jobs = await session.scalar(
            select(func.count()).where(Job.tenant_id == tenant.id, Job.error.is_not(None))
        )
    assert left == 0
    assert failed_jobs == 0
