"""Activity in bulk: idempotent by external_id, codes resolved, local days, bad items kept out."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.activity.repository import write_rows
from app.activity.service import ORDERS
from app.core.db import Database
from app.models import Customer, Interaction, Order
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def _customers(api: httpx.AsyncClient, *codes: str) -> None:
    items = [{"code": code, "name": f"公司{code}"} for code in codes]
    response = await api.post("/api/v1/customers/bulk", json={"items": items})
    assert response.json()["created"] == len(codes)


async def _orders(database: Database, tenant: TenantKeys) -> list[Order]:
    async with database.sessionmaker() as session:
        rows = await session.scalars(
            select(Order).where(Order.tenant_id == tenant.id).order_by(Order.external_id)
        )
        return list(rows)


async def test_resending_an_order_updates_it_instead_of_duplicating(
    api: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await _customers(api, "C1")
    order = {
        "external_id": "SO-1",
        "customer_code": "C1",
        "amount": "100.00",
        "ordered_at": "2026-11-20",
    }
    first = await api.post("/api/v1/orders/bulk", json={"items": [order]})
    assert first.json() == {"received": 1, "created": 1, "updated": 0, "failed": 0, "errors": []}
    again = await api.post(
        "/api/v1/orders/bulk", json={"items": [{**order, "amount": 250.5, "status": "paid"}]}
    )
    assert again.json()["updated"] == 1
    [stored] = await _orders(database, tenant)
    assert str(stored.amount) == "250.50"
    assert stored.status == "paid"


async def test_unknown_customer_codes_and_bad_items_fail_alone(
    api: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await _customers(api, "C1")
    items: list[dict[str, Any]] = [
        {"external_id": "A", "customer_code": "C1", "amount": "1.00", "ordered_at": "2026-01-01"},
        {"external_id": "B", "customer_code": "NOPE", "amount": "1.00", "ordered_at": "2026-01-01"},
        {"external_id": "C", "customer_code": "C1", "amount": "1.001", "ordered_at": "2026-01-01"},
        {"external_id": "D", "customer_code": "C1", "amount": "abc", "ordered_at": "2026-01-01"},
        {"external_id": "A", "customer_code": "C1", "amount": "2.00", "ordered_at": "2026-01-01"},
        {"external_id": "E", "customer_code": "C1", "amount": "3.00", "ordered_at": "2026-13-01"},
    ]
    result = (await api.post("/api/v1/orders/bulk", json={"items": items})).json()
    assert result["created"] == 1
    assert [e["index"] for e in result["errors"]] == [1, 2, 3, 4, 5]
    assert result["errors"][0]["errors"][0]["type"] == "unknown_customer"
    assert [o.external_id for o in await _orders(database, tenant)] == ["A"]


async def test_amounts_are_exact_decimals(
    api: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await _customers(api, "C1")
    items = [
        {
            "external_id": f"X{i}",
            "customer_code": "C1",
            "amount": amount,
            "ordered_at": "2026-01-01",
        }
        for i, amount in enumerate(["0.10", "0.20", 0.3, "99999999999.99"])
    ]
    assert (await api.post("/api/v1/orders/bulk", json={"items": items})).json()["created"] == 4
    amounts = sorted(str(o.amount) for o in await _orders(database, tenant))
    assert amounts == ["0.10", "0.20", "0.30", "99999999999.99"]


async def test_the_local_day_is_the_tenants_not_utcs(
    api: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await _customers(api, "C1")
    items = [
        {"external_id": "late", "customer_code": "C1", "occurred_at": "2026-11-20T23:30:00+08:00"},
        {"external_id": "utc", "customer_code": "C1", "occurred_at": "2026-11-20T17:00:00Z"},
        {"external_id": "naive", "customer_code": "C1", "occurred_at": "2026-11-20T00:30:00"},
        {"external_id": "day", "customer_code": "C1", "occurred_at": "2026-11-20"},
    ]
    response = await api.post("/api/v1/interactions/bulk", json={"items": items})
    assert response.json()["created"] == 4
    async with database.sessionmaker() as session:
        days = dict(
            (
                await session.execute(
                    select(Interaction.external_id, Interaction.occurred_on).where(
                        Interaction.tenant_id == tenant.id
                    )
                )
            ).all()
        )
    assert {k: v.isoformat() for k, v in days.items()} == {
        "late": "2026-11-20", "utc": "2026-11-21", "naive": "2026-11-20", "day": "2026-11-20",
    }  # fmt: skip


async def test_complaints_and_interactions_validate_their_enums(api: httpx.AsyncClient) -> None:
    await _customers(api, "C1")
    bad = await api.post(
        "/api/v1/complaints/bulk",
        json={"items": [{"external_id": "Z", "customer_code": "C1", "occurred_at": "2026-01-01",
                         "severity": "catastrophic"}]},
    )  # fmt: skip
    assert_problem(bad, 422)
    ok = await api.post(
        "/api/v1/complaints/bulk",
        json={"items": [{"external_id": "Z", "customer_code": "C1", "occurred_at": "2026-01-01",
                         "severity": "major"}]},
    )  # fmt: skip
    assert ok.json()["created"] == 1


async def test_activity_is_tenant_scoped(client: httpx.AsyncClient, make_tenant: Any) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    await client.post(
        "/api/v1/customers", json={"code": "C1", "name": "n"}, headers=theirs.headers()
    )
    response = await client.post(
        "/api/v1/orders/bulk",
        json={
            "items": [
                {"external_id": "O", "customer_code": "C1", "amount": 1, "ordered_at": "2026-01-01"}
            ]
        },
        headers=ours.headers(),
    )
    assert_problem(response, 422)


async def test_a_repeated_external_id_keeps_the_first_item_whose_customer_is_known(
    api: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await _customers(api, "C1")
    items: list[dict[str, Any]] = [
        {"external_id": "A", "customer_code": "NOPE", "amount": "1.00", "ordered_at": "2026-01-01"},
        {"external_id": "A", "customer_code": "C1", "amount": "2.00", "ordered_at": "2026-01-01"},
        {"external_id": "A", "customer_code": "C1", "amount": "3.00", "ordered_at": "2026-01-01"},
        {"external_id": "B", "customer_code": "NOPE", "amount": "4.00", "ordered_at": "2026-01-01"},
        {"external_id": "C", "customer_code": "C1", "amount": "5.00", "ordered_at": "2026-01-01"},
    ]
    result = (await api.post("/api/v1/orders/bulk", json={"items": items})).json()
    assert (result["created"], result["updated"], result["failed"]) == (2, 0, 3)
    assert [(e["index"], e["errors"][0]["type"]) for e in result["errors"]] == [
        (0, "unknown_customer"), (2, "duplicate_external_id"), (3, "unknown_customer"),
    ]  # fmt: skip
    assert [(o.external_id, str(o.amount)) for o in await _orders(database, tenant)] == [
        ("A", "2.00"), ("C", "5.00"),
    ]  # fmt: skip


async def test_a_merged_code_records_activity_on_the_customer_it_was_merged_into(
    api: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await _customers(api, "C1", "C2")
    survivor, duplicate = [
        (await api.get(f"/api/v1/customers/by-code/{code}")).json()["id"] for code in ("C1", "C2")
    ]
    merged = await api.post(
        f"/api/v1/customers/{survivor}/merge", json={"duplicate_ids": [duplicate]}
    )
    assert merged.status_code == 200, merged.text
    order = {"external_id": "M", "customer_code": "C2", "amount": "1", "ordered_at": "2026-01-01"}
    result = (await api.post("/api/v1/orders/bulk", json={"items": [order]})).json()
    assert (result["created"], result["errors"]) == (1, [])
    [stored] = await _orders(database, tenant)
    assert str(stored.customer_id) == survivor


async def test_an_order_cannot_name_another_tenants_customer_even_in_sql(
    make_tenant: Any, database: Database, client: httpx.AsyncClient
) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    await client.post(
        "/api/v1/customers", json={"code": "C1", "name": "n"}, headers=theirs.headers()
    )
    async with database.sessionmaker() as session:
        customer_id = await session.scalar(
            select(Customer.id).where(Customer.tenant_id == theirs.id, Customer.code == "C1")
        )
        day = date(2026, 1, 1)
        session.add(
            Order(tenant_id=ours.id, customer_id=customer_id, external_id="X", amount=1,
                  ordered_at=datetime(2026, 1, 1, tzinfo=UTC), ordered_on=day)
        )  # fmt: skip
        with pytest.raises(IntegrityError, match="fk_orders_tenant_id_customers"):
            await session.commit()


async def test_the_writer_works_as_the_first_statement_of_a_transaction(
    api: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    # The staging table lives until the end of the transaction, which SQLAlchemy begins
    # lazily: created over the raw connection first, it would vanish at once.
    await _customers(api, "C1")
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [("F1", "C1", instant, date(2026, 1, 1), Decimal("1.00"), "paid")]
    async with database.sessionmaker() as session, session.begin():
        written = await write_rows(session, tenant.id, ORDERS.table, rows)
    assert (written.created, written.updated, written.unknown) == (1, 0, [])
    assert [o.external_id for o in await _orders(database, tenant)] == ["F1"]


async def test_a_negative_order_amount_is_refused_and_a_refund_is_a_status(
    api: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await _customers(api, "C1")
    order = {"external_id": "SO-1", "customer_code": "C1", "ordered_at": "2026-11-20"}
    refused = await api.post("/api/v1/orders/bulk", json={"items": [{**order, "amount": "-5.00"}]})
    assert_problem(refused, 422)
    assert [(e["loc"], e["type"]) for e in refused.json()["errors"]] == [
        (["body", "items", 0, "amount"], "greater_than_equal")
    ]
    assert await _orders(database, tenant) == []
    # A refund: the order is sent again with its status.
    await api.post("/api/v1/orders/bulk", json={"items": [{**order, "amount": "80.00"}]})
    refunded = await api.post(
        "/api/v1/orders/bulk", json={"items": [{**order, "amount": "80.00", "status": "refunded"}]}
    )
    assert refunded.json()["updated"] == 1
    [stored] = await _orders(database, tenant)
    assert (str(stored.amount), stored.status) == ("80.00", "refunded")
