"""Imports are bounded whatever the file holds: XLSX bombs, huge cells and rows, CSV lines
of millions of cells fail with `file_too_large` (or `malformed_xlsx`), in bounded memory,
and a CSV row with more cells than its header says so instead of blaming shifted values."""

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable

import httpx
import pytest

from app.core.db import Database
from app.imports import batches, tasks
from app.imports.rows import is_blank
from app.models import Role
from tests.conftest import REPO, OwnDatabase, TenantKeys, new_tenant
from tests.imports.bombs import (
    empty_elements_bomb,
    huge_cell_bomb,
    inline_row,
    wide_rows_bomb,
    workbook_with_sheet,
)
from tests.imports.helpers import counts, csv_bytes, errors_by_row, import_file, upload

PEAK_RSS_MB = 300
CUSTOMER_HEADER = ["客户编号", "客户名称", "所属行业", "员工人数", "年营收", "所在地区", "客户阶段"]


def failure(report: dict) -> tuple[str, str | None]:
    return report["status"], (report["failure"] or {}).get("code")


# --- CSV ---------------------------------------------------------------------------------


async def test_a_csv_row_with_more_cells_than_the_header_says_so_instead_of_blaming_values(
    api: httpx.AsyncClient, database: Database
) -> None:
    good = ["C1", "华信", "制造业-电子", "180", "1250万", "上海", "签约"]
    # An unquoted ¥3,000,000 splits into three cells: 9 where the header has 7.
    shifted = "C2,东方,制造业-电子,60,¥3,000,000,北京,潜在"
    content = (
        csv_bytes([CUSTOMER_HEADER, good]).decode()
        + shifted
        + "\r\n"
        + 'C3,南方,批发零售,20,"¥3,000,000",广州,潜在\r\n'
    ).encode()
    report = await import_file(api, database, "customers", content)
    assert report["status"] == "succeeded"
    assert counts(report) == (3, 2, 0, 1)
    assert errors_by_row(report) == {3: [(None, "too_many_columns")]}
    assert report["errors"][0]["message"].startswith("第 3 行有 9 列,表头 7 列")
    english = await api.get(f"/api/v1/imports/{report['id']}", headers={"Accept-Language": "en"})
    assert english.json()["errors"][0]["message"].startswith(
        "Row 3 has 9 columns, the header has 7"
    )


