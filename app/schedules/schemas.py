"""Schedules as the API shows them, with examples."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from app.core.openapi import component_schema
from app.core.schemas import RequestBody
from app.runs.schemas import RunError, RunMode, RunScope
from app.schedules.cron import CRON_PATTERN

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Cron = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="Five fields, minute hour day month weekday (or a nickname such as "
        "`@monthly`), read in the tenant's time zone: `0 9 1 * *` is 09:00 on the 1st of "
        "every month (每月回顾), `0 9 1 1,4,7,10 *` the first day of each quarter (每季度更新)",
        examples=["0 9 1 * *"],
        # What checked_cron checks before croniter reads the fields (the spec says so
        # much; the calendar of each field is croniter's).
        json_schema_extra={"pattern": CRON_PATTERN},
    ),
]
TreeIds = Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)]


class ScheduleCreate(RequestBody):
    """A run to start whenever `cron` comes round: its trees (default: every tree with a
    published ruleset when it fires), scope and mode, as `POST /runs` takes them; each
    run is as of the day it fires in the tenant's zone."""

    name: Name
    cron: Cron
    tree_ids: TreeIds | None = None
    scope: RunScope = Field(default_factory=RunScope)
    mode: RunMode = "apply"
    enabled: StrictBool = True


class ScheduleUpdate(RequestBody):
    """Changes; omitted members stay as they are (`tree_ids: null`: every tree with a
    published ruleset). A new `cron`, or enabling, counts the next fire from now."""

    name: Name | None = None
    cron: Cron | None = None
    tree_ids: TreeIds | None = None
    scope: RunScope | None = None
    mode: RunMode | None = None
    enabled: StrictBool | None = None


class ScheduleFireOut(BaseModel):
    """One time the schedule came due: the run it started, or why it could not start one."""

    fire_at: datetime = Field(description="The time it was due")
    fired_at: datetime = Field(description="When a worker fired it")
    run_id: uuid.UUID | None
    error: RunError | None


class ScheduleOut(BaseModel):
    """A schedule; `next_fire_at` is in its time zone (null while disabled)."""

    id: uuid.UUID
    name: str
    cron: str
    time_zone: str = Field(description="The tenant's time zone, which `cron` is read in")
    tree_ids: list[uuid.UUID] | None
    scope: Annotated[dict[str, Any], component_schema(RunScope)]
    mode: RunMode
    enabled: bool
    next_fire_at: datetime | None
    last_fire: ScheduleFireOut | None
    created_by: str
    created_at: datetime
    updated_at: datetime


SCHEDULE_CREATE_EXAMPLE: dict[str, Any] = {
    "name": "每月回顾",
    "cron": "0 9 1 * *",
    "tree_ids": ["3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908"],
    "scope": {"type": "all"},
    "mode": "apply",
    "enabled": True,
}
SCHEDULE_EXAMPLE: dict[str, Any] = {
    "id": "0f4e3d2c-1b0a-4987-8654-3210fedcba98",
    **SCHEDULE_CREATE_EXAMPLE,
    "time_zone": "Asia/Shanghai",
    "next_fire_at": "2027-01-01T09:00:00+08:00",
    "last_fire": {
        "fire_at": "2026-12-01T09:00:00+08:00",
        "fired_at": "2026-12-01T09:00:04+08:00",
        "run_id": "5e7d8c9b-0a1f-4e2d-8c3b-4a5f6e7d8c9b",
        "error": None,
    },
    "created_by": "key:ops-console",
    "created_at": "2026-11-25T02:00:00Z",
    "updated_at": "2026-11-25T02:00:00Z",
}
