"""Importing files: seed formats, encodings, XLSX, row errors, duplicates, dry runs."""

import datetime as dt
from typing import Any

import httpx

from app.core.db import Database
from tests.imports.helpers import (
    add_customers,
    counts,
    csv_bytes,
    errors_by_row,
    import_file,
    xlsx_bytes,
)

ORDER_HEADER = ["订单编号", "客户编号", "订单金额", "下单日期", "订单状态"]


async def metrics_of(
    api: httpx.AsyncClient, code: str, as_of: str = "2024-03-31"
) -> dict[str, Any]:
    customer = (await api.get(f"/api/v1/customers/by-code/{code}")).json()
    metrics = await api.get(f"/api/v1/customers/{customer['id']}/metrics", params={"as_of": as_of})
    return metrics.json()["metrics"]


async def test_a_csv_in_the_seeds_formats_imports_the_good_rows_and_reports_the_bad(
    api: httpx.AsyncClient, database: Database
) -> None:
    await add_customers(api, "C001", "C002")
    content = csv_bytes([
        ORDER_HEADER,
        ["SO-1", "C001", "¥125,000", "2024-03-05", "已完成"],    # row 2
        ["SO-2", "C001", "12.5万元", "2024/3/5", ""],             # row 3
        ["SO-3", "Ｃ００２", "1,250,000元", "2024年3月5日", "已支付"],  # row 4: full width
        ["SO-4", "C002", "十二万", "2024-03-05", "已完成"],        # row 5: bad amount
        ["SO-5", "C002", "100", "2024-02-30", "发货中"],          # row 6: bad date and status
        ["", "C002", "100", "2024-03-05", ""],                    # row 7: no order number
        ["SO-7", "C002", "１２３４.５", " 2024-03-05 ", "已取消"],  # row 8: full width
    ])  # fmt: skip
    report = await import_file(api, database, "orders", content)
    assert report["status"] == "succeeded"
    assert counts(report) == (7, 4, 0, 3)
    assert errors_by_row(report) == {
        5: [("订单金额", "invalid_amount")],
        6: [("下单日期", "invalid_date"), ("订单状态", "invalid_order_status")],
        7: [("订单编号", "missing_value")],
    }
    bad_amount = report["errors"][0]
    assert bad_amount["value"] == "十二万"
    assert "金额" in bad_amount["message"]
    c001, c002 = await metrics_of(api, "C001"), await metrics_of(api, "C002")
    assert (c001["order_count_12m"], c001["order_amount_12m"]) == (2, "250000.00")
    # The cancelled order (row 8) is stored but counts in no metric.
    assert (c002["order_count_12m"], c002["order_amount_12m"]) == (1, "1250000.00")


