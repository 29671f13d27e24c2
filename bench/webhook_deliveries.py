"""Outbound webhooks: an apply run's worth of outbox events delivered to a local receiver.

    python bench/webhook_deliveries.py [--customers 5000] [--per-customer 4] [--workers 2]
                                       [--data-dir DIR]

A fresh database `bench_deliveries` (embedded server in --data-dir, see bench/common.py,
or CRMC_DATABASE_URL's server), one tenant, one endpoint on a receiver process (uvicorn) listening
on 127.0.0.1 (allowed by CRMC_WEBHOOK_ALLOWED_NETWORKS for this run only). The events
are written in one INSERT … SELECT, as a run's apply writes them (the outbox trigger
queues the dispatch); then timed: the dispatch job (outbox → deliveries), and the send
jobs on `--workers` workers side by side until every delivery has succeeded. The
receiver checks every signature and logs what it got; afterwards each event must have
arrived exactly once and each customer's events in order.

Prints the figures and appends them to bench/RESULTS.md.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ["CRMC_WEBHOOK_ALLOWED_NETWORKS"] = '["127.0.0.1/32"]'

from standardwebhooks import Webhook

from app.core.db import Database
from app.deliveries.dispatch import start_listening
from app.deliveries.service import new_secret
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.models import WebhookEndpoint
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database, record, server_version

DATABASE = "bench_deliveries"
EVENTS = """
INSERT INTO outbox (tenant_id, event_type, payload)
SELECT CAST(:tenant AS uuid), 'customer.classification_changed',
       jsonb_build_object(
           'customer_id', ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid,
           'seq', s,
           'to', jsonb_build_object('code', 'X'))
