"""Metrics as of a date for every customer of a tenant, against two floors.

- Count floor: the three plain `count(*) GROUP BY customer_id` over orders, interactions
  and complaints (no windows, no join to customers) — the least any query reading the
  activity must do.
- Same aggregates written plainly: one GROUP BY per table with a FILTER aggregate per
  window (what the metrics need from the activity), no join to customers, no derived or
  coalesced columns.
- Ours: `metrics_query` (all 22 metrics for every customer, customers without activity
  included), with the planner settings the service uses for statements over many
  customers (`planned_for_many_customers`).

Every statement is consumed server-side (an aggregate over every output column) so the
figure is the query's, not the network's; each floor gets the better of the default plan
and the service's. Goal (issue 4): ours ≤ 1.3 × the floor.

    python bench/metrics_all.py [--database-url …] [--tenant-id …] [--as-of YYYY-MM-DD]
    (defaults: the 1M-customer database that bench/load_demo.py leaves in --data-dir,
    see bench/common.py)
"""

import asyncio
import sys
import time
import uuid
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from app.facts.metrics import (
    BULK_PLANNER_SETTINGS,
    metrics_query,
    months_before,
    planned_for_many_customers,
)
from app.models import Complaint, Interaction, Order
from app.models.activity import VOID_ORDER_STATUSES
from bench.common import demo_arguments, demo_database, record, server_version

SESSION = ["SET work_mem = '512MB'", "SET max_parallel_workers_per_gather = 0"]


async def _time(conn: AsyncConnection, statement: Any, repeats: int, bulk: bool) -> float:
    """Best of `repeats` wall-clock seconds, with the planner settings for many customers
    (as the service runs such statements) or as configured."""
    best = float("inf")
    async with conn.begin(), planned_for_many_customers(conn) if bulk else nullcontext():
        for _ in range(repeats):
            started = time.perf_counter()
            await conn.execute(statement)
            best = min(best, time.perf_counter() - started)
    return best


def _consumed(statement: Any) -> Any:
    """Every output column aggregated server-side, so none can be planned away."""
    inner = statement.subquery()
    return select(func.count(), *(func.count(c) for c in inner.c))


def _same_aggregates(tenant_id: uuid.UUID, as_of: date) -> list[Any]:
    """The activity aggregates behind the metrics written plainly: one GROUP BY per table
    with a FILTER per window, no join to customers, no derived columns."""
    m1, m3, m6, m12 = (months_before(as_of, n) for n in (1, 3, 6, 12))
    d30, d90 = as_of - timedelta(days=30), as_of - timedelta(days=90)
    o, i, c = Order, Interaction, Complaint
    orders = (
        select(
            o.customer_id,
            *(func.sum(o.amount).filter(o.ordered_on > start) for start in (m1, m3, m6, m12)),
            *(func.count().filter(o.ordered_on > start) for start in (m1, m3, m6, m12)),
            func.max(o.ordered_on),
            func.min(o.ordered_on),
        )
        .where(o.tenant_id == tenant_id, o.ordered_on <= as_of,
               o.status.not_in(VOID_ORDER_STATUSES))
        .group_by(o.customer_id)
    )  # fmt: skip
    interactions = (
        select(
            i.customer_id,
            func.max(i.occurred_on),
            *(func.count().filter(i.occurred_on > start) for start in (d30, d90, m6)),
            *(func.count().filter(i.occurred_on > start, i.is_inquiry) for start in (d90, m6)),
            func.count().filter(i.occurred_on > d90, i.direction == "outbound",
                                i.replied.is_(False)),
        )
        .where(i.tenant_id == tenant_id, i.occurred_on <= as_of)
        .group_by(i.customer_id)
    )  # fmt: skip
    complaints = (
        select(c.customer_id, func.count(), func.count().filter(c.severity == "major"))
        .where(c.tenant_id == tenant_id, c.occurred_on <= as_of, c.occurred_on > m6)
        .group_by(c.customer_id)
    )
    return [_consumed(s) for s in (orders, interactions, complaints)]


async def main(url: str, tenant_id: uuid.UUID, as_of: date, repeats: int) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    ours_query, _ = metrics_query(tenant_id, as_of)
    ours = _consumed(ours_query)
    counts = [
        _consumed(
            select(table.customer_id, func.count())
            .where(table.tenant_id == tenant_id, day <= as_of)
            .group_by(table.customer_id)
        )
        for table, day in (
            (Order, Order.ordered_on),
            (Interaction, Interaction.occurred_on),
            (Complaint, Complaint.occurred_on),
        )
    ]
    same = _same_aggregates(tenant_id, as_of)
    timings: dict[str, dict[bool, float]] = {}
    async with engine.connect() as conn:
        for setting in SESSION:
            await conn.execute(text(setting))
        await conn.commit()
        customers = (await conn.execute(ours)).scalar_one()
        await conn.commit()
        for name, statements in (("count", counts), ("same", same), ("ours", [ours])):
            timings[name] = {}
            for bulk in (False, True):
                timings[name][bulk] = sum([await _time(conn, s, repeats, bulk) for s in statements])
        compiled = ours.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        async with conn.begin(), planned_for_many_customers(conn):
            explain = text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")
            plan = (await conn.execute(explain)).scalars().all()
    await engine.dispose()
    (Path(__file__).parent / "metrics_all.plan.txt").write_text("\n".join(plan) + "\n")

    def said(name: str) -> str:
        t = timings[name]
        return f"{min(t.values()):.2f} s (hashing {t[False]:.2f} s, sorted {t[True]:.2f} s)"

    count_floor, same_floor = min(timings["count"].values()), min(timings["same"].values())
    mine = timings["ours"][True]
    record(
        "Metrics as of a date for all customers",
        [
            f"{customers:,} customers, as_of {as_of}; best of {repeats}; session "
            f"{'; '.join(SESSION)}; every figure is the better of the server's default plan "
            f"(hashing) and the plan for many customers the service asks for "
            f"({', '.join(f'{k} = {v}' for k, v in BULK_PLANNER_SETTINGS.items())}: sorted "
            "aggregation over the indexes, merge joins)",
            f"count floor (3 × `count(*) GROUP BY customer_id`, no windows): {said('count')}",
            f"same aggregates written plainly (one GROUP BY per table with a FILTER per "
            f"window, no join to customers, no derived columns): {said('same')}",
            f"metrics_query (22 metrics, windows, every customer, coalesced and derived): "
            f"{said('ours')}; the service's plan: {mine:.2f} s",
            f"**ratio to the same aggregates written plainly {mine / same_floor:.2f}×** "
            f"(goal ≤ 1.3×); ratio to the count floor {mine / count_floor:.2f}×; "
            "EXPLAIN ANALYZE in bench/metrics_all.plan.txt",
        ],
        postgres=await server_version(url),
    )


if __name__ == "__main__":
    parser = demo_arguments(__doc__)
    args = parser.parse_args()
    url, tenant, as_of, server = demo_database(args)
    asyncio.run(main(url, tenant, as_of, args.repeats))
