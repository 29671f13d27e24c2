"""serve's job worker is a process of its own: jobs never run on the API's event loop,
the worker is restarted when it dies and stopped when serve stops. Real processes."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.core.settings import Settings
from app.imports.service import JOB_KIND
from app.jobs.supervisor import WorkerSupervisor, worker_environment
from app.models import Job, Role
from tests.conftest import REPO, OwnDatabase, new_tenant
from tests.imports.helpers import csv_bytes

DEADLINE = 300  # seconds a poll gives up after (a busy machine is slow, never this slow)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port: int, url: str, **settings: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CRMC_DATABASE_URL": url, "CRMC_LOG_LEVEL": "WARNING", **settings}
    return subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=REPO, env=env
    )


def _first_child(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return None
    return int(children[0]) if children else None


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def _until(check: Callable[[], Awaitable[object]], what: str) -> object:
    """Poll `check` until it returns something truthy (no fixed wait for work)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


async def test_serve_runs_jobs_in_a_supervised_worker_process_that_stops_with_it(
    own_database: OwnDatabase,
) -> None:
    tenant = await new_tenant(own_database.database)
    port = _free_port()
    serve = _serve(port, own_database.url, CRMC_WORKER_STOP_SECONDS="2")
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(
            base_url=base, headers=tenant.headers(Role.EDITOR), timeout=60
        ) as api:

            async def ready() -> bool:
                try:
                    return (await api.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(ready, "serve to be ready")

            async def worker_of(import_id: str) -> int:
                async with own_database.database.sessionmaker() as session:
                    worker_id = await session.scalar(
                        select(Job.worker_id).where(
                            Job.kind == JOB_KIND, Job.payload["import_id"].astext == import_id
                        )
                    )
                assert worker_id is not None
                return int(worker_id.split(":")[1])

            async def imported(rows: int, answered: list[int]) -> str:
                """Import `rows` customers; while the job runs, ask the API for things."""
                content = csv_bytes(
                    [["客户编号", "客户名称"]]
                    + [[f"P{uuid.uuid4().hex[:10]}", "甲"] for _ in range(rows)]
                )
                accepted = await api.post(
                    "/api/v1/imports",
                    data={"entity": "customers"},
                    files={"file": ("c.csv", content)},
                )
                assert accepted.status_code == 202, accepted.text
                import_id = accepted.json()["id"]

                async def finished() -> bool:
                    status = (await api.get(f"/api/v1/imports/{import_id}")).json()["status"]
                    if status == "running":
                        live = await api.get("/health/live")
                        page = await api.get("/api/v1/customers", params={"limit": 50})
                        after = (await api.get(f"/api/v1/imports/{import_id}")).json()
                        if after["status"] == "running":
                            answered.append(live.status_code + page.status_code)
                    return status in ("succeeded", "failed")

                await _until(finished, "the import to finish")
                report = (await api.get(f"/api/v1/imports/{import_id}")).json()
                assert (report["status"], report["counts"]["created"]) == ("succeeded", rows)
                return import_id

            answered: list[int] = []
            first = await worker_of(await imported(60_000, answered))
            # The API answered while the job ran, and the job ran elsewhere: in serve's
            # child, not on serve's event loop.
            assert answered
            assert set(answered) == {400}
            assert first != serve.pid
            assert _parent_of(first) == serve.pid
            # The worker yields the CPU to serve's requests (CRMC_WORKER_NICE, 10).
            assert _nice_of(first) == min(_nice_of(serve.pid) + 10, 19)

            os.kill(first, signal.SIGKILL)
            second = await worker_of(await imported(10, []))
            assert second != first
            assert _parent_of(second) == serve.pid
    finally:
        serve.send_signal(signal.SIGTERM)
        await asyncio.to_thread(serve.wait, DEADLINE)
    # uvicorn shuts down in order, then re-raises the signal it caught.
    assert serve.returncode in (0, -signal.SIGTERM)
    assert not _alive(second), "the worker outlived serve"


async def test_a_supervised_worker_stops_when_serve_dies_without_a_word(
    own_database: OwnDatabase,
) -> None:
    port = _free_port()
    serve = _serve(port, own_database.url)
    try:

        async def child() -> int | None:
            return _first_child(serve.pid)

        worker = await _until(child, "serve to start its worker")
        assert isinstance(worker, int)
    finally:
        serve.kill()  # SIGKILL: serve cannot stop anything itself
        await asyncio.to_thread(serve.wait, DEADLINE)

    async def gone() -> bool:
        return not _alive(worker)

    await _until(gone, "the orphaned worker to stop")


async def test_the_supervisor_replaces_a_killed_process_and_ends_the_last_one_when_stopped() -> (
    None
):
    # A stand-in worker: lives until its standard input closes, as the real one does.
    supervisor = WorkerSupervisor(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], dict(os.environ), stop_seconds=1
    )
    supervisor.start()
    await asyncio.wait_for(supervisor.started.wait(), DEADLINE)
    assert supervisor.process is not None
    first = supervisor.process.pid
    supervisor.started.clear()
    os.kill(first, signal.SIGKILL)
    await asyncio.wait_for(supervisor.started.wait(), DEADLINE)
    second = supervisor.process.pid
    assert (second != first, supervisor.starts) == (True, 2)
    await supervisor.stop()
    assert supervisor.process.returncode is not None
    assert not _alive(second)


def test_the_worker_reads_back_the_settings_serve_hands_it(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/crm"
    origins = ["https://crm.example.com", "http://localhost:5173"]
    for listed in ({}, {"cors_origins": origins, "webhook_allowed_networks": ["10.20.0.0/16"]}):
        given = Settings(database_url=url, **listed)
        for name, value in worker_environment(given, url).items():
            if name.startswith("CRMC_"):
                monkeypatch.setenv(name, value)
        assert Settings().model_dump() == given.model_dump()
