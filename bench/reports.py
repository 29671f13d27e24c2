"""Reports of a run at scale (issue 13): JSON ≤ 1 s and the XLSX summary ≤ 3 s at 1M.

    python bench/reports.py --customers 100000 [--repeats 3] [--data-dir DIR]
                            [--database-url URL --tenant-id ID --run-id ID] [--no-lists]

Without --database-url: a database `bench_reports_<customers>` on an embedded server in
--data-dir (bench/common.py), prepared once and reused by later runs of the script
(`prepared.json` beside it): the demo data set (bench/load_demo.py's loader), the seed
trees 价值维度, 活跃度维度, 风险维度 and 客户关系划分, one dry run over every customer
(jobs run by an in-process worker) whose assignments are then written by SQL, VACUUM
ANALYZE. With --database-url: that tenant's
succeeded run.

Measured in-process through the ASGI app (httpx, no network), median and best of
--repeats after one warm-up: `GET /runs/{id}/report` as JSON, as XLSX without the
customer lists (`parts=summary`) and as PDF; the current state's distribution, the
value × activity cross-tab, and the transitions from the run to now. Then, unless
--no-lists, the full XLSX (a customer list per tree: customers × trees lines) and the CSV
rendered as the export job renders them, each in a child process, with the child's peak
RSS (VmHWM) — the lists stream, so it must not grow with the customers.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.core.auth import Principal
from app.core.db import Database, EmbeddedPostgres
from app.core.settings import Settings
from app.demo.generate import default_as_of
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.main import create_app
from app.models import Role, Tenant
from app.reports.exports import write_export
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database, record, server_version
from bench.load_demo import _load

TREES = ("value", "activity", "risk", "relationship")


async def _key(url: str, tenant_id: uuid.UUID) -> str:
    database = Database.connect(url, pooled=False)
    try:
        async with database.sessionmaker() as session, session.begin():
            _, secret = await tenant_service.create_api_key(
                session, tenant_id, name="bench reports", role=Role.ADMIN, delegating=False,
                created_by="bench/reports.py",
            )  # fmt: skip
        return secret
    finally:
        await database.dispose()


def _client(url: str, secret: str, database: Database) -> httpx.AsyncClient:
    app = create_app(Settings(database_url=url, log_json=False, log_level="WARNING"), database)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=3600,
    )


async def _prepare(url: str, customers: int) -> dict[str, Any]:
    """Load the demo tenant (unless an earlier, interrupted preparation did), install the
    seed trees, classify every customer in a dry run, and write the assignments that run
    would apply with one INSERT … SELECT (main's apply step is slow at this scale — the
    self-joined CTE bench/runs.py's branch replaces; the report reads results either way)."""
    as_of = default_as_of("Asia/Shanghai")
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with engine.connect() as conn:
        tenant = await conn.scalar(text("SELECT id FROM tenants WHERE slug = 'demo'"))
    if tenant is None:
        print(f"loading {customers:,} demo customers", file=sys.stderr)
        tenant, _ = await _load(url, customers, 0, as_of)
        await _vacuum_analyze(url)  # fresh statistics, or the run plans for empty tables
    tenant_id = uuid.UUID(str(tenant))
    async with engine.connect() as conn:
        for table in ("assignment_history", "assignments", "runs", "jobs"):
            await conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t"), {"t": tenant_id})
        installed = await conn.scalar(
            text("SELECT count(*) FROM category_trees WHERE tenant_id = :t"), {"t": tenant_id}
        )
    secret = await _key(url, tenant_id)
    database = Database.connect(url)
    load_handlers()
    try:
        async with _client(url, secret, database) as api:
            if not installed:
                for key in TREES:
                    (await api.post(f"/api/v1/templates/{key}/install")).raise_for_status()
            started = time.perf_counter()
            created = await api.post(
                "/api/v1/runs", json={"as_of": as_of.isoformat(), "mode": "dry_run"}
            )
            created.raise_for_status()
            print("classifying (in-process worker)", file=sys.stderr)
            await Worker(database, tenant_id=tenant_id).run_until_idle()
            run = (await api.get(f"/api/v1/runs/{created.json()['id']}")).json()
            assert run["status"] == "succeeded", run
            seconds = time.perf_counter() - started
    finally:
        await database.dispose()
    async with engine.connect() as conn:
        await conn.execute(
            text(
                "INSERT INTO assignments (id, tenant_id, tree_id, customer_id, category_id, "
                "multi, source, run_id, assigned_by) "
                "SELECT gen_random_uuid(), r.tenant_id, t.tree_id, r.customer_id, c.category_id, "
                "false, 'run', r.run_id, 'bench' FROM run_results r "
                "JOIN run_trees t ON t.tenant_id = r.tenant_id AND t.run_id = r.run_id "
                "JOIN run_categories c ON c.tenant_id = r.tenant_id AND c.run_id = r.run_id "
                "AND c.slot = r.outcome[4 * t.position + 1] WHERE r.run_id = :run"
            ),
            {"run": uuid.UUID(run["id"])},
        )
    await engine.dispose()
    await _vacuum_analyze(url)
    return {"tenant_id": str(tenant_id), "run_id": run["id"], "run_seconds": round(seconds, 1)}


async def _vacuum_analyze(url: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with engine.connect() as conn:
        await conn.execute(text("VACUUM (ANALYZE)"))
    await engine.dispose()


def _prepared(args: argparse.Namespace) -> tuple[str, dict[str, Any], EmbeddedPostgres | None]:
    if args.database_url:
        return args.database_url, {"tenant_id": args.tenant_id, "run_id": args.run_id}, None
    name = f"bench_reports_{args.customers}"
    marker = args.data_dir / name / "prepared.json"
    if marker.exists():
        server = EmbeddedPostgres(args.data_dir / name)
        return server.url(name), json.loads(marker.read_text()), server
    if (args.data_dir / name / "pgdata").exists():  # an interrupted preparation: go on
        server = EmbeddedPostgres(args.data_dir / name)
        url = server.url(name)
    else:
        url, server = asyncio.run(fresh_database(name, args.data_dir))
    info = asyncio.run(_prepare(url, args.customers))
    marker.write_text(json.dumps(info))
    return url, info, server


async def _measure(url: str, info: dict[str, Any], repeats: int) -> dict[str, list[float]]:
    secret = await _key(url, uuid.UUID(info["tenant_id"]))
    database = Database.connect(url)
    run_id = info["run_id"]
    timings: dict[str, list[float]] = {}
    try:
        async with _client(url, secret, database) as api:
            trees = {
                t["key"]: t["id"] for t in (await api.get("/api/v1/category-trees")).json()["items"]
            }
            requests = {
                "report JSON": (f"/api/v1/runs/{run_id}/report", {}),
                "report XLSX summary": (
                    f"/api/v1/runs/{run_id}/report",
                    {"format": "xlsx", "parts": "summary"},
                ),
                "report PDF": (f"/api/v1/runs/{run_id}/report", {"format": "pdf"}),
                "distribution now": ("/api/v1/reports/distribution", {}),
                "crosstab now (value × activity)": (
                    "/api/v1/reports/crosstab",
                    {"rows": trees["value"], "cols": trees["activity"]},
                ),
                "transitions run → now (value)": (
                    "/api/v1/reports/transitions",
                    {"tree_id": trees["value"], "from": run_id},
                ),
            }
            for label, (path, params) in requests.items():
                times = []
                for attempt in range(repeats + 1):
                    started = time.perf_counter()
                    got = await api.get(path, params=params)
                    elapsed = time.perf_counter() - started
                    assert got.status_code == 200, (label, got.status_code, got.text[:300])
                    if attempt:  # the first one warms the caches
                        times.append(elapsed)
                timings[label] = times
                print(f"  {label}: {min(times):.3f} s", file=sys.stderr)
    finally:
        await database.dispose()
    return timings


async def _export_child(url: str, tenant_id: str, run_id: str, fmt: str) -> None:
    database = Database.connect(url)
    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await session.get(Tenant, uuid.UUID(tenant_id))
            assert tenant is not None
            principal = Principal(
                tenant.id, tenant.slug, tenant.time_zone, uuid.uuid4(), Role.VIEWER, "bench"
            )
            started = time.perf_counter()
            made = await write_export(
                session,
                principal,
                uuid.UUID(run_id),
                fmt,
                "full",
                "zh-CN",  # type: ignore[arg-type]
            )
            seconds = time.perf_counter() - started
    finally:
        await database.dispose()
    size = os.path.getsize(made.path)
    os.unlink(made.path)
    peak = next(
        int(line.split()[1]) // 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    print(json.dumps({"seconds": seconds, "bytes": size, "peak_mib": peak}))


def _export(url: str, info: dict[str, Any], fmt: str) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, __file__, "--export-child", fmt, "--database-url", url,
         "--tenant-id", info["tenant_id"], "--run-id", info["run_id"]],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url")
    parser.add_argument("--tenant-id")
    parser.add_argument("--run-id")
    parser.add_argument("--no-lists", action="store_true")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        asyncio.run(
            _export_child(args.database_url, args.tenant_id, args.run_id, args.export_child)
        )
        return
    url, info, server = _prepared(args)
    try:
        load = os.getloadavg()
        timings = asyncio.run(_measure(url, info, args.repeats))
        exports = {} if args.no_lists else {fmt: _export(url, info, fmt) for fmt in ("xlsx", "csv")}
        load_after = os.getloadavg()
        postgres = asyncio.run(server_version(url))
    finally:
        if server is not None:
            server.stop()
    lines = [
        f"{args.customers:,} demo customers, four seed trees, one run over all of them"
        + (
            f" (dry run, {info['run_seconds']} s in an in-process worker; its assignments "
            "written by one INSERT … SELECT)"
            if "run_seconds" in info
            else ""
        )
        + f"; in-process ASGI client; median (best) of {args.repeats} after a warm-up",
    ]
    for label, times in timings.items():
        lines.append(f"{label}: {statistics.median(times):.3f} s ({min(times):.3f} s)")
    for fmt, figures in exports.items():
        lines.append(
            f"full {fmt.upper()} (customer lists: customers × trees lines), as the export job "
            f"renders it: {figures['seconds']:.1f} s, {figures['bytes'] / 2**20:,.1f} MiB, "
            f"peak RSS of the process {figures['peak_mib']} MiB"
        )
    lines.append(
        f"load average {load[0]:.1f} before, {load_after[0]:.1f} after (2 cores shared with "
        "other work)"
    )
    record("Run reports (JSON, XLSX, PDF, current state)", lines, postgres=postgres)


if __name__ == "__main__":
    main()
