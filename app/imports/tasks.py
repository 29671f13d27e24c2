"""The import job: read the stored file, normalise and validate rows, write in batches.

Each batch is one transaction holding its rows, its row errors, the import's counters
and the job's checkpoint (records done), so after a crash the next attempt resumes
exactly after the last committed batch and no row is imported or reported twice.

Customers go through the bulk service the API uses. Orders, interactions and complaints
are staged straight from the normalised cells (`activity_rows`) and written by the
activity writer: COPY into a staging table and one set-based upsert per batch, which
also finds the rows whose customer code is unknown. A dry run counts what the batch would
do without writing (activity) or writes it inside a savepoint that is rolled back
(customers): the counts are those the real import would produce.

While the database writes a batch, the next one is read, normalised and validated, so
Python's work and PostgreSQL's overlap.
"""

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity.service import COMPLAINTS, INTERACTIONS, ORDERS, write_activity
from app.core.auth import Principal
from app.core.request_context import current_request_id
from app.core.settings import get_settings
from app.customers.service import bulk_upsert_customers
from app.facts.today import tenant_zone
from app.imports import repository
from app.imports.activity_rows import ActivityRows
from app.imports.batches import STEP_ROWS, Batch, BatchReader
from app.imports.columns import SPECS, EntitySpec
from app.imports.limits import ImportLimits
from app.imports.reader import FileProblem, RowStream, copy_to_disk, open_rows
from app.imports.rows import (
    Header,
    RowError,
    is_blank,
    missing_columns_error,
    resolve_header,
    service_errors,
    unknown_customer_error,
)
from app.imports.service import JOB_KIND, FileRejected, Imported
from app.jobs import queue
from app.jobs.worker import JobContext, job_handler
from app.models import Import, Role, Tenant

BATCH_ROWS = 20_000
_ACTIVITY = {"orders": ORDERS, "interactions": INTERACTIONS, "complaints": COMPLAINTS}


@job_handler(JOB_KIND)
async def run_import(ctx: JobContext) -> dict[str, Any]:
    """Import one uploaded file (see the module docstring)."""
    import_id = uuid.UUID(ctx.payload["import_id"])
    # Audit events written by the services carry the import as their correlation id.
    current_request_id.set(f"import:{import_id}")
    async with ctx.database.sessionmaker() as session:
        record = await session.scalar(
            select(Import).where(Import.tenant_id == ctx.tenant_id, Import.id == import_id)
        )
        tenant = await session.get(Tenant, ctx.tenant_id)
    if record is None or tenant is None:
        return {"skipped": "the import no longer exists"}
    principal = Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_time_zone=tenant.time_zone,
        api_key_id=uuid.UUID(ctx.payload["api_key_id"]),
        role=Role.EDITOR,
        actor=record.created_by,
    )
    job = _ImportJob(ctx, record, principal, SPECS[record.entity])
    with tempfile.TemporaryDirectory(prefix="crmc-import-") as directory:
        try:
            copy = await copy_to_disk(
                ctx.database,
                ctx.tenant_id,
                import_id,
                record.file_format,
                # openpyxl goes by the extension, so the copy keeps the file's format.
                Path(directory) / f"upload.{record.file_format}",
            )
            with open_rows(copy, ImportLimits.from_settings(get_settings())) as rows:
                outcome: Imported | FileRejected = await job.run(rows)
        except FileProblem as problem:
            failure = RowError(
                job.header_row, None, None, problem.code, problem.message_zh, problem.message_en
            )
            outcome = await job.fail(failure)
    return outcome.as_result()


