"""Demo data (演示数据): a reproducible, realistic customer base, loaded with COPY.

`generate_demo` yields the rows lazily in chunks of customers; `load_demo` streams them
into PostgreSQL with COPY on the session's own connection, so a million customers with
ten million orders never sit in memory and the load commits (or rolls back) with the
caller's transaction. The same seed gives the same customers, names, orders and amounts
in any tenant; ids differ per tenant (they are primary keys across tenants) but are
reproducible too. What the data contains, and why, is in `app.demo.segments`.
"""

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.demo.activity import (
    COMPLAINT_COLUMNS,
    INTERACTION_COLUMNS,
    ORDER_COLUMNS,
    ActivityFactory,
    day_spans,
)
from app.demo.profiles import CUSTOMER_COLUMNS, CustomerPlan, ProfileFactory
from app.industries.service import seed_standard_industries
from app.models import Customer

DEFAULT_CUSTOMERS: Final = 2_000
# Customers per chunk: ~50,000 orders per COPY, a few tens of MB of rows at most.
CHUNK_CUSTOMERS: Final = 5_000


class DemoDataExists(Exception):
    """The tenant already has customers; demo codes (CUS0000001 …) would collide."""


@dataclass(frozen=True)
class DemoSummary:
    """What `load_demo` wrote and how long it took."""

    customers: int
    orders: int
    interactions: int
    complaints: int
    seconds: float
    seed: int
    as_of: date

    @property
    def rows(self) -> int:
        """Rows written over all four tables."""
        return self.customers + self.orders + self.interactions + self.complaints

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class DemoChunk:
    """Customers `start` … `start + len(customers) - 1` and their activity (generated lazily).

    Iterate `tables()` in order and exhaust each table before the next chunk: every
    table draws from its own stream, chunk after chunk.
    """

    start: int
    customers: list[tuple[Any, ...]]
    plans: list[CustomerPlan]
    activity: ActivityFactory = field(repr=False)

    def tables(self) -> Iterator[tuple[str, tuple[str, ...], Iterable[tuple[Any, ...]]]]:
        """(table, columns, rows) for customers, orders, interactions, complaints."""
        yield "customers", CUSTOMER_COLUMNS, self.customers
        yield "orders", ORDER_COLUMNS, self.activity.orders(self.plans)
        yield "interactions", INTERACTION_COLUMNS, self.activity.interactions(self.plans)
        yield "complaints", COMPLAINT_COLUMNS, self.activity.complaints(self.plans)


def default_as_of(time_zone: str) -> date:
    """Today in the tenant's time zone."""
    return datetime.now(ZoneInfo(time_zone)).date()


def generate_demo(
    tenant_id: uuid.UUID,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = 0,
    as_of: date,
    time_zone: str = "Asia/Shanghai",
    chunk_size: int = CHUNK_CUSTOMERS,
) -> Iterator[DemoChunk]:
    """The demo data set for a tenant, chunk by chunk; the same for any `chunk_size`.

    Activity lies in the 24 months before `as_of` (`as_of − 24 months < day ≤ as_of`, in
    the tenant's time zone).
    """
    profiles = ProfileFactory(tenant_id, seed, as_of, day_spans(as_of))
    activity = ActivityFactory(tenant_id, seed, as_of, time_zone)
    for start in range(0, customers, chunk_size):
        rows, plans = [], []
        for index in range(start, min(start + chunk_size, customers)):
            row, plan = profiles.next_customer(index)
            rows.append(row)
            plans.append(plan)
        yield DemoChunk(start, rows, plans, activity)


async def load_demo(
    target: AsyncSession | AsyncEngine,
    tenant_id: uuid.UUID,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = 0,
    as_of: date | None = None,
    time_zone: str = "Asia/Shanghai",
    chunk_size: int = CHUNK_CUSTOMERS,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Load `customers` demo customers and their activity into an empty tenant.

    With a session, writes inside its transaction and does not commit (the caller
    does); with an engine, in a transaction of its own. Seeds the tenant's industry list
    if it lacks entries. `as_of` defaults to today in `time_zone` (pass the tenant's).
    Raises DemoDataExists if the tenant already has customers. `progress` is called with
    the number of customers written after each chunk.
    """
    if isinstance(target, AsyncEngine):
        async with AsyncSession(target) as session, session.begin():
            return await load_demo(
                session,
                tenant_id,
                customers=customers,
                seed=seed,
                as_of=as_of,
                time_zone=time_zone,
                chunk_size=chunk_size,
                progress=progress,
            )
    session = target
    as_of = as_of or default_as_of(time_zone)
    started = time.perf_counter()
    existing = await session.scalar(
        select(Customer.id).where(Customer.tenant_id == tenant_id).limit(1)
    )
    if existing is not None:
        raise DemoDataExists(f"tenant {tenant_id} already has customers")
    await seed_standard_industries(session, tenant_id)

    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    counts = dict.fromkeys(("customers", "orders", "interactions", "complaints"), 0)
    for chunk in generate_demo(
        tenant_id,
        customers=customers,
        seed=seed,
        as_of=as_of,
        time_zone=time_zone,
        chunk_size=chunk_size,
    ):
        for table, columns, rows in chunk.tables():
            # COPY streams the rows as they are generated: the server inserts one buffer
            # while Python builds the next, and no chunk of activity is materialised.
            status = await raw.copy_records_to_table(table, records=rows, columns=columns)
            counts[table] += int(status.split()[-1])  # "COPY <n>"
        if progress is not None:
            progress(chunk.start + len(chunk.customers))
    return DemoSummary(**counts, seconds=time.perf_counter() - started, seed=seed, as_of=as_of)
