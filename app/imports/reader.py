"""Reading an uploaded file back from its chunks, row by row, in bounded memory.

The chunks are copied to a temporary file first (both readers want a file: the csv
module reads a text stream over it, the XLSX reader the zip's directory and members),
and rows are then streamed from it one at a time, within the import limits
(app/imports/limits.py): rows, cells per row, characters per cell and per row, and for
an XLSX what its archive may expand to. Reaching one fails the import (`file_too_large`).

CSV: UTF-8 with or without BOM, else GB18030 (what Chinese Excel's "CSV" export writes),
and UTF-16 when it has a BOM (Excel's "Unicode text"); the delimiter (, tab ;) is taken
from the header line. XLSX: app/imports/xlsx.py, a streaming reader of the first sheet
that is not the template's 说明 sheet.

Why neither openpyxl nor python-calamine for XLSX: neither bounds what it builds from the
file. openpyxl's read-only mode keeps unknown elements and builds whole cells; calamine
materialises the sheet as a dense grid before the first row (measured on a 8.0 MB,
125,000-row customers sheet: bench/RESULTS.md, "XLSX readers").
"""

import codecs
import contextlib
import csv
import uuid
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.core.db import Database
from app.imports import xlsx
from app.imports.limits import ImportLimits, TooLarge
from app.models import ImportChunk

Row = tuple[int, Sequence[Any]]  # (row number as Excel shows it, cells)


class FileProblem(Exception):
    """The file as a whole cannot be read; the import fails with this message."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


@dataclass(frozen=True)
class LocalCopy:
    """The upload as a local file, with what was learnt while copying it."""

    path: Path
    file_format: str
    encoding: str | None  # CSV only
    line_breaks: int  # an estimate of the number of rows, for progress


async def copy_to_disk(
    database: Database, tenant_id: uuid.UUID, import_id: uuid.UUID, file_format: str, path: Path
) -> LocalCopy:
    """Write the chunks to `path` in order; for CSV also find the encoding on the way."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok, first, line_breaks = True, b"", 0
    statement = (
        select(ImportChunk.data)
        .where(ImportChunk.tenant_id == tenant_id, ImportChunk.import_id == import_id)
        .order_by(ImportChunk.seq)
        .execution_options(yield_per=4)
    )
    async with database.sessionmaker() as session:
        result = await session.stream_scalars(statement)
        with path.open("wb") as out:
            async for data in result:
                out.write(data)
                line_breaks += data.count(b"\n")
                if not first:
                    first = data[:4]
                if file_format == "csv" and utf8_ok:
                    try:
                        utf8.decode(data)
                    except UnicodeDecodeError:
                        utf8_ok = False
    encoding = None
    if file_format == "csv":
        encoding = csv_encoding(path, first, utf8_ok)
    return LocalCopy(path, file_format, encoding, line_breaks)


def csv_encoding(path: Path, first: bytes, utf8_ok: bool) -> str:
    """The encoding of a CSV file: UTF-8 (BOM optional), UTF-16 with a BOM, else GB18030."""
    if first.startswith(codecs.BOM_UTF8):
        if not utf8_ok:
            raise _undecodable()
        return "utf-8-sig"
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif utf8_ok:
        return "utf-8"
    else:
        encoding = "gb18030"
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as source:
        try:
            while block := source.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _undecodable() from None
    return encoding


def _undecodable() -> FileProblem:
    return FileProblem(
        "unreadable_encoding",
        "无法识别文件编码:CSV 应为 UTF-8 或 GB18030(GBK)编码",
        "Cannot decode the file: a CSV must be UTF-8 or GB18030 (GBK)",
    )


class RowStream:
    """The rows of an open file, numbered as a user sees them, with an estimate of how
    many there are and the characters of text read so far (batches are cut by it)."""

    def __init__(self, estimate: int | None) -> None:
        self.estimate = estimate
        self.chars = 0
        self.rows: Iterator[Row] = iter(())

    def __iter__(self) -> Iterator[Row]:
        return self.rows

    def count(self, chars: int) -> None:
        self.chars += chars


