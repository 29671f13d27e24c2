"""Demo data: reproducible by seed, consistent, and containing every class the seeds name."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, text

from app.core.db import Database
from app.customers.industries import STANDARD_INDUSTRIES
from app.customers.normalise import (
    NormalisationError,
    normalise_company_name,
    size_from_employees,
    validate_uscc,
)
from app.demo import DemoDataExists, DemoSummary, generate_demo, load_demo
from app.facts.metrics import metrics_query, months_before
from app.models import Complaint, Customer, Industry, Interaction, Order
from tests.conftest import TenantKeys

# A month end, so the 24-month edge is a clamped date (2024-03-31 − 1 month = 02-29 …).
AS_OF = date(2026, 3, 31)
CUSTOMERS = 300
WAN = Decimal(10_000)


async def _load(database: Database, tenant_id: uuid.UUID, seed: int = 7) -> DemoSummary:
    async with database.sessionmaker() as session, session.begin():
        return await load_demo(session, tenant_id, customers=CUSTOMERS, seed=seed, as_of=AS_OF)


async def _customers(database: Database, tenant_id: uuid.UUID) -> list[Any]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(Customer).where(Customer.tenant_id == tenant_id).order_by(Customer.code)
        )
        return list(rows.scalars())


async def _order_totals(database: Database, tenant_id: uuid.UUID) -> list[tuple[Any, ...]]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(Customer.code, func.count(Order.id), func.sum(Order.amount))
            .join(Order, Order.customer_id == Customer.id)
            .where(Customer.tenant_id == tenant_id)
            .group_by(Customer.code)
            .order_by(Customer.code)
        )
        return [tuple(row) for row in rows]


async def _metrics(database: Database, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    statement, _ = metrics_query(tenant_id, AS_OF)
    statement = statement.add_columns(Customer.stage)
    async with database.sessionmaker() as session:
        return [dict(row._mapping) for row in await session.execute(statement)]


def _profile(customer: Customer) -> tuple[Any, ...]:
    return (
        customer.code, customer.name, customer.industry, customer.employees, customer.size,
        customer.annual_revenue, customer.region, customer.stage, customer.uscc,
        customer.contact_name, customer.contact_title, customer.cooperation_since,
        customer.tags,
    )  # fmt: skip


async def test_the_same_seed_gives_the_same_customers_and_orders_in_any_tenant(
    database: Database, make_tenant: Any
) -> None:
    first, second, other = await make_tenant(), await make_tenant(), await make_tenant()
    summary, again_summary = await _load(database, first.id), await _load(database, second.id)
    await _load(database, other.id, seed=8)

    def counts(s: DemoSummary) -> tuple[int, ...]:
        return (s.customers, s.orders, s.interactions, s.complaints)

    assert counts(summary) == counts(again_summary)
    assert summary.customers == CUSTOMERS
    customers = await _customers(database, first.id)
    again = await _customers(database, second.id)
    assert [_profile(c) for c in customers] == [_profile(c) for c in again]
    assert await _order_totals(database, first.id) == await _order_totals(database, second.id)
    # Ids are primary keys across tenants: reproducible, but not shared between tenants.
    assert {c.id for c in customers}.isdisjoint(c.id for c in again)
    assert [c.name for c in await _customers(database, other.id)] != [c.name for c in customers]


def test_the_chunk_size_does_not_change_the_data() -> None:
    tenant_id = uuid.uuid4()

    def everything(chunk_size: int) -> dict[str, list[tuple[Any, ...]]]:
        tables: dict[str, list[tuple[Any, ...]]] = {}
        for chunk in generate_demo(
            tenant_id, customers=450, seed=3, as_of=AS_OF, chunk_size=chunk_size
        ):
            for table, _, rows in chunk.tables():
                tables.setdefault(table, []).extend(rows)
        return tables

    assert everything(7) == everything(1000)


async def test_every_customer_has_the_size_its_employees_imply(
    database: Database, tenant: TenantKeys
) -> None:
    await _load(database, tenant.id)
    customers = await _customers(database, tenant.id)
    assert len(customers) == CUSTOMERS
    for customer in customers:
        expected = None if customer.employees is None else size_from_employees(customer.employees)
        assert customer.size == expected, customer.code
    assert {c.size for c in customers} == {"small", "medium", "large", None}


async def test_activity_lies_in_the_24_months_before_as_of_on_tenant_local_days(
    database: Database, tenant: TenantKeys
) -> None:
    summary = await _load(database, tenant.id)
    assert summary.orders >= 8 * CUSTOMERS  # ~10 orders a customer
    assert summary.interactions >= 3 * CUSTOMERS
    assert 0 < summary.complaints < CUSTOMERS
    start = months_before(AS_OF, 24)
    async with database.sessionmaker() as session:
        for model, at, on in (
            (Order, Order.ordered_at, Order.ordered_on),
            (Interaction, Interaction.occurred_at, Interaction.occurred_on),
            (Complaint, Complaint.occurred_at, Complaint.occurred_on),
        ):
            first, last, local_mismatches = (
                await session.execute(
                    select(
                        func.min(on),
                        func.max(on),
                        func.count().filter(on != func.date(func.timezone("Asia/Shanghai", at))),
                    ).where(model.tenant_id == tenant.id)
                )
            ).one()
            assert start < first, model.__tablename__
            assert last <= AS_OF, model.__tablename__
            assert local_mismatches == 0, model.__tablename__
        external_ids = await session.scalar(
            select(func.count(func.distinct(Order.external_id))).where(Order.tenant_id == tenant.id)
        )
        assert external_ids == summary.orders


async def test_every_class_of_the_seed_guides_occurs(
    database: Database, tenant: TenantKeys
) -> None:
    await _load(database, tenant.id)
    metrics = await _metrics(database, tenant.id)
    signed = [m for m in metrics if m["stage"] == "signed"]

    def share(rows: list[dict[str, Any]], condition: Any) -> float:
        return sum(1 for m in rows if condition(m)) / len(metrics)

    def last_activity(m: dict[str, Any]) -> int:
        days = [
            d for d in (m["days_since_last_order"], m["days_since_last_contact"]) if d is not None
        ]
        return min(days, default=10_000)

    no_major = lambda m: m["major_complaints_6m"] == 0  # noqa: E731
    classes = {
        # seed 000 价值 (近6个月订单金额) and 活跃度, 风险
        "高价值": share(metrics, lambda m: m["order_amount_6m"] >= 50 * WAN and no_major(m)),
        "中价值": share(metrics, lambda m: 10 * WAN <= m["order_amount_6m"] < 50 * WAN),
        "低价值": share(signed, lambda m: m["order_amount_6m"] < 10 * WAN),
        "高活跃": share(metrics, lambda m: last_activity(m) < 30),
        "中活跃": share(metrics, lambda m: 30 <= last_activity(m) < 90),
        "低活跃": share(metrics, lambda m: 90 <= last_activity(m) < 10_000),
        "流失预警 (no contact for 90 days)": share(
            signed,
            lambda m: m["order_amount_3m"] == 0 and (m["days_since_last_contact"] or 0) >= 90,
        ),
        "流失预警 (outreach unanswered)": share(
            signed, lambda m: m["order_amount_3m"] == 0 and m["unreplied_outreach_90d"] > 0
        ),
        "投诉客户": share(metrics, lambda m: m["complaints_6m"] >= 2),
        "重大投诉": share(metrics, lambda m: m["major_complaints_6m"] > 0),
        "稳定客户": share(signed, lambda m: m["complaints_6m"] == 0 and last_activity(m) < 90),
        # seed 002 分级
        "核心客户": share(
            metrics, lambda m: m["order_amount_12m"] >= 50 * WAN and m["interactions_6m"] >= 10
        ),
        "潜力客户 (20–50万)": share(
            metrics, lambda m: 20 * WAN <= m["order_amount_12m"] < 50 * WAN
        ),
        "普通客户": share(
            metrics,
            lambda m: (
                5 * WAN <= m["order_amount_12m"] < 20 * WAN and 3 <= m["interactions_6m"] <= 9
            ),
        ),
        "低价值客户": share(signed, lambda m: m["order_amount_12m"] < 5 * WAN),
        "borderline around 50万": share(
            metrics, lambda m: 475_000 <= m["order_amount_12m"] < 525_000
        ),
        # seed 001 战略客户 / 重点客户
        "战略客户": share(metrics, lambda m: m["order_amount_12m"] >= 1000 * WAN),
        "重点客户": share(metrics, lambda m: 500 * WAN <= m["order_amount_12m"] < 1000 * WAN),
        # seed 002 潜力: 有新需求主动咨询 without any order
        "潜在客户 with inquiries, no orders": share(
            metrics,
            lambda m: (
                m["stage"] == "potential" and m["last_order_date"] is None and m["inquiries_6m"] > 0
            ),
        ),
        "新客户": share(signed, lambda m: (m["cooperation_months"] or 99) < 3),
    }
    assert all(classes.values()), {name: s for name, s in classes.items() if not s}
    # Proportions a sales team would find plausible, not a skewed toy.
    assert 0.04 <= classes["核心客户"] <= 0.15
    assert 0.04 <= classes["流失预警 (no contact for 90 days)"] <= 0.2
    assert 0.02 <= classes["投诉客户"] <= 0.1
    assert 0.15 <= classes["潜在客户 with inquiries, no orders"] <= 0.3


async def test_a_few_records_are_broken_or_duplicated_for_the_quality_checks(
    database: Database, tenant: TenantKeys
) -> None:
    await _load(database, tenant.id)
    customers = await _customers(database, tenant.id)

    def invalid_uscc(value: str | None) -> bool:
        try:
            return value is not None and not validate_uscc(value)
        except NormalisationError:
            return True

    broken = {
        "invalid uscc": sum(invalid_uscc(c.uscc) for c in customers),
        "missing or unknown industry": sum(
            c.industry not in STANDARD_INDUSTRIES for c in customers
        ),
        "missing contact, region or employees": sum(
            c.contact_name is None or c.region is None or c.employees is None for c in customers
        ),
    }
    assert 1 <= sum(broken.values()) <= 0.06 * CUSTOMERS, broken
    keys = [normalise_company_name(c.name) for c in customers]
    duplicated = len(keys) - len(set(keys))
    assert 1 <= duplicated <= 0.02 * CUSTOMERS
    assert sum(c.uscc is not None and not invalid_uscc(c.uscc) for c in customers) > 0.9 * CUSTOMERS


async def test_loading_seeds_the_industry_list_and_refuses_a_tenant_with_customers(
    database: Database, tenant: TenantKeys
) -> None:
    async with database.sessionmaker() as session, session.begin():
        await session.execute(delete(Industry).where(Industry.tenant_id == tenant.id))
    await _load(database, tenant.id)
    async with database.sessionmaker() as session:
        codes = await session.scalars(select(Industry.code).where(Industry.tenant_id == tenant.id))
        assert set(codes) == set(STANDARD_INDUSTRIES)
    with pytest.raises(DemoDataExists):
        await _load(database, tenant.id)


async def test_an_engine_loads_in_a_transaction_of_its_own(
    database: Database, tenant: TenantKeys
) -> None:
    summary = await load_demo(database.engine, tenant.id, customers=20, seed=1, as_of=AS_OF)
    assert len(await _customers(database, tenant.id)) == summary.customers == 20


async def test_the_demo_customers_are_served_by_the_api(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await _load(database, tenant.id)
    async with database.sessionmaker() as session:
        biggest = await session.scalar(
            text(
                "SELECT c.code FROM customers c JOIN orders o ON o.customer_id = c.id "
                "WHERE c.tenant_id = :tenant GROUP BY c.code ORDER BY sum(o.amount) DESC LIMIT 1"
            ),
            {"tenant": tenant.id},
        )
    customer = (await api.get(f"/api/v1/customers/by-code/{biggest}")).json()
    assert customer["name"].endswith("公司")
    response = await api.get(
        f"/api/v1/customers/{customer['id']}/metrics", params={"as_of": AS_OF.isoformat()}
    )
    assert response.status_code == 200, response.text
    assert Decimal(response.json()["metrics"]["order_amount_12m"]) >= 1000 * WAN  # 战略客户
