"""A crashed import resumes after its last committed batch: nothing is imported twice."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.core.db import Database
from app.imports import tasks
from app.models import Import, Job, Order
from tests.conftest import TenantKeys
from tests.imports.helpers import add_customers, counts, csv_bytes, run_jobs, upload

HEADER = ["订单编号", "客户编号", "订单金额", "下单日期"]


def orders_file(count: int) -> bytes:
    rows = [[f"SO-{i}", "R1", f"{i}.00", "2024-03-05"] for i in range(1, count + 1)]
    rows.insert(6, ["SO-2", "R1", "9.00", "2024-03-05"])  # row 8 repeats row 3
    return csv_bytes([HEADER, *rows])


async def _orders(database: Database, tenant_id: Any) -> int:
    async with database.sessionmaker() as session:
        return (
            await session.scalar(
                select(func.count()).select_from(Order).where(Order.tenant_id == tenant_id)
            )
            or 0
        )


async def _job_of(database: Database, import_id: str) -> Job:
    async with database.sessionmaker() as session:
        job = await session.scalar(
            select(Job).join(Import, Import.job_id == Job.id).where(Import.id == import_id)
        )
        assert job is not None
        return job


async def test_a_job_that_crashed_after_a_batch_resumes_after_it(
    api: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch, tenant: TenantKeys
) -> None:
    await add_customers(api, "R1")
    accepted = await upload(api, "orders", orders_file(10))
    import_id = accepted.json()["id"]
    monkeypatch.setattr(tasks, "BATCH_ROWS", 4)
    real_write = tasks.write_activity

    async def crash_on_second_batch(*args: Any, **options: Any) -> Any:
        rows = args[-1]  # staged rows start with the external id
        if any(row[0] == "SO-5" for row in rows):  # rows 6–9
            raise RuntimeError("worker lost its database connection")
        return await real_write(*args, **options)

    monkeypatch.setattr(tasks, "write_activity", crash_on_second_batch)
    await run_jobs(database, tenant.id)
    job = await _job_of(database, import_id)
    assert (job.status, job.checkpoint) == ("queued", {"rows_done": 4})
    assert await _orders(database, job.tenant_id) == 4
    monkeypatch.setattr(tasks, "write_activity", real_write)  # the next worker is healthy
    async with database.sessionmaker() as session, session.begin():
        await session.execute(update(Job).where(Job.id == job.id).values(run_after=func.now()))
    await run_jobs(database, tenant.id)
    report = (await api.get(f"/api/v1/imports/{import_id}")).json()
    assert report["status"] == "succeeded"
    assert counts(report) == (11, 10, 0, 1)
    assert [(e["row"], e["code"]) for e in report["errors"]] == [(8, "duplicate_external_id")]
    assert await _orders(database, job.tenant_id) == 10
    assert report["progress"] == {"done": 11, "total": 11}


async def test_a_job_given_a_checkpoint_skips_the_rows_it_says_are_done(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await add_customers(api, "R1")
    accepted = await upload(api, "orders", orders_file(10))
    import_id = accepted.json()["id"]
    job = await _job_of(database, import_id)
    # As if an earlier attempt had committed the first 7 records (rows 2–8, SO-1…SO-6
    # and the repeated SO-2) before the worker died.
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Job).where(Job.id == job.id).values(checkpoint={"rows_done": 7})
        )
    await run_jobs(database, tenant.id)
    report = (await api.get(f"/api/v1/imports/{import_id}")).json()
    assert counts(report) == (11, 4, 0, 0)
    assert report["errors"] == []
    assert await _orders(database, job.tenant_id) == 4
