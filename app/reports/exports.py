"""A run's report as a file (CSV, XLSX, PDF), rendered off the event loop.

The figures come from the report service (SQL aggregates); the customer lists stream from
the database a batch at a time, and every batch is written by the renderer in a worker
thread, so the event loop only awaits and memory stays bounded by a batch (XLSX in
constant-memory mode, CSV appended to a file). Small exports are rendered for the request
and streamed back; a list longer than `report_inline_max_rows` is rendered by a job
(app/reports/tasks.py) and kept in the database until downloaded.
"""

import asyncio
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.core.auth import Principal
from app.core.i18n import Locale
from app.facts.snapshot_layout import Slot
from app.reports import export_csv, export_pdf, export_xlsx, repository, service, wording
from app.reports.export_xlsx import ListColumn, XlsxReport
from app.reports.schemas import ReportFormat, ReportParts
from app.runs.plan import TreePlan

BATCH: Final = 5000
LIST_LIMITS: Final = {"xlsx": 2_000, "pdf": 200, "csv": 0}
EXTENSIONS: Final = {"csv": "csv", "xlsx": "xlsx", "pdf": "pdf"}
MEDIA_TYPES: Final = {
    "csv": export_csv.MEDIA_TYPE,
    "xlsx": export_xlsx.MEDIA_TYPE,
    "pdf": export_pdf.MEDIA_TYPE,
}
_KINDS: Final = ("text", "text", "text", "text", "text", "bool", "text", "text", "text", "int",
                 "bool", "bool")  # fmt: skip
_WIDTHS: Final = (14, 28, 14, 22, 14, 9, 16, 36, 12, 9, 9, 9)


@dataclass(frozen=True)
class ExportFile:
    """A rendered report on disk; whoever streams it deletes it."""

    path: str
    filename: str
    media_type: str


def filename(report_as_of: str, run_id: uuid.UUID, fmt: str, locale: Locale) -> str:
    stem = "classification-report" if locale == "en" else "分类报告"
    return f"{stem}-{report_as_of}-{str(run_id)[:8]}.{EXTENSIONS[fmt]}"


async def write_export(
    session: AsyncSession,
    principal: Principal,
    run_id: uuid.UUID,
    fmt: ReportFormat,
    parts: ReportParts,
    locale: Locale,
    *,
    rows: uuid.UUID | None = None,
    cols: uuid.UUID | None = None,
) -> ExportFile:
    """Render the run's report to a temporary file."""
    data = await service.run_report(
        session, principal, run_id, rows=rows, cols=cols, list_limit=LIST_LIMITS[fmt]
    )
    descriptor, path = tempfile.mkstemp(prefix="crmc-report-", suffix=f".{EXTENSIONS[fmt]}")
    os.close(descriptor)
    try:
        if fmt == "pdf":
            await asyncio.to_thread(export_pdf.render_pdf, data.report, path, locale)
        elif fmt == "csv":
            await _write_csv(session, data, path, locale)
        else:
            await _write_xlsx(session, data, path, locale, parts)
    except BaseException:
        os.unlink(path)
        raise
    name = filename(data.report.as_of.isoformat(), run_id, fmt, locale)
    return ExportFile(path, name, MEDIA_TYPES[fmt])


async def _write_csv(
    session: AsyncSession, data: service.RunReportData, path: str, locale: Locale
) -> None:
    default_rule = wording.DEFAULT_RULE.get(locale)
    with open(path, "wb") as out:  # noqa: ASYNC230 - a local temporary file, written in a thread
        await asyncio.to_thread(out.write, export_csv.header(locale))
        for tree in data.plan.trees:
            name = data.tree_names.get(tree.position, "")
            async for batch in repository.stream_customer_list(
                session, data.plan.run, tree, (), BATCH, default_rule
            ):
                await asyncio.to_thread(_append_csv, out, name, batch, locale)


def _append_csv(out: BinaryIO, tree: str, batch: Sequence[Sequence[Any]], locale: Locale) -> None:
    out.write(export_csv.lines(tree, batch, locale))


async def _write_xlsx(
    session: AsyncSession,
    data: service.RunReportData,
    path: str,
    locale: Locale,
    parts: ReportParts,
) -> None:
    book = await asyncio.to_thread(XlsxReport, path, locale)
    try:
        await asyncio.to_thread(book.summary, data.report, list(data.tree_names.values()))
        if parts == "full":
            default_rule = wording.DEFAULT_RULE.get(locale)
            for tree in data.plan.trees:
                fields = _fields(data, tree)
                title = f"{wording.CUSTOMERS.get(locale)}-{data.tree_names.get(tree.position, '')}"
                columns = _columns(fields, data.plan.catalog, locale)
                await asyncio.to_thread(book.begin_list, title, columns)
                async for batch in repository.stream_customer_list(
                    session, data.plan.run, tree, fields, BATCH, default_rule
                ):
                    await asyncio.to_thread(book.append, batch)
    finally:
        await asyncio.to_thread(book.close)


def _fields(data: service.RunReportData, tree: TreePlan) -> list[Slot]:
    slots = {slot.key: slot for slot in data.plan.layout.slots}
    return [slots[key] for key in tree.fields if key in slots]


def _columns(fields: list[Slot], catalog: FieldCatalog, locale: Locale) -> list[ListColumn]:
    columns = [
        ListColumn(header, kind, width)
        for header, kind, width in zip(
            wording.headers(wording.LIST_HEADERS, locale), _KINDS, _WIDTHS, strict=True
        )
    ]
    for slot in fields:
        field = catalog.get(slot.key)
        label = field.label(locale) if field is not None else slot.key
        kind = {"number": "number", "integer": "int", "date": "date", "boolean": "bool"}.get(
            slot.type, "text"
        )
        if field is not None and field.unit == "CNY":
            kind = "money"
        columns.append(ListColumn(label, kind, 16))
    return columns
