"""The job queue: atomic enqueue, one run per job, retries, crash recovery, cancellation."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.core.db import Database
from app.jobs import queue
from app.jobs.worker import JobContext, Worker, job_handler
from app.models import Job
from tests.conftest import TenantKeys

CALLS: list[str] = []


@job_handler("test.echo")
async def _echo(ctx: JobContext) -> dict[str, Any]:
    CALLS.append(ctx.payload["word"])
    await ctx.progress(1, 1, checkpoint={"done": 1})
    return {"echo": ctx.payload["word"]}


@job_handler("test.fail")
async def _fail(ctx: JobContext) -> None:
    raise RuntimeError("boom")


@job_handler("test.slow")
async def _slow(ctx: JobContext) -> None:
    for step in range(1000):
        await ctx.progress(step, 1000)
        await asyncio.sleep(0.01)


async def _enqueue(database: Database, tenant: TenantKeys, kind: str, **kw: Any) -> Job:
    async with database.sessionmaker() as session, session.begin():
        return await queue.enqueue(session, tenant_id=tenant.id, kind=kind, **kw)


async def _job(database: Database, job_id: Any) -> Job:
    async with database.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def test_a_queued_job_runs_once_and_records_its_result(
    database: Database, tenant: TenantKeys
) -> None:
    job = await _enqueue(database, tenant, "test.echo", payload={"word": "你好"})
    worker = Worker(database)
    while await worker.run_once():
        pass
    done = await _job(database, job.id)
    assert (done.status, done.result, done.attempts) == ("succeeded", {"echo": "你好"}, 1)
    assert (done.progress_done, done.progress_total) == (1, 1)
    assert CALLS.count("你好") == 1
    assert not await worker.run_once(), "a finished job must not run again"


async def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(
    database: Database, tenant: TenantKeys
) -> None:
    async with database.sessionmaker() as session, session.begin():
        job = await queue.enqueue(session, tenant_id=tenant.id, kind="test.echo")
        job_id = job.id
        await session.rollback()
    async with database.sessionmaker() as session:
        assert await session.get(Job, job_id) is None


async def test_a_failing_job_is_retried_with_backoff_then_failed(
    database: Database, tenant: TenantKeys
) -> None:
    job = await _enqueue(database, tenant, "test.fail", max_attempts=2)
    worker = Worker(database)
    await worker.run_until_idle()
    first = await _job(database, job.id)
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.run_after > datetime.now(UTC)
    assert first.error == {"type": "RuntimeError", "message": "boom"}
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Job).where(Job.id == job.id).values(run_after=datetime.now(UTC))
        )
    await worker.run_until_idle()
    assert (await _job(database, job.id)).status == "failed"


async def test_a_crashed_workers_job_is_claimed_again_after_its_lease(
    database: Database, tenant: TenantKeys
) -> None:
    job = await _enqueue(database, tenant, "test.echo", payload={"word": "again"})
    async with database.sessionmaker() as session, session.begin():
        claimed = await queue.claim(session, "crashed-worker", ["test.echo"])
        assert claimed is not None
        assert claimed.id == job.id
    # The crashed worker never finishes; another worker must wait for the lease …
    assert not await Worker(database).run_once()
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    # … and then takes it over.
    assert await Worker(database).run_once()
    done = await _job(database, job.id)
    assert (done.status, done.attempts) == ("succeeded", 2)


async def test_cancelling_a_queued_job_means_it_never_runs(
    database: Database, tenant: TenantKeys
) -> None:
    job = await _enqueue(database, tenant, "test.echo", payload={"word": "never"})
    async with database.sessionmaker() as session, session.begin():
        await queue.request_cancel(session, tenant.id, job.id)
    await Worker(database).run_until_idle()
    assert (await _job(database, job.id)).status == "cancelled"
    assert "never" not in CALLS


async def _wait_for(database: Database, job_id: Any, predicate: Any) -> Job:
    deadline = time.monotonic() + 10
    while not predicate(job := await _job(database, job_id)):
        assert time.monotonic() < deadline, f"job stuck: {job.status} {job.progress_done}"
        await asyncio.sleep(0.02)
    return job


async def test_a_running_job_stops_when_cancelled(database: Database, tenant: TenantKeys) -> None:
    job = await _enqueue(database, tenant, "test.slow")
    worker = Worker(database, heartbeat_seconds=0.05)
    running = asyncio.create_task(worker.run_once())
    await _wait_for(database, job.id, lambda j: j.progress_done >= 3)
    async with database.sessionmaker() as session, session.begin():
        await queue.request_cancel(session, tenant.id, job.id)
    assert await running
    stopped = await _job(database, job.id)
    assert stopped.status == "cancelled"
    assert stopped.progress_done < 1000


async def test_a_stopping_worker_hands_its_job_back(database: Database, tenant: TenantKeys) -> None:
    job = await _enqueue(database, tenant, "test.slow")
    running = asyncio.create_task(Worker(database).run_once())
    await _wait_for(database, job.id, lambda j: j.progress_done >= 3)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    released = await _job(database, job.id)
    assert (released.status, released.attempts, released.worker_id) == ("queued", 0, None)
    async with database.sessionmaker() as session, session.begin():
        await queue.request_cancel(session, tenant.id, job.id)  # leave nothing runnable behind


async def test_an_idle_worker_is_woken_by_a_new_job_instead_of_waiting_for_its_poll(
    database: Database, tenant: TenantKeys
) -> None:
    worker = Worker(database, poll_seconds=600)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop))
    try:
        await asyncio.wait_for(worker.listening.wait(), timeout=10)
        job = await _enqueue(database, tenant, "test.echo", payload={"word": "fast"})
        # Far inside the 600 s poll: the NOTIFY at commit woke it (or its first look found it).
        await _wait_for(database, job.id, lambda j: j.status == "succeeded")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)


async def test_jobs_of_one_tenant_are_invisible_to_cancel_from_another(
    database: Database, make_tenant: Any
) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    job = await _enqueue(database, theirs, "test.echo", payload={"word": "x"})
    async with database.sessionmaker() as session, session.begin():
        assert await queue.request_cancel(session, ours.id, job.id) is None
        status = await session.scalar(select(Job.status).where(Job.id == job.id))
    assert status == "queued"
