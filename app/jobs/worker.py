"""Running jobs: handlers by kind, a worker loop with leases, heartbeats and cancellation.

`crm-classifier worker` runs one on any machine; `crm-classifier serve` runs one as its
supervised child process (app/jobs/supervisor.py). Tests call
`Worker(database, tenant_id=…).run_until_idle()` to run what their own tenant queued,
without sleeping (and without running another test's jobs).

Besides jobs, a worker that takes every kind runs the periodic duties (firing due
schedules: app/schedules/firing.py) between jobs, at most once per `duty_seconds`. A duty
keeps its state in the database and is safe to run in any number of workers at once, so
it needs no timer of its own and no process in charge; `clock` is the time the duties
go by (tests pass a fixed one).
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.db import Database
from app.core.schemas import body_text_checked
from app.jobs import queue
from app.models import Job

log = logging.getLogger(__name__)

Handler = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]
HANDLERS: dict[str, Handler] = {}
# Called in the transaction that marks a job failed for good (no attempt left, or its
# worker lost on the last one), so that what the job worked for can say it failed.
FailureHook = Callable[[AsyncSession, Job, dict[str, Any]], Awaitable[None]]
FAILURE_HOOKS: dict[str, FailureHook] = {}
# A kind whose jobs are done many at once: the worker claims up to `size` of them (one
# tenant's) and the handler answers each job's outcome (its result, or the exception
# that failed it) by job id.
BatchHandler = Callable[["BatchContext"], Awaitable[dict[uuid.UUID, "JobOutcome"]]]
JobOutcome = dict[str, Any] | None | Exception


@dataclass(frozen=True)
class _Batched:
    handler: BatchHandler
    size: int


BATCH_HANDLERS: dict[str, _Batched] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of `kind`."""

    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


def job_batch_handler(kind: str, size: int) -> Callable[[BatchHandler], BatchHandler]:
    """Register the function that runs jobs of `kind` up to `size` at a time."""

    def register(handler: BatchHandler) -> BatchHandler:
        BATCH_HANDLERS[kind] = _Batched(handler, size)
        return handler

    return register


def on_job_failure(kind: str) -> Callable[[FailureHook], FailureHook]:
    """Register what to do when a job of `kind` has failed for good."""

    def register(hook: FailureHook) -> FailureHook:
        FAILURE_HOOKS[kind] = hook
        return hook

    return register


# A periodic duty: given the database, the time now and the one tenant to look at (None:
# every tenant), it does what has come due and says how much it did.
Duty = Callable[[Database, datetime, uuid.UUID | None], Awaitable[int]]


@dataclass(frozen=True)
class _Duty:
    run: Duty
    every: float | None  # seconds between two looks of one worker; None: every look


DUTIES: dict[str, _Duty] = {}


def periodic_duty(name: str, every: timedelta | None = None) -> Callable[[Duty], Duty]:
    """Register a duty that workers run between jobs (see the module docstring): at every
    look (`duty_seconds`), or at most once per `every` in one worker (housekeeping that
    has no deadline)."""

    def register(duty: Duty) -> Duty:
        DUTIES[name] = _Duty(duty, every.total_seconds() if every else None)
        return duty

    return register


class Backoff:
    """Waits between tries of something failing again and again (the database gone):
    doubling from `first` up to `most`; the first failure of a streak is worth a traceback,
    the rest one line each, and the streak's end one line."""

    def __init__(self, first: float, most: float) -> None:
        self.first, self.most = first, most
        self.failures = 0

    def failed(self) -> float:
        """Count a failure; the seconds to wait before the next try."""
        self.failures += 1
        return min(self.most, self.first * 2 ** (self.failures - 1))

    def succeeded(self) -> int:
        """End a streak; how many failures it had."""
        streak, self.failures = self.failures, 0
        return streak


def _utc_now() -> datetime:
    return datetime.now(UTC)


class JobCancelled(Exception):
    """Raised inside a handler when its job was cancelled."""