FROM generate_series(1, :per_customer) AS s, generate_series(1, :customers) AS n
ORDER BY s, n
"""


def _receive(port: int, secret: str, log_path: str) -> None:
    """The receiver: uvicorn on 127.0.0.1:port, checking every signature (a bad one is a
    400) and logging webhook-id, customer and sequence number of each event."""
    webhook = Webhook(secret)
    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives with the process

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            data = webhook.verify(body, headers)["data"]
            if scope["path"] != "/floor":
                log.write(f"{headers['webhook-id']} {data['customer_id']} {data['seq']}\n")
            status = 200
        except Exception:
            status = 400
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError("the receiver did not start")


async def _setup(url: str, receiver_url: str, secret: str) -> uuid.UUID:
    database = Database.connect(url)
    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenant_service.create_tenant(session, "bench", "压测")
            await start_listening(session, tenant.id)
            session.add(
                WebhookEndpoint(
                    tenant_id=tenant.id,
                    url=receiver_url,
                    event_types=["customer.classification_changed"],
                    secret=secret,
                )
            )
        return tenant.id
    finally:
        await database.dispose()


async def _measure(
    url: str, tenant_id: uuid.UUID, customers: int, per_customer: int, workers: int
) -> dict[str, float]:
    load_handlers()
    database = Database.connect(url, pool_size=10)
    figures: dict[str, float] = {}
    try:
        started = time.perf_counter()
        async with database.sessionmaker() as session, session.begin():
            await session.execute(
                text(EVENTS),
                {"tenant": tenant_id, "customers": customers, "per_customer": per_customer},
            )
        figures["write"] = time.perf_counter() - started
        started = time.perf_counter()
        await Worker(database, tenant_id=tenant_id, kinds=["deliveries.dispatch"]).run_until_idle()
        figures["dispatch"] = time.perf_counter() - started
        started = time.perf_counter()
        senders = [
            Worker(database, tenant_id=tenant_id, kinds=["deliveries.send"]) for _ in range(workers)
        ]
        await asyncio.gather(*(worker.run_until_idle() for worker in senders))
        figures["send"] = time.perf_counter() - started
        async with database.sessionmaker() as session:
            figures["succeeded"] = await session.scalar(
                text("SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'")
            )
            figures["deliveries"] = await session.scalar(
                text("SELECT count(*) FROM webhook_deliveries")
            )
    finally:
        await database.dispose()
    return figures


async def _floor(port: int, secret: str, requests: int, concurrency: int) -> float:
    """Seconds a bare httpx client takes for `requests` signed POSTs to the same receiver
    (`concurrency` at a time, a new connection each, no database): what the machine and
    the receiver allow."""
    webhook = Webhook(secret)
    limit = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as http:

        async def post(n: int) -> None:
            body = json.dumps(
                {"type": "x", "timestamp": "t", "data": {"customer_id": "f", "seq": n}}
            )
            now = datetime.now(UTC)
            msg_id = f"floor-{n}"
            headers = {
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": webhook.sign(msg_id, now, body),
            }
            async with limit:
                response = await http.post(
                    f"http://127.0.0.1:{port}/floor", content=body, headers=headers
                )
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(post(n) for n in range(requests)))
        return time.perf_counter() - started


def _check(log_path: str, customers: int, per_customer: int) -> tuple[int, int, bool]:
    seen: dict[str, list[int]] = defaultdict(list)
    ids: set[str] = set()
    lines = 0
    for line in Path(log_path).read_text().splitlines():
        webhook_id, customer, seq = line.split()
        ids.add(webhook_id)
        seen[customer].append(int(seq))
        lines += 1
    in_order = len(seen) == customers and all(
        seqs == list(range(1, per_customer + 1)) for seqs in seen.values()
    )
    return lines, len(ids), in_order


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--per-customer", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    url, embedded = asyncio.run(fresh_database(DATABASE, args.data_dir))
    secret = new_secret()
    log_path = tempfile.mktemp(prefix="crmc-bench-hooks-", suffix=".log")  # noqa: S306
    port = _free_port()
    receiver = multiprocessing.Process(target=_receive, args=(port, secret, log_path), daemon=True)
    receiver.start()
    try:
        _wait_listening(port)
        tenant_id = asyncio.run(_setup(url, f"http://127.0.0.1:{port}/hook", secret))
        load_before = os.getloadavg()
        floor_requests = min(2000, args.customers * args.per_customer)
        floor = asyncio.run(_floor(port, secret, floor_requests, 2 * 10))
        figures = asyncio.run(
            _measure(url, tenant_id, args.customers, args.per_customer, args.workers)
        )
        load_after = os.getloadavg()
        lines, distinct, in_order = _check(log_path, args.customers, args.per_customer)
        postgres = asyncio.run(server_version(url))
    finally:
        receiver.terminate()
        receiver.join()
        if embedded is not None:
            embedded.stop()
    events = args.customers * args.per_customer
    record(
        "Outbound webhook deliveries to a local receiver",
        [
            f"{events:,} `customer.classification_changed` events ({args.customers:,} "
            f"customers × {args.per_customer}), written in one INSERT … SELECT: "
            f"{figures['write']:.2f} s (the outbox trigger queued the dispatch)",
            f"dispatch (outbox → {int(figures['deliveries']):,} deliveries, one endpoint): "
            f"{figures['dispatch']:.2f} s, {events / figures['dispatch']:,.0f} events/s",
            f"send ({args.workers} workers in one process, batches of 50, 10 concurrent "
            f"requests each, a new connection per request, signature verified by the "
            f"receiver): {figures['send']:.2f} s, **{events / figures['send']:,.0f} "
            f"deliveries/s**",
            f"floor, the same receiver from a bare httpx client (no database, 20 "
            f"concurrent, a new connection each): {floor_requests:,} requests in "
            f"{floor:.2f} s, {floor_requests / floor:,.0f} requests/s",
            f"succeeded {int(figures['succeeded']):,} / {events:,}; received "
            f"{lines:,} requests, {distinct:,} distinct webhook-ids; every customer's "
            f"events in order: {'yes' if in_order else 'NO'}",
            f"load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} "
            "(the machine is shared)",
        ],
        postgres=postgres,
    )
    os.unlink(log_path)


if __name__ == "__main__":
    main()
