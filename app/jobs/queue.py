"""A durable job queue in PostgreSQL.

Why not a queue library: jobs here are enqueued in the same transaction as the rows
they work on (a classification run, an import), so a job exists exactly when its run
does — no lost or orphaned work after a crash. procrastinate, the Postgres queue for
Python, defers through its own psycopg connection and cannot join our asyncpg
transaction; the few statements below can. Workers claim with `FOR UPDATE SKIP LOCKED`
under a lease: a crashed worker's job is claimed again when its lease expires, and
handlers resume from their checkpoint. `NOTIFY` (delivered at commit) wakes idle
workers at once; they also poll, so a missed notification only costs a second.
"""

import functools
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    Uuid,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Job

CHANNEL = "crmc_jobs"
LEASE = timedelta(seconds=60)
_UUIDS = ARRAY(Uuid())
_INTEGERS = ARRAY(Integer())
_TEXTS = ARRAY(Text())


async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any] | None = None,
    priority: int = 100,
    max_attempts: int = 3,
    delay: timedelta | None = None,
) -> Job:
    """Add a job in the caller's transaction; workers see it when that commits (and,
    with `delay`, not before that much time has passed)."""
    job = Job(
        tenant_id=tenant_id,
        kind=kind,
        payload=payload or {},
        priority=priority,
        max_attempts=max_attempts,
    )
    if delay is not None:
        job.run_after = func.now() + delay  # SQL, set at flush
    session.add(job)
    await session.flush()
    await session.execute(
        text("SELECT pg_notify(:channel, :kind)"), {"channel": CHANNEL, "kind": kind}
    )
    await session.refresh(job)
    return job


async def enqueue_once_many(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    kind: str,
    jobs: list[tuple[str, dict[str, Any]]],
    priority: int = 100,
) -> int:
    """Queue a job per (key, payload) unless one of this kind and key is queued already
    (then it stays the one job, with the new payload); how many new jobs were queued.
    One statement, the notification of new jobs included; keys must be distinct.

    A queued job's row is updated, not left alone, so it stays locked until the caller
    commits: a worker claims with SKIP LOCKED, so it cannot start the job before what the
    caller wrote is visible to it. A job already running is no longer "queued", so work
    arriving while it runs queues a new one. Rows are written in the order given: callers
    that list keys in one order lock them in that order.
    """
    if not jobs:
        return 0
    found = (
        await session.execute(
            _enqueue_once_many(),
            {
                "tenant_id": tenant_id,
                "kind": kind,
                "keys": [key for key, _ in jobs],
                "payloads": [json.dumps(payload) for _, payload in jobs],
                "priority": priority,
                "channel": CHANNEL,
            },
        )
    ).one()
    return int(found[0])


@functools.cache
def _enqueue_once_many() -> Select[tuple[int, Any]]:
    """The statement of `enqueue_once_many`, made once (every inbound event runs it)."""
    listed = (
        func.unnest(bindparam("keys", type_=_TEXTS), bindparam("payloads", type_=_TEXTS))
        .table_valued("key", "payload", with_ordinality="n")
        .render_derived(name="listed")
    )
    rows = (
        select(
            bindparam("tenant_id", type_=Uuid()),
            bindparam("kind", type_=String()),
            listed.c.key,
            cast(listed.c.payload, JSONB),
            bindparam("priority", type_=Integer()),
        )
        .select_from(listed)
        .order_by(listed.c.n)
    )
    upsert = pg_insert(Job).from_select(
        ["tenant_id", "kind", "dedupe_key", "payload", "priority"], rows, include_defaults=False
    )
    queued = (
        upsert.on_conflict_do_update(
            index_elements=["tenant_id", "kind", "dedupe_key"],
            index_where=text("status = 'queued' AND dedupe_key IS NOT NULL"),
            set_={"payload": upsert.excluded.payload},
        )
        .returning(literal_column("xmax = 0").label("inserted"))
        .cte("queued")
    )
    new = select(func.count()).select_from(queued).where(queued.c.inserted).scalar_subquery()
    notify = func.pg_notify(bindparam("channel", type_=String()), bindparam("kind", type_=String()))
    return select(new, case((new > 0, notify), else_=None))


def _runnable(now: Any) -> ColumnElement[bool]:
    """Queued and due, or running under a lease that ran out with attempts left."""
    return or_(
        (Job.status == "queued") & (Job.run_after <= now),
        (Job.status == "running")
        & (Job.lease_expires_at < now)
        & (Job.attempts < Job.max_attempts),
    )


def _taken(worker_id: str, now: Any, lease: timedelta) -> dict[str, Any]:
    """What a claim sets on a job it takes."""
    return {
        "status": "running",
        "attempts": Job.attempts + 1,
        "worker_id": worker_id,
        "lease_expires_at": now + lease,
        "started_at": func.coalesce(Job.started_at, now),
    }


