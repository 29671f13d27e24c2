"""CSV import throughput: a 1,000,000-row orders file through POST /api/v1/imports.

Goal (issue 4): ≥ 50,000 rows/s. A fresh database (embedded PostgreSQL in --data-dir,
see bench/common.py, or CRMC_DATABASE_URL's server) gets the customers the file references
(through POST /customers/bulk), then the file is uploaded through the HTTP app
(in-process, httpx over ASGI) and the import job is run by a worker in this process.
The file uses the seed's spellings (¥125,000, 12.5万元, 2024年3月5日, 2024/3/5) and has a
few bad rows, so normalisation and error reporting are part of the figure.

    python bench/import_csv.py [--rows 1000000] [--customers 100000] [--profile out.prof]
                               [--data-dir DIR]
"""

import argparse
import asyncio
import cProfile
import os
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.db import Database
from app.core.settings import Settings
from app.imports.tasks import BATCH_ROWS
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.main import create_app
from app.models import Role
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database, record, server_version

BULK = 10_000
TICKS = os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(database: str) -> float:
    """CPU time used so far by the server processes serving `database` (Linux /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            cmdline = (stat.parent / "cmdline").read_bytes()
            if b"postgres" not in cmdline or database.encode() not in cmdline:
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            continue
    return total / TICKS


BAD_EVERY = 1000  # one row in a thousand has an unreadable amount


def write_orders_csv(path: Path, rows: int, customers: int, seed: int = 7) -> None:
    """The orders file: Chinese headers, mixed spellings of amounts and dates."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("订单编号,客户编号,订单金额,下单日期,订单状态\n")
        for i in range(rows):
            month, day = rng.randrange(1, 13), rng.randrange(1, 29)
            cents = rng.randrange(100, 5_000_000)
            style = i % 20
            if i % BAD_EVERY == 999:
                amount = "十二万"
            elif style == 0:
                amount = f'"¥{cents // 100:,}"'
            elif style == 1:
                amount = f"{cents / 1_000_000:.2f}万元"
            else:
                amount = f"{cents / 100:.2f}"
            if style == 2:
                when = f"2024年{month}月{day}日"
            elif style == 3:
                when = f"2024/{month}/{day}"
            else:
                when = f"2024-{month:02d}-{day:02d}"
            status = "已取消" if style == 4 else "已完成"
            code = f"C{rng.randrange(customers):07d}"
            out.write(f"SO-{i:08d},{code},{amount},{when},{status}\n")


async def _setup(url: str, customers: int) -> tuple[Database, str, httpx.AsyncClient]:
    database = Database.connect(url, pool_size=5, max_overflow=5)
    async with database.sessionmaker() as session, session.begin():
        tenant = await tenant_service.create_tenant(session, "bench-import", "导入压测")
        _, key = await tenant_service.create_api_key(
            session, tenant.id, name="bench", role=Role.EDITOR, delegating=False, created_by="b"
        )
    app = create_app(Settings(database_url=url, log_json=False, log_level="WARNING"), database)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {key}"},
        timeout=httpx.Timeout(3600),
    )
    for start in range(0, customers, BULK):
        items = [
            {"code": f"C{i:07d}", "name": f"客户{i}"}
            for i in range(start, min(start + BULK, customers))
        ]
        response = await http.post("/api/v1/customers/bulk", json={"items": items})
        assert response.status_code == 200, response.text[:300]
    return database, key, http


async def _bench(args: argparse.Namespace) -> None:
    url, embedded = await fresh_database("bench_import", args.data_dir)
    path = args.data_dir / f"orders-{args.rows}.csv"
    if not path.exists():
        write_orders_csv(path, args.rows, args.customers)
    database, _key, http = await _setup(url, args.customers)
    try:
        started = time.perf_counter()
        with path.open("rb") as file:
            response = await http.post(
                "/api/v1/imports",
                data={"entity": "orders"},
                files={"file": (path.name, file, "text/csv")},
            )
        upload_seconds = time.perf_counter() - started
        assert response.status_code == 202, response.text[:300]
        import_id = response.json()["id"]
        load_handlers()
        profiler = cProfile.Profile() if args.profile else None
        load_before = os.getloadavg()[0]
        cpu_before = time.process_time()
        pg_before = postgres_cpu_seconds("bench_import")
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        await Worker(database).run_until_idle()
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        job_seconds = time.perf_counter() - started
        python_cpu = time.process_time() - cpu_before
        pg_cpu = postgres_cpu_seconds("bench_import") - pg_before
        report = (await http.get(f"/api/v1/imports/{import_id}")).json()
        postgres = await server_version(url)
    finally:
        await http.aclose()
        await database.dispose()
        if embedded is not None:
            embedded.stop()
    counts = report["counts"]
    assert report["status"] == "succeeded", report
    rows = counts["rows"]
    if args.dry:
        print(
            f"{rows:,} rows in {job_seconds:.1f} s: {rows / job_seconds:,.0f} rows/s, "
            f"Python CPU {python_cpu:.1f} s, PostgreSQL CPU {pg_cpu:.1f} s"
        )
        return
    record(
        "CSV import (POST /api/v1/imports, orders)",
        [
            f"{rows:,} rows ({path.stat().st_size / 1e6:.0f} MB, UTF-8, Chinese headers, "
            f"mixed ¥/万元/年月日 spellings): job {job_seconds:.1f} s, "
            f"**{rows / job_seconds:,.0f} rows/s** (goal ≥ 50,000)",
            f"upload into 1 MiB chunks: {upload_seconds:.1f} s "
            f"({path.stat().st_size / 1e6 / upload_seconds:.0f} MB/s); end to end "
            f"{rows / (upload_seconds + job_seconds):,.0f} rows/s",
            f"created {counts['created']:,}, failed {counts['failed']:,} "
            f"(1 in {BAD_EVERY} rows has a bad amount), {report['error_count']:,} row errors",
            f"CPU during the job: Python {python_cpu:.1f} s "
            f"({python_cpu / rows * 1e6:.0f} µs/row), "
            f"PostgreSQL backends {pg_cpu:.1f} s ({pg_cpu / rows * 1e6:.0f} µs/row); on 2 "
            f"cores the floor is {(python_cpu + pg_cpu) / 2:.1f} s if both overlapped perfectly",
            f"{args.customers:,} customers; worker and API in one process, batches of "
            f"{BATCH_ROWS:,}; "
            f"load average {load_before:.1f} when the job started (other work on the machine)",
        ],
        postgres=postgres,
    )


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--profile", help="write a cProfile of the job to this file")
    parser.add_argument("--dry", action="store_true", help="print, do not append to RESULTS.md")
    asyncio.run(_bench(parser.parse_args()))


if __name__ == "__main__":
    main()
