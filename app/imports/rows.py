"""From file rows to bulk-API items, and every problem as a row error with zh/en text.

Row numbers are the ones a user sees in Excel: the header is row 1 and the first data
row is row 2 (blank rows keep their number). A cell that cannot be normalised is an
error of its row; the other rows go on.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.bulk import ItemError
from app.core.errors import ValidationIssue
from app.customers.normalise import NormalisationError
from app.imports.cells import text
from app.imports.columns import Column, EntitySpec, header_key

MAX_VALUE_CHARS = 500  # of a reported cell value


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one cell (or the whole row, column None)."""

    row: int
    column: str | None
    value: str | None
    code: str
    message_zh: str
    message_en: str


def shown(value: Any) -> str | None:
    """A cell value as the report shows it."""
    if value is None:
        return None
    return str(value)[:MAX_VALUE_CHARS]


@dataclass
class Header:
    """Which file column feeds which API field."""

    row: int
    positions: list[tuple[int, Column]] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)  # field -> header as in the file
    issues: list[RowError] = field(default_factory=list)  # ignored columns (not fatal)
    missing: list[Column] = field(default_factory=list)  # required columns absent (fatal)
    # CSV: the header's number of cells. A row with values beyond it has more cells than
    # the header (an unquoted "¥3,000,000" splits into three): its values are shifted.
    width: int | None = None

    def label(self, spec: EntitySpec, field_name: str | None) -> str | None:
        """The header a user knows a field by: as written in the file, else the template's."""
        if field_name is None:
            return None
        if field_name in self.written:
            return self.written[field_name]
        column = spec.column(field_name)
        return column.header if column else field_name


def resolve_header(
    spec: EntitySpec, cells: Sequence[Any], row: int, *, width: int | None = None
) -> Header:
    """Match header cells to columns; unknown and repeated columns are reported once.
    With `width`, rows with values past that many cells are refused as shifted."""
    header = Header(row, width=width)
    for position, cell in enumerate(cells):
        written = text(cell)
        if written is None:
            continue
        column = spec.by_header.get(header_key(written))
        if column is None:
            header.issues.append(
                RowError(
                    row,
                    written,
                    written,
                    "unknown_column",
                    f"未识别的列“{written}”,已忽略",
                    f"Unknown column {written!r}; ignored",
                )
            )
        elif column.field in header.written:
            first = header.written[column.field]
            header.issues.append(
                RowError(
                    row,
                    written,
                    written,
                    "duplicate_column",
                    f"列“{written}”与列“{first}”含义相同,已忽略",
                    f"Column {written!r} means the same as {first!r}; ignored",
                )
            )
        else:
            header.written[column.field] = written
            header.positions.append((position, column))
    header.missing = [c for c in spec.columns if c.required and c.field not in header.written]
    return header


def missing_columns_error(spec: EntitySpec, header: Header) -> RowError:
    """The fatal error of a file without some required column."""
    names_zh = "、".join(c.header for c in header.missing)
    accepted_zh = ";".join(f"{c.header}:{'/'.join(c.names)}" for c in header.missing)
    return RowError(
        header.row,
        names_zh,
        None,
        "missing_column",
        f"缺少必填列:{names_zh}(可用列名 {accepted_zh})",
        f"Missing required column(s): {', '.join(c.field for c in header.missing)} "
        f"(accepted headers: {accepted_zh})",
    )


def is_blank(cells: Sequence[Any]) -> bool:
    """A row with nothing in it (skipped, but it keeps its row number)."""
    for cell in cells:
        if cell is not None and (not isinstance(cell, str) or cell.strip()):
            return False
    return True


def convert(
    header: Header, row: int, cells: Sequence[Any], errors: list[RowError]
) -> dict[str, Any] | None:
    """The item for one row, or None after appending its errors (all bad cells of it)."""
    item: dict[str, Any] = {}
    ok = True
    width = len(cells)
    if header.width is not None and width > header.width and not is_blank(cells[header.width :]):
        errors.append(too_many_cells_error(row, cells, header.width))
        return None
    for position, column in header.positions:
        raw = cells[position] if position < width else None
        value = None
        if raw is not None and raw != "":
            try:
                value = column.parse(raw)
            except NormalisationError as exc:
                ok = False
                errors.append(
                    RowError(
                        row,
                        header.written[column.field],
                        shown(raw),
                        exc.code,
                        exc.message_zh,
                        exc.message_en,
                    )
                )
                continue
        if value is None or value == []:
            if column.required:
                ok = False
                errors.append(
                    RowError(
                        row,
                        header.written[column.field],
                        shown(raw),
                        "missing_value",
                        f"必填项“{column.header}”为空",
                        f"Required value {column.field} is empty",
                    )
                )
            continue  # a blank cell leaves the field as it is
        item[column.field] = value
    return item if ok else None


