"""Reading the data sheet of an uploaded XLSX as a stream, in bounded memory and time.

An XLSX is a zip of XML parts, and a small upload can expand without limit: millions of
elements in a few KB (DEFLATE reaches ~1000:1), one cell of 400 MB, a shared-string
table of millions of entries, a cell in column XFD that widens every row to 16,384
cells. openpyxl's read-only mode keeps every element it does not know in the tree and
builds each cell's text whole before anyone can look at it (a 45 KB file grew a process
by 370 MB, a 409 KB one by 730 MB); python-calamine builds the whole sheet as a dense
grid before the first row (a sheet with one cell in XFD1048576 asks for terabytes, and
a failed allocation in Rust aborts the process). So the upload is read here, with the
limits checked where the bytes are:

- before anything is inflated, the zip's own directory: how many entries (read from its
  end record, before `zipfile` builds an object per entry), their declared sizes, and
  each large entry's compression ratio (100:1 at most, Apache POI's rule). `zipfile`
  never inflates past a declared size (a lie fails the CRC check), so the declared
  sizes bound the work;
- while parsing (expat, fed 64 KB at a time, no tree kept): the row and column of every
  cell, each cell's length as its text arrives, the characters of the shared-string
  table, which is stored as one UTF-8 buffer with offsets instead of a str per entry.
  A document type declaration is refused (XLSX has none; no entity expansion).

Values are what openpyxl's read-only mode gives (`data_only`): numbers as int or float,
dates by the cell's number format (openpyxl's own rules and epoch conversion), booleans,
shared and inline strings, the cached value of a formula, error codes as text.
"""

import contextlib
import re
import struct
import zipfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, BinaryIO
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import (
    CALENDAR_MAC_1904,
    CALENDAR_WINDOWS_1900,
    from_excel,
    from_ISO8601,
)

from app.imports.limits import ImportLimits, TooLarge

READ_BYTES = 1 << 16
INSTRUCTION_SHEETS = frozenset({"说明", "填写说明", "instructions", "readme"})
_RATIO_GRACE_BYTES = 1 << 20  # entries this small may compress as well as they like
_MAX_PART_BYTES = 16 << 20  # workbook, relationships and styles parts
_WORKSHEET_TYPE = "/worksheet"
_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")


class Malformed(Exception):
    """The file is not a workbook this reader can read (damaged, or not XLSX)."""


@dataclass(frozen=True)
class Sheet:
    """The sheet to read: its name and its part in the archive."""

    name: str
    part: str


def check_archive(source: BinaryIO, limits: ImportLimits) -> None:
    """Refuse an archive whose directory already says it is too big to read."""
    entries, directory_bytes = _end_record(source)
    if entries > limits.xlsx_max_entries or directory_bytes > limits.xlsx_max_entries * 1024:
        raise TooLarge("xlsx_entries", entries, limits.xlsx_max_entries)


def _end_record(source: BinaryIO) -> tuple[int, int]:
    """Entries and directory size from the zip's end-of-central-directory record."""
    source.seek(0, 2)
    size = source.tell()
    tail_length = min(size, 22 + 0xFFFF)
    source.seek(size - tail_length)
    tail = source.read(tail_length)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise Malformed("no zip end record")
    _, _, _, _, entries, directory_bytes, _, _ = struct.unpack("<4sHHHHIIH", tail[at : at + 22])
    if entries == 0xFFFF or directory_bytes == 0xFFFFFFFF:  # ZIP64: never an upload's size
        return 0x10000, directory_bytes
    return entries, directory_bytes


