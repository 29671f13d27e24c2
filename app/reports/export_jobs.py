"""Exports too long to render for a request: started as a job (202), polled, downloaded.

A CSV or XLSX report whose customer lists are longer than `report_inline_max_rows`
(customers × trees) is rendered by the worker (app/reports/tasks.py); the file is kept in
the database in pieces and streamed back a piece at a time, from a session of its own, so
a download neither holds the file in memory nor a request's transaction open for long.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.db import Database
from app.core.errors import Conflict, NotFound
from app.core.i18n import Locale, Text
from app.core.settings import get_settings
from app.jobs import queue
from app.models import Job, ReportExport, Run
from app.reports import repository
from app.reports.exports import MEDIA_TYPES, ExportFile, write_export
from app.reports.schemas import ExportJob, ReportFormat, ReportParts
from app.runs.results import RunNotFinished
from app.runs.service import get_run

EXPORT_JOB: Final = "report.export"
CHUNK_BYTES: Final = 1 << 20


class ExportNotFound(NotFound):
    default_detail = Text("找不到该报告导出", "No such report export")


class ExportNotReady(Conflict):
    default_detail = Text("报告仍在生成中或生成失败", "The export is not ready (or failed)")


def list_lines(run: Run) -> int:
    """How long the run's customer lists are: customers × trees."""
    counts = run.counts or {}
    return int(counts.get("customers", 0)) * max(len(counts.get("trees", [])), 1)


async def report_file_or_job(
    session: AsyncSession,
    principal: Principal,
    run_id: uuid.UUID,
    fmt: ReportFormat,
    parts: ReportParts,
    locale: Locale,
    *,
    inline_max_rows: int,
    rows: uuid.UUID | None = None,
    cols: uuid.UUID | None = None,
) -> ExportFile | ExportJob:
    """The report rendered now (a file to stream), or, for long customer lists in CSV or
    XLSX, a queued export job."""
    run = await get_run(session, principal, run_id)
    if run.status != "succeeded":
        raise RunNotFinished
    long_lists = fmt in ("csv", "xlsx") and parts == "full"
    if long_lists and list_lines(run) > inline_max_rows:
        return await start_export(session, principal, run, fmt, parts, locale, rows, cols)
    return await write_export(session, principal, run_id, fmt, parts, locale, rows=rows, cols=cols)


async def start_export(
    session: AsyncSession,
    principal: Principal,
    run: Run,
    fmt: ReportFormat,
    parts: ReportParts,
    locale: Locale,
    rows: uuid.UUID | None,
    cols: uuid.UUID | None,
) -> ExportJob:
    """Record an export and queue its job (in the request's transaction)."""
    export_id = uuid.uuid4()
    payload = {
        "export_id": str(export_id),
        "api_key_id": str(principal.api_key_id),
        "rows": str(rows) if rows else None,
        "cols": str(cols) if cols else None,
    }
    job = await queue.enqueue(session, tenant_id=run.tenant_id, kind=EXPORT_JOB, payload=payload)
    export = ReportExport(
        id=export_id,
        tenant_id=run.tenant_id,
        job_id=job.id,
        run_id=run.id,
        format=fmt,
        parts=parts,
        locale=locale,
        created_by=principal.actor,
    )
    session.add(export)
    await session.flush()
    await session.refresh(export)
    return export_view(export, job)


async def get_export(
    session: AsyncSession, principal: Principal, export_id: uuid.UUID
) -> ExportJob:
    """An export's status, and its download URL once rendered."""
    found = await repository.export_with_job(session, principal.tenant_id, export_id)
    if found is None:
        raise ExportNotFound
    return export_view(*found)


async def ready_export(
    session: AsyncSession, principal: Principal, export_id: uuid.UUID
) -> ExportJob:
    """An export whose file can be downloaded (409 while it renders or if it failed)."""
    view = await get_export(session, principal, export_id)
    if view.download_url is None:
        raise ExportNotReady
    return view


def media_type(view: ExportJob) -> str:
    return MEDIA_TYPES[view.format]


async def stored_file(
    database: Database, tenant_id: uuid.UUID, export_id: uuid.UUID
) -> AsyncIterator[bytes]:
    """The export's bytes, a piece (1 MiB) per short read of its own."""
    seq = 0
    while True:
        async with database.sessionmaker() as session:
            data = await repository.export_chunk(session, tenant_id, export_id, seq)
        if data is None:
            return
        yield data
        seq += 1


async def expire_exports(session: AsyncSession, tenant_id: uuid.UUID | None, now: datetime) -> int:
    """Forget the exports (of the tenant, or all) older than `report_export_hours`."""
    hours = timedelta(hours=get_settings().report_export_hours)
    return await repository.delete_expired_exports(session, tenant_id, now - hours)


def export_view(export: ReportExport, job: Job) -> ExportJob:
    ready = job.status == "succeeded" and export.size_bytes is not None
    return ExportJob(
        id=export.id,
        status=job.status,
        format=export.format,
        run_id=export.run_id,
        filename=export.filename,
        size_bytes=export.size_bytes,
        download_url=f"/api/v1/reports/exports/{export.id}/file" if ready else None,
        created_at=export.created_at,
        finished_at=job.finished_at,
    )