@dataclass
class JobContext:
    """What a handler gets: its job, the database, and a way to report progress."""

    job: Job
    database: Database
    worker_id: str
    _cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.job.tenant_id

    @property
    def checkpoint(self) -> dict[str, Any] | None:
        """Where an earlier attempt got to (None on the first attempt)."""
        return self.job.checkpoint

    async def progress(
        self, done: int, total: int | None = None, checkpoint: dict[str, Any] | None = None
    ) -> None:
        """Publish progress (own short transaction); raises JobCancelled if cancelled."""
        if self._cancelled.is_set():
            raise JobCancelled
        async with self.database.sessionmaker() as session, session.begin():
            await queue.report_progress(session, self.job.id, done, total, checkpoint)
        if checkpoint is not None:
            self.job.checkpoint = checkpoint


@dataclass
class BatchContext:
    """What a batch handler gets: its jobs (one kind, one tenant) and the database."""

    jobs: list[Job]
    database: Database
    worker_id: str

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.jobs[0].tenant_id


class Worker:
    """Claims and runs jobs of the registered kinds (of one tenant, if given), one at a
    time per worker."""

    def __init__(
        self,
        database: Database,
        *,
        poll_seconds: float = 1.0,
        lease: timedelta = queue.LEASE,
        heartbeat_seconds: float | None = None,
        kinds: list[str] | None = None,
        tenant_id: uuid.UUID | None = None,
        duty_seconds: float = 15.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.database = database
        self.kinds = kinds  # None: every registered kind, and the periodic duties
        self.tenant_id = tenant_id  # None: every tenant's jobs
        self.duty_seconds = duty_seconds
        self.clock = clock
        self._duties_at: float | None = None  # loop time the duties last ran
        self._duty_done: dict[str, float] = {}  # loop time each `every` duty last ran
        self._errors = Backoff(first=poll_seconds, most=30.0)
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.heartbeat_seconds = heartbeat_seconds or lease.total_seconds() / 3
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()
        # Set once new jobs wake this worker (LISTEN registered, or polling only).
        self.listening = asyncio.Event()

    async def run_once(self) -> int:
        """Run the periodic duties if they are due, then one runnable job if there is
        one (with more of its kind and tenant, for a kind done in batches); how many
        jobs ran."""
        if self.kinds is None:
            await self._run_duties()
        async with self.database.sessionmaker() as session, session.begin():
            await _fail_exhausted(session)
            job = await queue.claim(
                session,
                self.worker_id,
                self.kinds or [*HANDLERS, *BATCH_HANDLERS],
                self.lease,
                tenant_id=self.tenant_id,
            )
            batched = BATCH_HANDLERS.get(job.kind) if job is not None else None
            more: list[Job] = []
            if job is not None and batched is not None:
                more = await queue.claim_more(
                    session, self.worker_id, job.kind, job.tenant_id, batched.size - 1, self.lease
                )
        if job is None:
            return 0
        if batched is not None:
            await self._run_batch(batched.handler, [job, *more])
            return 1 + len(more)
        await self._run(job)
        return 1

    async def run_until_idle(self) -> int:
        """Run jobs until none is runnable; how many ran."""
        ran = 0
        while done := await self.run_once():
            ran += done
        return ran

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run jobs as they come until `stop` is set."""
        stopping = asyncio.create_task(stop.wait())
        async with self._listening() as listener:
            while not stop.is_set():
                self._wake.clear()
                await listener.ensure()
                wait = self.poll_seconds
                try:
                    ran = await self.run_once()
                except Exception as exc:
                    wait = max(wait, self._errors.failed())
                    if self._errors.failures == 1:
                        log.exception("worker loop error; retrying")
                    else:
                        log.warning(
                            "worker loop error again (%d in a row: %s: %s); next try in %.0f s",
                            self._errors.failures,
                            type(exc).__name__,
                            exc,
                            wait,
                        )
                else:
                    if streak := self._errors.succeeded():
                        log.warning("worker loop works again after %d errors", streak)
                    if ran:
                        continue
                woken = asyncio.create_task(self._wake.wait())
                await asyncio.wait({woken, stopping}, timeout=wait, return_when="FIRST_COMPLETED")
                woken.cancel()
        stopping.cancel()

    async def run_until_stopped(self, stop: asyncio.Event, grace_seconds: float) -> None:
        """Run jobs until `stop` is set; then give the running job `grace_seconds` to
        finish before handing it back to the queue (it resumes from its checkpoint)."""
        running = asyncio.create_task(self.run_forever(stop), name="job-worker")
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(running), grace_seconds)
        except TimeoutError:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    @contextlib.asynccontextmanager
    async def _listening(self) -> AsyncIterator["_Listener"]:
        listener = _Listener(self.database, self._wake, self.listening)
        try:
            yield listener
        finally:
            await listener.close()

    async def _run(self, job: Job) -> None:
        handler = HANDLERS[job.kind]
        context = JobContext(job, self.database, self.worker_id)
        task = asyncio.create_task(_in_own_context(handler, context))
        heartbeat = asyncio.create_task(self._heartbeat(job, context, task))
        outcome: dict[str, Any] = {}
        try:
            outcome["result"] = await task
        except JobCancelled:
            outcome["cancelled"] = True
        except asyncio.CancelledError:
            if not context._cancelled.is_set():
                # The worker itself is stopping: hand the job back for another worker
                # (the handler resumes from its checkpoint) instead of failing it.
                await asyncio.shield(self._release(job))
                raise
            outcome["cancelled"] = True
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            outcome["error"] = error_of(exc)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        async with self.database.sessionmaker() as session, session.begin():
            status = await queue.finish(session, job, **outcome)
            if status is None:
                log.warning("job %s was taken over by another worker; outcome dropped", job.id)
            hook = FAILURE_HOOKS.get(job.kind)
            if status == "failed" and hook is not None:
                await hook(session, job, outcome["error"])

    async def _run_batch(self, handler: BatchHandler, jobs: list[Job]) -> None:
        """Run a batch of jobs through their handler, then record each job's outcome."""
        context = BatchContext(jobs, self.database, self.worker_id)
        task = asyncio.create_task(_batch_in_own_context(handler, context))
        heartbeat = asyncio.create_task(self._batch_heartbeat(jobs))
        try:
            outcomes = await task
        except asyncio.CancelledError:
            # The worker itself is stopping: every job goes back to the queue.
            for job in jobs:
                await asyncio.shield(self._release(job))
            raise
        except Exception as exc:
            log.exception("batch of %d %s jobs failed", len(jobs), jobs[0].kind)
            outcomes = {job.id: exc for job in jobs}
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        async with self.database.sessionmaker() as session, session.begin():
            done = [j for j in jobs if not isinstance(outcomes.get(j.id), Exception)]
            recorded = await queue.finish_succeeded(
                session, done, {j.id: _result_of(outcomes.get(j.id)) for j in done}
            )
            if recorded < len(done):
                log.warning("%d jobs were taken over by another worker", len(done) - recorded)
            for job in jobs:
                outcome = outcomes.get(job.id)
                if not isinstance(outcome, Exception):
                    continue
                if not isinstance(outcome, JobCancelled):
                    log.error("job %s (%s) failed", job.id, job.kind, exc_info=outcome)
                error = error_of(outcome)
                status = await queue.finish(session, job, error=error)
                hook = FAILURE_HOOKS.get(job.kind)
                if status == "failed" and hook is not None:
                    await hook(session, job, error)

    async def _batch_heartbeat(self, jobs: list[Job]) -> None:
        """Keep the batch's jobs ours while it runs. A job another worker took over meanwhile
        is left to it (the handler's work is not cancelled): its outcome is dropped."""
        ids = [job.id for job in jobs]
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                async with self.database.sessionmaker() as session, session.begin():
                    await queue.extend_leases(session, ids, self.worker_id, self.lease)
            except Exception:
                log.warning("cannot renew the leases of a batch; retrying", exc_info=True)

    async def _run_duties(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._duties_at is not None and now - self._duties_at < self.duty_seconds:
            return
        self._duties_at = now
        for name, duty in DUTIES.items():
            done = self._duty_done.get(name)
            if duty.every is not None and done is not None and now - done < duty.every:
                continue
            self._duty_done[name] = now
            try:
                await duty.run(self.database, self.clock(), self.tenant_id)
            except Exception:
                # A failing duty must not stop the jobs; it is tried again next time.
                log.exception("periodic duty %s failed", name)

    async def _release(self, job: Job) -> None:
        async with self.database.sessionmaker() as session, session.begin():
            # A queued twin (same dedupe key) will do this job's work: it ends instead.
            back: dict[str, Any] = {"status": "queued", "attempts": Job.attempts - 1}
            if await queue.has_queued_twin(session, job):
                back = {"status": "cancelled", "finished_at": func.now()}
            await session.execute(
                update(Job)
                .where(Job.id == job.id, Job.worker_id == self.worker_id, Job.status == "running")
                .values(worker_id=None, lease_expires_at=None, **back)
            )

    async def _heartbeat(self, job: Job, context: JobContext, task: asyncio.Task[Any]) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                async with self.database.sessionmaker() as session, session.begin():
                    ours = await queue.extend_lease(session, job.id, self.worker_id, self.lease)
            except Exception:
                # A lost connection or a restarting server: beat again next time. Giving
                # up here would let the lease run out under a job that is still running.
                log.warning("cannot renew the lease of job %s; retrying", job.id, exc_info=True)
                continue
            if not ours:
                context._cancelled.set()
                task.cancel()
                return


def error_of(exc: Exception) -> dict[str, Any]:
    """What a failed job records: the error's type and message. For a database error, the
    database's own words and the driver's error type: SQLAlchemy's text adds the statement
    and its parameters, which API readers (GET /runs/{id}, /imports/{id}) must not see."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        cause = exc.orig.__cause__ or exc.orig
        return {"type": type(cause).__name__, "message": str(exc.orig)[:2000]}
    return {"type": type(exc).__name__, "message": str(exc)[:2000]}


class _Listener:
    """The connection that LISTENs for new jobs, opened again when it is lost (a server
    restart, a terminated backend): a worker that outlived an outage would otherwise wait
    for its poll, however long, to see new jobs. Polling covers any gap."""

    def __init__(self, database: Database, wake: asyncio.Event, listening: asyncio.Event):
        self.database = database
        self.wake = wake
        self.listening = listening  # set at each (re)connection, and at a failed first try
        self.conn: AsyncConnection | None = None
        self.raw: Any = None  # the asyncpg connection under `conn`
        self.lost = True  # nothing to listen on yet

    async def ensure(self) -> None:
        """Listen, unless listening already; if that fails, try again next time."""
        if not self.lost:
            return
        await self.close()
        try:
            conn = await self.database.engine.connect()
        except Exception as exc:
            log.warning("cannot LISTEN for jobs (%s); polling until the next try", exc)
            self.listening.set()
            return
        try:
            raw = (await conn.get_raw_connection()).driver_connection
            if raw is None:
                raise RuntimeError("the pool gave no asyncpg connection")
            await raw.add_listener(queue.CHANNEL, lambda *_: self.wake.set())
            raw.add_termination_listener(self._lost)
        except Exception as exc:
            log.warning("cannot LISTEN for jobs (%s); polling until the next try", exc)
            with contextlib.suppress(Exception):
                await conn.invalidate()
            self.listening.set()
            return
        self.conn, self.raw, self.lost = conn, raw, False
        self.listening.set()

    def _lost(self, connection: Any) -> None:
        if connection is self.raw:
            self.lost = True
            self.wake.set()  # notifications may have been missed: look for jobs now

    async def close(self) -> None:
        """Close the connection for good (not back to the pool, still listening)."""
        conn, self.conn, self.raw, self.lost = self.conn, None, None, True
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
                await conn.close()


async def _in_own_context(handler: Handler, context: JobContext) -> dict[str, Any] | None:
    # A job checks its own input: nothing a request validated earlier carries over.
    body_text_checked.set(False)
    return await handler(context)


async def _batch_in_own_context(
    handler: BatchHandler, context: BatchContext
) -> dict[uuid.UUID, JobOutcome]:
    body_text_checked.set(False)
    return await handler(context)


def _result_of(outcome: JobOutcome) -> dict[str, Any] | None:
    return None if isinstance(outcome, Exception) else outcome


async def _fail_exhausted(session: AsyncSession) -> None:
    # A job whose worker died on its last attempt would otherwise stay "running".
    lost = {"type": "WorkerLost", "message": "the worker stopped during the last attempt"}
    failed = await session.scalars(
        update(Job)
        .where(
            Job.status == "running",
            Job.lease_expires_at < func.now(),
            Job.attempts >= Job.max_attempts,
        )
        .values(status="failed", finished_at=func.now(), error=lost)
        .returning(Job)
    )
    for job in failed.all():
        hook = FAILURE_HOOKS.get(job.kind)
        if hook is not None:
            await hook(session, job, lost)