class Workbook:
    """An opened XLSX: its sheets, number formats and shared strings, read with limits."""

    def __init__(self, source: BinaryIO, limits: ImportLimits) -> None:
        check_archive(source, limits)
        try:
            self.zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise Malformed(str(exc)) from None
        self.limits = limits
        self._check_sizes()
        self.sheets, self.epoch = self._read_workbook()
        self.date_styles, self.timedelta_styles = self._read_styles()
        self.strings = self._read_shared_strings()

    def close(self) -> None:
        self.zip.close()

    def _check_sizes(self) -> None:
        total = 0
        for info in self.zip.infolist():
            total += info.file_size
            if (
                info.file_size > _RATIO_GRACE_BYTES
                and info.file_size > self.limits.xlsx_max_ratio * max(info.compress_size, 1)
            ):
                raise TooLarge(
                    "xlsx_ratio",
                    info.file_size // max(info.compress_size, 1),
                    self.limits.xlsx_max_ratio,
                )
        if total > self.limits.xlsx_max_uncompressed_bytes:
            raise TooLarge("xlsx_uncompressed", total, self.limits.xlsx_max_uncompressed_bytes)

    def data_sheet(self) -> Sheet:
        """The first worksheet that is not the template's instructions sheet."""
        for sheet in self.sheets:
            if sheet.name.strip().lower() not in INSTRUCTION_SHEETS:
                return sheet
        raise LookupError("no data sheet")

    # --- the parts around the sheet ----------------------------------------------------

    def _part(
        self, name: str, limit: int = _MAX_PART_BYTES, kind: str = "xlsx_part"
    ) -> Iterator[bytes]:
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            return
        if info.file_size > limit:
            raise TooLarge(kind, info.file_size, limit)
        with self.zip.open(info) as stream:
            while chunk := stream.read(READ_BYTES):
                yield chunk

    def _read_workbook(self) -> tuple[list[Sheet], Any]:
        main = _resolve("", _targets(self._part("_rels/.rels")).get("officeDocument", ""))
        if not main:
            main = "xl/workbook.xml"
        base = str(PurePosixPath(main).parent)
        rels = _relationships(self._part(f"{base}/_rels/{PurePosixPath(main).name}.rels"))
        sheets: list[Sheet] = []
        epoch = [CALENDAR_WINDOWS_1900]

        def start(name: str, attrs: dict[str, str]) -> None:
            local = _local(name)
            if local == "sheet":
                rid = next((v for k, v in attrs.items() if _local(k) == "id"), None)
                kind, target = rels.get(rid or "", ("", ""))
                if kind.endswith(_WORKSHEET_TYPE) and target:
                    sheets.append(Sheet(attrs.get("name", ""), _resolve(base, target)))
            elif local == "workbookPr" and attrs.get("date1904") in ("1", "true"):
                epoch[0] = CALENDAR_MAC_1904

        _parse(self._part(main), start)
        return sheets, epoch[0]

    def _read_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        custom: dict[int, str] = {}
        formats: list[int] = []
        inside = [False]

        def start(name: str, attrs: dict[str, str]) -> None:
            local = _local(name)
            if local == "numFmt":
                custom[_int(attrs.get("numFmtId"))] = attrs.get("formatCode", "")
            elif local == "cellXfs":
                inside[0] = True
            elif local == "xf" and inside[0]:
                formats.append(_int(attrs.get("numFmtId")))

        def end(name: str) -> None:
            if _local(name) == "cellXfs":
                inside[0] = False

        _parse(self._part("xl/styles.xml"), start, end)
        dates, durations = set(), set()
        for index, format_id in enumerate(formats):
            code = custom.get(format_id) or BUILTIN_FORMATS.get(format_id) or ""
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return frozenset(dates), frozenset(durations)

    def _read_shared_strings(self) -> "SharedStrings":
        strings = SharedStrings()
        limit = self.limits.max_cell_chars
        state = _TextState()

        def start(name: str, attrs: dict[str, str]) -> None:
            local = _local(name)
            if local == "t" and not state.phonetic:
                state.collecting = True
            elif local == "rPh":
                state.phonetic = True

        def end(name: str) -> None:
            local = _local(name)
            if local == "t":
                state.collecting = False
            elif local == "rPh":
                state.phonetic = False
            elif local == "si":
                strings.append(state.take())

        def text(data: str) -> None:
            if state.collecting:
                state.add(data, limit)

        # The table is kept whole (any cell may point anywhere into it), so its part
        # has to fit the bound of what one sheet may hold.
        limit_bytes = self.limits.xlsx_max_shared_strings_bytes
        part = self._part("xl/sharedStrings.xml", limit_bytes, "xlsx_shared_strings")
        _parse(part, start, end, text)
        return strings

    # --- the sheet ---------------------------------------------------------------------

    def rows(self, sheet: Sheet, on_row: Callable[[int], None]) -> Iterator[tuple[int, list[Any]]]:
        """The sheet's non-empty rows as (row number, cells from column A); `on_row`
        gets the characters of text in each row as it is read."""
        reader = _SheetReader(self, on_row)
        parser = reader.parser
        try:
            stream = self.zip.open(sheet.part)
        except KeyError:
            raise Malformed(f"missing part {sheet.part}") from None
        with stream:
            while chunk := stream.read(READ_BYTES):
                _feed(parser, chunk)
                if reader.ready:
                    yield from reader.ready
                    reader.ready.clear()
            _feed(parser, b"", final=True)
        yield from reader.ready

    def dimension_rows(self, sheet: Sheet) -> int | None:
        """The last row the sheet's <dimension> claims (an estimate for progress)."""
        found: list[int] = []

        class Found(Exception):
            pass

        def start(name: str, attrs: dict[str, str]) -> None:
            local = _local(name)
            if local == "dimension":
                match = _REF.fullmatch(attrs.get("ref", "").rpartition(":")[2])
                if match:
                    found.append(int(match.group(2)))
                raise Found
            if local == "sheetData":
                raise Found

        with contextlib.suppress(Found):
            _parse(self._part(sheet.part, self.limits.xlsx_max_uncompressed_bytes), start)
        return found[0] if found else None


