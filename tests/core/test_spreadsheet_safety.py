"""No spreadsheet or CSV the service writes carries a formula from data: text that a
spreadsheet would run gets a leading quote; numbers stay numbers."""

import csv
import io
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from app.core.db import Database
from app.core.spreadsheet_safety import FORMULA_STARTS, csv_row, neutralised, spreadsheet_row
from app.models import Role
from tests.conftest import TenantKeys
from tests.imports.helpers import csv_bytes, import_file

ATTACKS = [
    '=HYPERLINK("http://evil.example/x","click")',
    "=1+1",
    "=NOW()",
    "+1+1",
    "-5",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
]


def formula_cells(content: bytes) -> list[str]:
    """Every cell of a workbook that holds a formula, as sheet!coordinate."""
    workbook = load_workbook(io.BytesIO(content))
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


@pytest.mark.parametrize("text", ATTACKS)
def test_text_that_starts_a_formula_gets_a_leading_quote(text: str) -> None:
    assert neutralised(text) == "'" + text


@pytest.mark.parametrize("value", [-5, -5.5, Decimal("-5.00"), 0, None, True, "5", "a=b", "'x"])
def test_numbers_and_harmless_text_are_left_as_they_are(value: Any) -> None:
    assert neutralised(value) == value


@given(st.text(max_size=12))
def test_no_neutralised_text_starts_a_formula(text: str) -> None:
    safe = neutralised(text)
    assert not safe.startswith(FORMULA_STARTS)
    assert safe in (text, "'" + text)


def test_a_csv_row_carries_no_formula_and_keeps_its_numbers() -> None:
    out = io.StringIO()
    csv.writer(out).writerow(csv_row([*ATTACKS, -5, 3.5]))
    [cells] = list(csv.reader(io.StringIO(out.getvalue())))
    assert cells[: len(ATTACKS)] == ["'" + text for text in ATTACKS]
    assert cells[len(ATTACKS) :] == ["-5", "3.5"]
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells[: len(ATTACKS)])


@pytest.mark.parametrize("write_only", [False, True])
def test_an_xlsx_row_holds_no_formula_cell_and_numbers_stay_numeric(write_only: bool) -> None:
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("s") if write_only else workbook.active
    sheet.append(spreadsheet_row([*ATTACKS, "bell\x07", -5, Decimal("-2.50")]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert formula_cells(buffer.getvalue()) == []
    [row] = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[-1].iter_rows()
    # XML reads a stored CR back as a line feed.
    expected = ["'" + text.replace("\r", "\n") for text in ATTACKS]
    assert [cell.value for cell in row[: len(ATTACKS)]] == expected
    assert row[len(ATTACKS)].value == "bell"
    assert [(c.value, c.data_type) for c in row[-2:]] == [(-5, "n"), (-2.5, "n")]


async def test_the_import_error_report_writes_uploaded_formulas_as_text(
    api: httpx.AsyncClient, database: Database
) -> None:
    rows = [["客户编号", "客户名称", "员工人数"]]
    rows += [[f"C{i}", "甲", attack] for i, attack in enumerate(ATTACKS)]
    report = await import_file(api, database, "customers", csv_bytes(rows))
    assert report["error_count"] == len(ATTACKS)
    download = await api.get(f"/api/v1/imports/{report['id']}", params={"format": "xlsx"})
    assert download.status_code == 200
    assert formula_cells(download.content) == []
    [sheet] = load_workbook(io.BytesIO(download.content)).worksheets
    values = [row[2].value for row in sheet.iter_rows(min_row=2)]
    # The CSV reader trims the tab and CR off a cell; what is left still starts a formula.
    assert all(value.startswith("'") for value in values), values
    assert '\'=HYPERLINK("http://evil.example/x","click")' in values


@pytest.mark.parametrize("entity", ["customers", "orders", "interactions", "complaints"])
async def test_import_templates_hold_no_formula_cell(
    client: httpx.AsyncClient, tenant: TenantKeys, entity: str
) -> None:
    response = await client.get(
        f"/api/v1/imports/templates/{entity}", headers=tenant.headers(Role.VIEWER)
    )
    assert response.status_code == 200
    assert formula_cells(response.content) == []
