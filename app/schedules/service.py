"""Schedules (定时运行): create, list, read, change and delete them.

A schedule says which run to start (trees, scope, mode, as `POST /runs` takes them) and
when (a cron expression read in the tenant's time zone). Saving one checks both as a run
would be checked, and counts its next fire from now; the workers fire it
(app/schedules/firing.py).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited
from app.core.auth import Principal
from app.core.errors import NotFound
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.core.pagination import PageParams
from app.models import Schedule, ScheduleFire
from app.runs.schemas import RunCreate, RunMode, RunScope
from app.runs.service import check_run
from app.schedules import repository
from app.schedules.cron import InvalidCron, checked_cron, next_fire
from app.schedules.schemas import ScheduleCreate, ScheduleUpdate

AUDITED = Audited(
    "schedule",
    ("name", "cron", "time_zone", "tree_ids", "scope", "mode", "enabled", "next_fire_at"),
)


class ScheduleNotFound(NotFound):
    default_detail = Text("找不到该定时运行", "No such schedule")


@dataclass(frozen=True)
class ScheduleView:
    """A schedule and the last time it fired (None: never yet)."""

    schedule: Schedule
    last_fire: ScheduleFire | None


async def _checked_scope(
    session: AsyncSession,
    principal: Principal,
    tree_ids: list[uuid.UUID] | None,
    scope: RunScope,
    mode: RunMode,
) -> dict[str, Any]:
    """The scope as a run stores it; 422 as `POST /runs` would answer for the trees and
    the scope, except that no published ruleset at all yet is no error."""
    checked = await check_run(
        session, principal, RunCreate(tree_ids=tree_ids, scope=scope, mode=mode), required=False
    )
    return checked.scope


def _first_fire(cron: str, zone: str, now: datetime, enabled: bool) -> datetime | None:
    if not enabled:
        return None
    first = next_fire(cron, zone, now)
    if first is None:
        raise InvalidCron(cron, Text("永远不会触发", "never comes round"))
    return first


async def create_schedule(
    session: AsyncSession, principal: Principal, body: ScheduleCreate
) -> ScheduleView:
    """Save a schedule; its first fire is the first time `cron` names after now."""
    now = datetime.now(UTC)
    zone = principal.tenant_time_zone
    cron = checked_cron(body.cron, zone, now)
    scope = await _checked_scope(session, principal, body.tree_ids, body.scope, body.mode)
    schedule = Schedule(
        tenant_id=principal.tenant_id,
        name=body.name,
        cron=cron,
        time_zone=zone,
        tree_ids=body.tree_ids,
        scope=scope,
        mode=body.mode,
        enabled=body.enabled,
        next_fire_at=_first_fire(cron, zone, now, body.enabled),
        created_by=principal.actor,
        api_key_id=principal.api_key_id,
    )
    await AUDITED.write(session, principal, schedule, "create")
    return ScheduleView(schedule, None)


async def list_schedules(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[ScheduleView], str | None]:
    """The tenant's schedules, oldest first, each with its last fire."""
    schedules, next_cursor = await repository.schedules_page(session, principal.tenant_id, page)
    fires = await repository.last_fires(session, principal.tenant_id, [s.id for s in schedules])
    return [ScheduleView(s, fires.get(s.id)) for s in schedules], next_cursor


async def get_schedule(
    session: AsyncSession, principal: Principal, schedule_id: uuid.UUID
) -> ScheduleView:
    """One schedule of the caller's tenant with its last fire, else 404."""
    schedule = await repository.schedule(session, principal.tenant_id, schedule_id)
    if schedule is None:
        raise ScheduleNotFound
    fires = await repository.last_fires(session, principal.tenant_id, [schedule.id])
    return ScheduleView(schedule, fires.get(schedule.id))


async def update_schedule(
    session: AsyncSession,
    principal: Principal,
    schedule_id: uuid.UUID,
    changes: ScheduleUpdate,
    if_match: str | None,
) -> ScheduleView:
    """Change a schedule under If-Match. A new cron expression, enabling it, or a time
    zone changed since, counts the next fire from now; disabling clears it."""
    schedule = await repository.schedule(session, principal.tenant_id, schedule_id, for_update=True)
    if schedule is None:
        raise ScheduleNotFound
    check_if_match(if_match, schedule.version)
    now = datetime.now(UTC)
    zone = principal.tenant_time_zone
    given = changes.model_dump(exclude_unset=True)
    # Only tree_ids may be set to null (every tree); a null elsewhere changes nothing.
    values: dict[str, Any] = {
        name: value for name, value in given.items() if value is not None or name == "tree_ids"
    }
    if "cron" in values:
        values["cron"] = checked_cron(values["cron"], zone, now)
    if {"tree_ids", "scope", "mode"} & values.keys():
        scope = changes.scope or RunScope.model_validate(schedule.scope)
        values["scope"] = await _checked_scope(
            session,
            principal,
            values.get("tree_ids", schedule.tree_ids),
            scope,
            values.get("mode", schedule.mode),
        )
    enabled = values.get("enabled", schedule.enabled)
    cron = values.get("cron", schedule.cron)
    if (
        cron != schedule.cron
        or enabled != schedule.enabled
        or (enabled and zone != schedule.time_zone)
    ):
        values["next_fire_at"] = _first_fire(cron, zone, now, enabled)
        values["time_zone"] = zone
    values["api_key_id"] = principal.api_key_id
    await AUDITED.update(session, principal, schedule, values)
    fires = await repository.last_fires(session, principal.tenant_id, [schedule.id])
    return ScheduleView(schedule, fires.get(schedule.id))


async def delete_schedule(
    session: AsyncSession, principal: Principal, schedule_id: uuid.UUID, if_match: str | None
) -> None:
    """Delete a schedule under If-Match; the runs it started stay (without it)."""
    schedule = await repository.schedule(session, principal.tenant_id, schedule_id, for_update=True)
    if schedule is None:
        raise ScheduleNotFound
    check_if_match(if_match, schedule.version)
    await AUDITED.delete(session, principal, schedule)
