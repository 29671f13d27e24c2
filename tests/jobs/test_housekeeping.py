"""What workers do besides jobs: finished jobs are forgotten after the retention (never
queued or running ones, never an import's), and a loop that keeps failing (the database
gone) backs off and says so once with a traceback instead of every second."""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.db import Database
from app.jobs import queue
from app.jobs.handlers import load_handlers
from app.jobs.worker import Backoff, JobContext, Worker, job_handler
from app.models import Import, Job
from tests.conftest import TenantKeys
from tests.imports.helpers import csv_bytes

CUSTOMER_HEADER = ["客户编号", "客户名称", "所属行业", "员工人数", "年营收", "所在地区", "客户阶段"]
ROW = ["H1", "华信", "制造业-电子", "180", "1250万", "上海", "签约"]


@job_handler("test.housekeeping.noop")
async def _noop(ctx: JobContext) -> None:
    return None


async def _tenant_jobs(database: Database, tenant: TenantKeys) -> dict[uuid.UUID, str]:
    async with database.sessionmaker() as session:
        rows = await session.execute(select(Job.id, Job.status).where(Job.tenant_id == tenant.id))
        return {job_id: status for job_id, status in rows}


def _worker_at(database: Database, tenant: TenantKeys, **later: float) -> Worker:
    load_handlers()
    return Worker(
        database, tenant_id=tenant.id, clock=lambda: datetime.now(UTC) + timedelta(**later)
    )


async def test_finished_jobs_go_after_the_retention_and_queued_ones_and_imports_jobs_stay(
    database: Database, tenant: TenantKeys, make_tenant: Any, api: httpx.AsyncClient
) -> None:
    load_handlers()
    other = await make_tenant()
    async with database.sessionmaker() as session, session.begin():
        done = [
            await queue.enqueue(session, tenant_id=t.id, kind="test.housekeeping.noop")
            for t in (tenant, tenant, other)
        ]
    imported = await api.post(
        "/api/v1/imports",
        data={"entity": "customers"},
        files={"file": ("c.csv", csv_bytes([CUSTOMER_HEADER, ROW]), "text/csv")},
    )
    assert imported.status_code == 202, imported.text
    assert await Worker(database, tenant_id=tenant.id).run_until_idle() >= 2
    assert await Worker(database, tenant_id=other.id).run_until_idle() == 1
    async with database.sessionmaker() as session, session.begin():
        waiting = await queue.enqueue(
            session, tenant_id=tenant.id, kind="test.housekeeping.noop", delay=timedelta(days=60)
        )
        import_job = await session.scalar(
            select(Import.job_id).where(Import.id == uuid.UUID(imported.json()["id"]))
        )
    before = await _tenant_jobs(database, tenant)
    assert before[done[0].id] == before[done[1].id] == "succeeded"

    await _worker_at(database, tenant, days=13).run_until_idle()
    assert await _tenant_jobs(database, tenant) == before, "within the retention: all kept"

    await _worker_at(database, tenant, days=15).run_until_idle()
    after = await _tenant_jobs(database, tenant)
    assert done[0].id not in after
    assert done[1].id not in after
    assert after[waiting.id] == "queued"
    assert import_job in after, "an import shows its job's status: kept as long as it"
    shown = await api.get(f"/api/v1/imports/{imported.json()['id']}")
    assert shown.status_code == 200
    assert shown.json()["status"] == "succeeded"
    assert done[2].id in await _tenant_jobs(database, other), "a worker of one tenant"


def test_backoff_doubles_up_to_its_most_and_a_success_ends_the_streak() -> None:
    backoff = Backoff(first=1, most=30)
    assert [backoff.failed() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.succeeded() == 7
    assert backoff.failed() == 1


async def test_a_loop_that_keeps_failing_logs_one_traceback_then_one_line_each_and_backs_off(
    database: Database, tenant: TenantKeys, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Before, a worker whose database was gone logged a full traceback every poll (1 s).
    worker = Worker(database, poll_seconds=0.001, tenant_id=tenant.id)
    stop = asyncio.Event()
    calls = {"n": 0}

    async def down() -> bool:
        calls["n"] += 1
        if calls["n"] <= 6:
            raise ConnectionRefusedError("the database is gone")
        stop.set()
        return False

    monkeypatch.setattr(worker, "run_once", down)
    with caplog.at_level(logging.WARNING, logger="app.jobs.worker"):
        await asyncio.wait_for(worker.run_forever(stop), 120)  # never waits this long
    loop_records = [r for r in caplog.records if "worker loop" in r.getMessage()]
    assert [r.exc_info is not None for r in loop_records] == [True] + [False] * 6
    assert "6 in a row" in loop_records[5].getMessage()
    assert "works again after 6 errors" in loop_records[6].getMessage()
