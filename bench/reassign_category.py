"""Deleting a category that holds 200,000 customers, against the bare UPDATE floor.

    python bench/reassign_category.py [--customers 200000] [--port 8766] [--data-dir DIR]

A fresh database `bench_reassign` (embedded server in --data-dir, see bench/common.py,
or CRMC_DATABASE_URL's server), one tenant, a tree with categories
OLD and NEW, and every customer assigned to OLD (loaded with INSERT … SELECT). Then, in
the same run and on the same data:

1. the floor: the bare `UPDATE assignments SET category_id = NEW WHERE category_id = OLD`
   in its own transaction (then moved back, untimed, and VACUUM ANALYZEd);
2. `GET /categories/OLD/impact?reassign_to=NEW` through HTTP (uvicorn on 127.0.0.1);
3. `DELETE /categories/OLD?reassign_to=NEW` through HTTP: locks, checks, moves every
   assignment and writes a history row each (one statement for both tables), deletes
   the category, audits, commits.

Prints the figures and appends them to bench/RESULTS.md.
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.db import Database
from app.models import Role
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database, record, run, serve, server_version

DATABASE = "bench_reassign"
MOVE = "UPDATE assignments SET category_id = :to WHERE tenant_id = :tenant AND category_id = :frm"


async def _tenant(url: str) -> tuple[uuid.UUID, str]:
    database = Database.connect(url)
    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenant_service.create_tenant(session, "bench", "压测")
            _, secret = await tenant_service.create_api_key(
                session, tenant.id, name="bench", role=Role.ADMIN, delegating=False,
                created_by="bench",
            )  # fmt: skip
        return tenant.id, secret
    finally:
        await database.dispose()


async def _sql(url: str, sql: str, params: dict) -> float:
    """Run one statement in its own transaction (VACUUM outside one); the seconds from
    sending it to the end of its commit (the connection is opened before the clock)."""
    autocommit = sql.startswith("VACUUM")
    engine = create_async_engine(
        url, poolclass=NullPool, **({"isolation_level": "AUTOCOMMIT"} if autocommit else {})
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await conn.commit()
            started = time.perf_counter()
            await conn.execute(text(sql), params)
            await conn.commit()
            return time.perf_counter() - started
    finally:
        await engine.dispose()


def _load_sql(customers: int) -> str:
    return f"""
        WITH made AS (
            INSERT INTO customers (tenant_id, code, name, stage)
            SELECT :tenant, 'C' || lpad(n::text, 7, '0'), '客户' || n,
                   CASE WHEN n % 3 = 0 THEN 'potential' ELSE 'signed' END
            FROM generate_series(1, {customers}) AS n
            RETURNING id
        )
        INSERT INTO assignments (tenant_id, tree_id, customer_id, category_id, multi, source,
                                 assigned_by)
        SELECT :tenant, :tree, id, :old, false, 'rule', 'bench' FROM made
    """


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    load_average = os.getloadavg()[0]  # other work on the machine skews the figures

    url, _embedded = run(fresh_database(DATABASE, args.data_dir))
    tenant_id, key = run(_tenant(url))
    server = serve(url, args.port)
    base = f"http://127.0.0.1:{args.port}/api/v1"
    try:
        with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {key}"}) as http:
            tree = http.post(f"{base}/category-trees", json={"key": "value", "name": "价值"})
            tree_id = tree.json()["id"]
            categories = f"{base}/category-trees/{tree_id}/categories"
            old = http.post(categories, json={"code": "OLD", "name": "旧分类"}).json()["id"]
            new = http.post(categories, json={"code": "NEW", "name": "新分类"}).json()["id"]
            ids = {"tenant": tenant_id, "tree": tree_id, "old": old, "new": new}
            load = run(_sql(url, _load_sql(args.customers), ids))
            run(_sql(url, "VACUUM ANALYZE", {}))
            floor = run(_sql(url, MOVE, {**ids, "to": new, "frm": old}))
            run(_sql(url, MOVE, {**ids, "to": old, "frm": new}))
            run(_sql(url, "VACUUM ANALYZE", {}))

            started = time.perf_counter()
            impact = http.get(f"{base}/categories/{old}/impact", params={"reassign_to": new})
            impact_seconds = time.perf_counter() - started
            assert impact.json()["would_move"] == args.customers, impact.text

            started = time.perf_counter()
            deleted = http.delete(f"{base}/categories/{old}", params={"reassign_to": new})
            delete_seconds = time.perf_counter() - started
            assert deleted.status_code == 200, deleted.text
            assert deleted.json()["moved"] == args.customers, deleted.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    record(
        "DELETE /api/v1/categories/{id}?reassign_to through HTTP",
        [
            f"{args.customers:,} customers in one category (loaded in {load:.1f} s)",
            f"bare `UPDATE assignments SET category_id` floor: **{floor:.2f} s**",
            f"DELETE …?reassign_to (UPDATE + a history row per customer in one statement, "
            f"delete, audit, commit): **{delete_seconds:.2f} s** "
            f"({delete_seconds / floor:.1f}× the floor), moved {args.customers:,}",
            f"GET …/impact beforehand: {impact_seconds * 1000:.0f} ms",
            f"one uvicorn process, client on the same machine; load average "
            f"{load_average:.1f} when the run started",
        ],
        postgres=run(server_version(url)),
    )


if __name__ == "__main__":
    main()
