"""Inbound webhooks under load, then again while a worker is killed and restarted
(issue 14, item 5).

A fresh database gets a tenant with `--customers` demo customers and the four seed
trees published; `crm-classifier serve` runs without its in-process worker and
`--workers` `crm-classifier worker` processes run the jobs (lease `--lease` seconds, so a
killed worker's job is taken over after that). For `--seconds` at `--rate` events per
second, signed `order.created` events go to 127.0.0.1, each for one of `--hot`
customers (so several per customer), a `--duplicates` fraction of them a second delivery
of an event sent before (as a sender's retry would be: same webhook-id and body, signed
anew). Measured: accepted per second, HTTP latency (client side, p50/p99), and event →
classification updated (the event's `received_at` to the commit-time `processed_at` of
the reclassification that took it in, server side, p50/p99). The second phase kills
one worker (SIGKILL) after a third of the time and restarts it `--down` seconds later.
After each phase, once every event is settled (or `--settle` seconds passed), totals
are checked in Postgres: every accepted webhook-id stored once, no event lost or left
unprocessed, each order once (count and sum of amounts against what was sent).
Goals: p99 event → reclassified ≤ 1 s, p99 HTTP ≤ 50 ms, 0 lost, 0 double-counted.

    python bench/webhooks_load.py [--customers 100000] [--rate 200] [--seconds 60]
                                  [--workers 2] [--data-dir DIR] [--database-url URL]
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from standardwebhooks import Webhook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.db import Database, EmbeddedPostgres, upgrade_to_head
from app.demo import load_demo
from app.demo.generate import default_as_of
from app.models import Role
from app.tenants import service as tenant_service
from bench.common import (
    add_data_dir,
    fresh_database,
    postgres_cpu,
    record,
    serve,
    server_version,
)

DATABASE = "bench_webhooks"
SLUG = "wh-bench"
TEMPLATES = ("value", "activity", "risk", "relationship")


@dataclass
class Sent:
    """One delivery: its event, whether it was a re-delivery, and what came back."""

    webhook_id: str
    external_id: str
    amount: Decimal
    duplicate: bool
    status: int = 0
    seconds: float = 0.0


@dataclass
class Phase:
    label: str
    name: str  # the label and the run's tag: prefix of its webhook-ids and external ids
    sent: list[Sent] = field(default_factory=list)
    wall: float = 0.0
    late_starts: int = 0
    unsent: int = 0  # due within the phase, not sent before it ended (client behind)


async def _prepare(url: str, customers: int) -> tuple[uuid.UUID, str]:
    """The bench tenant with its demo customers and an admin key (its secret)."""
    database = Database.connect(url, server_settings={"synchronous_commit": "off"})
    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenant_service.create_tenant(session, SLUG, "webhook 压测")
            await load_demo(
                session,
                tenant.id,
                customers=customers,
                seed=14,
                as_of=default_as_of(tenant.time_zone),
                time_zone=tenant.time_zone,
            )
            _, key = await tenant_service.create_api_key(
                session, tenant.id, name="bench", role=Role.ADMIN, delegating=False,
                created_by="bench",
            )  # fmt: skip
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        async with engine.connect() as conn:
            await conn.execute(text("VACUUM (ANALYZE) customers, orders, interactions, complaints"))
        await engine.dispose()
        return tenant.id, key
    finally:
        await database.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _worker(url: str, lease: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CRMC_DATABASE_URL": url,
        "CRMC_LOG_LEVEL": "WARNING",
        "CRMC_JOB_LEASE_SECONDS": str(lease),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], env=env, stderr=subprocess.DEVNULL
    )


async def _send(client: httpx.AsyncClient, signer: Webhook, sent: Sent, body: bytes) -> None:
    now = datetime.now(UTC)
    headers = {
        "webhook-id": sent.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(sent.webhook_id, now, body),
        "content-type": "application/json",
    }
    started = time.perf_counter()
    try:
        response = await client.post(
            f"/api/v1/webhooks/{SLUG}/events", content=body, headers=headers
        )
        sent.status = response.status_code
    except httpx.HTTPError:
        sent.status = -1
    sent.seconds = time.perf_counter() - started


async def _load(
    base: str, secret: str, args: argparse.Namespace, phase: Phase, kill: "Killer | None"
) -> None:
    """Event i is due at start + i / rate; `--connections` senders each take the next due
    event and send it when it is due (at once, counted late, when they are behind), so
    the client never queues more requests than it has connections."""
    rng = random.Random(phase.name)
    signer = Webhook(secret)
    hot = [f"CUS{n:07d}" for n in rng.sample(range(1, args.customers + 1), args.hot)]
    bodies: list[tuple[Sent, bytes]] = []
    total = args.rate * args.seconds
    next_index = 0
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )

    def make(i: int) -> tuple[Sent, bytes]:
        if bodies and rng.random() < args.duplicates:
            first, body = rng.choice(bodies)
            return Sent(first.webhook_id, first.external_id, first.amount, True), body
        external_id = f"{phase.name}-{i:07d}"
        amount = Decimal(rng.randrange(100, 5_000_000)) / 100
        data = {
            "external_id": external_id,
            "customer_code": rng.choice(hot),
            "amount": str(amount),
            "ordered_at": datetime.now(UTC).isoformat(),
        }
        body = json.dumps({"type": "order.created", "data": data}).encode()
        sent = Sent(f"{phase.name}_{uuid.uuid4().hex}", external_id, amount, False)
        bodies.append((sent, body))
        return sent, body

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=args.timeout) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def sender() -> None:
            nonlocal next_index
            while next_index < total and loop.time() - start < args.seconds:
                i = next_index
                next_index += 1
                delay = start + i / args.rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.05:
                    phase.late_starts += 1
                if kill is not None:
                    kill.tick(loop.time() - start)
                sent, body = make(i)
                phase.sent.append(sent)
                await _send(client, signer, sent, body)

        await asyncio.gather(*(sender() for _ in range(args.connections)))
        phase.wall = loop.time() - start
        phase.unsent = total - next_index


@dataclass
class Killer:
    """Kills worker 0 at `at` seconds into the phase and restarts it `down` s later."""

    workers: list[subprocess.Popen[bytes]]
    url: str
    lease: int
    at: float
    down: float
    killed_at: float | None = None
    restarted: bool = False

    def tick(self, elapsed: float) -> None:
        if self.killed_at is None and elapsed >= self.at:
            self.workers[0].send_signal(signal.SIGKILL)
            self.workers[0].wait()
            self.killed_at = elapsed
        elif self.killed_at is not None and not self.restarted and elapsed >= self.at + self.down:
            self.workers[0] = _worker(self.url, self.lease)
            self.restarted = True


async def _settle(url: str, tenant_id: uuid.UUID, prefix: str, seconds: float) -> float:
    """Wait until no event of the phase is still `accepted`; how long it took."""
    engine = create_async_engine(url, poolclass=NullPool)
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            while time.perf_counter() - started < seconds:
                waiting = await conn.scalar(
                    text(
                        "SELECT count(*) FROM webhook_events WHERE tenant_id = :t "
                        "AND webhook_id LIKE :p AND status = 'accepted'"
                    ),
                    {"t": tenant_id, "p": f"{prefix}\\_%"},
                )
                await conn.commit()
                if not waiting:
                    break
                await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
    return time.perf_counter() - started


@dataclass
class Totals:
    events: int
    processed: int
    failed: int
    still_accepted: int
    orders: int
    amount: Decimal
    p50_ms: float
    p99_ms: float
    max_ms: float
    failed_jobs: int
    jobs: int
    stored_ids: set[str]


async def _totals(url: str, tenant_id: uuid.UUID, prefix: str) -> Totals:
    engine = create_async_engine(url, poolclass=NullPool)
    params = {"t": tenant_id, "p": f"{prefix}\\_%", "o": f"{prefix}-%"}
    try:
        async with engine.connect() as conn:
            events = (
                await conn.execute(
                    text(
                        "SELECT count(*) AS n, "
                        "count(*) FILTER (WHERE status = 'processed') AS processed, "
                        "count(*) FILTER (WHERE status = 'failed') AS failed, "
                        "count(*) FILTER (WHERE status = 'accepted') AS accepted, "
                        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
                        "processed_at - received_at)) AS p50, "
                        "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM "
                        "processed_at - received_at)) AS p99, "
                        "max(extract(epoch FROM processed_at - received_at)) AS worst "
                        "FROM webhook_events WHERE tenant_id = :t AND webhook_id LIKE :p"
                    ),
                    params,
                )
            ).one()
            orders = (
                await conn.execute(
                    text(
                        "SELECT count(*) AS n, coalesce(sum(amount), 0) AS amount FROM orders "
                        "WHERE tenant_id = :t AND external_id LIKE :o"
                    ),
                    params,
                )
            ).one()
            failed_jobs = await conn.scalar(
                text(
                    "SELECT count(*) FROM jobs WHERE tenant_id = :t "
                    "AND kind = 'webhook.reclassify' AND status = 'failed'"
                ),
                params,
            )
            stored_ids = set(
                await conn.scalars(
                    text(
                        "SELECT webhook_id FROM webhook_events "
                        "WHERE tenant_id = :t AND webhook_id LIKE :p"
                    ),
                    params,
                )
            )
            jobs = await conn.scalar(
                text(
                    "SELECT count(*) FROM jobs WHERE tenant_id = :t "
                    "AND kind = 'webhook.reclassify' AND status = 'succeeded'"
                ),
                params,
            )
    finally:
        await engine.dispose()
    return Totals(
        events.n, events.processed, events.failed, events.accepted, orders.n,
        Decimal(orders.amount), float(events.p50 or 0) * 1000, float(events.p99 or 0) * 1000,
        float(events.worst or 0) * 1000, int(failed_jobs or 0), int(jobs or 0), stored_ids,
    )  # fmt: skip


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _lines(
    phase: Phase, totals: Totals, settle: float, killer: Killer | None, jobs_before: int
) -> list[str]:
    ok = [s for s in phase.sent if s.status in (200, 202)]
    new_ok = [s for s in ok if s.status == 202]
    dup_ok = [s for s in ok if s.status == 200]
    refused = [s for s in phase.sent if s.status not in (200, 202)]
    accepted_ids = {s.webhook_id for s in ok}
    # Each new event is one order; a delivery the client gave up on may still be stored.
    first_sends = {s.webhook_id: s for s in phase.sent if not s.duplicate}
    stored_new = [first_sends[i] for i in totals.stored_ids if i in first_sends]
    expected_amount = sum((s.amount for s in stored_new), Decimal(0))
    http = [s.seconds * 1000 for s in phase.sent if s.status > 0]
    lost = len(accepted_ids - totals.stored_ids)
    double = totals.orders - len(stored_new)
    what = phase.label
    if killer is not None:
        what += (
            f" (worker 0 killed with SIGKILL at {killer.killed_at or 0:.1f} s, restarted "
            f"{killer.down:g} s later; job lease {killer.lease} s)"
        )
    return [
        f"**{what}**: {len(phase.sent):,} deliveries in {phase.wall:.1f} s "
        f"({sum(not s.duplicate for s in phase.sent):,} new events, "
        f"{sum(s.duplicate for s in phase.sent):,} re-deliveries); "
        f"**{len(ok) / phase.wall:,.1f} accepted/s** ({len(new_ok):,} × 202, "
        f"{len(dup_ok):,} × 200 duplicate, {len(refused):,} refused or timed out); "
        f"{phase.late_starts:,} sends started > 50 ms late, {phase.unsent:,} due events not "
        f"sent before the phase ended (the service behind)",
        f"HTTP latency (client side): p50 {statistics.median(http) if http else 0:.1f} ms, "
        f"**p99 {_percentile(http, 0.99):.1f} ms**, max {max(http) if http else 0:.1f} ms",
        f"event → classification updated (received_at → processed_at): p50 "
        f"{totals.p50_ms:,.0f} ms, **p99 {totals.p99_ms:,.0f} ms**, max {totals.max_ms:,.0f} ms; "
        f"settled {settle:.1f} s after the last delivery answered; "
        f"{totals.jobs - jobs_before:,} reclassification jobs for {totals.events:,} events "
        f"(bursts coalesced)",
        f"Postgres totals: {totals.events:,} events stored, every one of the "
        f"{len(accepted_ids):,} answered 2xx among them (**lost {lost}**; "
        f"{len(totals.stored_ids - accepted_ids)} more stored whose answer the client gave up "
        f"on), {totals.processed:,} processed, {totals.failed} failed, "
        f"{totals.still_accepted} still waiting, {totals.failed_jobs} failed jobs; orders "
        f"{totals.orders:,} for {len(stored_new):,} stored new events (**double-counted "
        f"{double}**), sum of amounts {totals.amount:,} vs sent {expected_amount:,} "
        f"({'equal' if totals.amount == expected_amount else 'DIFFERENT'})",
    ]


def _cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system CPU time of a child process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _sessions(url: str) -> int:
    """Connections the server has opened to the database so far (pg_stat_database): a
    pool that closes and reopens connections under load costs the server a backend each."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            )
    finally:
        await engine.dispose()
    return int(found or 0)


