"""Hostile XLSX files, built in memory: a valid workbook whose data sheet is replaced."""

import io
import zipfile
from collections.abc import Iterable

from tests.imports.helpers import xlsx_bytes

SHEET = "xl/worksheets/sheet1.xml"
_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData>"
)
_CLOSE = b"</sheetData></worksheet>"


def inline_row(number: int, *values: str) -> bytes:
    """A row of inline strings from column A."""
    cells = b"".join(f'<c t="inlineStr"><is><t>{value}</t></is></c>'.encode() for value in values)
    return f'<row r="{number}">'.encode() + cells + b"</row>"


def workbook_with_sheet(
    parts: Iterable[bytes],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """An XLSX whose first sheet's sheetData holds `parts` (written as they come, so a
    sheet of hundreds of MB never sits in memory)."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["客户编号"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression, compresslevel=9) as target:
        for info in base.infolist():
            if info.filename != SHEET:
                target.writestr(info.filename, base.read(info))
        with target.open(SHEET, "w", force_zip64=False) as sheet:
            sheet.write(_OPEN)
            for part in parts:
                sheet.write(part)
            sheet.write(_CLOSE)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def empty_elements_bomb(count: int = 5_000_000) -> bytes:
    """~45 KB: a header row, then `count` empty <x/> elements in sheetData."""
    block = b"<x/>" * 100_000
    return workbook_with_sheet(
        [inline_row(1, "客户编号", "客户名称"), *([block] * (count // 100_000))]
    )


def wide_rows_bomb(rows: int = 25_000) -> bytes:
    """~180 KB: every row has one cell, in column XFD (Excel's last): a reader that pads
    rows from column A holds 16,384 cells per row."""
    return workbook_with_sheet(
        [inline_row(1, "客户编号", "客户名称")]
        + [f'<row r="{r}"><c r="XFD{r}"><v>{r}</v></c></row>'.encode() for r in range(2, rows)]
    )


def huge_cell_bomb(megabytes: int = 400) -> bytes:
    """~400 KB: one cell holding `megabytes` MB of text."""
    mebibyte = b"a" * (1 << 20)
    return workbook_with_sheet(
        [
            inline_row(1, "客户编号", "客户名称"),
            b'<row r="2"><c r="A2" t="inlineStr"><is><t>',
            *([mebibyte] * megabytes),
            b"</t></is></c></row>",
        ]
    )
