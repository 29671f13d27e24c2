"""The imports API: templates, uploads, idempotency, tenancy, the error report, listing."""

import base64
import codecs
import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import Database
from app.core.settings import Settings
from app.imports.columns import SPECS
from app.main import create_app
from app.models import ImportChunk, Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.imports.helpers import (
    XLSX,
    counts,
    csv_bytes,
    import_file,
    read_xlsx,
    run_jobs,
    upload,
)

CUSTOMER_HEADERS = [
    "客户编号", "客户名称", "所属行业", "员工人数", "企业规模", "年营收", "所在地区", "客户阶段",
    "统一社会信用代码", "联系人", "联系人职务", "合作开始日期", "客户标签",
]  # fmt: skip


async def test_the_customers_template_has_the_chinese_headers_and_its_example_imports(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    response = await client.get(
        "/api/v1/imports/templates/customers", headers=tenant.headers(Role.VIEWER)
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    sheets = read_xlsx(response.content)
    data, instructions = list(sheets.values())
    assert list(data[0]) == CUSTOMER_HEADERS
    assert data[1][0] == "C000123"
    assert "说明" in sheets
    assert any(row[0] == "统一社会信用代码" for row in instructions)
    client.headers.update(tenant.headers(Role.EDITOR))
    report = await import_file(
        client, database, "customers", response.content, filename="客户导入模板.xlsx"
    )
    assert (report["status"], counts(report), report["errors"]) == (
        "succeeded", (1, 1, 0, 0), [],
    )  # fmt: skip
    customer = (await client.get("/api/v1/customers/by-code/C000123")).json()
    assert (customer["size"], customer["annual_revenue"]) == ("medium", "12500000.00")


async def test_a_template_comes_as_csv_with_a_byte_order_mark_and_imports_as_is(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    path = "/api/v1/imports/templates/customers"
    response = await client.get(path, params={"format": "csv"}, headers=tenant.headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    assert ".csv" in response.headers["content-disposition"]
    assert response.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == CUSTOMER_HEADERS
    assert rows[1][0] == "C000123"
    client.headers.update(tenant.headers(Role.EDITOR))
    report = await import_file(
        client, database, "customers", response.content, filename="客户导入模板.csv"
    )
    assert (report["status"], counts(report), report["errors"]) == (
        "succeeded", (1, 1, 0, 0), [],
    )  # fmt: skip


async def test_an_unknown_template_format_is_refused_not_served_as_xlsx(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    path = "/api/v1/imports/templates/orders"
    refused = await client.get(path, params={"format": "pdf"}, headers=tenant.headers())
    problem = assert_problem(refused, 422)
    assert problem["errors"][0]["loc"] == ["query", "format"]
    xlsx = await client.get(path, params={"format": "xlsx"}, headers=tenant.headers())
    assert xlsx.headers["content-type"] == XLSX


@pytest.mark.parametrize("entity", ["orders", "interactions", "complaints"])
async def test_every_activity_template_parses_back_to_its_columns(
    api: httpx.AsyncClient, database: Database, entity: str
) -> None:
    template = (await api.get(f"/api/v1/imports/templates/{entity}")).content
    headers = next(iter(read_xlsx(template).values()))[0]
    assert list(headers) == [c.header for c in SPECS[entity].columns]
    report = await import_file(api, database, entity, template, filename="t.xlsx")
    # The example row names customer C000123, which this tenant does not have.
    assert counts(report) == (1, 0, 0, 1)
    assert [e["code"] for e in report["errors"]] == ["unknown_customer"]


async def test_a_wrong_entity_is_422_and_an_unsupported_file_is_415(
    api: httpx.AsyncClient,
) -> None:
    content = csv_bytes([["客户编号", "客户名称"], ["A", "甲"]])
    wrong = await upload(api, "suppliers", content)
    assert assert_problem(wrong, 422)["errors"][0]["loc"] == ["body", "entity"]
    assert_problem(await upload(api, "customers", b"\xd0\xcf\x11\xe0old", filename="a.xls"), 415)
    assert_problem(await upload(api, "customers", b"%PDF-1.7 \x00\x01", filename="a.pdf"), 415)
    assert_problem(await upload(api, "customers", b"not a zip", filename="a.xlsx"), 415)
    assert_problem(await upload(api, "customers", b""), 422)
    as_text = await api.post(
        "/api/v1/imports", content=content, headers={"content-type": "text/csv"}
    )
    assert_problem(as_text, 415)
    no_file = await api.post("/api/v1/imports", files={"entity": (None, "customers")})
    assert assert_problem(no_file, 422)["errors"][0]["loc"] == ["body", "file"]
    extra = await upload(api, "customers", content, headers=None)
    assert extra.status_code == 202
    unknown_field = await api.post(
        "/api/v1/imports",
        files={"entity": (None, "customers"), "file": ("a.csv", content), "x": (None, "1")},
    )
    assert assert_problem(unknown_field, 422)["errors"][0]["loc"] == ["body", "x"]
    listed = await api.get("/api/v1/imports")
    assert len(listed.json()["items"]) == 1, "a refused upload leaves no import behind"


async def test_viewers_cannot_upload(client: httpx.AsyncClient, tenant: TenantKeys) -> None:
    response = await client.post(
        "/api/v1/imports",
        data={"entity": "customers"},
        files={"file": ("a.csv", b"a,b\n")},
        headers=tenant.headers(Role.VIEWER),
    )
    assert_problem(response, 403)


async def test_another_tenant_cannot_read_the_import(
    client: httpx.AsyncClient, make_tenant: Any
) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    client.headers.update(theirs.headers())
    created = await upload(client, "customers", csv_bytes([["客户编号", "客户名称"], ["A", "甲"]]))
    import_id = created.json()["id"]
    client.headers.update(ours.headers())
    assert_problem(await client.get(f"/api/v1/imports/{import_id}"), 404)
    assert_problem(await client.get(f"/api/v1/imports/{import_id}?format=xlsx"), 404)
    assert (await client.get("/api/v1/imports")).json()["items"] == []


async def test_an_idempotency_key_replays_the_first_upload(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    content = csv_bytes([["客户编号", "客户名称"], ["I1", "甲"]])
    key = {"Idempotency-Key": "import-2026-11-25-001"}
    first = await upload(api, "customers", content, headers=key)
    again = await upload(api, "customers", content, headers=key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len((await api.get("/api/v1/imports")).json()["items"]) == 1
    other_file = await upload(api, "customers", content + b"I2,\xe4\xb9\x99\r\n", headers=key)
    assert assert_problem(other_file, 422)["errors"][0]["type"] == "idempotency_key_reused"
    assert await run_jobs(database, tenant.id) == 1  # one job for the replayed upload
    assert (await api.get(f"/api/v1/imports/{first.json()['id']}")).json()["counts"]["created"] == 1


async def test_a_small_file_can_be_sent_as_json(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    content = csv_bytes([["客户编号", "客户名称"], ["J1", "甲"]])
    response = await api.post(
        "/api/v1/imports",
        json={
            "entity": "customers",
            "filename": "客户.csv",
            "content_base64": base64.b64encode(content).decode(),
        },
    )
    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["filename"]) == ("queued", "客户.csv")
    await run_jobs(database, tenant.id)
    assert (await api.get("/api/v1/customers/by-code/J1")).status_code == 200
    bad = await api.post(
        "/api/v1/imports",
        json={"entity": "customers", "filename": "a.csv", "content_base64": "***"},
    )
    assert assert_problem(bad, 422)["errors"][0]["loc"] == ["body", "content_base64"]


async def test_the_error_report_downloads_as_xlsx_in_the_callers_language(
    api: httpx.AsyncClient, database: Database
) -> None:
    rows = [["客户编号", "客户名称", "员工人数"]] + [[f"E{i}", "", "x"] for i in range(150)]
    report = await import_file(api, database, "customers", csv_bytes(rows), filename="客户.csv")
    assert (report["error_count"], len(report["errors"])) == (300, 100)
    assert report["errors"][0]["row"] == 2
    download = await api.get(f"/api/v1/imports/{report['id']}", params={"format": "xlsx"})
    assert download.status_code == 200
    assert download.headers["content-type"] == XLSX
    [sheet] = read_xlsx(download.content).values()
    assert sheet[0] == ("行号", "列", "值", "错误说明")
    assert len(sheet) == 301
    assert sheet[1][:3] == (2, "客户名称", None)
    english = await api.get(
        f"/api/v1/imports/{report['id']}", headers={"Accept": XLSX, "Accept-Language": "en"}
    )
    [sheet] = read_xlsx(english.content).values()
    assert sheet[0] == ("Row", "Column", "Value", "Error")
    assert sheet[2][:3] == (2, "员工人数", "x")
    assert "whole number" in sheet[2][3]


async def test_imports_are_listed_newest_first(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    for code in ("L1", "L2", "L3"):
        await upload(api, "customers", csv_bytes([["客户编号", "客户名称"], [code, "甲"]]))
    first = await api.get("/api/v1/imports", params={"limit": 2})
    page = first.json()
    assert [i["status"] for i in page["items"]] == ["queued", "queued"]
    rest = await api.get("/api/v1/imports", params={"limit": 2, "cursor": page["next_cursor"]})
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    await run_jobs(database, tenant.id)
    newest = (await api.get("/api/v1/imports")).json()["items"][0]
    assert (newest["status"], newest["counts"]["created"]) == ("succeeded", 1)


async def test_audit_events_of_an_import_name_the_uploader(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    headers = tenant.headers(Role.ADMIN, **{"X-Actor": "%E5%BC%A0%E4%BC%9F"})
    client.headers.update(headers)
    report = await import_file(
        client, database, "customers", csv_bytes([["客户编号", "客户名称"], ["A1", "甲"]])
    )
    assert report["created_by"] == "user:张伟"
    events = (await client.get("/api/v1/audit-events", params={"entity_type": "customer"})).json()
    [event] = events["items"]
    assert (event["actor"], event["action"]) == ("user:张伟", "bulk_upsert")


@pytest.fixture(scope="module")
def small_limit_app(settings: Settings, database: Database) -> Any:
    return create_app(
        settings.model_copy(update={"max_body_bytes": 2048, "max_import_bytes": 8192}), database
    )


async def test_imports_have_their_own_body_limit(small_limit_app: Any, tenant: TenantKeys) -> None:
    transport = httpx.ASGITransport(app=small_limit_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        http.headers.update(tenant.headers(Role.EDITOR))
        header = [["客户编号", "客户名称"]]
        fits = csv_bytes(header + [[f"C{i:04d}", "某某公司"] for i in range(200)])
        assert 2048 < len(fits) < 7000
        assert (await upload(http, "customers", fits)).status_code == 202
        too_big = csv_bytes(header + [[f"C{i:04d}", "某某公司"] for i in range(400)])
        assert_problem(await upload(http, "customers", too_big), 413)
        bulk = {"items": [{"code": f"C{i}", "name": "某某公司"} for i in range(100)]}
        assert_problem(await http.post("/api/v1/customers/bulk", json=bulk), 413)


async def test_form_fields_may_follow_the_file_in_a_streamed_upload(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    content = csv_bytes([["客户编号", "客户名称"], ["S1", "甲"]])
    boundary = "----crmc-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="客户.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="entity"\r\n\r\ncustomers'
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="dry_run"\r\n\r\nTRUE'
            f"\r\n--{boundary}--\r\n"
        ).encode()
    )

    async def in_pieces() -> Any:
        for start in range(0, len(body), 7):  # the parser sees the body in small chunks
            yield body[start : start + 7]

    response = await api.post(
        "/api/v1/imports",
        content=in_pieces(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 202, response.text
    created = response.json()
    assert (created["filename"], created["entity"], created["dry_run"]) == (
        "客户.csv",
        "customers",
        True,
    )
    assert created["size_bytes"] == len(content)
    await run_jobs(database, tenant.id)
    report = (await api.get(f"/api/v1/imports/{created['id']}")).json()
    assert counts(report) == (1, 1, 0, 0)
    assert (await api.get("/api/v1/customers/by-code/S1")).status_code == 404, "a dry run"


async def test_a_file_larger_than_a_chunk_is_stored_in_pieces_and_read_whole(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    blank_rows = 1_100_000  # 2.2 MB of empty lines: three 1 MiB chunks
    content = "客户编号,客户名称\r\n".encode() + b"\r\n" * blank_rows + "L1,\r\nL2,乙\r\n".encode()
    accepted = await upload(api, "customers", content)
    async with database.sessionmaker() as session:
        chunks = await session.scalars(
            select(func.length(ImportChunk.data))
            .where(ImportChunk.import_id == accepted.json()["id"])
            .order_by(ImportChunk.seq)
        )
        assert list(chunks) == [1 << 20, 1 << 20, len(content) - 2 * (1 << 20)]
    await run_jobs(database, tenant.id)
    report = (await api.get(f"/api/v1/imports/{accepted.json()['id']}")).json()
    assert counts(report) == (2, 1, 0, 1)
    assert report["errors"][0]["row"] == blank_rows + 2