def _started(workers: list[subprocess.Popen[bytes]], most: float = 60.0) -> None:
    """Wait until the workers' start-up is over: their CPU time stops growing (they wait
    for jobs), or `most` seconds."""
    deadline = time.monotonic() + most
    before = sum(map(_cpu_seconds, workers))
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = sum(map(_cpu_seconds, workers))
        if now - before < 0.05:
            return
        before = now


def _cpu_line(
    deliveries: int,
    events: int,
    jobs: int,
    api: float,
    workers: float,
    postgres: float | None,
) -> str:
    """CPU per delivery of each process kind, which the machine's load does not inflate
    (much), and the rate two free cores would allow at that cost."""
    pg = (
        f"; PostgreSQL (every server process) {postgres * 1000 / deliveries:.1f} ms per delivery"
        if postgres is not None
        else "; PostgreSQL not measured (an external server)"
    )
    total = api + workers + (postgres or 0.0)
    per = total * 1000 / deliveries
    return (
        f"CPU (whatever the load): API process {api * 1000 / deliveries:.1f} ms per delivery; "
        f"worker processes {workers * 1000 / jobs:.1f} ms per reclassification job "
        f"({workers * 1000 / events:.1f} ms per event){pg}; **{per:.1f} ms per delivery in all**, "
        f"so two free cores would take at most {2000 / per:,.0f} deliveries/s"
    )


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=200, help="events per second")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--hot", type=int, default=3_000, help="customers the events go to")
    parser.add_argument("--duplicates", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lease", type=int, default=10, help="job lease seconds of the workers")
    parser.add_argument("--down", type=float, default=5.0, help="seconds the killed worker is down")
    parser.add_argument(
        "--connections", type=int, default=16, help="concurrent deliveries (the API pool is 20)"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds a delivery may take (then: failed)"
    )
    parser.add_argument("--settle", type=float, default=300.0)
    parser.add_argument("--database-url", default=None, help="an admin URL of a server to use")
    parser.add_argument(
        "--reuse", action="store_true", help="use the database a run with --customers left"
    )
    parser.add_argument("--print-only", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()

    prepared_file = args.data_dir / DATABASE / "prepared.json"
    prepared = json.loads(prepared_file.read_text()) if prepared_file.exists() else {}
    reuse = args.reuse and prepared.get("customers") == args.customers
    embedded: EmbeddedPostgres | None = None
    if reuse and args.database_url is None:
        embedded = EmbeddedPostgres(args.data_dir / DATABASE)
        url = embedded.url(DATABASE)
    elif reuse:
        url = make_url(args.database_url).set(database=DATABASE).render_as_string(False)
    else:
        print(f"preparing {args.customers:,} customers …", file=sys.stderr)
        url, embedded = asyncio.run(fresh_database(DATABASE, args.data_dir, args.database_url))
    server = None
    workers: list[subprocess.Popen[bytes]] = []
    lines: list[str] = []
    try:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        # A pool as large as the deliveries in flight: one smaller (the default 10, plus
        # 10 overflow connections closed as soon as they are returned) opens and closes
        # server connections all along, each costing PostgreSQL a backend and asyncpg's
        # type introspection (~6 ms of server CPU apiece, measured).
        os.environ.setdefault("CRMC_DB_POOL_SIZE", str(args.connections + 4))
        if reuse:
            tenant_id, key = uuid.UUID(prepared["tenant_id"]), prepared["key"]
            asyncio.run(upgrade_to_head(url))  # serve refuses a database behind the code
            server = serve(url, port, worker=False)
        else:
            tenant_id, key = asyncio.run(_prepare(url, args.customers))
            server = serve(url, port, worker=False)
            for template in TEMPLATES:
                installed = httpx.post(
                    f"{base}/api/v1/templates/{template}/install",
                    headers={"Authorization": f"Bearer {key}"},
                )
                installed.raise_for_status()
            prepared_file.parent.mkdir(parents=True, exist_ok=True)
            prepared_file.write_text(
                json.dumps({"customers": args.customers, "tenant_id": str(tenant_id), "key": key})
            )
        admin = {"Authorization": f"Bearer {key}"}
        secret = httpx.post(f"{base}/api/v1/webhooks/inbound-secret", headers=admin).json()[
            "secret"
        ]
        tag = uuid.uuid4().hex[:4]
        workers = [_worker(url, args.lease) for _ in range(args.workers)]
        _started(workers)  # their start-up (imports) is no event's CPU
        load_before = _load_average()
        lines.append(
            f"{args.customers:,} demo customers, the 4 seed trees published; {args.rate} signed "
            f"order.created events/s for {args.seconds} s per phase to {args.hot:,} customers, "
            f"{args.duplicates:.0%} re-deliveries; `serve` (no in-process worker) + "
            f"{args.workers} `worker` processes; all on this machine (load average 1/5/15 min "
            f"at start: {load_before})"
        )
        jobs_before = asyncio.run(_totals(url, tenant_id, "none")).jobs
        for name, kill in (("steady", False), ("killed", True)):
            phase = Phase(name, f"{name}{tag}")
            killer = Killer(workers, url, args.lease, args.seconds / 3, args.down) if kill else None
            print(f"phase {name} …", file=sys.stderr)
            api_cpu, workers_cpu = _cpu_seconds(server), sum(map(_cpu_seconds, workers))
            pg_cpu = postgres_cpu(embedded.pgdata) if embedded is not None else None
            sessions = asyncio.run(_sessions(url))
            asyncio.run(_load(base, secret, args, phase, killer))
            api_cpu = _cpu_seconds(server) - api_cpu
            settle = asyncio.run(_settle(url, tenant_id, phase.name, args.settle))
            workers_cpu = sum(map(_cpu_seconds, workers)) - workers_cpu
            if pg_cpu is not None and embedded is not None:
                pg_cpu = postgres_cpu(embedded.pgdata) - pg_cpu
            sessions = asyncio.run(_sessions(url)) - sessions - 1  # less the one asking
            totals = asyncio.run(_totals(url, tenant_id, phase.name))
            lines += _lines(phase, totals, settle, killer, jobs_before)
            jobs = totals.jobs - jobs_before
            if not kill and totals.events and jobs:
                lines.append(
                    _cpu_line(len(phase.sent), totals.events, jobs, api_cpu, workers_cpu, pg_cpu)
                    + f"; {sessions:,} server connections opened during the phase"
                )
            jobs_before = totals.jobs
        lines.append(f"load average at the end: {_load_average()}")
        postgres = asyncio.run(server_version(url))
        if args.print_only:
            print("\n".join(f"- {line}" for line in lines))
        else:
            record("Inbound webhooks under load", lines, postgres=postgres)
    finally:
        for process in [*workers, *([server] if server else [])]:
            process.terminate()
        for process in [*workers, *([server] if server else [])]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