async def test_customers_import_with_seed_formats_and_errors_in_english(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = csv_bytes([
        ["客户编号", "公司名称", "所属行业", "员工人数", "规模", "年营收", "客户阶段",
         "统一社会信用代码", "合作开始日期", "客户标签"],
        ["C100", "上海华信电子科技有限公司", "制造业-电子", "１８０", "", "1250万", "签约",
         "91350100M000100Y43", "2022年3月1日", "老客户、重点客户"],
        ["C101", "远航物流", "服务业-物流", "10", "大型", "", "潜在", "", "", ""],
        ["C102", "坏信用代码", "", "", "", "", "", "91350100M000100Y44", "", ""],
    ])  # fmt: skip
    report = await import_file(
        api, database, "customers", content, headers={"Accept-Language": "en"}
    )
    assert counts(report) == (3, 1, 0, 2)
    assert errors_by_row(report) == {
        3: [("规模", "value_error")],
        4: [("统一社会信用代码", "invalid_uscc")],
    }
    assert "checksum" in report["errors"][1]["message"]
    customer = (await api.get("/api/v1/customers/by-code/C100")).json()
    assert customer["employees"] == 180
    assert customer["size"] == "medium"
    assert customer["annual_revenue"] == "12500000.00"
    assert customer["stage"] == "signed"
    assert customer["cooperation_since"] == "2022-03-01"
    assert customer["tags"] == ["老客户", "重点客户"]


async def test_a_gb18030_csv_from_chinese_excel_imports(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = csv_bytes(
        [["客户编号", "客户名称", "所在地区"], ["G1", "深圳市鹏程贸易有限公司", "广东"]],
        encoding="gb18030",
    )
    report = await import_file(api, database, "customers", content)
    assert counts(report) == (1, 1, 0, 0)
    assert (await api.get("/api/v1/customers/by-code/G1")).json()["region"] == "广东"


async def test_a_utf8_csv_with_bom_and_semicolons_imports(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = "\ufeff客户编号;客户名称\nB1;北辰科技\n".encode()
    report = await import_file(api, database, "customers", content)
    assert counts(report) == (1, 1, 0, 0)
    assert report["errors"] == []


async def test_an_xlsx_with_date_cells_and_excel_serials_imports(
    api: httpx.AsyncClient, database: Database
) -> None:
    await add_customers(api, "X1")
    content = xlsx_bytes([
        ["沟通编号", "客户代码", "沟通时间", "渠道", "方向", "是否回复", "询价", "沟通内容"],
        ["I-1", "X1", dt.datetime(2024, 3, 5, 14, 30), "电话", "呼出", "是", "否", "报价"],
        ["I-2", "X1", 45356, "微信", "呼入", True, "是", None],        # serial of 2024-03-05
        ["I-3", "X1", "2024年3月6日", "面谈", "呼入", "否", "否", None],  # unknown channel
        [None, None, None, None, None, None, None, None],              # blank: skipped
        [1004, "X1", "2024-03-07 09:15", "邮件", "呼出", "否", "否", None],  # numeric id
    ])  # fmt: skip
    report = await import_file(api, database, "interactions", content, filename="沟通.xlsx")
    assert report["file_format"] == "xlsx"
    assert counts(report) == (4, 3, 0, 1)
    assert errors_by_row(report) == {4: [("渠道", "invalid_channel")]}
    metrics = await metrics_of(api, "X1")
    assert metrics["last_contact_date"] == "2024-03-07"
    assert metrics["inquiries_6m"] == 1


async def test_a_dry_run_writes_nothing_but_reports_what_would_happen(
    api: httpx.AsyncClient, database: Database
) -> None:
    await add_customers(api, "D1")
    content = csv_bytes([
        ["客户编号", "客户名称"], ["D1", "改名后的公司"], ["D2", "新公司"], ["D3", ""],
    ])  # fmt: skip
    report = await import_file(api, database, "customers", content, dry_run=True)
    assert report["dry_run"] is True
    assert counts(report) == (3, 1, 1, 1)
    assert errors_by_row(report) == {4: [("客户名称", "missing_value")]}
    assert (await api.get("/api/v1/customers/by-code/D1")).json()["name"] == "客户D1"
    assert (await api.get("/api/v1/customers/by-code/D2")).status_code == 404
    audit = await api.get("/api/v1/audit-events", params={"entity_type": "customer"})
    assert [e["action"] for e in audit.json()["items"]] == ["bulk_upsert"], "only add_customers"


async def test_duplicate_codes_in_one_file_are_reported_on_the_later_row(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = csv_bytes([
        ["客户编号", "客户名称"], ["K1", "甲"], ["K2", "乙"], ["K1", "甲二"], ["Ｋ２", "乙二"],
    ])  # fmt: skip
    report = await import_file(api, database, "customers", content)
    assert counts(report) == (4, 2, 0, 2)
    assert errors_by_row(report) == {
        4: [("客户编号", "duplicate_code")],
        5: [("客户编号", "duplicate_code")],
    }
    assert "第 2 行" in report["errors"][0]["message"]
    assert (await api.get("/api/v1/customers/by-code/K1")).json()["name"] == "甲"


async def test_unknown_customer_codes_in_an_orders_file_are_row_errors(
    api: httpx.AsyncClient, database: Database
) -> None:
    await add_customers(api, "U1")
    content = csv_bytes([
        ORDER_HEADER,
        ["SO-1", "U1", "100", "2024-03-05", ""],
        ["SO-2", "NOPE", "100", "2024-03-05", ""],
    ])  # fmt: skip
    report = await import_file(api, database, "orders", content)
    assert counts(report) == (2, 1, 0, 1)
    [error] = report["errors"]
    assert (error["row"], error["column"], error["value"], error["code"]) == (
        3, "客户编号", "NOPE", "unknown_customer",
    )  # fmt: skip
    assert error["message"] == "客户编号 NOPE 不存在"


async def test_a_file_whose_rows_all_fail_in_the_service_reports_every_row(
    api: httpx.AsyncClient, database: Database
) -> None:
    rows = [["SO-1", "X", "1", "2024-03-05", ""], ["SO-2", "Y", "1", "2024-03-05", ""]]
    content = csv_bytes([ORDER_HEADER, *rows])
    report = await import_file(api, database, "orders", content)
    assert report["status"] == "succeeded"
    assert counts(report) == (2, 0, 0, 2)
    assert errors_by_row(report) == {
        2: [("客户编号", "unknown_customer")], 3: [("客户编号", "unknown_customer")],
    }  # fmt: skip


async def test_reimporting_the_same_orders_file_updates_rather_than_duplicates(
    api: httpx.AsyncClient, database: Database
) -> None:
    await add_customers(api, "R1")
    content = csv_bytes([
        ["order_no", "customer_code", "amount", "ordered_at"],
        ["SO-1", "R1", "100.00", "2024-03-05"],
        ["SO-2", "R1", "200.00", "2024-03-06"],
    ])  # fmt: skip
    content = content.replace(b"order_no", b"external_id")  # the API's field names work too
    first = await import_file(api, database, "orders", content)
    again = await import_file(api, database, "orders", content)
    assert counts(first) == (2, 2, 0, 0)
    assert counts(again) == (2, 0, 2, 0)
    assert (await metrics_of(api, "R1"))["order_count_12m"] == 2


async def test_unknown_headers_are_reported_once_and_the_rest_imported(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = csv_bytes([
        ["客户编号", "客户名称", "备注", "客户名称(全称)"],
        ["H1", "甲", "x", "甲公司"], ["H2", "乙", "y", "乙公司"],
    ])  # fmt: skip
    report = await import_file(api, database, "customers", content)
    assert counts(report) == (2, 2, 0, 0)
    assert errors_by_row(report) == {
        1: [("备注", "unknown_column"), ("客户名称(全称)", "duplicate_column")]
    }
    assert report["error_count"] == 2


async def test_a_file_without_a_required_column_fails_with_a_clear_message(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = csv_bytes([["订单号", "客户编号", "日期"], ["SO-1", "C1", "2024-03-05"]])
    report = await import_file(api, database, "orders", content)
    assert report["status"] == "failed"
    assert report["failure"]["code"] == "missing_column"
    assert "订单金额" in report["failure"]["message"]
    assert "下单日期" in report["failure"]["message"]
    assert ("日期", "unknown_column") in errors_by_row(report)[1]
    assert counts(report)[1:] == (0, 0, 0)


async def test_an_empty_or_unreadable_file_fails_the_import(
    api: httpx.AsyncClient, database: Database
) -> None:
    blank = await import_file(api, database, "customers", b"\r\n\r\n")
    assert (blank["status"], blank["failure"]["code"]) == ("failed", "empty_file")
    broken = await import_file(
        api, database, "customers", b"PK\x03\x04 not really a zip", filename="x.xlsx"
    )
    assert (broken["status"], broken["failure"]["code"]) == ("failed", "unreadable_xlsx")
    garbled = await import_file(api, database, "customers", b"\xff\xfe\xfd\x81\x30")
    assert garbled["failure"]["code"] == "unreadable_encoding"


async def test_nul_characters_in_cells_are_row_errors_not_a_crash(
    api: httpx.AsyncClient, database: Database
) -> None:
    # A NUL among the first 8 KB makes the file look binary (415); later ones are cells.
    filler = [[f"F{i:04d}", "某某公司"] for i in range(700)]
    content = csv_bytes([["客户编号", "客户名称"], *filler, ["N1", "甲\x00乙"], ["N2", "丙"]])
    report = await import_file(api, database, "customers", content)
    assert report["status"] == "succeeded"
    assert counts(report) == (702, 701, 0, 1)
    [error] = report["errors"]
    assert (error["row"], error["column"], error["value"]) == (702, "客户名称", "甲␀乙")
    assert "NUL" in error["message"]
