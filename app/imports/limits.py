"""How much of an uploaded file an import reads before it gives up, and what it says then.

Every limit is a setting (`CRMC_IMPORT_*`, see app/core/settings.py and the README). They
bound the memory of a job whatever the file holds (a row, a cell, a batch, the XLSX
shared-string table) and its time (rows, and what an XLSX may inflate to).
"""

from dataclasses import dataclass

from app.core.settings import Settings

MIB = 1 << 20


@dataclass(frozen=True)
class ImportLimits:
    """The limits an import reads a file with (defaults: those of the settings)."""

    max_rows: int = 1_048_576
    max_columns: int = 256
    max_cell_chars: int = 32_767
    max_row_chars: int = 1_000_000
    xlsx_max_uncompressed_bytes: int = 1024 * MIB
    xlsx_max_ratio: int = 100
    xlsx_max_entries: int = 1000
    xlsx_max_shared_strings_bytes: int = 64 * MIB

    @classmethod
    def from_settings(cls, settings: Settings) -> "ImportLimits":
        return cls(
            max_rows=settings.import_max_rows,
            max_columns=settings.import_max_columns,
            max_cell_chars=settings.import_max_cell_chars,
            max_row_chars=settings.import_max_row_chars,
            xlsx_max_uncompressed_bytes=settings.import_xlsx_max_uncompressed_bytes,
            xlsx_max_ratio=settings.import_xlsx_max_ratio,
            xlsx_max_entries=settings.import_xlsx_max_entries,
            xlsx_max_shared_strings_bytes=settings.import_xlsx_max_shared_strings_bytes,
        )


class TooLarge(Exception):
    """A limit was reached; `messages()` says which, in Chinese and English."""

    def __init__(self, limit: str, found: int, allowed: int, *, row: int | None = None) -> None:
        super().__init__(f"{limit}: {found} > {allowed}")
        self.limit, self.found, self.allowed, self.row = limit, found, allowed, row

    def messages(self) -> tuple[str, str]:
        allowed, found, row = self.allowed, self.found, self.row
        near_zh = f"(第 {row} 行)" if row else ""
        near_en = f" (row {row})" if row else ""
        mb = f"{allowed / MIB:,.0f}"
        match self.limit:
            case "rows":
                return (
                    f"文件超过 {allowed:,} 行的上限,请拆分后分批导入",
                    f"The file has more than {allowed:,} rows; split it and import the parts",
                )
            case "columns":
                return (
                    f"第 {row} 行超过 {allowed} 列的上限",
                    f"Row {row} has more than {allowed} columns",
                )
            case "cell_chars":
                return (
                    f"有单元格超过 {allowed:,} 个字符的上限{near_zh}",
                    f"A cell holds more than {allowed:,} characters{near_en}",
                )
            case "row_chars":
                return (
                    f"第 {row} 行超过 {allowed:,} 个字符的上限",
                    f"Row {row} holds more than {allowed:,} characters",
                )
            case "xlsx_uncompressed" | "xlsx_part":
                return (
                    f"XLSX 文件解压后超过 {mb} MB 的上限,请拆分文件或另存为 CSV 导入",
                    f"The XLSX file expands to more than {mb} MB; split it or save it as CSV",
                )
            case "xlsx_shared_strings":
                return (
                    f"XLSX 文件的文本(共享字符串表)超过 {mb} MB 的上限,请另存为 CSV 导入",
                    f"The XLSX file's text (shared strings) exceeds {mb} MB; save it as CSV",
                )
            case "xlsx_ratio":
                return (
                    f"XLSX 文件的压缩比异常({found:,}:1,上限 {allowed}:1),不是正常的 Excel 文件",
                    f"The XLSX file is compressed {found:,}:1 (at most {allowed}:1 is accepted); "
                    "it is not an ordinary workbook",
                )
            case _:
                return (
                    f"XLSX 文件包含的部件过多({found:,} 个,上限 {allowed:,})",
                    f"The XLSX file has too many parts ({found:,}; at most {allowed:,})",
                )
