"""Schedules (定时运行) over HTTP: editors manage them, every role reads them."""

import uuid
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Response

from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.runs.schemas import RunError
from app.schedules import service
from app.schedules.schemas import (
    SCHEDULE_CREATE_EXAMPLE,
    SCHEDULE_EXAMPLE,
    ScheduleCreate,
    ScheduleFireOut,
    ScheduleOut,
    ScheduleUpdate,
)

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"], route_class=ApiRoute)


def schedule_out(view: service.ScheduleView) -> ScheduleOut:
    """The API view of a schedule: its times in its time zone."""
    schedule, fire = view.schedule, view.last_fire
    zone = ZoneInfo(schedule.time_zone)
    return ScheduleOut(
        id=schedule.id,
        name=schedule.name,
        cron=schedule.cron,
        time_zone=schedule.time_zone,
        tree_ids=schedule.tree_ids,
        scope=schedule.scope,
        mode=schedule.mode,
        enabled=schedule.enabled,
        next_fire_at=schedule.next_fire_at.astimezone(zone) if schedule.next_fire_at else None,
        last_fire=ScheduleFireOut(
            fire_at=fire.fire_at.astimezone(zone),
            fired_at=fire.fired_at.astimezone(zone),
            run_id=fire.run_id,
            error=RunError(**fire.error) if fire.error is not None else None,
        )
        if fire is not None
        else None,
        created_by=schedule.created_by,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
    )


@router.get(
    "",
    response_model=Page[ScheduleOut],
    **documented(
        "listSchedules",
        "List schedules",
        example={"items": [SCHEDULE_EXAMPLE], "next_cursor": None},
    ),
)
async def list_schedules(
    principal: ViewerKey, session: Session, page: PageQuery
) -> Page[ScheduleOut]:
    """The tenant's schedules, oldest first, each with its next and last fire."""
    views, next_cursor = await service.list_schedules(session, principal, page)
    return Page(items=[schedule_out(v) for v in views], next_cursor=next_cursor)


@router.post(
    "",
    response_model=ScheduleOut,
    **documented(
        "createSchedule",
        "Create a schedule",
        status_code=201,
        example={**SCHEDULE_EXAMPLE, "last_fire": None},
        request_example=SCHEDULE_CREATE_EXAMPLE,
        etag=True,
    ),
)
async def create_schedule(
    principal: EditorKey, session: Session, body: ScheduleCreate, response: Response
) -> ScheduleOut:
    """Start a classification run whenever `cron` comes round in the tenant's time zone
    (每月回顾: `0 9 1 * *`; 每季度更新: `0 9 1 1,4,7,10 *`), with the trees, scope and
    mode of `POST /runs`; each run is as of the day it fires and names the schedule
    (`schedule_id`). A worker fires each due time once, however many run; a time missed
    while no worker ran fires once when one is back; a due time that comes while the
    schedule's last run has not ended starts none. A time that a daylight-saving change
    repeats fires the first time; one it skips fires an hour later. 422 (in Chinese
    first) for a cron expression that cannot be read or never comes round, and for trees
    or a scope a run would refuse."""
    view = await service.create_schedule(session, principal, body)
    set_etag(response, view.schedule.version)
    return schedule_out(view)


@router.get(
    "/{schedule_id}",
    response_model=ScheduleOut,
    **documented(
        "getSchedule", "Get a schedule", example=SCHEDULE_EXAMPLE, errors=[404], etag=True
    ),
)
async def get_schedule(
    principal: ViewerKey, session: Session, schedule_id: uuid.UUID, response: Response
) -> ScheduleOut:
    """The schedule with its next fire (null while disabled) and its last one: the run it
    started, or why none could start."""
    view = await service.get_schedule(session, principal, schedule_id)
    set_etag(response, view.schedule.version)
    return schedule_out(view)


@router.patch(
    "/{schedule_id}",
    response_model=ScheduleOut,
    **documented(
        "updateSchedule",
        "Update a schedule",
        example=SCHEDULE_EXAMPLE,
        request_example={"enabled": False},
        errors=[404, 412],
        etag=True,
    ),
)
async def update_schedule(
    principal: EditorKey,
    session: Session,
    schedule_id: uuid.UUID,
    changes: ScheduleUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> ScheduleOut:
    """Change the name, cron expression, trees, scope, mode or whether it is enabled
    (If-Match). A new cron expression or enabling it counts the next fire from now;
    disabling clears it."""
    view = await service.update_schedule(session, principal, schedule_id, changes, if_match)
    set_etag(response, view.schedule.version)
    return schedule_out(view)


@router.delete(
    "/{schedule_id}",
    **documented("deleteSchedule", "Delete a schedule", status_code=204, errors=[404, 412]),
)
async def delete_schedule(
    principal: EditorKey, session: Session, schedule_id: uuid.UUID, if_match: IfMatch = None
) -> Response:
    """Delete the schedule (If-Match); the runs it started stay, without it."""
    await service.delete_schedule(session, principal, schedule_id, if_match)
    return Response(status_code=204)
