"""Building files, uploading them and running the import job, for the import tests."""

import csv
import io
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.models import Import

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    """A CSV file of `rows` (the first is the header)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], title: str = "数据") -> bytes:
    """An XLSX workbook with `rows` on its first sheet."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_xlsx(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet of a workbook as lists of row values."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return {s.title: list(s.iter_rows(values_only=True)) for s in workbook.worksheets}


async def upload(
    api: httpx.AsyncClient,
    entity: str,
    content: bytes,
    *,
    filename: str = "data.csv",
    dry_run: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /api/v1/imports as multipart/form-data."""
    return await api.post(
        "/api/v1/imports",
        data={"entity": entity, "dry_run": "true" if dry_run else "false"},
        files={"file": (filename, content)},
        headers=headers,
    )


async def run_jobs(database: Database, tenant_id: uuid.UUID) -> int:
    """Run the tenant's queued jobs to completion (no sleeping; other tests' jobs stay)."""
    load_handlers()
    return await Worker(database, tenant_id=tenant_id).run_until_idle()


async def tenant_of_import(database: Database, import_id: str) -> uuid.UUID:
    async with database.sessionmaker() as session:
        tenant_id = await session.scalar(select(Import.tenant_id).where(Import.id == import_id))
    assert tenant_id is not None
    return tenant_id


async def import_file(
    api: httpx.AsyncClient, database: Database, entity: str, content: bytes, **options: Any
) -> dict[str, Any]:
    """Upload, run the job, and return the finished import as GET shows it."""
    accepted = await upload(api, entity, content, **options)
    assert accepted.status_code == 202, accepted.text
    import_id = accepted.json()["id"]
    await run_jobs(database, await tenant_of_import(database, import_id))
    finished = await api.get(f"/api/v1/imports/{import_id}", headers=options.get("headers"))
    assert finished.status_code == 200, finished.text
    return finished.json()


def counts(report: dict[str, Any]) -> tuple[int | None, int, int, int]:
    """(rows, created, updated, failed) of an import."""
    c = report["counts"]
    return c["rows"], c["created"], c["updated"], c["failed"]


def errors_by_row(report: dict[str, Any]) -> dict[int, list[tuple[str | None, str]]]:
    """{row: [(column, code), …]} of an import's reported errors."""
    found: dict[int, list[tuple[str | None, str]]] = {}
    for error in report["errors"]:
        found.setdefault(error["row"], []).append((error["column"], error["code"]))
    return found


async def add_customers(api: httpx.AsyncClient, *codes: str) -> None:
    """Customers with these codes, through the bulk API."""
    response = await api.post(
        "/api/v1/customers/bulk",
        json={"items": [{"code": code, "name": f"客户{code}"} for code in codes]},
    )
    assert response.status_code == 200, response.text
