"""A run's report as XLSX, PDF and CSV through the HTTP API, opened the way an analyst's
tools would (openpyxl, pypdf, the csv module), and the job path of a long export."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from app.core.db import Database
from app.core.settings import Settings
from app.jobs.worker import Worker
from app.main import create_app
from app.models import Job
from app.reports.export_jobs import EXPORT_JOB
from tests.conftest import TenantKeys
from tests.reports.conftest import SmallSet, apply_run, run_jobs

FORMULA_NAME = '=HYPERLINK("http://evil.example/x","点击")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def two_runs(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> dict[str, Any]:
    """Run 1; A6 locked at 高价值, A4 orders more, a customer named like a formula; run 2."""
    await apply_run(api, database, tenant)
    locked = await api.put(
        f"/api/v1/customers/{small.customers['A6']}/assignments/{small.trees['value']}",
        json={"category_id": small.categories[("value", "HIGH")], "locked": True},
    )
    assert locked.status_code == 200, locked.text
    orders = [
        {"external_id": "SO-A4-2", "customer_code": "A4", "amount": "60000",
         "ordered_at": "2026-11-21"},
        {"external_id": "SO-X", "customer_code": "X1", "amount": "1234567.89",
         "ordered_at": "2026-11-01"},
    ]  # fmt: skip
    created = await api.post(
        "/api/v1/customers", json={"code": "X1", "name": FORMULA_NAME, "stage": "signed"}
    )
    assert created.status_code == 201, created.text
    assert (await api.post("/api/v1/orders/bulk", json={"items": orders})).json()["created"] == 2
    return await apply_run(api, database, tenant)


async def test_the_xlsx_has_a_sheet_per_part_with_charts_chinese_headers_and_wan_yuan(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> None:
    run = await two_runs(api, database, tenant, small)
    got = await api.get(f"/api/v1/runs/{run['id']}/report", params={"format": "xlsx"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == XLSX
    assert "filename*=UTF-8''" in got.headers["content-disposition"]
    book = load_workbook(io.BytesIO(got.content))
    assert book.sheetnames == [
        "概览",
        "分类分布",
        "交叉分析",
        "分类变化",
        "边界客户",
        "锁定冲突",
        "客户清单-活跃度维度",  # the run's trees, by key
        "客户清单-价值维度",
    ]
    distribution = book["分类分布"]
    assert [c.value for c in distribution[1]][:6] == [
        "分类维度", "分类", "客户数", "占比", "上次占比", "变化(百分点)"
    ]  # fmt: skip
    assert distribution.freeze_panes == "A2"
    assert distribution.auto_filter.ref
    assert len(distribution._charts) == 2  # a pie per tree
    medium = next(r for r in distribution.iter_rows(min_row=2) if r[1].value == "中价值客户")
    assert medium[2].value == 3  # A2, A3, A4 (X1: 123万元 in 6 months → 高价值)
    assert medium[3].number_format == "0.00%"
    assert book["分类变化"]._charts, "a bar chart of the moves"
    crosstab = book["交叉分析"]
    highlighted = [
        c for row in crosstab.iter_rows() for c in row if c.fill.fgColor.rgb in ("FFFFD966",)
    ]
    assert highlighted, "潜力客户 cell highlighted"
    customers = book["客户清单-价值维度"]
    header = [c.value for c in customers[1]]
    assert header[:3] == ["客户编号", "客户名称", "分类"]
    assert "下一步跟进动作" in header
    assert customers.freeze_panes == "A2"
    assert customers.auto_filter.ref.startswith("A1:")
    money = [i for i, h in enumerate(header) if h == "近6个月订单金额"]
    assert money, header
    lines = {row[0].value: row for row in customers.iter_rows(min_row=2)}
    a1 = lines["A1"]
    assert a1[money[0]].value == 60
    assert "万元" in a1[money[0]].number_format
    assert a1[header.index("下一步跟进动作")].value == "销售总监/主管跟进,提供专属服务"
    assert lines["A6"][header.index("锁定冲突")].value == "是"
    formula = lines["X1"][1]
    assert formula.data_type == "s"
    assert formula.value == "'" + FORMULA_NAME
    assert not any(
        c.data_type == "f" for sheet in book.worksheets for row in sheet.iter_rows() for c in row
    )


async def test_the_pdf_has_a_title_page_and_chinese_that_extracts_as_text(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> None:
    run = await two_runs(api, database, tenant, small)
    got = await api.get(f"/api/v1/runs/{run['id']}/report", params={"format": "pdf"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(got.content))
    first = pdf.pages[0].extract_text()
    assert "客户分类报告" in first
    assert run["id"] in first
    assert "漂移预警" in first  # 低价值客户 fell by more than 10 points
    rest = "\n".join(page.extract_text() for page in pdf.pages[1:])
    for words in (
        "分类分布",
        "价值维度",
        "中价值客户",
        "潜力客户(中价值 + 高活跃)",
        "锁定冲突",
    ):
        assert words in rest, words
    assert "标准化服务,营销活动激励提升消" in rest  # A6's next action (wrapped after it)


async def test_the_csv_has_a_bom_and_no_cell_runs_as_a_formula(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> None:
    run = await two_runs(api, database, tenant, small)
    got = await api.get(f"/api/v1/runs/{run['id']}/report", params={"format": "csv"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    assert got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["分类维度", "客户编号", "客户名称", "分类"]
    assert len(rows) == 1 + 7 * 2  # a line per customer and tree
    x1 = [r for r in rows if r[1] == "X1"]
    assert {r[2] for r in x1} == {"'" + FORMULA_NAME}
    a6 = next(r for r in rows if r[1] == "A6" and r[0] == "价值维度")
    assert a6[-1] == "是"  # locked conflict


async def test_a_long_export_runs_as_a_job_and_is_downloaded_when_ready(
    settings: Settings, database: Database, tenant: TenantKeys, small: SmallSet,
    api: httpx.AsyncClient,
) -> None:  # fmt: skip
    run = await apply_run(api, database, tenant)
    tight = create_app(settings.model_copy(update={"report_inline_max_rows": 5}), database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=tight), base_url="http://test", headers=tenant.headers()
    ) as client:
        summary = await client.get(
            f"/api/v1/runs/{run['id']}/report", params={"format": "xlsx", "parts": "summary"}
        )
        assert summary.status_code == 200  # no lists: rendered at once
        started = await client.get(
            f"/api/v1/runs/{run['id']}/report",
            params={"format": "xlsx"},
            headers={"Accept-Language": "en"},
        )
        assert started.status_code == 202, started.text
        export = started.json()
        assert export["status"] == "queued"
        assert export["download_url"] is None
        assert started.headers["location"] == f"/api/v1/reports/exports/{export['id']}"
        early = await client.get(f"/api/v1/reports/exports/{export['id']}/file")
        assert early.status_code == 409
        await run_jobs(database, tenant)
        done = (await client.get(f"/api/v1/reports/exports/{export['id']}")).json()
        assert done["status"] == "succeeded", done
        assert done["filename"].startswith("classification-report-")
        got = await client.get(done["download_url"])
        assert got.status_code == 200
        assert got.headers["content-type"] == XLSX
        assert len(got.content) == done["size_bytes"]
        book = load_workbook(io.BytesIO(got.content))
        assert book.sheetnames[:2] == ["Summary", "Distribution"]
        assert book.sheetnames[-2:] == ["Customers-活跃度维度", "Customers-价值维度"]
        assert book["Customers-价值维度"].max_row == 7


@pytest.mark.parametrize("role", ["viewer"])
async def test_another_tenant_cannot_read_an_export(
    settings: Settings, database: Database, tenant: TenantKeys, small: SmallSet,
    api: httpx.AsyncClient, make_tenant: Any, role: str,
) -> None:  # fmt: skip
    run = await apply_run(api, database, tenant)
    tight = create_app(settings.model_copy(update={"report_inline_max_rows": 0}), database)
    other = await make_tenant()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=tight), base_url="http://test"
    ) as client:
        started = await client.get(
            f"/api/v1/runs/{run['id']}/report",
            params={"format": "csv"},
            headers=tenant.headers(role),
        )
        assert started.status_code == 202
        export_id = started.json()["id"]
        for path in (
            f"/api/v1/reports/exports/{export_id}",
            f"/api/v1/reports/exports/{export_id}/file",
        ):
            assert (await client.get(path, headers=other.headers(role))).status_code == 404


async def test_an_expired_export_is_forgotten_without_a_new_export_and_then_its_job(
    settings: Settings, database: Database, tenant: TenantKeys, small: SmallSet,
    api: httpx.AsyncClient,
) -> None:  # fmt: skip
    # Before, exports were forgotten only as a new one was rendered: a tenant that never
    # exported again kept every file forever.
    run = await apply_run(api, database, tenant)
    tight = create_app(settings.model_copy(update={"report_inline_max_rows": 0}), database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=tight), base_url="http://test", headers=tenant.headers()
    ) as client:
        started = await client.get(f"/api/v1/runs/{run['id']}/report", params={"format": "csv"})
        assert started.status_code == 202, started.text
        export_id = started.json()["id"]
        await run_jobs(database, tenant)
        assert (await client.get(f"/api/v1/reports/exports/{export_id}")).status_code == 200

        def later(**delta: float) -> Worker:
            return Worker(
                database, tenant_id=tenant.id, clock=lambda: datetime.now(UTC) + timedelta(**delta)
            )

        await later(hours=23).run_until_idle()
        assert (await client.get(f"/api/v1/reports/exports/{export_id}")).status_code == 200
        await later(hours=25).run_until_idle()
        assert (await client.get(f"/api/v1/reports/exports/{export_id}")).status_code == 404
    async with database.sessionmaker() as session:
        job_id = await session.scalar(
            select(Job.id).where(Job.tenant_id == tenant.id, Job.kind == EXPORT_JOB)
        )
    assert job_id is not None, "the export's job stays while the export did"
    await later(days=15).run_until_idle()
    async with database.sessionmaker() as session:
        assert await session.get(Job, job_id) is None
