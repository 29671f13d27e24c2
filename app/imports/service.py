"""Imports: accept an upload as a queued job, and report on it."""

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import NotFound
from app.core.i18n import Text
from app.core.pagination import PageParams
from app.imports import repository
from app.imports.schemas import (
    ImportCounts,
    ImportFailure,
    ImportOut,
    ImportProgress,
    ImportRowErrorOut,
    ImportSummary,
)
from app.imports.upload import Upload
from app.jobs import queue
from app.models import Import, ImportRowError, Job

JOB_KIND = "import"
FIRST_ERRORS = 100
_JOB_FAILED = Text(
    "导入任务异常中止,请重新上传;如仍失败请联系管理员",
    "The import job stopped with an internal error; upload again or contact an administrator",
)


class ImportNotFound(NotFound):
    default_detail = Text("找不到该导入任务", "No such import")


@dataclass(frozen=True)
class Imported:
    """What a finished import did (the job's result)."""

    rows: int | None
    created: int
    updated: int
    failed: int

    def as_result(self) -> dict[str, Any]:
        return asdict(self)


class FileRejected(BaseModel):
    """Why an import ended without importing: the file as a whole cannot be (no header
    row, a required column missing, unreadable). Kept in the job's result; not retried,
    since it would fail the same way."""

    code: str
    message_zh: str
    message_en: str

    def as_result(self) -> dict[str, Any]:
        return {"failure": self.model_dump()}

    @classmethod
    def of_job(cls, job: Job) -> "FileRejected | None":
        """The rejection a succeeded job recorded, if any."""
        failure = (job.result or {}).get("failure") if job.status == "succeeded" else None
        return cls.model_validate(failure) if failure else None


@dataclass
class PendingImport:
    """An import whose file is still arriving; its chunks go in with `store_chunk`."""

    session: AsyncSession
    principal: Principal
    record: Import

    async def store_chunk(self, seq: int, data: bytes) -> None:
        """Keep one piece of the file (called as the upload streams in)."""
        await repository.add_chunk(
            self.session, self.principal.tenant_id, self.record.id, seq, data
        )


async def start_import(session: AsyncSession, principal: Principal) -> PendingImport:
    """The import and its job, before the file arrives (chunks need the import's row).

    The form fields may follow the file in the body, so the row starts with placeholders
    that `finish_import` replaces; the job only becomes visible to workers at commit.
    """
    import_id = uuid.uuid4()
    job = await queue.enqueue(
        session,
        tenant_id=principal.tenant_id,
        kind=JOB_KIND,
        payload={"import_id": str(import_id), "api_key_id": str(principal.api_key_id)},
    )
    record = Import(
        id=import_id,
        tenant_id=principal.tenant_id,
        job_id=job.id,
        entity="customers",
        filename="",
        file_format="csv",
        size_bytes=0,
        created_by=principal.actor,
    )
    session.add(record)
    await session.flush()
    return PendingImport(session, principal, record)


async def finish_import(pending: PendingImport, upload: Upload) -> ImportOut:
    """Record what was uploaded; the queued import as the API shows it."""
    record = pending.record
    record.entity, record.dry_run = upload.entity, upload.dry_run
    record.filename, record.file_format = upload.filename, upload.file_format
    record.size_bytes = upload.size
    await pending.session.flush()
    await pending.session.refresh(record)
    job = await pending.session.get(Job, record.job_id)
    assert job is not None
    return import_out(record, job, [], 0)


async def get_import(
    session: AsyncSession, principal: Principal, import_id: uuid.UUID
) -> ImportOut:
    """An import of the caller's tenant with its first row errors, else 404."""
    found = await repository.import_and_job(session, principal.tenant_id, import_id)
    if found is None:
        raise ImportNotFound
    record, job = found
    errors, count = await repository.first_errors(
        session, principal.tenant_id, import_id, FIRST_ERRORS
    )
    return import_out(record, job, errors, count)


async def require_import(
    session: AsyncSession, principal: Principal, import_id: uuid.UUID
) -> Import:
    """The import (for its error report), else 404."""
    found = await repository.import_and_job(session, principal.tenant_id, import_id)
    if found is None:
        raise ImportNotFound
    return found[0]


async def list_imports(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[ImportSummary], str | None]:
    """The tenant's imports, newest first."""
    rows, cursor = await repository.page_of_imports(session, principal.tenant_id, page)
    return [summary(record, job) for record, job in rows], cursor


def summary(record: Import, job: Job) -> ImportSummary:
    """The import's state, derived from its job and counters."""
    failure = _failure(job)
    return ImportSummary(
        id=record.id,
        status="failed" if failure is not None else job.status,
        entity=record.entity,
        filename=record.filename,
        file_format=record.file_format,
        size_bytes=record.size_bytes,
        dry_run=record.dry_run,
        progress=ImportProgress(done=job.progress_done, total=job.progress_total),
        counts=ImportCounts(
            rows=record.total_rows,
            created=record.created,
            updated=record.updated,
            failed=record.failed,
        ),
        failure=failure,
        created_by=record.created_by,
        created_at=record.created_at,
        finished_at=job.finished_at,
    )


def import_out(record: Import, job: Job, errors: list[ImportRowError], count: int) -> ImportOut:
    """The import with its first row errors, in the request's language."""
    return ImportOut(
        **summary(record, job).model_dump(),
        error_count=count,
        errors=[
            ImportRowErrorOut(
                row=e.row_number,
                column=e.column,
                value=e.value,
                code=e.code,
                message=Text(e.message_zh, e.message_en).get(),
            )
            for e in errors
        ],
    )


def _failure(job: Job) -> ImportFailure | None:
    rejected = FileRejected.of_job(job)
    if rejected is not None:
        message = Text(rejected.message_zh, rejected.message_en).get()
        return ImportFailure(code=rejected.code, message=message)
    if job.status == "failed":
        return ImportFailure(code="job_failed", message=_JOB_FAILED.get())
    return None
