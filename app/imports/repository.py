"""Queries for imports, their chunks and their row errors (always within one tenant)."""

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, keyset_page
from app.imports.rows import RowError
from app.models import Import, ImportChunk, ImportRowError, Job


async def import_and_job(
    session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> tuple[Import, Job] | None:
    row = (
        await session.execute(
            select(Import, Job)
            .join(Job, Job.id == Import.job_id)
            .where(Import.tenant_id == tenant_id, Import.id == import_id)
        )
    ).first()
    return (row.Import, row.Job) if row else None


async def page_of_imports(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams
) -> tuple[list[tuple[Import, Job]], str | None]:
    """Newest first; each import with its job (one extra query per page)."""
    rows, cursor = await keyset_page(
        session,
        select(Import).where(Import.tenant_id == tenant_id),
        [Import.created_at, Import.id],
        page,
        descending=True,
    )
    jobs = {
        job.id: job
        for job in await session.scalars(
            select(Job).where(Job.tenant_id == tenant_id, Job.id.in_([r.job_id for r in rows]))
        )
    }
    return [(row, jobs[row.job_id]) for row in rows], cursor


async def add_chunk(
    session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID, seq: int, data: bytes
) -> None:
    await session.execute(
        insert(ImportChunk).values(tenant_id=tenant_id, import_id=import_id, seq=seq, data=data)
    )


async def first_errors(
    session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID, limit: int
) -> tuple[list[ImportRowError], int]:
    """The first `limit` errors in row order, and how many there are in all."""
    where = (ImportRowError.tenant_id == tenant_id, ImportRowError.import_id == import_id)
    errors = await session.scalars(
        select(ImportRowError)
        .where(*where)
        .order_by(ImportRowError.row_number, ImportRowError.id)
        .limit(limit)
    )
    count = await session.scalar(select(func.count()).select_from(ImportRowError).where(*where))
    return list(errors), count or 0


async def stream_errors(
    session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID, batch: int
) -> AsyncIterator[Sequence[Any]]:
    """Every error in row order, `batch` at a time (a server-side cursor)."""
    result = await session.stream(
        select(
            ImportRowError.row_number,
            ImportRowError.column,
            ImportRowError.value,
            ImportRowError.message_zh,
            ImportRowError.message_en,
        )
        .where(ImportRowError.tenant_id == tenant_id, ImportRowError.import_id == import_id)
        .order_by(ImportRowError.row_number, ImportRowError.id)
        .execution_options(yield_per=batch)
    )
    async for partition in result.partitions():
        yield partition


async def add_errors(
    session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID, errors: list[RowError]
) -> None:
    if not errors:
        return
    await session.execute(
        insert(ImportRowError),
        [
            {
                "tenant_id": tenant_id,
                "import_id": import_id,
                "row_number": e.row,
                "column": _storable(e.column, 100),
                "value": _storable(e.value),
                "code": e.code[:64],
                "message_zh": _storable(e.message_zh),
                "message_en": _storable(e.message_en),
            }
            for e in errors
        ],
    )


def _storable(text: str | None, limit: int | None = None) -> Any:
    # A file may hold NUL characters, which PostgreSQL text cannot; the report shows them
    # as U+2400 (␀) so the user can still see where they were.
    if text is None:
        return None
    return text.replace("\x00", "\u2400")[:limit]


async def add_counts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    import_id: uuid.UUID,
    *,
    created: int,
    updated: int,
    failed: int,
    total_rows: int | None = None,
) -> None:
    """Add to the import's counters (in the transaction of the rows they count)."""
    values: dict[str, Any] = {
        "created": Import.created + created,
        "updated": Import.updated + updated,
        "failed": Import.failed + failed,
    }
    if total_rows is not None:
        values["total_rows"] = total_rows
    await session.execute(
        update(Import).where(Import.tenant_id == tenant_id, Import.id == import_id).values(**values)
    )
