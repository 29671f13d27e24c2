"""Schedule queries: one schedule, a page of them, their last fires, and the workers' due
schedules (locked, skipping those another worker holds)."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, keyset_page
from app.models import Run, Schedule, ScheduleFire, Tenant


async def schedule(
    session: AsyncSession, tenant_id: uuid.UUID, schedule_id: uuid.UUID, *, for_update: bool = False
) -> Schedule | None:
    statement = select(Schedule).where(Schedule.tenant_id == tenant_id, Schedule.id == schedule_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement.execution_options(populate_existing=True))


async def schedules_page(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams
) -> tuple[list[Schedule], str | None]:
    """The tenant's schedules, oldest first."""
    return await keyset_page(
        session,
        select(Schedule).where(Schedule.tenant_id == tenant_id),
        [Schedule.created_at, Schedule.id],
        page,
    )


async def last_fires(
    session: AsyncSession, tenant_id: uuid.UUID, schedule_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ScheduleFire]:
    """The latest fire of each schedule that has fired."""
    if not schedule_ids:
        return {}
    mine = (ScheduleFire.tenant_id == tenant_id) & ScheduleFire.schedule_id.in_(schedule_ids)
    latest = (
        select(ScheduleFire.schedule_id, func.max(ScheduleFire.fire_at))
        .where(mine)
        .group_by(ScheduleFire.schedule_id)
    )
    rows = await session.scalars(
        select(ScheduleFire).where(
            mine, tuple_(ScheduleFire.schedule_id, ScheduleFire.fire_at).in_(latest)
        )
    )
    return {fire.schedule_id: fire for fire in rows}


async def next_due(
    session: AsyncSession, now: datetime, tenant_id: uuid.UUID | None
) -> tuple[Schedule, Tenant] | None:
    """The schedule due longest (of `tenant_id`, if given), locked for this transaction;
    one another transaction holds is skipped, not waited for."""
    only_tenant = Schedule.tenant_id == tenant_id if tenant_id is not None else true()
    row = (
        await session.execute(
            select(Schedule, Tenant)
            .join(Tenant, Tenant.id == Schedule.tenant_id)
            .where(Schedule.enabled, Schedule.next_fire_at <= now, only_tenant)
            .order_by(Schedule.next_fire_at)
            .limit(1)
            .with_for_update(of=Schedule, skip_locked=True)
            .execution_options(populate_existing=True)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def moved_zone(
    session: AsyncSession, tenant_id: uuid.UUID | None
) -> Sequence[tuple[Schedule, Tenant]]:
    """Enabled schedules whose next fire was counted in a zone their tenant no longer
    has, locked (skipping those another worker holds)."""
    only_tenant = Schedule.tenant_id == tenant_id if tenant_id is not None else true()
    rows = await session.execute(
        select(Schedule, Tenant)
        .join(Tenant, Tenant.id == Schedule.tenant_id)
        .where(Schedule.enabled, Schedule.time_zone != Tenant.time_zone, only_tenant)
        .with_for_update(of=Schedule, skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def advance(
    session: AsyncSession,
    schedule: Schedule,
    *,
    due: datetime,
    next_fire_at: datetime | None,
    time_zone: str,
) -> bool:
    """Move a schedule due at `due` on to `next_fire_at` (None: it never comes again, so
    it is disabled); False if it is no longer due at `due` (fired or changed since)."""
    moved = await session.scalar(
        update(Schedule)
        .where(
            Schedule.tenant_id == schedule.tenant_id,
            Schedule.id == schedule.id,
            Schedule.next_fire_at == due,
        )
        .values(next_fire_at=next_fire_at, enabled=next_fire_at is not None, time_zone=time_zone)
        .returning(Schedule.id)
    )
    return moved is not None


async def record_fire(
    session: AsyncSession, schedule: Schedule, due: datetime, now: datetime
) -> bool:
    """Record that the schedule fired for `due`; False if that fire exists already (the
    database holds one fire per schedule and due time)."""
    recorded = await session.scalar(
        pg_insert(ScheduleFire)
        .values(tenant_id=schedule.tenant_id, schedule_id=schedule.id, fire_at=due, fired_at=now)
        .on_conflict_do_nothing()
        .returning(ScheduleFire.fire_at)
    )
    return recorded is not None


async def unfinished_run(session: AsyncSession, schedule: Schedule) -> uuid.UUID | None:
    """The schedule's latest run, if it has not ended yet."""
    latest = await session.execute(
        select(Run.id, Run.status)
        .where(Run.tenant_id == schedule.tenant_id, Run.schedule_id == schedule.id)
        .order_by(Run.created_at.desc(), Run.id.desc())
        .limit(1)
    )
    row = latest.first()
    if row is None or row.status in ("succeeded", "failed", "cancelled"):
        return None
    return row.id


async def fire_outcome(
    session: AsyncSession,
    schedule: Schedule,
    due: datetime,
    *,
    run_id: uuid.UUID | None,
    error: dict[str, Any] | None,
) -> None:
    """What the fire for `due` started: its run, or why there is none."""
    await session.execute(
        update(ScheduleFire)
        .where(
            ScheduleFire.tenant_id == schedule.tenant_id,
            ScheduleFire.schedule_id == schedule.id,
            ScheduleFire.fire_at == due,
        )
        .values(run_id=run_id, error=error)
    )