async def test_empty_cells_past_the_header_are_not_extra_columns(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = "客户编号,客户名称\r\nC1,甲,,\r\nC2,乙\r\n".encode()
    report = await import_file(api, database, "customers", content)
    assert (report["status"], counts(report)) == ("succeeded", (2, 2, 0, 0))


async def test_a_csv_line_of_millions_of_cells_fails_the_import_as_too_large(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = "客户编号,客户名称\r\nC1,甲".encode() + b"," * 3_000_000 + b"\r\n"
    report = await import_file(api, database, "customers", content)
    assert failure(report) == ("failed", "file_too_large")
    assert "第 2 行" in report["failure"]["message"]
    assert counts(report)[1:] == (0, 0, 0)


async def test_a_csv_row_with_more_cells_than_allowed_fails_the_import(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = csv_bytes([["客户编号", "客户名称"], ["C1", "甲", *(["x"] * 300)]])
    report = await import_file(
        api, database, "customers", content, headers={"Accept-Language": "en"}
    )
    assert failure(report) == ("failed", "file_too_large")
    assert report["failure"]["message"] == "Row 2 has more than 256 columns"


async def test_a_csv_cell_longer_than_excel_allows_fails_the_import(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = csv_bytes([["客户编号", "客户名称"], ["C1", "长" * 40_000]])
    report = await import_file(api, database, "customers", content)
    assert failure(report) == ("failed", "file_too_large")
    assert "32,767" in report["failure"]["message"]


# --- XLSX, read in this process ----------------------------------------------------------


async def test_a_cell_past_the_column_limit_fails_the_xlsx_import(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = workbook_with_sheet(
        [inline_row(1, "客户编号", "客户名称"), b'<row r="2"><c r="XFD2"><v>1</v></c></row>']
    )
    report = await import_file(api, database, "customers", content, filename="宽.xlsx")
    assert failure(report) == ("failed", "file_too_large")
    assert "第 2 行超过 256 列" in report["failure"]["message"]


async def test_an_xlsx_cell_longer_than_excel_allows_fails_even_uncompressed(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = workbook_with_sheet(
        [inline_row(1, "客户编号", "客户名称"), inline_row(2, "C1", "长" * 40_000)],
        compression=zipfile.ZIP_STORED,
    )
    report = await import_file(api, database, "customers", content, filename="长.xlsx")
    assert failure(report) == ("failed", "file_too_large")


async def test_an_xlsx_with_a_document_type_declaration_is_malformed(
    api: httpx.AsyncClient, database: Database
) -> None:
    # The billion-laughs shape: entities that expand into each other.
    laughs = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    book = io.BytesIO(workbook_with_sheet([inline_row(1, "客户编号", "客户名称")]))
    out = io.BytesIO()
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"?>", b"?>" + laughs, 1)
            target.writestr(info.filename, data)
    report = await import_file(api, database, "customers", out.getvalue(), filename="x.xlsx")
    assert failure(report) == ("failed", "malformed_xlsx")


async def test_an_xlsx_with_too_many_parts_fails_before_it_is_opened(
    api: httpx.AsyncClient, database: Database
) -> None:
    parts = {f"junk/{i}.bin": b"" for i in range(1200)}
    content = workbook_with_sheet([inline_row(1, "客户编号", "客户名称")], extra=parts)
    report = await import_file(api, database, "customers", content, filename="x.xlsx")
    assert failure(report) == ("failed", "file_too_large")


async def test_an_xlsx_whose_part_lies_about_its_size_is_malformed(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = bytearray(
        workbook_with_sheet([inline_row(1, "客户编号", "客户名称"), inline_row(2, "C1", "甲")])
    )
    # Shrink the sheet's declared size in the central directory: the reader stops
    # inflating there, and the CRC no longer matches.
    directory = content.rfind(b"PK\x01\x02", 0, content.rfind(b"xl/worksheets/sheet1.xml"))
    size_at = directory + 24
    content[size_at : size_at + 4] = (100).to_bytes(4, "little")
    report = await import_file(api, database, "customers", bytes(content), filename="x.xlsx")
    assert failure(report) == ("failed", "malformed_xlsx")


async def test_an_ordinary_xlsx_still_imports_within_the_limits(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = workbook_with_sheet(
        [
            inline_row(1, "客户编号", "客户名称"),
            *(inline_row(r, f"C{r}", "甲") for r in range(2, 500)),
        ]
    )
    report = await import_file(api, database, "customers", content, filename="x.xlsx")
    assert (report["status"], counts(report)) == ("succeeded", (498, 498, 0, 0))


# --- XLSX bombs, run by a real worker process whose peak memory is measured ---------------


def run_worker_process(url: str) -> dict:
    """Run the queued jobs in a fresh `python` process; its count and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.worker_process", url],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "bomb",
    [empty_elements_bomb, wide_rows_bomb, huge_cell_bomb],
    ids=["5M-empty-elements", "rows-to-column-XFD", "a-400MB-cell"],
)
async def test_an_xlsx_bomb_fails_as_too_large_and_the_worker_stays_under_300_mb(
    own_database: OwnDatabase, bomb: Callable[[], bytes]
) -> None:
    tenant: TenantKeys = await new_tenant(own_database.database)
    content = await asyncio.to_thread(bomb)
    assert len(content) < 800_000
    transport = httpx.ASGITransport(app=own_database.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers=tenant.headers(Role.EDITOR)
    ) as api:
        accepted = await upload(api, "customers", content, filename="bomb.xlsx")
        assert accepted.status_code == 202, accepted.text
        worker = await asyncio.to_thread(run_worker_process, own_database.url)
        report = (await api.get(f"/api/v1/imports/{accepted.json()['id']}")).json()
    assert worker["ran"] == 1
    assert failure(report) == ("failed", "file_too_large")
    assert worker["peak_rss_mb"] <= PEAK_RSS_MB, worker


# --- the worker's own event loop keeps turning while a job reads ------------------------


async def test_reading_a_file_lets_the_event_loop_run_between_steps(
    api: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's lease is renewed on the worker's event loop: reading 15,000 blank lines
    before the header and 15,000 rows after it must let that loop run, not hold it for
    the whole file (a 1.9-million-row file held it for a minute)."""
    turns = 0
    seen: set[int] = set()

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    def blank_noting_turns(cells: object) -> bool:
        seen.add(turns)
        return is_blank(cells)  # type: ignore[arg-type]

    monkeypatch.setattr(tasks, "is_blank", blank_noting_turns)
    content = b"\r\n" * 15_000 + csv_bytes(
        [["客户编号", "客户名称"], *([f"S{i}", "甲"] for i in range(15_000))]
    )
    counter = asyncio.create_task(count_turns())
    try:
        report = await import_file(api, database, "customers", content)
    finally:
        counter.cancel()
    assert report["status"] == "succeeded"
    assert len(seen) > 10  # the header search alone crosses 15 steps of 1,000 lines
    header_turns = len(seen)
    seen.clear()
    monkeypatch.setattr(tasks, "is_blank", is_blank)
    monkeypatch.setattr(batches, "is_blank", blank_noting_turns)
    counter = asyncio.create_task(count_turns())
    try:
        await import_file(api, database, "customers", content)
    finally:
        counter.cancel()
    assert header_turns
    assert len(seen) > 10  # 15,000 rows in batches read 1,000 at a time
