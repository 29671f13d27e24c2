"""Queries for customers (always within one tenant)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, any_, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, keyset_page
from app.core.sql import uuid_array
from app.customers.schemas import CustomerFilter
from app.facts.columns import CustomerCondition
from app.models import Customer, CustomerAlias


def _codes_table(values: list[str]) -> Any:
    return (
        func.unnest(literal(values, ARRAY(String())))
        .table_valued("code")
        .render_derived(name="wanted")
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(
    tenant_id: uuid.UUID, where: CustomerFilter, condition: CustomerCondition | None = None
) -> Select[Customer]:
    """Customers of a tenant matching a filter and optionally a compiled rule condition
    (`CustomerCondition`, whose FROM may join the metrics)."""
    statement = select(Customer).where(Customer.tenant_id == tenant_id)
    if condition is not None:
        statement = statement.select_from(condition.from_clause).where(condition.where)
    if where.industry:
        prefix = where.industry.rstrip("-")
        statement = statement.where(
            or_(
                Customer.industry == prefix,
                Customer.industry.like(_like_escape(prefix) + "-%", escape="\\"),
            )
        )
    if where.size:
        statement = statement.where(Customer.size == where.size)
    if where.region:
        statement = statement.where(Customer.region == where.region)
    if where.stage:
        statement = statement.where(Customer.stage == where.stage)
    if where.tag:
        statement = statement.where(Customer.tags.contains([where.tag]))
    if where.q:
        pattern = f"%{_like_escape(where.q)}%"
        statement = statement.where(
            or_(
                Customer.name.ilike(pattern, escape="\\"), Customer.code.ilike(pattern, escape="\\")
            )
        )
    return statement


async def page_of_customers(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    where: CustomerFilter,
    page: PageParams,
    condition: CustomerCondition | None = None,
) -> tuple[list[Customer], str | None]:
    return await keyset_page(
        session, filtered(tenant_id, where, condition), [Customer.created_at, Customer.id], page
    )


async def customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID, *, for_update: bool = False
) -> Customer | None:
    statement = select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def customer_by_code(
    session: AsyncSession, tenant_id: uuid.UUID, code: str
) -> Customer | None:
    """By current code, or by a code merged into another customer."""
    found = await session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.code == code)
    )
    if found is not None:
        return found
    return await session.scalar(
        select(Customer)
        .join(CustomerAlias, CustomerAlias.customer_id == Customer.id)
        .where(CustomerAlias.tenant_id == tenant_id, CustomerAlias.code == code)
    )


async def ids_by_code(
    session: AsyncSession, tenant_id: uuid.UUID, codes: set[str]
) -> dict[str, uuid.UUID]:
    """Customer ids for many codes at once (aliases included); unknown codes are absent."""
    if not codes:
        return {}
    wanted = list(codes)
    # Join on unnest(array): one parameter however many codes, and a plan that stays an
    # index lookup per code even when PostgreSQL switches to a generic plan (`= ANY($1)`
    # then degrades to a scan that tests every row against the whole array).
    direct = await session.execute(
        select(Customer.code, Customer.id)
        .join(_codes_table(wanted), Customer.code == literal_column("wanted.code"))
        .where(Customer.tenant_id == tenant_id)
    )
    found = {code: id_ for code, id_ in direct.all()}
    missing = [c for c in wanted if c not in found]
    if missing:
        aliased = await session.execute(
            select(CustomerAlias.code, CustomerAlias.customer_id)
            .join(_codes_table(missing), CustomerAlias.code == literal_column("wanted.code"))
            .where(CustomerAlias.tenant_id == tenant_id)
        )
        found.update({code: id_ for code, id_ in aliased.all()})
    return found


async def ids_matching(
    session: AsyncSession, tenant_id: uuid.UUID, condition: CustomerCondition, limit: int
) -> list[uuid.UUID]:
    """Ids of the tenant's customers matching a compiled condition, in id order."""
    statement = (
        select(Customer.id)
        .select_from(condition.from_clause)
        .where(Customer.tenant_id == tenant_id, condition.where)
        .order_by(Customer.id)
        .limit(limit)
    )
    return list(await session.scalars(statement))


@dataclass(frozen=True, slots=True)
class CustomerBrief:
    """What a list of other things shows of a customer: enough to name and link it."""

    id: uuid.UUID
    code: str
    name: str
    stage: str
    created_at: datetime


async def customers_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CustomerBrief]:
    """Many of the tenant's customers at once, by id (unknown ids are absent)."""
    if not ids:
        return {}
    statement = select(
        Customer.id, Customer.code, Customer.name, Customer.stage, Customer.created_at
    ).where(Customer.tenant_id == tenant_id, Customer.id == any_(uuid_array(ids)))
    return {row.id: CustomerBrief(*row) for row in await session.execute(statement)}
