"""Cells that no spreadsheet runs as a formula, for every XLSX and CSV the service writes.

Text from data (an imported cell, a customer's name, an error's value) may begin with
`=`, `+`, `-`, `@`, a tab or a carriage return, which Excel, WPS and LibreOffice read as
the start of a formula: `=HYPERLINK("http://evil.example/x","click")` in an error report
would be a live link (OWASP "CSV injection"). Such text gets a leading single quote, as
OWASP advises, so it shows as the text it is. The full-width forms (＝ ＋ － ＠), which a
Chinese input method types and some spreadsheets also accept, are treated the same.

Only text is neutralised: a number is written as a number cell, so -5 stays a negative
number, while the text "-5" becomes "'-5". Every writer goes through `spreadsheet_row`
(XLSX) or `csv_row` (CSV); writers of reports to come use the same two.
"""

import re
from collections.abc import Iterable
from typing import Any, Final

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

# Control characters an XLSX (XML 1.0) cannot hold; openpyxl refuses to write them.
_NOT_IN_XML: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralised(value: Any) -> Any:
    """`value`, with a quote before text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for `csv.writer`: every text cell neutralised."""
    return [neutralised(value) for value in values]


def spreadsheet_row(values: Iterable[Any]) -> list[Any]:
    """A row for an openpyxl sheet: text neutralised and stripped of the control
    characters XLSX cannot store (a CSV cell may hold them)."""
    return [
        neutralised(_NOT_IN_XML.sub("", value)) if isinstance(value, str) else value
        for value in values
    ]
