"""The full error report of an import as an XLSX download, built in constant memory.

Errors are read with a server-side cursor a few thousand at a time and appended to a
write-only workbook (openpyxl streams its rows to a temporary file), in a thread so the
event loop stays free; the finished file is then streamed to the client and deleted.
"""

import asyncio
import os
import tempfile
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import Text, current_locale
from app.core.spreadsheet_safety import spreadsheet_row
from app.imports import repository

_BATCH = 5000
_HEADINGS = {
    "zh-CN": ["行号", "列", "值", "错误说明"],
    "en": ["Row", "Column", "Value", "Error"],
}
_TITLE = Text("错误报告", "Errors")


async def write_error_report(
    session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> str:
    """Write the report to a temporary file; the caller streams and deletes it."""
    # Lazy for start-up time: openpyxl takes ~0.2 s to import and only this download and
    # the templates use it (no cycle: app.imports is its only importer).
    from openpyxl import Workbook

    locale = current_locale.get()
    english = locale == "en"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_TITLE.get(locale))
    sheet.column_dimensions["A"].width = 10
    sheet.column_dimensions["B"].width = 18
    sheet.column_dimensions["C"].width = 30
    sheet.column_dimensions["D"].width = 70
    sheet.append(spreadsheet_row(_HEADINGS[locale]))
    async for rows in repository.stream_errors(session, tenant_id, import_id, _BATCH):
        lines = [
            [row, column, value, message_en if english else message_zh]
            for row, column, value, message_zh, message_en in rows
        ]
        await asyncio.to_thread(_append, sheet, lines)
    descriptor, path = tempfile.mkstemp(prefix="crmc-import-errors-", suffix=".xlsx")
    os.close(descriptor)
    try:
        await asyncio.to_thread(workbook.save, path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _append(sheet: Any, lines: list[list[Any]]) -> None:
    # The values are what users uploaded: never let one run as a formula.
    for line in lines:
        sheet.append(spreadsheet_row(line))
