"""Firing due schedules: a periodic duty of every worker (app/jobs/worker.py).

No process keeps a timer: a schedule is due when its `next_fire_at` has passed, and any
worker may fire it. Each fire is one transaction:

1. the schedule due longest is read `FOR UPDATE SKIP LOCKED`: a worker looking at the
   same moment takes the next due schedule, or none, and never waits;
2. `next_fire_at` moves on to the first cron time after *now*, not after the time it was
   due, so a schedule missed for hours or days of downtime fires once, not once per
   missed time; the UPDATE matches only while the schedule is still due at that time;
3. the fire is recorded under the key (schedule, due time): the database itself holds
   one fire, and so one run, per due time, whatever a worker believed;
4. the run is created as `POST /runs` would create it, as of the day it fires (today in
   the tenant's zone, as a run defaults to: a fire caught up after a downtime classifies
   by today's data), recording the schedule that started it; a run that cannot be
   created (a tree deleted since, say) leaves its error on the fire, and the schedule
   carries on.

While the run a schedule started last has not ended, its next due time starts none (the
fire says so): runs of a frequent schedule that take longer than its interval do not
pile up.

A worker that dies half-way commits nothing: the schedule is still due, and the next
worker fires it. A tenant's new time zone moves its schedules' next fires at the next
look (they were counted in the old one).
"""

import logging
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.db import Database
from app.core.errors import DomainError
from app.jobs.worker import periodic_duty
from app.models import Role, Schedule, Tenant
from app.runs.schemas import RunCreate
from app.runs.service import create_run
from app.schedules import repository
from app.schedules.cron import next_fire

log = logging.getLogger(__name__)

MAX_FIRES_PER_LOOK = 100  # the rest wait for the next look, so jobs are not held up


@periodic_duty("schedules")
async def fire_due_schedules(database: Database, now: datetime, tenant_id: uuid.UUID | None) -> int:
    """Fire every schedule due at `now` (of `tenant_id`, if given), each once; then count
    again the next fires of schedules whose tenant changed its time zone. How many fired."""
    fired = 0
    while fired < MAX_FIRES_PER_LOOK:
        async with database.sessionmaker() as session, session.begin():
            due = await repository.next_due(session, now, tenant_id)
            if due is None:
                break
            await fire(session, *due, now=now)
        fired += 1
    async with database.sessionmaker() as session, session.begin():
        for schedule, tenant in await repository.moved_zone(session, tenant_id):
            following = next_fire(schedule.cron, tenant.time_zone, now)
            schedule.next_fire_at, schedule.time_zone = following, tenant.time_zone
            schedule.enabled = following is not None
    return fired


async def fire(session: AsyncSession, schedule: Schedule, tenant: Tenant, *, now: datetime) -> None:
    """Fire a due schedule (read FOR UPDATE): move it on, record the fire, start the run."""
    due = schedule.next_fire_at
    if due is None:
        return
    zone = tenant.time_zone
    following = next_fire(schedule.cron, zone, max(now, due))
    if not await repository.advance(
        session, schedule, due=due, next_fire_at=following, time_zone=zone
    ):
        return
    if not await repository.record_fire(session, schedule, due, now):
        return
    principal = Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_time_zone=zone,
        api_key_id=schedule.api_key_id,
        role=Role.EDITOR,
        actor=f"schedule:{schedule.id}",
    )
    run_id: uuid.UUID | None = None
    error: dict[str, Any] | None = None
    unfinished = await repository.unfinished_run(session, schedule)
    if unfinished is not None:
        error = {
            "type": "PreviousRunUnfinished",
            "message": f"此定时任务上一次启动的运行 {unfinished} 尚未结束,本次不再启动新的运行",
        }
        await repository.fire_outcome(session, schedule, due, run_id=None, error=error)
        return
    try:
        body = RunCreate.model_validate(
            {
                "tree_ids": schedule.tree_ids,
                "scope": schedule.scope,
                "as_of": now.astimezone(ZoneInfo(zone)).date(),
                "mode": schedule.mode,
            }
        )
        async with session.begin_nested():
            run = await create_run(session, principal, body, schedule_id=schedule.id)
        run_id = run.id
    except DomainError as problem:
        error = {"type": type(problem).__name__, "message": _message(problem)}
    except Exception as exc:
        # Whatever went wrong is said on the fire, and the schedule goes on to its next
        # time instead of failing again at every look.
        log.exception("schedule %s could not start its run", schedule.id)
        error = {"type": type(exc).__name__, "message": str(exc)[:2000]}
    await repository.fire_outcome(session, schedule, due, run_id=run_id, error=error)


def _message(problem: DomainError) -> str:
    """The problem in Chinese, with each error's place (what POST /runs would answer)."""
    detail = problem.detail.zh if problem.detail is not None else type(problem).__name__
    where = [
        f"{'.'.join(str(part) for part in issue.get('loc', []))}: {issue.get('msg', '')}"
        for issue in problem.errors or []
    ]
    return "; ".join([detail, *where])[:2000]
