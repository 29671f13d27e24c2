"""The job queue: atomic enqueue, one run per job, retries, crash recovery, cancellation.

Every test runs its own tenant's jobs only (`Worker(..., tenant_id=...)`) and keeps what
the handlers did per job id, so the tests pass in any order. Waits are events set by the
handlers, never a clock.
"""

import asyncio
import itertools
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from app.core.db import Database, DatabaseUnavailable
from app.jobs import queue
from app.jobs.worker import JobContext, Worker, job_handler
from app.models import Job
from tests.conftest import TenantKeys


@dataclass
class Runs:
    """What the test handlers did for one job."""

    words: list[str] = field(default_factory=list)
    working: asyncio.Event = field(default_factory=asyncio.Event)  # a slow job is under way
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # an echo returned


RUNS: defaultdict[uuid.UUID, Runs] = defaultdict(Runs)  # by job id: no test sees another's


@job_handler("test.echo")
async def _echo(ctx: JobContext) -> dict[str, Any]:
    runs = RUNS[ctx.job.id]
    runs.words.append(ctx.payload["word"])
    await ctx.progress(1, 1, checkpoint={"done": 1})
    runs.finished.set()
    return {"echo": ctx.payload["word"]}


@job_handler("test.fail")
async def _fail(ctx: JobContext) -> None:
    raise RuntimeError("boom")


@job_handler("test.slow")
async def _slow(ctx: JobContext) -> None:
    # Works until it is cancelled or its worker stops: no step count that a slow machine
    # could run out of before the test gets to cancel it.
    for step in itertools.count():
        await ctx.progress(step)
        RUNS[ctx.job.id].working.set()
        await asyncio.sleep(0.01)  # a step of work


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
    worker = Worker(database, tenant_id=tenant.id)
    assert await worker.run_until_idle() == 1
    done = await _job(database, job.id)
    assert (done.status, done.result, done.attempts) == ("succeeded", {"echo": "你好"}, 1)
    assert (done.progress_done, done.progress_total) == (1, 1)
    assert RUNS[job.id].words == ["你好"]
    assert not await worker.run_once(), "a finished job must not run again"


async def test_a_worker_for_one_tenant_leaves_the_other_tenants_jobs_alone(
    database: Database, make_tenant: Any
) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    their_job = await _enqueue(database, theirs, "test.echo", payload={"word": "theirs"})
    our_job = await _enqueue(database, ours, "test.echo", payload={"word": "ours"})
    assert await Worker(database, tenant_id=ours.id).run_until_idle() == 1
    assert (await _job(database, our_job.id)).status == "succeeded"
    assert (await _job(database, their_job.id)).status == "queued"
    assert await Worker(database, tenant_id=theirs.id).run_until_idle() == 1
    assert RUNS[their_job.id].words == ["theirs"]


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
    worker = Worker(database, tenant_id=tenant.id)
    before = datetime.now(UTC)  # the clock the worker dates its backoff with
    assert await worker.run_once()
    first = await _job(database, job.id)
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.run_after >= before + timedelta(seconds=2)  # 2 ** attempts seconds
    assert first.error == {"type": "RuntimeError", "message": "boom"}
    async with database.sessionmaker() as session, session.begin():
        await session.execute(update(Job).where(Job.id == job.id).values(run_after=func.now()))
    assert await worker.run_once()
    assert (await _job(database, job.id)).status == "failed"
    assert not await worker.run_once(), "a failed job is not retried again"


async def test_a_crashed_workers_job_is_claimed_again_after_its_lease(
    database: Database, tenant: TenantKeys
) -> None:
    job = await _enqueue(database, tenant, "test.echo", payload={"word": "again"})
    async with database.sessionmaker() as session, session.begin():
        claimed = await queue.claim(session, "crashed-worker", ["test.echo"], tenant_id=tenant.id)
        assert claimed is not None
        assert claimed.id == job.id
    # The crashed worker never finishes; another worker must wait for the lease …
    assert not await Worker(database, tenant_id=tenant.id).run_once()
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(lease_expires_at=func.now() - timedelta(seconds=1))  # the database's clock
        )
    # … and then takes it over.
    assert await Worker(database, tenant_id=tenant.id).run_once()
    done = await _job(database, job.id)
    assert (done.status, done.attempts) == ("succeeded", 2)
    assert RUNS[job.id].words == ["again"]


async def test_cancelling_a_queued_job_means_it_never_runs(
    database: Database, tenant: TenantKeys
) -> None:
    job = await _enqueue(database, tenant, "test.echo", payload={"word": "never"})
    async with database.sessionmaker() as session, session.begin():
        await queue.request_cancel(session, tenant.id, job.id)
    assert await Worker(database, tenant_id=tenant.id).run_until_idle() == 0
    assert (await _job(database, job.id)).status == "cancelled"
    assert job.id not in RUNS


async def test_a_running_job_stops_when_cancelled(database: Database, tenant: TenantKeys) -> None:
    job = await _enqueue(database, tenant, "test.slow")
    worker = Worker(database, heartbeat_seconds=0.05, tenant_id=tenant.id)
    running = asyncio.create_task(worker.run_once())
    await RUNS[job.id].working.wait()
    async with database.sessionmaker() as session, session.begin():
        await queue.request_cancel(session, tenant.id, job.id)
    assert await running  # returns only once the job stopped: it never ends by itself
    assert (await _job(database, job.id)).status == "cancelled"


