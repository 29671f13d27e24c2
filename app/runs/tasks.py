"""A run's jobs: start (hold the trees, plan the chunks), one job per chunk (any worker
takes any chunk), finalize (apply tree by tree, count, succeed), prune (retention).

Every step is its own transaction and can be retried: a chunk records itself in
`run_chunks` first, so a chunk whose transaction committed is never done or counted
twice; applying a tree records `applied_at` with it. A job that fails for good fails its
run (`run.failed` in the outbox); nothing is applied before every chunk has succeeded, so
a failed or cancelled run leaves assignments as they were.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Numeric, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database
from app.core.settings import get_settings
from app.core.sql import current_snapshot, rows_written
from app.facts.metrics import CustomerRange, CustomerSelection
from app.jobs import queue
from app.jobs.worker import JobContext, job_handler, on_job_failure
from app.models import Assignment, Customer, Job, OutboxEvent, Run, RunChunk, RunResult, RunTree
from app.runs.apply import apply_tree
from app.runs.apply_multi import apply_multi_tree
from app.runs.classify import classify_chunk
from app.runs.counting import count_results
from app.runs.cut_points import store_cut_points
from app.runs.drift import detect_drift
from app.runs.plan import load_plan
from app.runs.service import START_JOB, finish_cancelled, release_trees

CHUNK_JOB = "run.chunk"
FINALIZE_JOB = "run.finalize"
PRUNE_JOB = "run.prune"
WAIT = timedelta(seconds=2)
PRUNE_BATCH = 50_000


@job_handler(START_JOB)
async def start_run(context: JobContext) -> dict[str, Any] | None:
    """Hold the run's trees (apply runs), split its customers into chunks, queue them."""
    run_id = uuid.UUID(context.payload["run_id"])
    started = time.perf_counter()
    async with context.database.sessionmaker() as session, session.begin():
        run = await _locked_run(session, context.tenant_id, run_id)
        if run is None or run.status not in ("queued", "waiting"):
            return None
        if run.mode == "apply":
            holder = await _hold_trees(session, run)
            if holder is not None:
                run.status, run.waiting_for = "waiting", holder
                await queue.enqueue(
                    session,
                    tenant_id=run.tenant_id,
                    kind=START_JOB,
                    payload=context.payload,
                    delay=WAIT,
                )
                return {"waiting_for": str(holder)}
        # What the run's values may miss: every transaction not visible from here on.
        run.started_snapshot = await session.scalar(select(current_snapshot()))
        # Scores (ntile, rank_pct) rank the whole population: cut before any chunk runs.
        await store_cut_points(session, await load_plan(session, run))
        chunks, total = await _chunks(session, run, get_settings().run_chunk_size)
        run.status, run.waiting_for = "running", None
        run.started_at = datetime.now(UTC)
        run.total, run.chunks_total = total, len(chunks)
        run.timings = {**run.timings, "plan": round(time.perf_counter() - started, 3)}
        for index, chunk in enumerate(chunks):
            await queue.enqueue(
                session,
                tenant_id=run.tenant_id,
                kind=CHUNK_JOB,
                payload={"run_id": str(run.id), "chunk": index, **chunk},
            )
        if not chunks:
            await _queue_finalize(session, run)
    return {"chunks": len(chunks), "customers": total}


