"""A run's customer lists as CSV: UTF-8 with a byte-order mark, so that Excel (and WPS)
open the Chinese text as it is; every text cell neutralised against formula injection.
One line per customer, tree and category, with the tree named in the first column."""

import csv
import io
from collections.abc import Sequence
from typing import Any, Final

from app.core.i18n import Locale
from app.core.spreadsheet_safety import csv_row
from app.reports import wording

MEDIA_TYPE: Final = "text/csv; charset=utf-8"
BOM: Final = "\ufeff".encode()


def header(locale: Locale) -> bytes:
    """The BOM and the header line."""
    names = [wording.CSV_TREE_HEADER.get(locale), *wording.headers(wording.LIST_HEADERS, locale)]
    return BOM + _lines([names])


def lines(tree: str, rows: Sequence[Sequence[Any]], locale: Locale) -> bytes:
    """Customer-list lines (the list's columns, without the tree's field values)."""
    yes, no = wording.YES.get(locale), wording.NO.get(locale)
    width = len(wording.LIST_HEADERS)
    out = []
    for row in rows:
        values = [
            (yes if value else no) if isinstance(value, bool) else value for value in row[:width]
        ]
        out.append([tree, *values])
    return _lines(out)


def _lines(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(csv_row(row))
    return buffer.getvalue().encode("utf-8")