async def test_a_stopping_worker_hands_its_job_back(database: Database, tenant: TenantKeys) -> None:
    job = await _enqueue(database, tenant, "test.slow")
    running = asyncio.create_task(Worker(database, tenant_id=tenant.id).run_once())
    await RUNS[job.id].working.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    released = await _job(database, job.id)
    assert (released.status, released.attempts, released.worker_id) == ("queued", 0, None)
    async with database.sessionmaker() as session, session.begin():
        # Leave nothing runnable behind for a worker that takes every tenant's jobs.
        await queue.request_cancel(session, tenant.id, job.id)


async def test_an_idle_worker_is_woken_by_a_new_job_instead_of_waiting_for_its_poll(
    database: Database, tenant: TenantKeys
) -> None:
    # It never polls: only the NOTIFY sent when the job commits (or its first look, if
    # the job is there already) can bring it to the job.
    worker = Worker(database, poll_seconds=math.inf, tenant_id=tenant.id)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop))
    try:
        await worker.listening.wait()
        job = await _enqueue(database, tenant, "test.echo", payload={"word": "fast"})
        await RUNS[job.id].finished.wait()
    finally:
        stop.set()
        await running  # returns after the job it runs is recorded
    assert (await _job(database, job.id)).status == "succeeded"


async def test_jobs_of_one_tenant_are_invisible_to_cancel_from_another(
    database: Database, make_tenant: Any
) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    job = await _enqueue(database, theirs, "test.echo", payload={"word": "x"})
    async with database.sessionmaker() as session, session.begin():
        assert await queue.request_cancel(session, ours.id, job.id) is None
        status = await session.scalar(select(Job.status).where(Job.id == job.id))
    assert status == "queued"


HELD: defaultdict[tuple[uuid.UUID, int], asyncio.Event] = defaultdict(asyncio.Event)


@job_handler("test.held")
async def _held(ctx: JobContext) -> dict[str, Any]:
    """Works until the test lets this attempt finish."""
    RUNS[ctx.job.id].working.set()
    await HELD[(ctx.job.id, ctx.job.attempts)].wait()
    return {"attempt": ctx.job.attempts}


async def test_a_worker_whose_job_was_taken_over_leaves_the_outcome_to_the_new_worker(
    database: Database, tenant: TenantKeys
) -> None:
    job = await _enqueue(database, tenant, "test.held")
    # A stalled worker: it renews no lease while the test runs.
    stalled = Worker(database, heartbeat_seconds=3600, tenant_id=tenant.id)
    first = asyncio.create_task(stalled.run_once())
    await RUNS[job.id].working.wait()
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Job).where(Job.id == job.id).values(lease_expires_at=func.now())
        )
    RUNS[job.id].working.clear()
    taker = Worker(database, heartbeat_seconds=3600, tenant_id=tenant.id)
    second = asyncio.create_task(taker.run_once())
    await RUNS[job.id].working.wait()
    HELD[(job.id, 1)].set()  # the stalled worker comes back and finishes its attempt
    assert await first
    meanwhile = await _job(database, job.id)
    assert (meanwhile.status, meanwhile.worker_id) == ("running", taker.worker_id)
    HELD[(job.id, 2)].set()
    assert await second
    done = await _job(database, job.id)
    assert (done.status, done.result, done.attempts) == ("succeeded", {"attempt": 2}, 2)


async def test_a_lease_renewal_that_fails_once_is_tried_again_and_the_job_finishes(
    database: Database, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await _enqueue(database, tenant, "test.held")
    renew = queue.extend_lease
    calls = {"n": 0}

    async def flaky(*args: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise DatabaseUnavailable("the database system is starting up")
        if calls["n"] == 2:
            HELD[(job.id, 1)].set()  # renewed after the failure: the job may finish
        return await renew(*args, **kwargs)

    monkeypatch.setattr(queue, "extend_lease", flaky)
    worker = Worker(database, heartbeat_seconds=0.01, tenant_id=tenant.id)
    assert await asyncio.wait_for(worker.run_once(), 120)  # never waits this long
    done = await _job(database, job.id)
    assert (done.status, done.result, done.attempts) == ("succeeded", {"attempt": 1}, 1)


@job_handler("test.bad_sql")
async def _bad_sql(ctx: JobContext) -> None:
    async with ctx.database.sessionmaker() as session:
        await session.execute(text("SELECT 1 / :zero"), {"zero": 0})


async def test_a_job_failing_in_the_database_records_the_databases_words_not_the_statement(
    database: Database, tenant: TenantKeys
) -> None:
    job = await _enqueue(database, tenant, "test.bad_sql", max_attempts=1)
    assert await Worker(database, tenant_id=tenant.id).run_once()
    failed = await _job(database, job.id)
    assert failed.status == "failed"
    assert failed.error == {"type": "DivisionByZeroError", "message": "division by zero"}


async def test_a_worker_whose_listening_connection_was_cut_listens_again(
    database: Database, tenant: TenantKeys
) -> None:
    # It never polls: after its LISTEN connection is cut (as a server restart cuts it),
    # only listening again can bring it to a new job.
    worker = Worker(database, poll_seconds=math.inf, tenant_id=tenant.id)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop))
    try:
        await worker.listening.wait()
        worker.listening.clear()
        async with database.sessionmaker() as session, session.begin():
            cut = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            )
        assert cut == 1
        await asyncio.wait_for(worker.listening.wait(), 120)  # never waits this long
        job = await _enqueue(database, tenant, "test.echo", payload={"word": "again"})
        await asyncio.wait_for(RUNS[job.id].finished.wait(), 120)
    finally:
        stop.set()
        await running
    assert (await _job(database, job.id)).status == "succeeded"
