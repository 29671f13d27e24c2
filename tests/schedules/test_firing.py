"""Firing schedules by a clock the test sets (no sleeping): a due time fires once however
many workers look, a downtime's missed times fire once, and the run names its schedule."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.models import Schedule, ScheduleFire, Tenant
from app.schedules import firing
from tests.conftest import TenantKeys
from tests.schedules.conftest import work_at

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def make_schedule(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    created = await api.post(
        "/api/v1/schedules", json={"name": "每月回顾", "cron": "0 9 1 * *", **body}
    )
    assert created.status_code == 201, created.text
    return created.json()


async def runs_of(api: httpx.AsyncClient, schedule_id: str) -> list[dict[str, Any]]:
    listed = await api.get("/api/v1/runs", params={"schedule_id": schedule_id})
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def fires_of(database: Database, schedule_id: str) -> list[ScheduleFire]:
    async with database.sessionmaker() as session:
        return list(
            await session.scalars(
                select(ScheduleFire)
                .where(ScheduleFire.schedule_id == uuid.UUID(schedule_id))
                .order_by(ScheduleFire.fire_at)
            )
        )


def when(schedule: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(schedule["next_fire_at"])


async def test_a_due_schedule_starts_one_run_that_names_it(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    schedule = await make_schedule(api, tree_ids=[classified["value"]])
    due = when(schedule)
    assert (due.hour, due.minute) == (9, 0)  # 09:00 in Shanghai …
    assert due.astimezone(ZoneInfo("UTC")).hour == 1  # … is 01:00 UTC

    assert await work_at(database, tenant.id, due - timedelta(minutes=1)) == 0
    assert await runs_of(api, schedule["id"]) == []

    await work_at(database, tenant.id, due + timedelta(seconds=20))
    [run] = await runs_of(api, schedule["id"])
    got = (await api.get(f"/api/v1/runs/{run['id']}")).json()
    assert got["schedule_id"] == schedule["id"]
    assert got["status"] == "succeeded", got
    assert got["mode"] == "apply"
    assert [t["tree_id"] for t in got["trees"]] == [classified["value"]]
    assert got["as_of"] == due.date().isoformat()
    assert got["created_by"] == f"schedule:{schedule['id']}"

    after = (await api.get(f"/api/v1/schedules/{schedule['id']}")).json()
    assert after["last_fire"]["run_id"] == run["id"]
    assert after["last_fire"]["error"] is None
    assert datetime.fromisoformat(after["last_fire"]["fire_at"]) == due
    following = when(after).astimezone(SHANGHAI)
    assert (following.day, following.hour) == (1, 9)
    assert following.month == due.month % 12 + 1

    # Deleting the schedule keeps its run, which no longer names it.
    assert (await api.delete(f"/api/v1/schedules/{schedule['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/runs/{run['id']}")).json()["schedule_id"] is None


async def test_workers_and_tickers_looking_at_once_fire_a_due_time_once(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    schedule = await make_schedule(api, tree_ids=[classified["activity"]], mode="dry_run")
    now = when(schedule) + timedelta(seconds=5)
    load_handlers()
    workers = [Worker(database, tenant_id=tenant.id, clock=lambda: now) for _ in range(2)]
    await asyncio.gather(
        *(worker.run_until_idle() for worker in workers),
        *(firing.fire_due_schedules(database, now, tenant.id) for _ in range(3)),
    )
    runs = await runs_of(api, schedule["id"])
    assert len(runs) == 1
    assert len(await fires_of(database, schedule["id"])) == 1
    await work_at(database, tenant.id, now)  # a late worker, same moment: nothing
    assert len(await runs_of(api, schedule["id"])) == 1


async def test_a_worker_holding_a_stale_copy_cannot_fire_the_same_time_again(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    schedule = await make_schedule(api, tree_ids=[classified["risk"]], mode="dry_run")
    now = when(schedule) + timedelta(seconds=5)
    async with database.sessionmaker() as stale_session:
        stale, owner = (
            await stale_session.execute(
                select(Schedule, Tenant)
                .join(Tenant, Tenant.id == Schedule.tenant_id)
                .where(Schedule.id == uuid.UUID(schedule["id"]))
            )
        ).one()
        assert await firing.fire_due_schedules(database, now, tenant.id) == 1
        await firing.fire(stale_session, stale, owner, now=now)
        await stale_session.commit()
    assert len(await runs_of(api, schedule["id"])) == 1
    assert len(await fires_of(database, schedule["id"])) == 1


async def test_after_a_downtime_the_missed_times_fire_once(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    schedule = await make_schedule(api, cron="0 9 * * *", tree_ids=[classified["value"]])
    back = when(schedule) + timedelta(days=5, hours=3)  # five more 09:00s went by
    await work_at(database, tenant.id, back)
    [run] = await runs_of(api, schedule["id"])
    assert run["as_of"] == back.astimezone(SHANGHAI).date().isoformat()  # today's data
    [fire] = await fires_of(database, schedule["id"])
    assert fire.fire_at == when(schedule)
    after = (await api.get(f"/api/v1/schedules/{schedule['id']}")).json()
    assert when(after) == (back + timedelta(days=1)).replace(hour=9, minute=0)
    await work_at(database, tenant.id, back + timedelta(hours=1))
    assert len(await runs_of(api, schedule["id"])) == 1


async def test_a_fire_that_cannot_start_a_run_says_why_and_the_schedule_goes_on(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    schedule = await make_schedule(api)  # every tree with a published ruleset: none yet
    now = when(schedule) + timedelta(minutes=1)
    assert await firing.fire_due_schedules(database, now, tenant.id) == 1
    after = (await api.get(f"/api/v1/schedules/{schedule['id']}")).json()
    assert after["last_fire"]["run_id"] is None
    assert after["last_fire"]["error"]["type"] == "InvalidInput"
    assert after["last_fire"]["error"]["message"].startswith("没有已发布规则集")
    assert when(after) > now
    assert await runs_of(api, schedule["id"]) == []


async def test_a_disabled_schedule_does_not_fire(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    schedule = await make_schedule(api)
    due = when(schedule)
    await api.patch(f"/api/v1/schedules/{schedule['id']}", json={"enabled": False})
    assert await firing.fire_due_schedules(database, due + timedelta(days=40), tenant.id) == 0
    assert await fires_of(database, schedule["id"]) == []


async def test_a_new_tenant_time_zone_moves_the_next_fire_to_nine_there(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    schedule = await make_schedule(api)
    moved = await api.patch("/api/v1/tenant", json={"time_zone": "Europe/Berlin"})
    assert moved.status_code == 200, moved.text
    now = when(schedule) - timedelta(days=1)
    await firing.fire_due_schedules(database, now, tenant.id)
    after = (await api.get(f"/api/v1/schedules/{schedule['id']}")).json()
    assert after["time_zone"] == "Europe/Berlin"
    local = when(after).astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.day, local.hour, local.minute) == (1, 9, 0)
    assert await fires_of(database, schedule["id"]) == []


async def _fires_over(
    database: Database, tenant_id: uuid.UUID, schedule_id: str, start: datetime, end: datetime
) -> list[datetime]:
    """Look every ten minutes from `start` to `end`; the due times that fired."""
    now = start
    while now <= end:
        await firing.fire_due_schedules(database, now, tenant_id)
        now += timedelta(minutes=10)
    fires = await fires_of(database, schedule_id)
    return [f.fire_at for f in fires if start <= f.fire_at <= end]


async def test_across_daylight_saving_changes_each_wall_clock_time_fires_once(
    client: httpx.AsyncClient, database: Database, make_tenant: Any
) -> None:
    new_york = ZoneInfo("America/New_York")
    tenant = await make_tenant(time_zone="America/New_York")
    created = await client.post(
        "/api/v1/schedules",
        json={"name": "nightly", "cron": "30 1 * * *"},
        headers=tenant.headers(),
    )
    schedule = created.json()
    # Catch up to the eve of the night the clocks go back (2027-11-07, 02:00 → 01:00).
    await firing.fire_due_schedules(database, datetime(2027, 11, 6, 12, tzinfo=new_york), tenant.id)
    fired = await _fires_over(
        database,
        tenant.id,
        schedule["id"],
        datetime(2027, 11, 6, 12, tzinfo=new_york),
        datetime(2027, 11, 8, 12, tzinfo=new_york),
    )
    utc = ZoneInfo("UTC")
    # 01:30 happens twice on the 7th (summer time, then winter time): it fires once.
    assert fired == [
        datetime(2027, 11, 7, 5, 30, tzinfo=utc),  # 01:30 EDT
        datetime(2027, 11, 8, 6, 30, tzinfo=utc),  # 01:30 EST
    ]

    patched = await client.patch(
        f"/api/v1/schedules/{schedule['id']}",
        json={"cron": "30 2 * * *"},
        headers=tenant.headers(),
    )
    assert patched.status_code == 200, patched.text
    # Catch up to the eve of the night the clocks go forward (2028-03-12, 02:00 → 03:00).
    await firing.fire_due_schedules(database, datetime(2028, 3, 11, 12, tzinfo=new_york), tenant.id)
    fired = await _fires_over(
        database,
        tenant.id,
        schedule["id"],
        datetime(2028, 3, 11, 12, tzinfo=new_york),
        datetime(2028, 3, 13, 12, tzinfo=new_york),
    )
    # 02:30 does not exist on the 12th: it fires at 03:30 EDT, an hour on, once.
    assert fired == [
        datetime(2028, 3, 12, 7, 30, tzinfo=utc),  # 03:30 EDT (02:30 read as EST)
        datetime(2028, 3, 13, 6, 30, tzinfo=utc),  # 02:30 EDT
    ]


async def test_a_due_time_while_the_last_run_has_not_ended_starts_no_second_run(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    schedule = await make_schedule(
        api, cron="0 9 * * *", tree_ids=[classified["value"]], mode="dry_run"
    )
    first = when(schedule)
    assert await firing.fire_due_schedules(database, first, tenant.id) == 1
    [run] = await runs_of(api, schedule["id"])
    assert run["status"] == "queued"  # no worker has taken it yet

    second = first + timedelta(days=1)
    assert await firing.fire_due_schedules(database, second, tenant.id) == 1
    after = (await api.get(f"/api/v1/schedules/{schedule['id']}")).json()
    assert after["last_fire"]["run_id"] is None
    assert after["last_fire"]["error"]["type"] == "PreviousRunUnfinished"
    assert run["id"] in after["last_fire"]["error"]["message"]
    assert len(await runs_of(api, schedule["id"])) == 1

    await work_at(database, tenant.id, second)  # the first run ends
    assert (await api.get(f"/api/v1/runs/{run['id']}")).json()["status"] == "succeeded"
    assert await firing.fire_due_schedules(database, second + timedelta(days=1), tenant.id) == 1
    assert len(await runs_of(api, schedule["id"])) == 2
