"""Builders that insert customers and activity straight through the ORM.

Valid by default: every customer has all required fields and a checksum-correct USCC, so
a test states only what it breaks.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from app.core.db import Database
from app.customers.industries import STANDARD_INDUSTRIES
from app.customers.normalise import USCC_CHARSET, uscc_check_char
from app.models import Complaint, Customer, Industry, Interaction, Order


def valid_uscc(n: int) -> str:
    """A distinct checksum-correct USCC for every n."""
    body = "91310000"
    digits = ""
    for _ in range(9):
        n, rest = divmod(n, len(USCC_CHARSET))
        digits += USCC_CHARSET[rest]
    first17 = body + digits
    return first17 + uscc_check_char(first17)


def customer_row(tenant_id: uuid.UUID, index: int, **fields: Any) -> dict[str, Any]:
    """A complete, valid customer; `fields` override."""
    return {
        "tenant_id": tenant_id,
        "code": f"C{index:05d}",
        "name": f"测试客户{index}号有限公司",
        "industry": "制造业-电子",
        "employees": 120,
        "size": "medium",
        "annual_revenue": Decimal("1000000.00"),
        "region": "上海",
        "uscc": valid_uscc(index),
        "contact_name": "王敏",
        "contact_title": "采购经理",
        "cooperation_since": date(2023, 1, 1),
        **fields,
    }


async def add_customers(
    database: Database, tenant_id: uuid.UUID, *rows: dict[str, Any]
) -> list[uuid.UUID]:
    """Insert customers (each a `customer_row`-style dict, tenant added); their ids.

    Each is created a second after the one before, so "oldest first" is the given order.
    """
    start = datetime.now(UTC) - timedelta(days=1)
    async with database.sessionmaker() as session, session.begin():
        result = await session.execute(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
            [
                {"tenant_id": tenant_id, "created_at": start + timedelta(seconds=i), **row}
                for i, row in enumerate(rows)
            ],
        )
        return list(result.scalars().all())


async def add_valid_customers(
    database: Database, tenant_id: uuid.UUID, count: int, start: int = 0
) -> list[uuid.UUID]:
    return await add_customers(
        database, tenant_id, *(customer_row(tenant_id, start + i) for i in range(count))
    )


async def use_industries(database: Database, tenant_id: uuid.UUID, codes: list[str]) -> None:
    """Make the tenant's industry list exactly `codes` (empty: no list at all)."""
    async with database.sessionmaker() as session, session.begin():
        await session.execute(delete(Industry).where(Industry.tenant_id == tenant_id))
        if codes:
            await session.execute(
                insert(Industry), [{"tenant_id": tenant_id, "code": code} for code in codes]
            )


async def use_standard_industries(database: Database, tenant_id: uuid.UUID) -> None:
    await use_industries(database, tenant_id, list(STANDARD_INDUSTRIES))


_AT = datetime(2026, 6, 1, 2, tzinfo=UTC)


async def add_activity(
    database: Database,
    tenant_id: uuid.UUID,
    customer_id: uuid.UUID,
    *,
    orders: int = 0,
    interactions: int = 0,
    complaints: int = 0,
    channel: str = "phone",
) -> None:
    """Give a customer some orders, interactions and complaints (unique external ids)."""
    common = {"tenant_id": tenant_id, "customer_id": customer_id}
    async with database.sessionmaker() as session, session.begin():
        for model, count, extra in (
            (Order, orders, {"amount": Decimal("100.00"), "ordered_at": _AT,
                             "ordered_on": _AT.date()}),
            (Interaction, interactions, {"occurred_at": _AT, "occurred_on": _AT.date(),
                                         "channel": channel}),
            (Complaint, complaints, {"occurred_at": _AT, "occurred_on": _AT.date()}),
        ):  # fmt: skip
            if count:
                await session.execute(
                    insert(model),
                    [{**common, **extra, "external_id": uuid.uuid4().hex} for _ in range(count)],
                )


async def activity_counts(
    database: Database, tenant_id: uuid.UUID
) -> dict[str, dict[uuid.UUID, int]]:
    """Per table, how many rows each customer of the tenant has."""
    counts: dict[str, dict[uuid.UUID, int]] = {}
    async with database.sessionmaker() as session:
        for model in (Order, Interaction, Complaint):
            rows = await session.execute(
                select(model.customer_id, func.count())
                .where(model.tenant_id == tenant_id)
                .group_by(model.customer_id)
            )
            counts[model.__tablename__] = {customer: n for customer, n in rows.all()}
    return counts
