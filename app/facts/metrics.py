"""Customer metrics as of a date, computed in SQL for one customer or a million at once.

Window rule (design: Fields): a window of N months holds the days d with
`as_of − N months < d ≤ as_of` (month arithmetic clamps to the month's end, as
PostgreSQL's `date - interval` does: 2024-03-31 − 1 month = 2024-02-29); N days likewise.
Activity after `as_of` is ignored. Counts and sums are 0, never null; `last_*` dates,
`days_since_*`, the 12-month average and `cooperation_months` are null when there was
never any.

`metrics_query` is the one implementation: the metrics endpoint selects one customer from
it, statements over many customers select every customer from it (three aggregates over
the activity tables joined to customers, each activity table read once; planned for many
customers by `planned_for_many_customers`).
"""

import calendar
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    FromClause,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement, Label

from app.models import Complaint, Customer, Interaction, Order
from app.models.activity import VOID_ORDER_STATUSES

MONTH_WINDOWS = (1, 3, 6, 12)
METRIC_NAMES = (
    *(f"order_amount_{n}m" for n in MONTH_WINDOWS),
    *(f"order_count_{n}m" for n in MONTH_WINDOWS),
    "avg_order_amount_12m",
    "last_order_date",
    "days_since_last_order",
    "last_contact_date",
    "days_since_last_contact",
    "interactions_30d",
    "interactions_90d",
    "interactions_6m",
    "inquiries_90d",
    "inquiries_6m",
    "unreplied_outreach_90d",
    "complaints_6m",
    "major_complaints_6m",
    "cooperation_months",
)


@dataclass(frozen=True, slots=True)
class CustomerRange:
    """The customers whose id lies in [low, high); an end left None is open."""

    low: uuid.UUID | None = None
    high: uuid.UUID | None = None


CustomerSelection = list[uuid.UUID] | CustomerRange
"""Some of a tenant's customers: listed by id, or a range of ids (a run's chunk)."""


def selected(column: Any, customers: CustomerSelection) -> ColumnElement[bool]:
    """`column` (a customer id) is one of `customers`."""
    if isinstance(customers, CustomerRange):
        bounds = [column >= customers.low] if customers.low is not None else []
        if customers.high is not None:
            bounds.append(column < customers.high)
        return and_(*bounds) if bounds else true()
    return column.in_(customers)


