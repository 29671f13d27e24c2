"""The export job: render a run's report to a file and keep it in the database.

Rendering reads in the job's first transaction (the figures, then the customer lists
streamed); the file is then stored in a second transaction that first removes whatever an
earlier attempt stored, so a retried job leaves exactly one file. Exports older than
`report_export_hours` are forgotten as each new one is rendered, and by a periodic duty
when nobody renders one.
"""

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.core.auth import Principal
from app.core.db import Database
from app.core.i18n import Locale, current_locale
from app.jobs.worker import JobContext, job_handler, periodic_duty
from app.models import ReportExport, Role, Tenant
from app.reports import repository
from app.reports.export_jobs import CHUNK_BYTES, EXPORT_JOB, expire_exports
from app.reports.exports import write_export


@periodic_duty("reports.expire_exports", every=timedelta(minutes=10))
async def expire_old_exports(database: Database, now: datetime, tenant_id: uuid.UUID | None) -> int:
    """Forget expired exports even when nobody renders a new one."""
    async with database.sessionmaker() as session, session.begin():
        return await expire_exports(session, tenant_id, now)


@job_handler(EXPORT_JOB)
async def export_report(context: JobContext) -> dict[str, Any] | None:
    export_id = uuid.UUID(context.payload["export_id"])
    async with context.database.sessionmaker() as session, session.begin():
        export = await session.scalar(
            select(ReportExport).where(
                ReportExport.tenant_id == context.tenant_id, ReportExport.id == export_id
            )
        )
        tenant = await session.get(Tenant, context.tenant_id)
        if export is None or tenant is None:
            return None
        await expire_exports(session, tenant.id, datetime.now(UTC))
        principal = Principal(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            tenant_time_zone=tenant.time_zone,
            api_key_id=uuid.UUID(context.payload["api_key_id"]),
            role=Role.VIEWER,
            actor=export.created_by,
        )
        locale: Locale = "en" if export.locale == "en" else "zh-CN"
        current_locale.set(locale)  # labels the services render (未分类 …)
        rows, cols = context.payload.get("rows"), context.payload.get("cols")
        rendered = await write_export(
            session,
            principal,
            export.run_id,
            export.format,  # type: ignore[arg-type]  # a checked column: EXPORT_FORMATS
            export.parts,  # type: ignore[arg-type]  # written from ReportParts only
            locale,
            rows=uuid.UUID(rows) if rows else None,
            cols=uuid.UUID(cols) if cols else None,
        )
    try:
        async with context.database.sessionmaker() as session, session.begin():
            stored = await session.get(ReportExport, export_id)
            if stored is None:  # expired or deleted meanwhile
                return None
            size = await repository.store_export_file(session, stored, rendered.path, CHUNK_BYTES)
            stored.filename, stored.size_bytes = rendered.filename, size
    finally:
        os.unlink(rendered.path)
    return {"export_id": str(export_id), "size_bytes": size}