class SharedStrings:
    """The shared-string table as one UTF-8 buffer and an offset per entry."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._ends = array("Q")

    def append(self, value: str) -> None:
        self._buffer += value.encode()
        self._ends.append(len(self._buffer))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        end = self._ends[index]  # IndexError for an index past the table
        start = self._ends[index - 1] if index > 0 else 0
        return self._buffer[start:end].decode()


class _TextState:
    """The text of the element being read, kept as pieces while its length is checked."""

    __slots__ = ("collecting", "length", "phonetic", "pieces", "row")

    def __init__(self) -> None:
        self.row: int | None = None  # for the message of a cell that is too long
        self.collecting = False
        self.phonetic = False
        self.pieces: list[str] = []
        self.length = 0

    def add(self, data: str, limit: int) -> None:
        self.length += len(data)
        if self.length > limit:
            raise TooLarge("cell_chars", self.length, limit, row=self.row)
        self.pieces.append(data)

    def take(self) -> str:
        value = "".join(self.pieces) if len(self.pieces) != 1 else self.pieces[0]
        self.pieces, self.length = [], 0
        return value


_C, _V, _T, _ROW, _IS, _RPH = "c", "v", "t", "row", "is", "rPh"
_DIGITS = "0123456789"


class _SheetReader:
    """Expat handlers that turn <row>/<c> elements into lists of values.

    The hot path (a start, text and end event per <c> and <v>) is kept to a dict lookup
    and a few comparisons: this is where the reader spends its time.
    """

    def __init__(self, book: Workbook, on_row: Callable[[int], None]) -> None:
        self.book = book
        self.on_row = on_row
        limits = book.limits
        self.max_rows, self.max_columns = limits.max_rows, limits.max_columns
        self.max_cell_chars, self.max_row_chars = limits.max_cell_chars, limits.max_row_chars
        self.ready: list[tuple[int, list[Any]]] = []
        self.row_number = 0
        self.cells: list[Any] = []
        self.row_chars = 0
        self.column = 0
        self.kind = "n"
        self.style = 0
        self.collecting = False
        self.inline = False
        self.phonetic = False
        self.pieces: list[str] = []
        self.length = 0
        self.tags: dict[str, str] = {}
        self.parser = _parser(self.first, self.end, self.data)

    def first(self, name: str, attrs: dict[str, str]) -> None:
        # The root element says which prefix the file gives the spreadsheet namespace
        # ("x:worksheet" in some writers' files); elements are then matched by name.
        prefix = name[: -len("worksheet")] if name.endswith("worksheet") else ""
        self.tags = {prefix + tag: tag for tag in (_C, _V, _T, _ROW, _IS, _RPH)}
        self.parser.StartElementHandler = self.start

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self.tags.get(name)
        if tag is _C:
            ref = attrs.get("r")
            column = _column(ref.rstrip(_DIGITS)) if ref else 0
            column = column or self.column + 1
            if column > self.max_columns:
                raise TooLarge("columns", column, self.max_columns, row=self.row_number)
            self.column = column
            self.kind = attrs.get("t", "n")
            style = attrs.get("s")
            self.style = int(style) if style and style.isdigit() else 0
        elif tag is _V or (tag is _T and self.inline and not self.phonetic):
            self.collecting = True
        elif tag is _ROW:
            number = attrs.get("r")
            self.row_number = int(number) if number and number.isdigit() else self.row_number + 1
            if self.row_number > self.max_rows:
                raise TooLarge("rows", self.row_number, self.max_rows)
            self.cells, self.row_chars, self.column = [], 0, 0
        elif tag is _IS:
            self.inline = True
        elif tag is _RPH:
            self.phonetic = True

    def data(self, data: str) -> None:
        if self.collecting:
            self.length += len(data)
            if self.length > self.max_cell_chars:
                raise TooLarge("cell_chars", self.length, self.max_cell_chars, row=self.row_number)
            self.pieces.append(data)

    def end(self, name: str) -> None:
        tag = self.tags.get(name)
        if tag is _V or tag is _T:
            self.collecting = False
        elif tag is _C:
            self._end_cell()
        elif tag is _ROW:
            if self.cells:
                self.ready.append((self.row_number, self.cells))
                self.on_row(self.row_chars)
        elif tag is _IS:
            self.inline = False
        elif tag is _RPH:
            self.phonetic = False

    def _end_cell(self) -> None:
        pieces = self.pieces
        if pieces:
            raw = pieces[0] if len(pieces) == 1 else "".join(pieces)
            self.pieces, self.length = [], 0
            value = self._value(raw)
        elif self.kind == "inlineStr":
            value = ""
        else:
            value = None
        if value is not None:
            if value.__class__ is str:
                self.row_chars += len(value)
                if self.row_chars > self.max_row_chars:
                    raise TooLarge(
                        "row_chars", self.row_chars, self.max_row_chars, row=self.row_number
                    )
            cells = self.cells
            if len(cells) < self.column - 1:
                cells.extend([None] * (self.column - 1 - len(cells)))
            cells.append(value)

    def _value(self, raw: str) -> Any:
        kind = self.kind
        if kind == "s":
            return self.book.strings[int(raw)]
        if kind == "n":
            real = "." in raw or "e" in raw or "E" in raw
            number: int | float = float(raw) if real else int(raw)
            if self.style in self.book.date_styles:
                durations = self.style in self.book.timedelta_styles
                try:
                    return from_excel(number, self.book.epoch, timedelta=durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "b":
            return raw.strip() not in ("", "0", "false")
        if kind == "d":
            return from_ISO8601(raw)
        return raw  # inlineStr, str (a formula's text), e (an error code)


def _parser(
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> Any:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.EntityDeclHandler = _no_doctype
    return parser


def _no_doctype(*_: Any) -> None:
    raise Malformed("a document type declaration (an XLSX part has none)")


def _feed(parser: Any, chunk: bytes, *, final: bool = False) -> None:
    try:
        parser.Parse(chunk, final)
    except expat.ExpatError as exc:
        raise Malformed(f"XML: {exc}") from None
    except (ValueError, IndexError) as exc:  # a number or a shared-string index that is none
        raise Malformed(f"a cell value: {exc}") from None


def _parse(
    chunks: Iterator[bytes],
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> None:
    parser = _parser(start, end, text)
    fed = False
    for chunk in chunks:
        fed = True
        _feed(parser, chunk)
    if fed:
        _feed(parser, b"", final=True)


def _targets(chunks: Iterator[bytes]) -> dict[str, str]:
    """Package relationships by the last word of their type (officeDocument, …)."""
    return {kind.rsplit("/", 1)[-1]: target for kind, target in _relationships(chunks).values()}


def _relationships(chunks: Iterator[bytes]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))

    _parse(chunks, start)
    return found


def _resolve(base: str, target: str) -> str:
    if not target:
        return ""
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = [p for p in base.split("/") if p]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


_LOCAL: dict[str, str] = {}


def _local(name: str) -> str:
    """An element's name without its namespace prefix (x:row → row)."""
    local = _LOCAL.get(name)
    if local is None:
        local = name.rpartition(":")[2]
        if len(_LOCAL) < 4096:  # names come from the file: the cache stays small
            _LOCAL[name] = local
    return local


_COLUMNS: dict[str, int] = {}


def _column(letters: str) -> int:
    """1 for A, 27 for AA …; 0 for what is not a column (the cell then follows the last)."""
    index = _COLUMNS.get(letters)
    if index is None:
        index = _column_index(letters)
        if len(_COLUMNS) < 20_000:
            _COLUMNS[letters] = index
    return index


def _column_index(ref: str) -> int:
    index = 0
    for char in ref:
        code = ord(char) - 64
        if not 1 <= code <= 26:
            break
        index = index * 26 + code
        if index > 16384:
            break
    return index


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else -1