class _ImportJob:
    def __init__(
        self, ctx: JobContext, record: Import, principal: Principal, spec: EntitySpec
    ) -> None:
        self.ctx = ctx
        self.record = record
        self.principal = principal
        self.spec = spec
        self.header_row = 1
        self.resumed = ctx.checkpoint is not None

    async def run(self, rows: RowStream) -> Imported | FileRejected:
        header = await self._header(rows)
        if header is None:
            raise FileProblem("empty_file", "文件中没有表头行", "The file has no header row")
        if header.missing:
            return await self.fail(missing_columns_error(self.spec, header), header.issues)
        estimate = rows.estimate
        total = max(estimate - header.row, 0) if estimate is not None else None
        done = (self.ctx.checkpoint or {}).get("rows_done", 0)
        stage = None
        if self.record.entity in _ACTIVITY:
            zone = tenant_zone(self.principal)
            stage = ActivityRows(self.spec, header, _ACTIVITY[self.record.entity], zone).stage
        reader = BatchReader(self.spec, header, rows, stage)
        if self.resumed:
            await reader.skip(done)
        else:
            async with self._transaction() as session:
                await self._record(session, header.issues, 0, 0, 0, done=0, total=total)
        done = await self._import_batches(header, reader, done, total)
        async with self._transaction() as session:
            await repository.add_counts(
                session,
                self.principal.tenant_id,
                self.record.id,
                created=0,
                updated=0,
                failed=0,
                total_rows=reader.data_rows,
            )
            await queue.report_progress(session, self.ctx.job.id, done, done)
            record = await session.get(Import, self.record.id, populate_existing=True)
        assert record is not None
        return Imported(record.total_rows, record.created, record.updated, record.failed)

    async def _import_batches(
        self, header: Header, reader: BatchReader, done: int, total: int | None
    ) -> int:
        """Write every batch; returns the records done.

        Python and PostgreSQL work side by side: while batch n is being written by the
        database, batch n+1 is read, normalised and validated (in its own transaction).
        Batches still commit strictly in order (each waits for its predecessor before
        recording its checkpoint), so the checkpoint never runs ahead of a batch that
        might yet roll back. Reading runs on the event loop, not in a thread: it is pure
        Python, and in a thread it only contended with the validation for the GIL
        (measured slower than inline); it lets the loop run every `STEP_ROWS` rows.
        """
        writing: asyncio.Future[int] | None = None
        try:
            while (batch := await reader.read_batch(BATCH_ROWS)).consumed:
                done += batch.consumed
                total = max(total, done) if total is not None else None
                previous = writing
                writing = asyncio.ensure_future(self._write(header, batch, done, total, previous))
                if previous is not None:
                    await self.ctx.progress(await previous, total)
            if writing is not None:
                await self.ctx.progress(await writing, total)
        finally:
            # Nothing may outlive the job: a last write finishes (one whose predecessor
            # failed rolls back by itself).
            if writing is not None:
                with contextlib.suppress(Exception):
                    await writing
        return done

    async def _header(self, rows: RowStream) -> Header | None:
        for seen, (row, cells) in enumerate(rows, start=1):
            if not is_blank(cells):
                self.header_row = row
                width = len(cells) if self.record.file_format == "csv" else None
                return resolve_header(self.spec, cells, row, width=width)
            if seen % STEP_ROWS == 0:
                await asyncio.sleep(0)  # a file of blank lines: let the heartbeat run
        return None

    async def fail(self, failure: RowError, issues: Sequence[RowError] = ()) -> FileRejected:
        """End the import as failed with a file-level reason (not retried: it would fail
        the same way)."""
        async with self._transaction() as session:
            errors = [] if self.resumed else list(issues)
            await repository.add_errors(
                session, self.principal.tenant_id, self.record.id, [*errors, failure]
            )
        return FileRejected(
            code=failure.code, message_zh=failure.message_zh, message_en=failure.message_en
        )

    @contextlib.asynccontextmanager
    async def _transaction(self) -> Any:
        async with self.ctx.database.sessionmaker() as session, session.begin():
            yield session

    async def _write(
        self,
        header: Header,
        batch: Batch,
        done: int,
        total: int | None,
        after: "asyncio.Future[int] | None",
    ) -> int:
        """One batch in one transaction, committed only after the batch before it."""
        errors, failed = list(batch.errors), batch.failed
        created = updated = 0
        async with self._transaction() as session:
            # The batch commits with its checkpoint, and WAL is replayed in order: a crash
            # can only lose the newest batches whole, checkpoint included, and the next
            # attempt redoes exactly those. So waiting for the disk at every commit buys
            # nothing here.
            await session.execute(text("SET LOCAL synchronous_commit = off"))
            if batch.items:
                if self.record.entity == "customers":
                    created, updated, refused = await self._upsert_customers(session, header, batch)
                else:
                    created, updated, refused = await self._write_activity(session, header, batch)
                errors.extend(refused)
                failed += len(refused)
            errors.sort(key=lambda e: e.row)
            if after is not None:
                await after  # raises (and so rolls this batch back) if that one failed
            await self._record(session, errors, created, updated, failed, done=done, total=total)
        self.ctx.job.checkpoint = {"rows_done": done}
        return done

    async def _write_activity(
        self, session: AsyncSession, header: Header, batch: Batch
    ) -> tuple[int, int, list[RowError]]:
        written = await write_activity(
            session,
            self.principal,
            _ACTIVITY[self.record.entity],
            batch.items,
            dry_run=self.record.dry_run,
            refused=batch.failed,
        )
        unknown = [
            unknown_customer_error(self.spec, header, *batch.sources[position])
            for position in written.unknown
        ]
        return written.created, written.updated, unknown

    async def _upsert_customers(
        self, session: AsyncSession, header: Header, batch: Batch
    ) -> tuple[int, int, list[RowError]]:
        # The service looks customers up with `code = ANY($1)`. asyncpg prepares
        # statements, and after five runs PostgreSQL may switch to a generic plan, in
        # which an array parameter is searched linearly for every row: with stale
        # statistics (customers loaded just before) that costs seconds per batch. A
        # custom plan hashes the array.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        # A savepoint per batch, which a dry run rolls back.
        savepoint = await session.begin_nested()
        result = await bulk_upsert_customers(session, self.principal, batch.items)
        if self.record.dry_run:
            await savepoint.rollback()
        else:
            await savepoint.commit()
        errors = []
        for failed in result.errors:
            row, cells = batch.sources[failed.index]
            errors.extend(service_errors(self.spec, header, failed, row, cells))
        return result.created, result.updated, errors

    async def _record(
        self,
        session: AsyncSession,
        errors: list[RowError],
        created: int,
        updated: int,
        failed: int,
        *,
        done: int,
        total: int | None,
    ) -> None:
        tenant_id, import_id = self.principal.tenant_id, self.record.id
        await repository.add_errors(session, tenant_id, import_id, errors)
        await repository.add_counts(
            session, tenant_id, import_id, created=created, updated=updated, failed=failed
        )
        checkpoint = {"rows_done": done}
        await queue.report_progress(session, self.ctx.job.id, done, total, checkpoint)