async def claim(
    session: AsyncSession,
    worker_id: str,
    kinds: list[str],
    lease: timedelta = LEASE,
    *,
    tenant_id: uuid.UUID | None = None,
) -> Job | None:
    """Take the next runnable job (queued, or running with an expired lease); only
    `tenant_id`'s jobs when it is given."""
    now = func.now()
    only_tenant = Job.tenant_id == tenant_id if tenant_id is not None else true()
    runnable = (
        select(Job.id)
        .where(
            Job.kind.in_(kinds),
            only_tenant,
            _runnable(now),
        )
        .order_by(Job.priority, Job.run_after)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return await session.scalar(
        update(Job)
        .where(Job.id == runnable)
        .values(_taken(worker_id, now, lease))
        .returning(Job)
        .execution_options(populate_existing=True)
    )


async def claim_more(
    session: AsyncSession,
    worker_id: str,
    kind: str,
    tenant_id: uuid.UUID,
    limit: int,
    lease: timedelta = LEASE,
) -> list[Job]:
    """Take up to `limit` more runnable jobs of one kind and tenant (as `claim` takes
    one), for a handler that does many jobs' work at once."""
    if limit <= 0:
        return []
    now = func.now()
    runnable = (
        select(Job.id)
        .where(
            Job.kind == kind,
            Job.tenant_id == tenant_id,
            _runnable(now),
        )
        .order_by(Job.priority, Job.run_after)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(Job)
        .where(Job.id.in_(runnable.scalar_subquery()))
        .values(_taken(worker_id, now, lease))
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return list(claimed)


async def extend_leases(
    session: AsyncSession, job_ids: list[uuid.UUID], worker_id: str, lease: timedelta = LEASE
) -> int:
    """Keep several running jobs ours; how many still were."""
    kept = await session.scalars(
        update(Job)
        .where(Job.id.in_(job_ids), Job.worker_id == worker_id, Job.status == "running")
        .values(lease_expires_at=func.now() + lease)
        .returning(Job.id)
    )
    return len(kept.all())


async def extend_lease(
    session: AsyncSession, job_id: uuid.UUID, worker_id: str, lease: timedelta = LEASE
) -> bool:
    """Keep a running job ours; False when it was cancelled or taken over."""
    still_ours = await session.scalar(
        update(Job)
        .where(Job.id == job_id, Job.worker_id == worker_id, Job.status == "running")
        .values(lease_expires_at=func.now() + lease)
        .returning(Job.cancel_requested)
    )
    return still_ours is not None and not still_ours


async def report_progress(
    session: AsyncSession,
    job_id: uuid.UUID,
    done: int,
    total: int | None,
    checkpoint: dict[str, Any] | None = None,
) -> None:
    """Progress (and a resume point), visible to API readers when committed."""
    values: dict[str, Any] = {"progress_done": done, "progress_total": total}
    if checkpoint is not None:
        values["checkpoint"] = checkpoint
    await session.execute(update(Job).where(Job.id == job_id).values(**values))


async def finish(
    session: AsyncSession,
    job: Job,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    cancelled: bool = False,
) -> str | None:
    """Record the outcome; a failure with attempts left goes back to the queue with backoff.
    Returns the job's new status ("failed" only once no attempt is left), or None when the
    job is no longer this worker's: its lease ran out and another worker took it over (or
    ended it), and only that worker's outcome counts."""
    now = datetime.now(UTC)
    if cancelled:
        values: dict[str, Any] = {"status": "cancelled", "finished_at": now}
    elif error is None:
        values = {"status": "succeeded", "result": result, "finished_at": now}
    elif job.attempts < job.max_attempts and await has_queued_twin(session, job):
        # The same work is queued again already (same dedupe key) and will redo this.
        values = {"status": "cancelled", "error": error, "finished_at": now}
    elif job.attempts < job.max_attempts:
        backoff = timedelta(seconds=min(300, 2**job.attempts))
        values = {"status": "queued", "error": error, "run_after": now + backoff}
    else:
        values = {"status": "failed", "error": error, "finished_at": now}
    recorded = await session.scalar(
        update(Job)
        .where(
            Job.id == job.id,
            Job.worker_id == job.worker_id,
            Job.attempts == job.attempts,
            Job.status == "running",
        )
        .values(lease_expires_at=None, **values)
        .returning(Job.id)
    )
    return str(values["status"]) if recorded is not None else None


async def finish_succeeded(
    session: AsyncSession, jobs: list[Job], results: dict[uuid.UUID, dict[str, Any] | None]
) -> int:
    """Record several jobs' success in one statement (as `finish` records one); how many
    were still this worker's to record."""
    if not jobs:
        return 0
    done = (
        func.unnest(
            bindparam("ids", [job.id for job in jobs], type_=_UUIDS),
            bindparam("attempts", [job.attempts for job in jobs], type_=_INTEGERS),
            bindparam("results", [_json(results.get(job.id)) for job in jobs], type_=_TEXTS),
        )
        .table_valued("id", "attempts", "result")
        .render_derived(name="done")
    )
    recorded = await session.scalars(
        update(Job)
        .where(
            Job.id == done.c.id,
            Job.worker_id == jobs[0].worker_id,
            Job.attempts == done.c.attempts,
            Job.status == "running",
        )
        .values(
            status="succeeded",
            result=cast(done.c.result, JSONB),
            finished_at=func.now(),
            lease_expires_at=None,
        )
        .returning(Job.id)
    )
    return len(recorded.all())


def _json(value: dict[str, Any] | None) -> str | None:
    return json.dumps(value) if value is not None else None


async def has_queued_twin(session: AsyncSession, job: Job) -> bool:
    """Whether another job of the same kind and dedupe key is queued: this one may then
    not go back to the queue (at most one is queued per key), and need not."""
    if job.dedupe_key is None:
        return False
    twin = await session.scalar(
        select(Job.id)
        .where(
            Job.tenant_id == job.tenant_id,
            Job.kind == job.kind,
            Job.dedupe_key == job.dedupe_key,
            Job.status == "queued",
            Job.id != job.id,
        )
        .limit(1)
    )
    return twin is not None


async def request_cancel(
    session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> Job | None:
    """Ask a job to stop: a queued job is cancelled at once, a running one at its next
    lease renewal or progress report."""
    job = await session.scalar(
        select(Job).where(Job.tenant_id == tenant_id, Job.id == job_id).with_for_update()
    )
    if job is None:
        return None
    if job.status == "queued":
        job.status = "cancelled"
        job.finished_at = datetime.now(UTC)
    elif job.status == "running":
        job.cancel_requested = True
    await session.flush()
    return job
