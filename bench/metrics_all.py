"""Metrics as of a date for every customer of a tenant, against the bare SQL floor.

Floor: the three plain `GROUP BY customer_id` aggregations over orders, interactions and
complaints (no windows, no join to customers) — the least any metrics query must do.
Ours: `metrics_query` (all 22 metrics, windows, join to customers). Both are consumed
server-side (an aggregate over every output column) so the figure is the query's, not
the network's. Goal (issue 4): ours ≤ 1.3 × floor.

    python bench/metrics_all.py [--database-url …] [--tenant-id …] [--as-of YYYY-MM-DD]
    (defaults: the 1M-customer database that bench/load_demo.py leaves in /work/bench-data)
"""

import argparse
import asyncio
import sys
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.core.db import EmbeddedPostgres
from app.customers.metrics import metrics_query
from app.models import Complaint, Interaction, Order
from bench.common import DATA, demo_tenant, record, server_version

SESSION = ["SET work_mem = '512MB'", "SET max_parallel_workers_per_gather = 0"]


async def _time(conn, statement, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        await conn.execute(statement)
        best = min(best, time.perf_counter() - started)
    return best


async def main(url: str, tenant_id: uuid.UUID, as_of: date, repeats: int) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    ours_query, columns = metrics_query(tenant_id, as_of)
    inner = ours_query.subquery("m")
    # Consume every column server-side; a bare count(*) would let the planner drop joins.
    ours = select(func.count(), *(func.count(inner.c[name]) for name in columns))
    floors = [
        select(func.count()).select_from(
            select(table.customer_id, func.count())
            .where(table.tenant_id == tenant_id, day <= as_of)
            .group_by(table.customer_id)
            .subquery()
        )
        for table, day in (
            (Order, Order.ordered_on),
            (Interaction, Interaction.occurred_on),
            (Complaint, Complaint.occurred_on),
        )
    ]
    async with engine.connect() as conn:
        for setting in SESSION:
            await conn.execute(text(setting))
        customers = (await conn.execute(ours)).scalar_one()
        floor = 0.0
        for statement in floors:
            floor += await _time(conn, statement, repeats)
        mine = await _time(conn, ours, repeats)
        compiled = ours.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        explain = text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")
        plan = (await conn.execute(explain)).scalars().all()
    await engine.dispose()
    (Path(__file__).parent / "metrics_all.plan.txt").write_text("\n".join(plan) + "\n")
    record(
        "Metrics as of a date for all customers",
        [
            f"{customers:,} customers, as_of {as_of}; best of {repeats}; session "
            f"{'; '.join(SESSION)}",
            f"bare aggregation floor (3 × GROUP BY customer_id): {floor:.2f} s",
            f"metrics_query (22 metrics, windows, join to customers): {mine:.2f} s",
            f"**ratio {mine / floor:.2f}×** (goal ≤ 1.3×); EXPLAIN ANALYZE in "
            "bench/metrics_all.plan.txt",
        ],
        postgres=await server_version(url),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--tenant-id", help="default: tenant `demo` of bench/load_demo.py")
    parser.add_argument(
        "--as-of", help="default: today, the as-of date bench/load_demo.py loads for"
    )
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    url = args.database_url
    server = None
    if url is None:
        server = EmbeddedPostgres(DATA / "bench_demo")
        url = server.url("bench_demo")
    tenant = uuid.UUID(args.tenant_id) if args.tenant_id else asyncio.run(demo_tenant(url))
    as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
    asyncio.run(main(url, tenant, as_of, args.repeats))
