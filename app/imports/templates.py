"""Template workbooks: the Chinese headers of an entity, an example row, and 说明.

The first sheet is what users fill in (header comments explain each column; enum columns
offer a drop-down of the Chinese values); the 说明 sheet lists every column with whether
it is required, the accepted formats, the other accepted header names and an example.
The import reads the first sheet that is not 说明, so a filled-in template imports as is.
"""

import csv
import io
from typing import Any, Final

from app.core.spreadsheet_safety import spreadsheet_row
from app.imports.columns import SPECS, Column, EntitySpec

CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "size": ("小型", "中型", "大型"),
    "stage": ("潜在", "签约"),
    "status": ("已完成", "已取消", "已退款", "待支付", "已支付"),
    "channel": ("电话", "拜访", "邮件", "微信", "会议", "线上", "其他"),
    "direction": ("呼入", "呼出"),
    "replied": ("是", "否"),
    "is_inquiry": ("是", "否"),
    "severity": ("一般", "重大"),
}
GENERAL_NOTES: Final = (
    "第 1 行为表头,从第 2 行开始每行一条数据;示例行可直接删除或覆盖。",
    "表头也可使用英文字段名或常见同义列名(见下表“可用列名”);无法识别的列会被忽略并在导入报告中列出。",
    "日期可写作 2024-03-05、2024/3/5、2024年3月5日,或使用 Excel 日期格式;金额单位为元,"
    "可写作 125000.00、¥125,000、12.5万、12.5万元。全角数字与空格会自动转换。",
    "可保存为 .xlsx,或 CSV(UTF-8 或 Excel 默认的 GBK/GB18030 编码)。",
    "出错的行不会导入,其余行照常导入;导入报告列出每个错误的行号、列、值和原因。",
)
_HEADER_FILL = "FFDDEBF7"
_REQUIRED_FILL = "FFFCE4D6"


def template_filename(spec: EntitySpec, extension: str = "xlsx") -> str:
    """The download's file name, e.g. 订单导入模板.xlsx."""
    return f"{spec.label_zh}导入模板.{extension}"


def template_csv(entity: str) -> bytes:
    """The template of an entity as CSV: the Chinese headers and the example row, in
    UTF-8 with a byte-order mark (so Excel opens it as UTF-8, and the import reads it)."""
    spec = SPECS[entity]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(spreadsheet_row(column.header for column in spec.columns))
    writer.writerow(spreadsheet_row(column.example for column in spec.columns))
    return out.getvalue().encode("utf-8-sig")


def template_workbook(entity: str) -> bytes:
    """The template of an entity as XLSX bytes (a few KB, built in memory)."""
    # Lazy for start-up time (openpyxl takes ~0.2 s to import), not to dodge a cycle.
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

    spec = SPECS[entity]
    workbook = Workbook()
    sheet = workbook.active  # a new workbook's one sheet
    assert isinstance(sheet, Worksheet)
    sheet.title = spec.label_zh
    sheet.append(spreadsheet_row(column.header for column in spec.columns))
    sheet.append(spreadsheet_row(column.example for column in spec.columns))
    for index, column in enumerate(spec.columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        fill = _REQUIRED_FILL if column.required else _HEADER_FILL
        cell.fill = PatternFill("solid", start_color=fill, end_color=fill)
        cell.comment = Comment(_comment(column), "crm-classifier", width=260, height=110)
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column.header) * 2 + 4)
        if column.field in CHOICES:
            # A drop-down that suggests the Chinese values without refusing the English ones.
            choices = DataValidation(
                type="list",
                formula1='"' + ",".join(CHOICES[column.field]) + '"',
                allow_blank=True,
                showErrorMessage=False,
            )
            sheet.add_data_validation(choices)
            choices.add(f"{letter}2:{letter}100000")
    sheet.freeze_panes = "A2"
    _instructions(workbook.create_sheet("说明"), spec)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _comment(column: Column) -> str:
    required = "必填" if column.required else "选填"
    return f"{column.header}({required})\n{column.help_zh}\n{column.help_en}"


def _instructions(sheet: Any, spec: EntitySpec) -> None:
    # Lazy for start-up time, as in template_workbook.
    from openpyxl.styles import Alignment, Font

    sheet.append(spreadsheet_row([f"{spec.label_zh}导入说明 · {spec.label_en} import"]))
    sheet["A1"].font = Font(bold=True, size=14)
    for note in GENERAL_NOTES:
        sheet.append(spreadsheet_row([note]))
    sheet.append([])
    headings = ["列名", "是否必填", "说明", "Description", "可用列名", "示例"]
    sheet.append(spreadsheet_row(headings))
    heading_row = sheet.max_row
    for cell in sheet[heading_row]:
        cell.font = Font(bold=True)
    for column in spec.columns:
        sheet.append(
            spreadsheet_row(
                [
                    column.header,
                    "必填" if column.required else "选填",
                    column.help_zh,
                    column.help_en,
                    "、".join(column.names),
                    str(column.example),
                ]
            )
        )
    for letter, width in zip("ABCDEF", (16, 10, 48, 48, 36, 22), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=heading_row + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
