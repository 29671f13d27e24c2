"""POST /api/v1/orders/bulk throughput through real HTTP (uvicorn on 127.0.0.1).

Goal (issue 4): ≥ 20,000 orders/s with 10,000-item requests on 2 cores. The client
pre-encodes every body so the figure is the server's, and sends requests one after
another (one API process; the client shares the 2 cores with it and with PostgreSQL).

    python bench/orders_bulk.py [--customers 20000] [--requests 50] [--data-dir DIR]
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.db import Database
from app.models import Role
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database, record, run, serve, server_version

BATCH = 10_000


async def _tenant_key(url: str) -> str:
    database = Database.connect(url)
    async with database.sessionmaker() as session, session.begin():
        tenant = await tenant_service.create_tenant(session, "bench", "压测")
        _, secret = await tenant_service.create_api_key(
            session, tenant.id, name="bench", role=Role.EDITOR, delegating=False, created_by="bench"
        )
    await database.dispose()
    return secret


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    url, _embedded = run(fresh_database("bench_orders", args.data_dir))
    key = run(_tenant_key(url))
    server = serve(url, args.port)
    base = f"http://127.0.0.1:{args.port}/api/v1"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    try:
        with httpx.Client(timeout=300, headers=headers) as http:
            for start in range(0, args.customers, BATCH):
                items = [{"code": f"C{i:07d}", "name": f"客户{i}"}
                         for i in range(start, min(start + BATCH, args.customers))]  # fmt: skip
                http.post(f"{base}/customers/bulk", content=json.dumps({"items": items}))
            rng = random.Random(7)
            bodies = [
                json.dumps({"items": [
                    {"external_id": f"SO-{r}-{i}",
                     "customer_code": f"C{rng.randrange(args.customers):07d}",
                     "amount": f"{rng.randrange(100, 5_000_000) / 100:.2f}",
                     "ordered_at": f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}",
                     "status": "completed"}
                    for i in range(BATCH)
                ]}).encode()
                for r in range(args.requests)
            ]  # fmt: skip
            timings = []
            for body in bodies:
                started = time.perf_counter()
                response = http.post(f"{base}/orders/bulk", content=body)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:500]
                assert response.json()["created"] == BATCH, response.text[:500]
            started = time.perf_counter()
            for body in bodies[:10]:
                assert http.post(f"{base}/orders/bulk", content=body).json()["updated"] == BATCH
            resend = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = sum(timings)
    orders = BATCH * len(bodies)
    timings.sort()
    record(
        "POST /api/v1/orders/bulk through HTTP",
        [
            f"{orders:,} new orders in {len(bodies)} requests of {BATCH:,}: {total:.1f} s, "
            f"**{orders / total:,.0f} orders/s** (goal ≥ 20,000)",
            f"per request: median {timings[len(timings) // 2] * 1000:.0f} ms, "
            f"max {timings[-1] * 1000:.0f} ms",
            f"re-sending 10 requests (updates, idempotent by external_id): "
            f"{10 * BATCH / resend:,.0f} orders/s",
            f"{args.customers:,} customers; one uvicorn process, client on the same machine",
        ],
        postgres=run(server_version(url)),
    )


if __name__ == "__main__":
    main()