def months_before(day: date, months: int) -> date:
    """`day` minus whole months, clamped to the end of the month (PostgreSQL semantics)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _within(column: Any, start: date) -> ColumnElement[bool]:
    # Callers already restrict to column <= as_of; this is the open lower bound.
    return column > literal(start, Date())


def _orders(tenant_id: uuid.UUID, as_of: date, only: CustomerSelection | None) -> Any:
    # One FILTER per window. (Disjoint buckets added up per customer were measured too:
    # fewer NUMERIC additions per order, but two date comparisons per FILTER, and slower
    # in the sorted aggregation that bulk statements use — bench/metrics_all.py.)
    windows: list[Label[Any]] = []
    for n in MONTH_WINDOWS:
        inside = _within(Order.ordered_on, months_before(as_of, n))
        amount = func.sum(Order.amount).filter(inside)  # null → 0 outside, with no orders
        count = func.count().filter(inside)
        windows += [amount.label(f"order_amount_{n}m"), count.label(f"order_count_{n}m")]
    # `amount` and `count` are the last window's, 12 months (PostgreSQL computes an
    # aggregate written twice once).
    average = case((count > 0, func.round(amount / count, 2)), else_=None)
    statement = (
        select(
            Order.customer_id,
            *windows,
            average.label("avg_order_amount_12m"),
            func.max(Order.ordered_on).label("last_order_date"),
            func.min(Order.ordered_on).label("first_order_date"),
        )
        .where(
            Order.tenant_id == tenant_id,
            Order.ordered_on <= as_of,
            Order.status.not_in(VOID_ORDER_STATUSES),
        )
        .group_by(Order.customer_id)
    )
    if only is not None:
        statement = statement.where(selected(Order.customer_id, only))
    return statement.subquery("order_metrics")


def _interactions(tenant_id: uuid.UUID, as_of: date, only: CustomerSelection | None) -> Any:
    day = Interaction.occurred_on
    d30, d90 = as_of - timedelta(days=30), as_of - timedelta(days=90)
    m6 = months_before(as_of, 6)
    statement = (
        select(
            Interaction.customer_id,
            func.max(day).label("last_contact_date"),
            func.count().filter(_within(day, d30)).label("interactions_30d"),
            func.count().filter(_within(day, d90)).label("interactions_90d"),
            func.count().filter(_within(day, m6)).label("interactions_6m"),
            func.count().filter(_within(day, d90), Interaction.is_inquiry).label("inquiries_90d"),
            func.count().filter(_within(day, m6), Interaction.is_inquiry).label("inquiries_6m"),
            func.count()
            .filter(
                _within(day, d90),
                Interaction.direction == "outbound",
                Interaction.replied.is_(False),
            )
            .label("unreplied_outreach_90d"),
        )
        .where(Interaction.tenant_id == tenant_id, day <= as_of)
        .group_by(Interaction.customer_id)
    )
    if only is not None:
        statement = statement.where(selected(Interaction.customer_id, only))
    return statement.subquery("interaction_metrics")


def _complaints(tenant_id: uuid.UUID, as_of: date, only: CustomerSelection | None) -> Any:
    m6 = months_before(as_of, 6)
    inside = and_(Complaint.occurred_on <= as_of, _within(Complaint.occurred_on, m6))
    statement = (
        select(
            Complaint.customer_id,
            func.count().label("complaints_6m"),
            func.count().filter(Complaint.severity == "major").label("major_complaints_6m"),
        )
        .where(Complaint.tenant_id == tenant_id, inside)
        .group_by(Complaint.customer_id)
    )
    if only is not None:
        statement = statement.where(selected(Complaint.customer_id, only))
    return statement.subquery("complaint_metrics")


FieldColumns = dict[str, ColumnElement[Any]]
"""SQL expressions of catalog fields, by field key."""


def metric_columns(
    orders: Subquery, interactions: Subquery, complaints: Subquery, as_of: date
) -> FieldColumns:
    """Each metric as an expression over the three aggregates (left-joined to customers)."""
    as_of_value = literal(as_of, Date())
    columns: FieldColumns = {}
    for n in MONTH_WINDOWS:
        for name in (f"order_amount_{n}m", f"order_count_{n}m"):
            columns[name] = func.coalesce(orders.c[name], 0)
    columns["avg_order_amount_12m"] = orders.c.avg_order_amount_12m
    columns["last_order_date"] = orders.c.last_order_date
    columns["days_since_last_order"] = as_of_value - orders.c.last_order_date
    columns["last_contact_date"] = interactions.c.last_contact_date
    columns["days_since_last_contact"] = as_of_value - interactions.c.last_contact_date
    for name in (
        "interactions_30d",
        "interactions_90d",
        "interactions_6m",
        "inquiries_90d",
        "inquiries_6m",
        "unreplied_outreach_90d",
    ):
        columns[name] = func.coalesce(interactions.c[name], 0)
    for name in ("complaints_6m", "major_complaints_6m"):
        columns[name] = func.coalesce(complaints.c[name], 0)
    since = func.coalesce(Customer.cooperation_since, orders.c.first_order_date)
    # The months of age(as_of, since), without age(): the months between the two, less
    # one when since's day of the month is later than as_of's (checked equal to age() for
    # every since from 2023-01-01 and as_of from 2024-02-29 to 2026-12-31, and by a test);
    # about half the cost over 1M customers.
    # date_part (float8) rather than extract (numeric): cheaper, and whole numbers anyway.
    since_month = cast(func.date_part("year", since) * 12 + func.date_part("month", since), Integer)
    later_day = cast(func.date_part("day", since) > as_of.day, Integer)
    whole_months = literal(as_of.year * 12 + as_of.month) - since_month - later_day
    columns["cooperation_months"] = case(
        (since.is_(None), None), (since > as_of_value, 0), else_=whole_months
    )
    return columns


def metrics_from(
    tenant_id: uuid.UUID, as_of: date, customer_ids: CustomerSelection | None = None
) -> tuple[FromClause, FieldColumns]:
    """`customers` left-joined to the three activity aggregates, and the metric expressions
    over it by name — for callers that add their own SELECT list and WHERE (runs, filters,
    the rule compiler's `columns`)."""
    orders = _orders(tenant_id, as_of, customer_ids)
    interactions = _interactions(tenant_id, as_of, customer_ids)
    complaints = _complaints(tenant_id, as_of, customer_ids)
    joined = (
        Customer.__table__.outerjoin(orders, orders.c.customer_id == Customer.id)
        .outerjoin(interactions, interactions.c.customer_id == Customer.id)
        .outerjoin(complaints, complaints.c.customer_id == Customer.id)
    )
    return joined, metric_columns(orders, interactions, complaints, as_of)


# Over many customers, the activity is best aggregated from the (tenant, customer, day)
# indexes in customer order and merged with the customers (GroupAggregate + Merge Join):
# measured at 1M customers with the indexes cached, 6.5–6.7 s against 9.0–9.5 s for
# hashing ~800,000 groups of ten aggregates each (bench/metrics_all.py; from a cold cache
# it is the slower, see bench/RESULTS.md). The planner's estimates favour hashing, so
# statements over many customers say so (transaction-local, restored after).
BULK_PLANNER_SETTINGS = {"enable_hashagg": "off", "enable_hashjoin": "off"}


@asynccontextmanager
async def planned_for_many_customers(conn: AsyncConnection) -> AsyncIterator[None]:
    """Run the statements inside with the planner settings for metrics over many
    customers, in the current transaction; the settings before are restored after."""
    names = list(BULK_PLANNER_SETTINGS)
    before = (await conn.execute(select(*(func.current_setting(n) for n in names)))).one()
    await set_local_settings(conn, BULK_PLANNER_SETTINGS)
    yield
    # (After an error the transaction is lost, and its local settings with it.)
    await set_local_settings(conn, dict(zip(names, before, strict=True)))


async def set_local_settings(conn: AsyncConnection, settings: dict[str, str]) -> None:
    """Transaction-local settings (planner switches), in one round trip."""
    await conn.execute(select(*(func.set_config(n, v, True) for n, v in settings.items())))


def metrics_query(
    tenant_id: uuid.UUID, as_of: date, customer_ids: CustomerSelection | None = None
) -> tuple[Select[*tuple[Any, ...]], FieldColumns]:
    """SELECT customers.id AS customer_id, <every metric> … for the tenant (or some ids)."""
    joined, columns = metrics_from(tenant_id, as_of, customer_ids)
    statement = (
        select(Customer.id.label("customer_id"), *(c.label(n) for n, c in columns.items()))
        .select_from(joined)
        .where(Customer.tenant_id == tenant_id)
    )
    if customer_ids is not None:
        statement = statement.where(selected(Customer.id, customer_ids))
    return statement, columns