def too_many_cells_error(row: int, cells: Sequence[Any], header_width: int) -> RowError:
    """A row with more cells than the header: its values cannot be matched to columns."""
    found = len(cells)
    while found > header_width and is_blank(cells[found - 1 : found]):
        found -= 1
    return RowError(
        row,
        None,
        None,
        "too_many_columns",
        f"第 {row} 行有 {found} 列,表头 {header_width} 列,本行未导入"
        '(含逗号的值须用英文双引号括起,如 "¥3,000,000")',
        f"Row {row} has {found} columns, the header has {header_width}; the row was not "
        'imported (quote values that contain a comma, e.g. "¥3,000,000")',
    )


def duplicate_error(spec: EntitySpec, header: Header, row: int, key: str, first: int) -> RowError:
    """A key seen on an earlier row of the same file: reported on the later row."""
    label = header.label(spec, spec.key)
    code = "duplicate_code" if spec.key == "code" else "duplicate_external_id"
    return RowError(
        row,
        label,
        key,
        code,
        f"{label} {key} 与第 {first} 行重复,本行未导入",
        f"{label} {key} repeats row {first}; this row was not imported",
    )


# Chinese for the pydantic error types the bulk item models can produce; the English
# message is pydantic's own.
_ZH = {
    "missing": "必填项为空",
    "string_too_long": "文本过长",
    "string_too_short": "文本不能为空",
    "string_pattern_mismatch": "格式不正确(不能含空格或 /)",
    "greater_than_equal": "不能为负数",
    "less_than_equal": "数值过大",
    "decimal_max_digits": "数值位数过多",
    "decimal_max_places": "小数位数过多(最多 2 位)",
    "too_long": "数量过多",
    "list_too_long": "数量过多",
    "literal_error": "不是可接受的取值",
    "value_error": "取值无效",
}


def service_errors(
    spec: EntitySpec,
    header: Header,
    failed: ItemError,
    row: int,
    cells: Sequence[Any],
) -> list[RowError]:
    """The row errors for one item the bulk service refused."""
    positions = {column.field: position for position, column in header.positions}
    out = []
    for detail in failed.errors:
        loc, kind, msg = detail.loc, detail.type, detail.msg
        field_name = str(loc[0]) if loc else _model_level_field(msg, header, cells)
        position = positions.get(field_name or "")
        raw = cells[position] if position is not None and position < len(cells) else None
        zh, en = _bilingual(kind, msg, raw)
        out.append(RowError(row, header.label(spec, field_name), shown(raw), kind, zh, en))
    return out


def unknown_customer_error(
    spec: EntitySpec, header: Header, row: int, cells: Sequence[Any]
) -> RowError:
    """The error of a row whose customer code matched no customer (nor a merged code)."""
    issue = ValidationIssue(loc=["customer_code"], msg="unknown customer", type="unknown_customer")
    refused = ItemError(index=0, errors=[issue])
    return service_errors(spec, header, refused, row, cells)[0]


def _model_level_field(msg: str, header: Header, cells: Sequence[Any]) -> str | None:
    # Checks over a whole item have no field in their loc: the size that contradicts
    # the head count, and text PostgreSQL cannot store (NUL) — point at the cell.
    if "contradicts" in msg:
        return "size"
    for position, column in header.positions:
        cell = cells[position] if position < len(cells) else None
        if isinstance(cell, str) and "\x00" in cell:
            return column.field
    return None


def _bilingual(kind: str, msg: str, raw: Any) -> tuple[str, str]:
    value = text(raw) if raw is not None else ""
    if kind == "unknown_customer":
        return f"客户编号 {value} 不存在", f"No customer with code {value}"
    if kind == "duplicate_code":
        return "客户编号重复", "Duplicate customer code"
    if kind == "duplicate_external_id":
        return "编号重复", "Duplicate external id"
    if kind == "value_error" and "contradicts" in msg:
        return f"企业规模与员工人数不符:{msg}", msg
    if kind == "value_error" and "NUL" in msg:
        return "文本中含有无法保存的 NUL 字符", msg
    if kind == "value_error" and " / " in msg:
        # Our own validators write "中文 / English" (e.g. the USCC checksum).
        zh, _, en = msg.removeprefix("Value error, ").partition(" / ")
        return zh, en
    return f"{_ZH.get(kind, '取值无效')}:{msg}", msg
