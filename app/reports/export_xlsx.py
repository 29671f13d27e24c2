"""A run's report as an XLSX workbook (xlsxwriter), one sheet per part.

The workbook is written in constant-memory mode: each row goes to a temporary file as soon
as the next one starts, so a customer list of a million lines never sits in memory; the
summary sheets are written first, then each tree's list in the order the database streams
it. Charts are native Excel charts over the sheets' own cells (a pie of each tree's
distribution, bars of each tree's moves). Every text cell goes through
`spreadsheet_row` (no cell can run as a formula) and xlsxwriter is told never to turn
strings into formulas or links. These methods are CPU work: callers run them in a thread.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from app.core.i18n import Locale, Text
from app.core.spreadsheet_safety import spreadsheet_row
from app.reports import wording
from app.reports.schemas import CategoryLabel, FlaggedList, RunReport, TreeDistribution

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = '#,##0.00"万元"'
MAX_ROWS = 1_048_576


class ListColumn:
    """A column of a customer list: its header and how to write its values."""

    def __init__(self, header: str, kind: str, width: float = 14) -> None:
        self.header, self.kind, self.width = header, kind, width


class XlsxReport:
    def __init__(self, path: str, locale: Locale) -> None:
        self.locale = locale
        self.book = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "default_date_format": "yyyy-mm-dd",
            },
        )
        self.book.set_properties({"title": wording.TITLE.get(locale)})
        font = {"font_name": "Microsoft YaHei", "font_size": 10}
        self.text = self.book.add_format(font)
        self.header = self.book.add_format(
            {**font, "bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
        )
        self.title = self.book.add_format({**font, "bold": True, "font_size": 16})
        self.bold = self.book.add_format({**font, "bold": True})
        self.total = self.book.add_format({**font, "bold": True, "num_format": "#,##0"})
        self.count = self.book.add_format({**font, "num_format": "#,##0"})
        self.count_left = self.book.add_format({**font, "num_format": "#,##0", "align": "left"})
        self.share = self.book.add_format({**font, "num_format": "0.00%"})
        self.points = self.book.add_format({**font, "num_format": "+0.00;-0.00;0.00"})
        self.money = self.book.add_format({**font, "num_format": MONEY_FORMAT})
        self.number = self.book.add_format({**font, "num_format": "#,##0.##"})
        self.date = self.book.add_format({**font, "num_format": "yyyy-mm-dd"})
        self.highlight = self.book.add_format(
            {**font, "bold": True, "bg_color": "#FFD966", "border": 2, "num_format": "#,##0"}
        )
        self.sheet_names: set[str] = set()
        self._list: Worksheet | None = None
        self._columns: list[ListColumn] = []
        self._row = 0
        self._list_name = ""

    def t(self, text: Text) -> str:
        return text.get(self.locale)

    def _sheet(self, name: str) -> Worksheet:
        sheet = self.book.add_worksheet(wording.sheet_name(name, self.sheet_names))
        # Printed (or turned into a PDF): A4 landscape, as wide as one page.
        sheet.set_paper(9)
        sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        return sheet

    def _headers(self, sheet: Worksheet, row: int, headers: Sequence[str]) -> None:
        sheet.write_row(row, 0, spreadsheet_row(headers), self.header)
        sheet.freeze_panes(row + 1, 0)
        sheet.repeat_rows(row)

    # --- summary sheets ---------------------------------------------------------------

    def summary(self, report: RunReport, tree_names: Sequence[str]) -> None:
        """Every sheet but the customer lists."""
        self._overview(report, tree_names)
        self._distribution(report.distribution)
        if report.crosstab is not None:
            self._crosstab(report)
        self._transitions(report)
        self._flagged(wording.BORDERLINE, report.borderline)
        self._flagged(wording.CONFLICTS, report.locked_conflicts)

    def _overview(self, report: RunReport, tree_names: Sequence[str]) -> None:
        sheet = self._sheet(self.t(wording.SUMMARY))
        sheet.set_column(0, 0, 16)
        sheet.set_column(1, 1, 40)
        sheet.write_string(0, 0, self.t(wording.TITLE), self.title)
        facts: list[Any] = [
            str(report.run_id),
            wording.MODES[report.mode].get(self.locale),
            report.as_of,
            report.finished_at.strftime("%Y-%m-%d %H:%M") if report.finished_at else "",
            report.customers,
        ]
        row = 2
        for (label, _), value in zip(wording.RUN_FACTS, facts, strict=True):
            sheet.write_string(row, 0, self.t(label), self.bold)
            if isinstance(value, int):
                sheet.write_number(row, 1, value, self.count_left)
            elif hasattr(value, "isoformat"):
                sheet.write_string(row, 1, value.isoformat(), self.text)
            else:
                sheet.write_row(row, 1, spreadsheet_row([value]), self.text)
            row += 1
        row += 1
        for tree in report.distribution:
            note = (
                wording.PREVIOUS_RUN.format(as_of=tree.previous_as_of.isoformat())
                if tree.previous_as_of
                else wording.NO_PREVIOUS_RUN
            )
            sheet.write_row(row, 0, spreadsheet_row([tree.name or "", self.t(note)]), self.text)
            row += 1
        if report.drift:
            names = {t.tree_id: t.name or "" for t in report.distribution}
            row += 1
            sheet.write_string(row, 0, self.t(wording.DRIFT), self.bold)
            row += 1
            sheet.write_row(
                row, 0, spreadsheet_row(wording.headers(wording.DRIFT_HEADERS, self.locale)),
                self.header,
            )  # fmt: skip
            for drift in report.drift:
                row += 1
                line = [names.get(drift.tree_id, ""), drift.category.name]
                sheet.write_row(row, 0, spreadsheet_row(line), self.text)
                for col, value in enumerate(
                    (drift.before, drift.after, drift.pp, drift.threshold_pp), start=2
                ):
                    sheet.write_number(row, col, value, self.points if col == 4 else self.number)

    def _distribution(self, trees: Sequence[TreeDistribution]) -> None:
        sheet = self._sheet(self.t(wording.DISTRIBUTION))
        sheet.set_column(0, 1, 18)
        sheet.set_column(2, 5, 12)
        self._headers(sheet, 0, wording.headers(wording.DISTRIBUTION_HEADERS, self.locale))
        row = 1
        charts = 0
        for tree in trees:
            first = row
            for entry in tree.categories:
                sheet.write_row(row, 0, spreadsheet_row([tree.name or "", entry.category.name]))
                sheet.write_number(row, 2, entry.count, self.count)
                sheet.write_number(row, 3, entry.share, self.share)
                if entry.previous_share is not None:
                    sheet.write_number(row, 4, entry.previous_share, self.share)
                if entry.change_pp is not None:
                    sheet.write_number(row, 5, entry.change_pp, self.points)
                row += 1
            if row == first:
                continue
            chart = self.book.add_chart({"type": "bar" if tree.multi_assign else "pie"})
            name = sheet.get_name()
            chart.add_series(
                {
                    "name": tree.name or "",
                    "categories": [name, first, 1, row - 1, 1],
                    "values": [name, first, 2, row - 1, 2],
                    "data_labels": {"category": True, "percentage": True, "leader_lines": True}
                    if not tree.multi_assign
                    else {"value": True},
                }
            )
            chart.set_title({"name": tree.name or "", "name_font": {"size": 12}})
            chart.set_legend({"position": "bottom"} if not tree.multi_assign else {"none": True})
            chart.set_size({"width": 480, "height": 300})
            # Two charts a row, beside the table.
            sheet.insert_chart(1 + 16 * (charts // 2), 7 + 8 * (charts % 2), chart)
            charts += 1
        sheet.autofilter(0, 0, max(row - 1, 1), 5)

    def _crosstab(self, report: RunReport) -> None:
        table = report.crosstab
        assert table is not None
        sheet = self._sheet(self.t(wording.CROSSTAB))
        sheet.set_column(0, 0, 22)
        sheet.set_column(1, len(table.cols.categories) + 1, 12)
        corner = f"{table.rows.name or ''} \\ {table.cols.name or ''}"
        self._headers(
            sheet,
            0,
            [corner, *(c.name for c in table.cols.categories), self.t(wording.TOTAL)],
        )
        marked = {(h.row, h.col): h for h in table.highlights}
        for i, (label, line) in enumerate(zip(table.rows.categories, table.cells, strict=True)):
            sheet.write_row(i + 1, 0, spreadsheet_row([label.name]), self.bold)
            for j, value in enumerate(line):
                fmt = self.highlight if (i, j) in marked else self.count
                sheet.write_number(i + 1, j + 1, value, fmt)
            sheet.write_number(i + 1, len(line) + 1, table.row_totals[i], self.total)
        last = len(table.cells) + 1
        sheet.write_string(last, 0, self.t(wording.TOTAL), self.bold)
        for j, value in enumerate(table.col_totals):
            sheet.write_number(last, j + 1, value, self.total)
        sheet.write_number(last, len(table.col_totals) + 1, table.total, self.total)
        row = last + 2
        for highlight in table.highlights:
            sheet.write_row(
                row, 0, spreadsheet_row([highlight.label, highlight.count]), self.highlight
            )
            row += 1

    def _transitions(self, report: RunReport) -> None:
        sheet = self._sheet(self.t(wording.TRANSITIONS))
        sheet.set_column(0, 2, 20)
        sheet.set_column(3, 3, 12)
        sheet.set_column(4, 4, 30)
        headers = wording.headers(wording.TRANSITION_HEADERS, self.locale)
        self._headers(sheet, 0, [*headers, self.t(wording.MOVE)])
        row = 1
        chart_row = 1
        for tree in report.transitions:
            moved = [i for i in tree.items if _ids(i.from_categories) != _ids(i.to_categories)]
            kept = [i for i in tree.items if _ids(i.from_categories) == _ids(i.to_categories)]
            first = row
            for item in [*moved, *kept]:
                before, after = self._names(item.from_categories), self._names(item.to_categories)
                sheet.write_row(row, 0, spreadsheet_row([tree.name or "", before, after]))
                sheet.write_number(row, 3, item.count, self.count)
                sheet.write_string(row, 4, spreadsheet_row([f"{before} → {after}"])[0])
                row += 1
            if not moved:
                continue
            shown = min(len(moved), 12)
            chart = self.book.add_chart({"type": "bar"})
            name = sheet.get_name()
            chart.add_series(
                {
                    "name": tree.name or "",
                    "categories": [name, first, 4, first + shown - 1, 4],
                    "values": [name, first, 3, first + shown - 1, 3],
                    "data_labels": {"value": True},
                }
            )
            chart.set_title(
                {
                    "name": f"{tree.name or ''} {self.t(wording.TRANSITIONS)}",
                    "name_font": {"size": 12},
                }
            )
            chart.set_legend({"none": True})
            chart.set_y_axis({"reverse": True})  # the largest move on top
            chart.set_size({"width": 520, "height": 80 + 22 * shown})
            sheet.insert_chart(chart_row, 6, chart)
            chart_row += 5 + round(1.1 * shown)
        sheet.autofilter(0, 0, max(row - 1, 1), 4)

    def _names(self, labels: Sequence[CategoryLabel]) -> str:
        return "、".join(c.name for c in labels) or self.t(wording.NONE)

    def _flagged(self, title: Text, flagged: FlaggedList) -> None:
        sheet = self._sheet(self.t(title))
        sheet.set_column(0, 0, 14)
        sheet.set_column(1, 1, 28)
        sheet.set_column(2, 4, 16)
        sheet.set_column(5, 5, 40)
        self._headers(sheet, 0, wording.headers(wording.FLAGGED_HEADERS, self.locale))
        row = 1
        for item in flagged.items:
            rule = item.rule.name or item.rule.key if item.rule else self.t(wording.DEFAULT_RULE)
            line = [
                item.customer_code,
                item.customer_name,
                item.tree_name or "",
                item.category.name,
                rule,
                item.next_action or "",
            ]
            sheet.write_row(row, 0, spreadsheet_row(line), self.text)
            row += 1
        sheet.autofilter(0, 0, max(row - 1, 1), 5)
        if flagged.total > len(flagged.items):
            note = wording.FIRST_ONLY.format(shown=len(flagged.items), total=flagged.total)
            sheet.write_string(row + 1, 0, self.t(note), self.bold)

    # --- customer lists -------------------------------------------------------------

    def begin_list(self, name: str, columns: Sequence[ListColumn]) -> None:
        """Start a customer-list sheet; `append` then writes its lines in order (on to
        another sheet of the same name when one is full: Excel's 1,048,576 rows)."""
        self._list_name = name
        sheet = self._sheet(name)
        for i, column in enumerate(columns):
            sheet.set_column(i, i, column.width)
        self._headers(sheet, 0, [c.header for c in columns])
        sheet.autofilter(0, 0, MAX_ROWS - 1, len(columns) - 1)
        self._list, self._columns, self._row = sheet, list(columns), 1

    def append(self, lines: Sequence[Sequence[Any]]) -> None:
        sheet = self._list
        assert sheet is not None
        yes, no = wording.YES.get(self.locale), wording.NO.get(self.locale)
        for line in lines:
            if self._row == MAX_ROWS:
                self.begin_list(self._list_name, self._columns)
                assert self._list is not None
                sheet = self._list
            row = self._row
            for col, (column, value) in enumerate(zip(self._columns, line, strict=True)):
                if value is None:
                    continue
                kind = column.kind
                if kind == "bool":
                    sheet.write_string(row, col, yes if value else no, self.text)
                elif kind == "money":
                    sheet.write_number(row, col, float(Decimal(value) / 10000), self.money)
                elif kind in ("number", "int"):
                    sheet.write_number(row, col, float(value), self.number)
                elif kind == "date":
                    sheet.write_datetime(row, col, value, self.date)
                else:
                    sheet.write_string(row, col, spreadsheet_row([str(value)])[0], self.text)
            self._row += 1

    def close(self) -> None:
        self.book.close()


def _ids(labels: Sequence[CategoryLabel]) -> list[object]:
    return [c.id for c in labels]
