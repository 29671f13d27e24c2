"""Signed events are stored once, with their activity, or not at all."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.db import Database
from app.models import Interaction, Order
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.webhooks.conftest import Sender, new_customer, order, stored, today


async def test_a_duplicate_delivery_is_a_200_no_op(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    event = {"type": "order.created", "data": order("C1", "SO-1", "5000.00")}
    first = await sender.post(event, webhook_id="msg_dup")
    again = await sender.post(event, webhook_id="msg_dup")
    assert first.status_code == 202, first.text
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    after = await stored(database, tenant.id)
    assert (after.events, after.orders, after.jobs) == (1, 1, 1)


async def test_concurrent_deliveries_of_one_event_store_it_once(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    body = json.dumps({"type": "order.created", "data": order("C1", "SO-1")}).encode()
    headers = sender.headers(body, webhook_id="msg_race")
    answers = await asyncio.gather(*(sender.post(body, headers=headers) for _ in range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 5 + [202], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    after = await stored(database, tenant.id)
    assert (after.events, after.orders, after.jobs) == (1, 1, 1)


async def test_the_same_order_under_two_webhook_ids_is_one_order(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    created = {"type": "order.created", "data": order("C1", "SO-1", "5000.00")}
    updated = {"type": "order.updated", "data": order("C1", "SO-1", "7000.00", status="paid")}
    for event in (created, created, updated):
        assert (await sender.post(event)).status_code == 202
    async with database.sessionmaker() as session:
        orders = list(await session.scalars(select(Order).where(Order.tenant_id == tenant.id)))
    assert [(o.external_id, str(o.amount), o.status) for o in orders] == [
        ("SO-1", "7000.00", "paid")
    ]
    assert (await stored(database, tenant.id)).events == 3


async def test_a_batch_event_stores_every_item_and_queues_each_customer_once(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    for code in ("C1", "C2"):
        await new_customer(api, code)
    items = [
        {"external_id": f"CALL-{i}", "customer_code": code, "occurred_at": today()}
        for i, code in enumerate(["C1", "C2", "C1"])
    ]
    response = await sender.post({"type": "interaction.created", "data": {"items": items}})
    assert response.status_code == 202, response.text
    assert response.json()["items"] == 3
    async with database.sessionmaker() as session:
        found = await session.scalars(
            select(Interaction.external_id).where(Interaction.tenant_id == tenant.id)
        )
        assert sorted(found) == ["CALL-0", "CALL-1", "CALL-2"]
    assert (await stored(database, tenant.id)).jobs == 2


@pytest.mark.parametrize(
    ("event", "where"),
    [
        ({"type": "order.deleted", "data": order("C1", "SO-1")}, ["body", "type"]),
        ({"type": "order.created"}, ["body", "data"]),
        ({"type": "order.created", "data": order("C1", "SO-1", "abc")}, ["body", "data", "amount"]),
        (
            {"type": "order.created", "data": {**order("C1", "SO-1"), "extra": 1}},
            ["body", "data", "extra"],
        ),
        (
            {"type": "order.created", "data": order("NOPE", "SO-1")},
            ["body", "data", "customer_code"],
        ),
        (
            {"type": "complaint.created", "data": {"items": [order("C1", "SO-1")]}},
            ["body", "data", "items", 0],
        ),
        (
            {
                "type": "order.created",
                "data": {"items": [order("C1", "SO-1"), order("C1", "SO-1")]},
            },
            ["body", "data", "items", 1, "external_id"],
        ),
        (
            {"type": "order.created", "data": {"items": [order("C1", "A"), order("NOPE", "B")]}},
            ["body", "data", "items", 1, "customer_code"],
        ),
        ({"type": "order.created", "data": {"items": []}}, ["body", "data", "items"]),
    ],
    ids=[
        "unknown-type",
        "no-data",
        "bad-amount",
        "unknown-member",
        "unknown-customer",
        "wrong-item-schema",
        "repeated-external-id",
        "one-unknown-customer-in-a-batch",
        "empty-batch",
    ],
)
async def test_invalid_data_is_a_422_and_stores_nothing(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    event: dict[str, Any],
    where: list[Any],
) -> None:
    await new_customer(api, "C1")
    body = assert_problem(await sender.post(event), 422)
    assert any(e["loc"][: len(where)] == where for e in body["errors"]), body
    after = await stored(database, tenant.id)
    assert (after.events, after.orders, after.jobs) == (0, 0, 0)


async def test_a_body_that_is_not_json_is_422_once_the_signature_holds(
    sender: Sender, database: Database, tenant: TenantKeys
) -> None:
    assert_problem(await sender.post(b"{not json"), 422)
    assert (await stored(database, tenant.id)).events == 0


async def test_received_events_are_listed_newest_first_with_cursor_pages(
    sender: Sender, api: httpx.AsyncClient
) -> None:
    await new_customer(api, "C1")
    for n in range(3):
        event = {"type": "order.created", "data": order("C1", f"SO-{n}")}
        assert (await sender.post(event, webhook_id=f"msg_{n}")).status_code == 202
    first = (await api.get("/api/v1/webhooks/events", params={"limit": 2})).json()
    assert [e["webhook_id"] for e in first["items"]] == ["msg_2", "msg_1"]
    assert all(e["status"] == "accepted" for e in first["items"])
    rest = await api.get(
        "/api/v1/webhooks/events", params={"limit": 2, "cursor": first["next_cursor"]}
    )
    assert [e["webhook_id"] for e in rest.json()["items"]] == ["msg_0"]
    assert rest.json()["next_cursor"] is None
    none = await api.get("/api/v1/webhooks/events", params={"status": "failed"})
    assert none.json()["items"] == []


async def test_another_tenants_events_are_not_listed(
    sender: Sender, api: httpx.AsyncClient, client: httpx.AsyncClient, make_tenant: Any
) -> None:
    await new_customer(api, "C1")
    await sender.post({"type": "order.created", "data": order("C1", "SO-1")})
    other = await make_tenant()
    listed = await client.get("/api/v1/webhooks/events", headers=other.headers("viewer"))
    assert listed.status_code == 200
    assert listed.json()["items"] == []


async def test_a_signed_body_that_is_not_sent_as_json_is_415(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    body = json.dumps({"type": "order.created", "data": order("C1", "SO-1")}).encode()
    headers = {**sender.headers(body), "content-type": "text/plain"}
    assert_problem(await sender.post(body, headers=headers), 415)
    assert (await stored(database, tenant.id)).events == 0


async def test_errors_after_the_signature_speak_the_tenants_language(
    client: httpx.AsyncClient, app: Any, make_tenant: Any
) -> None:
    english = await make_tenant(locale="en")
    made = await client.post("/api/v1/webhooks/inbound-secret", headers=english.headers())
    sender = Sender(client, english.slug, made.json()["secret"])
    body = assert_problem(
        await sender.post({"type": "order.created", "data": order("X", "1")}), 422
    )
    assert body["errors"][0]["msg"] == "No customer with code X"