async def _locked_run(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID) -> Run | None:
    return await session.scalar(
        select(Run)
        .where(Run.tenant_id == tenant_id, Run.id == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _hold_trees(session: AsyncSession, run: Run) -> uuid.UUID | None:
    """Take the run's trees for applying, or say which run holds one of them. Starts of
    one tenant take turns (a transaction-level advisory lock), so two never both see the
    trees free; the partial unique index would refuse a second holder anyway."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(literal(str(run.tenant_id)), 0)))
    )
    mine = select(RunTree.tree_id).where(
        RunTree.tenant_id == run.tenant_id, RunTree.run_id == run.id
    )
    holder = await session.scalar(
        select(RunTree.run_id)
        .where(
            RunTree.tenant_id == run.tenant_id,
            RunTree.applying,
            RunTree.run_id != run.id,
            RunTree.tree_id.in_(mine),
        )
        .limit(1)
    )
    if holder is None:
        await session.execute(
            update(RunTree)
            .where(RunTree.tenant_id == run.tenant_id, RunTree.run_id == run.id)
            .values(applying=True)
        )
    return holder


async def _chunks(session: AsyncSession, run: Run, size: int) -> tuple[list[dict[str, Any]], int]:
    """Chunks of about `size` customers: ranges of ids (the lowest id of every `size`-th
    customer starts one), or slices of the listed customers."""
    if run.scope.get("type") == "customers":
        listed = sorted(set(run.scope["customer_ids"]))
        pieces = [listed[i : i + size] for i in range(0, len(listed), size)]
        return [{"ids": piece} for piece in pieces], len(listed)
    numbered = (
        select(
            Customer.id,
            func.row_number().over(order_by=Customer.id).label("n"),
            func.count().over().label("total"),
        )
        .where(Customer.tenant_id == run.tenant_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(numbered.c.id, numbered.c.total)
            .where((numbered.c.n - 1) % size == 0)
            .order_by(numbered.c.id)
        )
    ).all()
    starts = [str(row.id) for row in rows]
    total = int(rows[0].total) if rows else 0
    ends: list[str | None] = [*starts[1:], None]
    return [{"low": low, "high": high} for low, high in zip(starts, ends, strict=True)], total


@job_handler(CHUNK_JOB)
async def run_chunk(context: JobContext) -> dict[str, Any] | None:
    """Classify one chunk of customers in every tree of the run."""
    payload = context.payload
    run_id, chunk = uuid.UUID(payload["run_id"]), int(payload["chunk"])
    started = time.perf_counter()
    async with context.database.sessionmaker() as session, session.begin():
        run = await session.get(Run, run_id, populate_existing=True)
        if run is None or run.tenant_id != context.tenant_id or run.status != "running":
            return None
        if run.cancel_requested:
            locked = await _locked_run(session, run.tenant_id, run.id)
            if locked is not None and locked.status == "running":
                await finish_cancelled(session, locked)
            return {"cancelled": True}
        claimed = await session.scalar(
            pg_insert(RunChunk)
            .values(tenant_id=run.tenant_id, run_id=run.id, chunk=chunk, customers=0, seconds=0)
            .on_conflict_do_nothing()
            .returning(RunChunk.chunk)
        )
        if claimed is None:
            return {"already_done": True}
        plan = await load_plan(session, run)
        outcome = await classify_chunk(await session.connection(), plan, _selection(payload))
        seconds = time.perf_counter() - started
        await session.execute(
            update(RunChunk)
            .where(
                RunChunk.tenant_id == run.tenant_id,
                RunChunk.run_id == run.id,
                RunChunk.chunk == chunk,
            )
            .values(customers=outcome.customers, seconds=seconds)
        )
        classified = func.coalesce(Run.timings["classify"].astext.cast(Numeric), 0) + literal(
            seconds, Numeric()
        )
        done, total = (
            await session.execute(
                update(Run)
                .where(Run.id == run.id)
                .values(
                    done=Run.done + outcome.customers,
                    chunks_done=Run.chunks_done + 1,
                    timings=Run.timings.op("||")(
                        func.jsonb_build_object("classify", func.round(classified, 3))
                    ),
                )
                .returning(Run.chunks_done, Run.chunks_total)
            )
        ).one()
        if done == total:
            await _queue_finalize(session, run)
    return {"customers": outcome.customers}


def _selection(payload: dict[str, Any]) -> CustomerSelection:
    if "ids" in payload:
        return [uuid.UUID(i) for i in payload["ids"]]
    high = payload.get("high")
    return CustomerRange(uuid.UUID(payload["low"]), uuid.UUID(high) if high else None)


async def _queue_finalize(session: AsyncSession, run: Run) -> None:
    await queue.enqueue(
        session, tenant_id=run.tenant_id, kind=FINALIZE_JOB, payload={"run_id": str(run.id)}
    )


@job_handler(FINALIZE_JOB)
async def finalize_run(context: JobContext) -> dict[str, Any] | None:
    """Apply the results tree by tree (one transaction each), then count them and mark the
    run succeeded with `run.completed` in the outbox."""
    run_id = uuid.UUID(context.payload["run_id"])
    database = context.database
    applying = time.perf_counter()
    async with database.sessionmaker() as session, session.begin():
        run = await _locked_run(session, context.tenant_id, run_id)
        if run is None or run.status != "running":
            return None
        plan = await load_plan(session, run)
        if run.cancel_requested and not any(tree.applied for tree in plan.trees):
            await finish_cancelled(session, run)
            return {"cancelled": True}
    if run.mode == "apply":
        for tree in plan.trees:
            if tree.applied:
                continue
            async with database.sessionmaker() as session, session.begin():
                if not await _take_unapplied(session, run, tree.position):
                    continue
                apply = apply_multi_tree if tree.multi else apply_tree
                await apply(session, plan, tree, run.created_by)
                await session.execute(
                    update(RunTree)
                    .where(
                        RunTree.tenant_id == run.tenant_id,
                        RunTree.run_id == run.id,
                        RunTree.position == tree.position,
                    )
                    .values(applied_at=func.now())
                )
    applied_seconds = time.perf_counter() - applying
    async with database.sessionmaker() as session, session.begin():
        run = await _locked_run(session, context.tenant_id, run_id)
        if run is None or run.status != "running":
            return None
        counting = time.perf_counter()
        run.counts = await count_results(session, plan)
        if run.mode == "apply":
            run.drift = await detect_drift(session, run, plan.trees, run.counts)
        run.status = "succeeded"
        run.finished_at = datetime.now(UTC)
        timings = {
            "apply": round(applied_seconds, 3),
            "count": round(time.perf_counter() - counting, 3),
        }
        if run.started_at is not None:
            timings["total"] = round((run.finished_at - run.started_at).total_seconds(), 3)
        run.timings = {**run.timings, **timings}
        await release_trees(session, run)
        session.add(_event(run, "run.completed", {"counts": run.counts}))
        if run.drift:
            session.add(_event(run, "run.drift_detected", {"drift": run.drift}))
        await queue.enqueue(
            session, tenant_id=run.tenant_id, kind=PRUNE_JOB, payload={"run_id": str(run.id)}
        )
    return {"customers": run.counts["customers"]}


async def _take_unapplied(session: AsyncSession, run: Run, position: int) -> bool:
    """Lock the run's tree for applying; False if it has been applied meanwhile.

    Another worker may be finalizing the same run: one whose lease ran out while it was
    stalled, or the one that took its job over. Applying a tree twice would find every
    assignment moved already and mark the run's changes as made by someone else.
    """
    applied = await session.execute(
        select(RunTree.applied_at)
        .where(
            RunTree.tenant_id == run.tenant_id,
            RunTree.run_id == run.id,
            RunTree.position == position,
        )
        .with_for_update()
    )
    return applied.scalar_one() is None


def _event(run: Run, kind: str, extra: dict[str, Any]) -> OutboxEvent:
    payload = {
        "run_id": str(run.id),
        "status": run.status,
        "mode": run.mode,
        "as_of": run.as_of.isoformat(),
        **extra,
    }
    return OutboxEvent(tenant_id=run.tenant_id, event_type=kind, payload=payload)


@on_job_failure(START_JOB)
@on_job_failure(CHUNK_JOB)
@on_job_failure(FINALIZE_JOB)
async def fail_run(session: AsyncSession, job: Job, error: dict[str, Any]) -> None:
    """A run whose job failed for good fails, says why, and lets go of its trees."""
    run = await _locked_run(session, job.tenant_id, uuid.UUID(job.payload["run_id"]))
    if run is None or run.status in ("succeeded", "failed", "cancelled"):
        return
    run.status = "failed"
    run.error = {"type": error.get("type", "Error"), "message": error.get("message", "")}
    run.finished_at = datetime.now(UTC)
    await release_trees(session, run)
    session.add(_event(run, "run.failed", {"error": run.error}))


@job_handler(PRUNE_JOB)
async def prune_runs(context: JobContext) -> dict[str, Any] | None:
    """Delete finished runs beyond the newest `run_retention` of each tree, except runs a
    current assignment points to; results go in batches, each its own short transaction."""
    keep = get_settings().run_retention
    removed = 0
    async with context.database.sessionmaker() as session, session.begin():
        doomed = await _runs_to_prune(session, context.tenant_id, keep)
    for run_id in doomed:
        await _delete_results(context.database, context.tenant_id, run_id)
        async with context.database.sessionmaker() as session, session.begin():
            await session.execute(
                delete(Run).where(Run.tenant_id == context.tenant_id, Run.id == run_id)
            )
        removed += 1
    return {"pruned": removed}


async def _runs_to_prune(session: AsyncSession, tenant_id: uuid.UUID, keep: int) -> list[uuid.UUID]:
    ranked = (
        select(
            RunTree.run_id,
            func.row_number()
            .over(partition_by=RunTree.tree_id, order_by=(Run.created_at.desc(), Run.id.desc()))
            .label("rank"),
        )
        .join(Run, (Run.tenant_id == RunTree.tenant_id) & (Run.id == RunTree.run_id))
        .where(
            RunTree.tenant_id == tenant_id,
            Run.status.in_(("succeeded", "failed", "cancelled")),
        )
        .subquery()
    )
    kept = select(ranked.c.run_id).where(ranked.c.rank <= keep)
    pointed = select(Assignment.run_id).where(
        Assignment.tenant_id == tenant_id, Assignment.run_id.is_not(None)
    )
    rows = await session.scalars(
        select(ranked.c.run_id)
        .distinct()
        .where(ranked.c.run_id.not_in(kept), ranked.c.run_id.not_in(pointed))
    )
    return list(rows)


async def _delete_results(database: Database, tenant_id: uuid.UUID, run_id: uuid.UUID) -> None:
    while True:
        async with database.sessionmaker() as session, session.begin():
            batch = (
                select(RunResult.customer_id)
                .where(RunResult.tenant_id == tenant_id, RunResult.run_id == run_id)
                .order_by(RunResult.customer_id)
                .limit(PRUNE_BATCH)
                .scalar_subquery()
            )
            deleted = await rows_written(
                session,
                delete(RunResult).where(
                    RunResult.tenant_id == tenant_id,
                    RunResult.run_id == run_id,
                    RunResult.customer_id.in_(batch),
                ),
            )
        if deleted < PRUNE_BATCH:
            return