@contextlib.contextmanager
def open_rows(copy: LocalCopy, limits: ImportLimits) -> Iterator[RowStream]:
    """The rows of the file, read within `limits` (FileProblem when one is reached)."""
    if copy.file_format == "csv":
        with copy.path.open(encoding=copy.encoding, newline="") as stream:
            rows = RowStream(copy.line_breaks)
            rows.rows = _csv_rows(stream, limits, rows)
            yield rows
        return
    with copy.path.open("rb") as source:
        with _xlsx_problems():
            try:
                workbook = xlsx.Workbook(source, limits)
            except xlsx.Malformed as exc:
                raise _unreadable_xlsx(exc) from None
            try:
                sheet = workbook.data_sheet()
            except LookupError:
                workbook.close()
                raise FileProblem(
                    "no_data_sheet", "XLSX 文件中没有数据工作表", "The XLSX file has no data sheet"
                ) from None
            rows = RowStream(workbook.dimension_rows(sheet))
        try:
            rows.rows = _xlsx_rows(workbook, sheet, rows)
            yield rows
        finally:
            workbook.close()


def _csv_rows(stream: Any, limits: ImportLimits, counter: RowStream) -> Iterator[Row]:
    row_limit = limits.max_row_chars
    first_line = stream.readline(row_limit + 1)
    delimiter = max((",", "\t", ";"), key=first_line.count)
    stream.seek(0)
    number = row_chars = 0

    def lines() -> Iterator[str]:
        # csv.reader materialises a whole record before anyone sees it: the characters
        # of a record are counted as its lines are handed over (a line of 26 million
        # commas stops at the limit instead of becoming a list of 26 million cells).
        nonlocal row_chars
        readline = stream.readline
        while line := readline(row_limit + 1):
            row_chars += len(line)
            if row_chars > row_limit:
                raise TooLarge("row_chars", row_chars, row_limit, row=number + 1)
            yield line

    csv.field_size_limit(limits.max_cell_chars)
    reader = csv.reader(lines(), delimiter=delimiter)
    max_columns, max_rows = limits.max_columns, limits.max_rows
    records = 0  # not counting empty lines (they cost next to nothing)
    try:
        for number, cells in enumerate(reader, start=1):
            counter.chars += row_chars
            row_chars = 0
            if cells:
                records += 1
                if len(cells) > max_columns:
                    raise TooLarge("columns", len(cells), max_columns, row=number)
                if records > max_rows:
                    raise TooLarge("rows", records, max_rows)
            yield number, cells
    except TooLarge as exc:
        raise _too_large(exc) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        if "field limit" in str(exc):
            too_long = TooLarge("cell_chars", 0, limits.max_cell_chars, row=number + 1)
            raise _too_large(too_long) from None
        raise FileProblem(
            "malformed_csv",
            f"CSV 格式错误(第 {number + 1} 行附近):{exc}",
            f"Malformed CSV near row {number + 1}: {exc}",
        ) from None


def _xlsx_rows(workbook: xlsx.Workbook, sheet: xlsx.Sheet, counter: RowStream) -> Iterator[Row]:
    with _xlsx_problems():
        yield from workbook.rows(sheet, counter.count)


@contextlib.contextmanager
def _xlsx_problems() -> Iterator[None]:
    """What reading an XLSX can raise, as the import's file-level problems."""
    try:
        yield
    except TooLarge as exc:
        raise _too_large(exc) from None
    except xlsx.Malformed as exc:
        raise FileProblem(
            "malformed_xlsx",
            f"XLSX 文件内容不符合 Excel 格式,无法读取:{exc}",
            f"The XLSX file's content is malformed: {exc}",
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        # a damaged or truncated member, a wrong CRC, an unsupported compression method
        raise FileProblem(
            "malformed_xlsx",
            f"XLSX 文件已损坏,无法读取:{exc}",
            f"The XLSX file is damaged: {exc}",
        ) from None


def _unreadable_xlsx(exc: Exception) -> FileProblem:
    return FileProblem(
        "unreadable_xlsx",
        "无法读取 XLSX 文件:文件已损坏,或不是 Excel 工作簿(.xlsx)",
        f"Cannot read the XLSX file (damaged, or not an .xlsx workbook): {exc}",
    )


def _too_large(exc: TooLarge) -> FileProblem:
    zh, en = exc.messages()
    return FileProblem("file_too_large", zh, en)
