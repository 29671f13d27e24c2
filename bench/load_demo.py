"""Load the demo data set with COPY and time it (issue 4: 1M customers, ~10M orders).

    python bench/load_demo.py [--customers 1000000] [--seed 0] [--database-url URL]
                              [--data-dir DIR]

Creates a fresh database `bench_demo` (on the embedded server in --data-dir, see
bench/common.py, or on the server of --database-url), migrates it, creates
tenant `demo`, loads the data in one transaction, then VACUUM ANALYZEs the tables (timed
apart: the metrics scans want the visibility map for index-only scans). Prints the
figures, appends them to bench/RESULTS.md, and leaves the database for the other
benchmarks (metrics as of over every customer): its URL and tenant id are printed last.
"""

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.db import Database
from app.demo import DemoSummary, load_demo
from app.demo.generate import default_as_of
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database, record, run, server_version

DATABASE = "bench_demo"
TABLES = ("customers", "orders", "interactions", "complaints")


async def load_tenant(url: str, customers: int, seed: int, as_of: date) -> tuple[str, DemoSummary]:
    # Durability of this one connection's commit buys nothing in a benchmark load; a
    # session setting, so the server's configuration stays as it is.
    database = Database.connect(url, server_settings={"synchronous_commit": "off"})
    started = time.perf_counter()

    def progress(done: int) -> None:
        elapsed = time.perf_counter() - started
        print(f"  {done:>10,} customers  {elapsed:7.1f} s", file=sys.stderr, flush=True)

    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenant_service.create_tenant(session, "demo", "演示企业")
            summary = await load_demo(
                session, tenant.id, customers=customers, seed=seed, as_of=as_of,
                time_zone=tenant.time_zone, progress=progress,
            )  # fmt: skip
        return str(tenant.id), summary
    finally:
        await database.dispose()


async def vacuum_analyze(url: str) -> tuple[float, dict[str, int]]:
    """VACUUM ANALYZE the demo tables; their total sizes (with indexes) in bytes."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            started = time.perf_counter()
            await conn.execute(text(f"VACUUM (ANALYZE) {', '.join(TABLES)}"))
            seconds = time.perf_counter() - started
            sizes = {
                table: await conn.scalar(text(f"SELECT pg_total_relation_size('{table}')"))
                for table in TABLES
            }
    finally:
        await engine.dispose()
    return seconds, sizes


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="default: today in Asia/Shanghai"
    )
    parser.add_argument(
        "--database-url", default=None, help="a server to create the database on (admin URL)"
    )
    args = parser.parse_args()
    as_of = args.as_of or default_as_of("Asia/Shanghai")

    url, _embedded = run(fresh_database(DATABASE, args.data_dir, args.database_url))
    print(f"loading {args.customers:,} customers (seed {args.seed}, as of {as_of})",
          file=sys.stderr)  # fmt: skip
    tenant_id, summary = run(load_tenant(url, args.customers, args.seed, as_of))
    vacuum_seconds, sizes = run(vacuum_analyze(url))

    mib = {table: size / 2**20 for table, size in sizes.items()}
    record(
        "Demo data load (COPY)",
        [
            f"{summary.customers:,} customers, {summary.orders:,} orders, "
            f"{summary.interactions:,} interactions, {summary.complaints:,} complaints "
            f"(seed {summary.seed}, as of {summary.as_of})",
            f"load (generate + COPY, one transaction, indexes and foreign keys in place): "
            f"{summary.seconds:.1f} s, **{summary.rows_per_second:,.0f} rows/s** "
            f"(≈ {summary.orders / summary.seconds:,.0f} orders/s over the whole load)",
            f"VACUUM ANALYZE afterwards: {vacuum_seconds:.1f} s",
            "size with indexes: " + ", ".join(f"{t} {m:,.0f} MiB" for t, m in mib.items()),
            "load connection: `synchronous_commit = off` (session setting); "
            "server configuration as shipped",
        ],
        postgres=run(server_version(url)),
    )
    print(f"tenant demo: {tenant_id}")
    print(f"database left at: {url}")


if __name__ == "__main__":
    main()
