"""Every field of the catalog as a SQL expression over one customer row and its metrics.

This is the `columns` mapping the rule compiler needs: metrics from the activity
aggregates, profile fields from `customers`, custom fields cast out of `attributes` by
their declared type. One place, used by customer filters, bulk assignment filters,
previews and classification runs alike.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, FromClause, Numeric, String, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from app.catalog import FieldCatalog
from app.facts.metrics import CustomerSelection, FieldColumns, metrics_from
from app.models import Customer, table_of
from app.rules.language.compile_sql import compile_condition
from app.rules.language.tree import Condition, iter_leaves

_CUSTOMERS = table_of(Customer)
PROFILE_COLUMNS: FieldColumns = {
    "code": _CUSTOMERS.c.code,
    "name": _CUSTOMERS.c.name,
    "industry": _CUSTOMERS.c.industry,
    "size": _CUSTOMERS.c.size,
    "employees": _CUSTOMERS.c.employees,
    "annual_revenue": _CUSTOMERS.c.annual_revenue,
    "region": _CUSTOMERS.c.region,
    "stage": _CUSTOMERS.c.stage,
    "tags": cast(_CUSTOMERS.c.tags, ARRAY(String())),
    "uscc": _CUSTOMERS.c.uscc,
    "contact_name": _CUSTOMERS.c.contact_name,
    "contact_title": _CUSTOMERS.c.contact_title,
}


def _custom(key: str, kind: str) -> Any:
    text_value = Customer.attributes[key].astext
    if kind in ("number",):
        return cast(text_value, Numeric())
    if kind == "integer":
        return cast(text_value, BigInteger())
    if kind == "date":
        return cast(text_value, Date())
    if kind == "boolean":
        return cast(text_value, Boolean())
    if kind == "string_list":
        elements = func.jsonb_array_elements_text(Customer.attributes[key])
        return func.array(select(elements.column_valued()).scalar_subquery())
    return text_value


def customer_columns(
    tenant_id: uuid.UUID,
    as_of: date,
    catalog: FieldCatalog,
    customer_ids: CustomerSelection | None = None,
) -> tuple[FromClause, FieldColumns]:
    """The FROM clause (customers with their metrics) and every catalog field over it."""
    joined, metrics = metrics_from(tenant_id, as_of, customer_ids)
    return joined, {**metrics, **_customer_row_columns(catalog)}


def _customer_row_columns(catalog: FieldCatalog) -> FieldColumns:
    """Profile and custom fields: everything that needs no activity aggregate."""
    columns = {**PROFILE_COLUMNS}
    for field in catalog:
        if field.kind == "custom":
            columns[field.key] = _custom(field.key, field.type)
    return columns


@dataclass(frozen=True)
class CustomerCondition:
    """A validated condition on customers, compiled for one tenant and day."""

    where: Any  # boolean SQL expression
    from_clause: Any  # `customers`, joined to the metrics only when the condition needs them


def compile_customer_condition(
    node: Condition, tenant_id: uuid.UUID, as_of: date, catalog: FieldCatalog
) -> CustomerCondition:
    """SQL for "customers matching `node`"; activity is aggregated only if a metric is used."""
    uses_metrics = any(
        (field := catalog.get(leaf.field)) is not None and field.kind == "metric"
        for leaf in iter_leaves(node)
    )
    if uses_metrics:
        joined, columns = customer_columns(tenant_id, as_of, catalog)
    else:
        joined, columns = Customer.__table__, _customer_row_columns(catalog)
    return CustomerCondition(compile_condition(node, columns, as_of, catalog), joined)
