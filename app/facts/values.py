"""Field values of customers as of a date: read for a few, materialised for many."""

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    MetaData,
    Numeric,
    Table,
    Text,
    Uuid,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import TypeEngine

from app.catalog import FieldCatalog, FieldType
from app.facts.columns import customer_columns
from app.facts.metrics import CustomerSelection, planned_for_many_customers, selected
from app.models import Customer

FieldValues = dict[str, Any]
"""One customer's values by field key (None where the customer has none)."""


async def customer_values(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_ids: list[uuid.UUID],
    as_of: date,
    catalog: FieldCatalog,
) -> dict[uuid.UUID, FieldValues]:
    """Every catalog field's value for some customers, computed in SQL (one query)."""
    joined, columns = customer_columns(tenant_id, as_of, catalog, customer_ids)
    statement = (
        select(Customer.id.label("customer_id"), *(c.label(k) for k, c in columns.items()))
        .select_from(joined)
        .where(Customer.tenant_id == tenant_id, Customer.id.in_(customer_ids))
    )
    rows = (await session.execute(statement)).mappings()
    return {row["customer_id"]: {k: row[k] for k in columns} for row in rows}


_SQL_TYPES: dict[FieldType, TypeEngine[Any]] = {
    "number": Numeric(),
    "integer": BigInteger(),
    "date": Date(),
    "string": Text(),
    "enum": Text(),
    "boolean": Boolean(),
    "string_list": ARRAY(Text()),
}


async def materialise_values(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    as_of: date,
    catalog: FieldCatalog,
    fields: Iterable[str],
    customer_ids: CustomerSelection | None = None,
) -> Table:
    """The values of `fields` as of `as_of` for every customer of the tenant (or those of
    `customer_ids`), computed once into a temporary table (`customer_id` and one typed
    column per field, dropped at commit).

    For work that reads the same values more than once — several rulesets of one run,
    or a distribution and its transitions — so the activity is aggregated once; the
    returned table's columns are a `columns` mapping for the rule compiler. Field keys
    must be in the catalog (they name the columns; nothing else reaches the DDL).
    """
    keys = list(dict.fromkeys(fields))
    definitions = [catalog.get(key) for key in keys]
    if any(d is None for d in definitions):
        raise ValueError(f"unknown fields in {keys!r}")
    joined, columns = customer_columns(tenant_id, as_of, catalog, customer_ids)
    table = Table(
        f"rule_values_{uuid.uuid4().hex[:12]}",
        MetaData(),
        Column("customer_id", Uuid(), nullable=False),
        *(Column(d.key, _SQL_TYPES[d.type]) for d in definitions if d is not None),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    await conn.run_sync(table.create)
    rows = (
        select(Customer.id, *(columns[key] for key in keys))
        .select_from(joined)
        .where(Customer.tenant_id == tenant_id)
    )
    if customer_ids is not None:
        rows = rows.where(selected(Customer.id, customer_ids))
    async with planned_for_many_customers(conn):
        await conn.execute(insert(table).from_select(["customer_id", *keys], rows))
    return table
