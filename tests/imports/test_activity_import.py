"""Importing activity with the set-based writer: batch boundaries, customer codes (merged
ones too), re-imports, dry runs, the tenant's day, and rows the item model refuses."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import Database
from app.imports import tasks
from app.models import Complaint, Customer, Interaction, Order
from tests.conftest import TenantKeys
from tests.imports.helpers import (
    add_customers,
    counts,
    csv_bytes,
    errors_by_row,
    import_file,
)

HEADER = ["订单编号", "客户编号", "订单金额", "下单日期"]


@pytest.fixture
def batches_of(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the import job cut files into batches of `size` records."""

    def set_size(size: int) -> None:
        monkeypatch.setattr(tasks, "BATCH_ROWS", size)

    return set_size


async def stored_orders(database: Database, tenant_id: uuid.UUID) -> dict[str, tuple[str, str]]:
    """{external_id: (customer code, amount)} of the tenant's orders."""
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(Order.external_id, Customer.code, Order.amount)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Order.tenant_id == tenant_id)
        )
        return {external_id: (code, str(amount)) for external_id, code, amount in rows}


async def order_count(database: Database, tenant_id: uuid.UUID) -> int:
    async with database.sessionmaker() as session:
        found = await session.scalar(
            select(func.count()).select_from(Order).where(Order.tenant_id == tenant_id)
        )
        return found or 0


async def test_rows_on_both_sides_of_batch_boundaries_are_written_once_each(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, batches_of: Any
) -> None:
    batches_of(3)
    await add_customers(api, "B1", "B2")
    rows = [[f"SO-{i}", "B1" if i % 2 else "B2", f"{i}.00", "2024-03-05"] for i in range(1, 12)]
    rows[4] = ["SO-5", "B1", "五块", "2024-03-05"]  # row 6: a bad amount, mid-batch
    rows.insert(6, ["", "", "", ""])  # row 8: blank, the first record of the third batch
    report = await import_file(api, database, "orders", csv_bytes([HEADER, *rows]))
    assert counts(report) == (11, 10, 0, 1)
    assert errors_by_row(report) == {6: [("订单金额", "invalid_amount")]}
    assert report["progress"] == {"done": 12, "total": 12}
    stored = await stored_orders(database, tenant.id)
    assert stored == {
        f"SO-{i}": ("B1" if i % 2 else "B2", f"{i}.00") for i in range(1, 12) if i != 5
    }
    assert await order_count(database, tenant.id) == 10


async def test_unknown_codes_in_any_batch_are_reported_on_their_own_rows(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, batches_of: Any
) -> None:
    batches_of(3)
    await add_customers(api, "K1", "NOPE")
    content = csv_bytes([
        HEADER,
        ["SO-1", "K1", "1", "2024-03-05"],           # row 2
        ["SO-2", "X1", "1", "2024-03-05"],           # row 3: unknown, first batch
        ["SO-3", "K1", "1", "2024-03-05"],           # row 4
        ["SO-4", "K1", "1", "2024-03-05"],           # row 5
        ["SO-5", "Ｘ２", "1", "2024-03-05"],          # row 6: unknown, full width
        ["SO-6", "X3", "1", "2024-03-05"],           # row 7: unknown
        ["SO-7", "K1", "1", "2024-03-05"],           # row 8
        ["SO-8", "ＮＯＰＥ", "1", "2024-03-05"],        # row 9: known once normalised
        ["SO-9", "X4", "1", "2024-03-05"],           # row 10: unknown, last row
    ])  # fmt: skip
    report = await import_file(api, database, "orders", content)
    assert counts(report) == (9, 5, 0, 4)
    assert [(e["row"], e["column"], e["value"], e["code"]) for e in report["errors"]] == [
        (3, "客户编号", "X1", "unknown_customer"),
        (6, "客户编号", "Ｘ２", "unknown_customer"),
        (7, "客户编号", "X3", "unknown_customer"),
        (10, "客户编号", "X4", "unknown_customer"),
    ]
    assert report["errors"][1]["message"] == "客户编号 X2 不存在"
    stored = await stored_orders(database, tenant.id)
    assert sorted(stored) == ["SO-1", "SO-3", "SO-4", "SO-7", "SO-8"]
    assert stored["SO-8"][0] == "NOPE"


async def test_an_order_number_repeated_in_a_later_batch_is_reported_on_the_later_row(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, batches_of: Any
) -> None:
    batches_of(3)
    await add_customers(api, "D1")
    rows = [[f"SO-{i}", "D1", f"{i}.00", "2024-03-05"] for i in range(1, 8)]
    rows.append(["SO-1", "D1", "99.00", "2024-03-05"])  # row 9, third batch
    rows.append(["SO-4", "D1", "98.00", "2024-03-05"])  # row 10, repeats row 5 (2nd batch)
    report = await import_file(api, database, "orders", csv_bytes([HEADER, *rows]))
    assert counts(report) == (9, 7, 0, 2)
    assert errors_by_row(report) == {
        9: [("订单编号", "duplicate_external_id")],
        10: [("订单编号", "duplicate_external_id")],
    }
    assert "第 2 行" in report["errors"][0]["message"]
    assert "第 5 行" in report["errors"][1]["message"]
    stored = await stored_orders(database, tenant.id)
    assert (stored["SO-1"], stored["SO-4"]) == (("D1", "1.00"), ("D1", "4.00"))
    assert await order_count(database, tenant.id) == 7


async def _customer_id(api: httpx.AsyncClient, code: str) -> str:
    response = await api.get(f"/api/v1/customers/by-code/{code}")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_merged_codes_lead_to_the_customer_they_were_merged_into(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await add_customers(api, "M1", "M2", "M3")
    survivor, second, third = [await _customer_id(api, c) for c in ("M1", "M2", "M3")]
    merged = await api.post(
        f"/api/v1/customers/{survivor}/merge", json={"duplicate_ids": [second, third]}
    )
    assert merged.status_code == 200, merged.text
    # A new customer may take a merged code again: its own code comes first.
    await add_customers(api, "M3")
    content = csv_bytes([
        HEADER,
        ["SO-1", "M1", "1", "2024-03-05"],
        ["SO-2", "M2", "2", "2024-03-05"],
        ["SO-3", "M3", "3", "2024-03-05"],
    ])  # fmt: skip
    report = await import_file(api, database, "orders", content)
    assert counts(report) == (3, 3, 0, 0)
    stored = await stored_orders(database, tenant.id)
    assert {k: code for k, (code, _) in stored.items()} == {
        "SO-1": "M1", "SO-2": "M1", "SO-3": "M3",
    }  # fmt: skip


async def test_reimporting_updates_the_rows_it_knows_and_creates_the_new_ones(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, batches_of: Any
) -> None:
    batches_of(2)
    await add_customers(api, "R1", "R2")
    first = csv_bytes([HEADER, *[[f"SO-{i}", "R1", f"{i}.00", "2024-03-05"] for i in range(1, 5)]])
    assert counts(await import_file(api, database, "orders", first)) == (4, 4, 0, 0)
    again = csv_bytes([
        HEADER,
        ["SO-3", "R2", "300.00", "2024-03-06"],  # moves to R2, new amount
        ["SO-4", "R1", "4.00", "2024-03-05"],    # the same as before: still an update
        ["SO-5", "R2", "5.00", "2024-03-05"],    # new
        ["SO-6", "R9", "6.00", "2024-03-05"],    # unknown customer
    ])  # fmt: skip
    report = await import_file(api, database, "orders", again)
    assert counts(report) == (4, 1, 2, 1)
    assert errors_by_row(report) == {5: [("客户编号", "unknown_customer")]}
    assert await stored_orders(database, tenant.id) == {
        "SO-1": ("R1", "1.00"), "SO-2": ("R1", "2.00"), "SO-3": ("R2", "300.00"),
        "SO-4": ("R1", "4.00"), "SO-5": ("R2", "5.00"),
    }  # fmt: skip


async def test_a_dry_run_counts_what_the_import_would_do_and_writes_nothing(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, batches_of: Any
) -> None:
    batches_of(2)
    await add_customers(api, "Y1")
    existing = csv_bytes([HEADER, ["SO-1", "Y1", "100.00", "2024-03-05"]])
    assert counts(await import_file(api, database, "orders", existing)) == (1, 1, 0, 0)
    content = csv_bytes([
        HEADER,
        ["SO-1", "Y1", "999.00", "2024-03-05"],  # would update
        ["SO-2", "Y1", "2.00", "2024-03-05"],    # would create
        ["SO-3", "Y9", "3.00", "2024-03-05"],    # unknown customer
        ["SO-4", "Y1", "四块", "2024-03-05"],     # bad amount
        ["SO-5", "Y1", "5.00", "2024-03-05"],    # would create
    ])  # fmt: skip
    dry = await import_file(api, database, "orders", content, dry_run=True)
    assert (dry["dry_run"], counts(dry)) == (True, (5, 2, 1, 2))
    expected_errors = {4: [("客户编号", "unknown_customer")], 5: [("订单金额", "invalid_amount")]}
    assert errors_by_row(dry) == expected_errors
    assert await stored_orders(database, tenant.id) == {"SO-1": ("Y1", "100.00")}
    audit = await api.get("/api/v1/audit-events", params={"entity_type": "order"})
    assert len(audit.json()["items"]) == 1, "only the first import"
    real = await import_file(api, database, "orders", content)
    assert (counts(real), errors_by_row(real)) == ((5, 2, 1, 2), expected_errors)
    assert len(await stored_orders(database, tenant.id)) == 3


async def test_interactions_and_complaints_take_the_api_defaults_and_the_tenants_day(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await add_customers(api, "T1")
    interactions = csv_bytes([
        ["沟通编号", "客户编号", "沟通时间", "渠道", "方向", "是否回复", "是否询价"],
        ["I-1", "T1", "2024-03-05 23:30", "", "", "", ""],  # naive: Asia/Shanghai
        ["I-2", "T1", "2024-03-05T23:30:00Z", "微信", "呼入", "是", "是"],
        ["I-3", "T1", "2024年3月7日", "电话", "", "否", ""],
    ])  # fmt: skip
    report = await import_file(api, database, "interactions", interactions)
    assert (counts(report), report["errors"]) == ((3, 3, 0, 0), [])
    complaints = csv_bytes([
        ["投诉编号", "客户编号", "投诉时间", "严重程度", "投诉内容"],
        ["TS-1", "T1", "2024-03-05", "", ""],
        ["TS-2", "T1", "2024/3/6", "严重", "交付延迟两周"],
    ])  # fmt: skip
    report = await import_file(api, database, "complaints", complaints)
    assert (counts(report), report["errors"]) == ((2, 2, 0, 0), [])
    async with database.sessionmaker() as session:
        stored = {
            i.external_id: i
            for i in await session.scalars(
                select(Interaction).where(Interaction.tenant_id == tenant.id)
            )
        }
        complaint = {
            c.external_id: (c.severity, c.summary, c.occurred_on, c.occurred_at)
            for c in await session.scalars(
                select(Complaint).where(Complaint.tenant_id == tenant.id)
            )
        }
    first, second, third = stored["I-1"], stored["I-2"], stored["I-3"]
    assert (first.channel, first.direction, first.replied, first.is_inquiry) == (
        "other", "outbound", None, False,
    )  # fmt: skip
    assert (second.channel, second.direction, second.replied, second.is_inquiry) == (
        "wechat", "inbound", True, True,
    )  # fmt: skip
    assert first.occurred_at == dt.datetime(2024, 3, 5, 15, 30, tzinfo=dt.UTC)
    assert first.occurred_on == dt.date(2024, 3, 5)
    assert second.occurred_on == dt.date(2024, 3, 6), "23:30 UTC is the next day in Shanghai"
    assert third.occurred_at == dt.datetime(2024, 3, 6, 16, 0, tzinfo=dt.UTC)
    shanghai_midnight = dt.datetime(2024, 3, 4, 16, 0, tzinfo=dt.UTC)
    assert complaint == {
        "TS-1": ("minor", None, dt.date(2024, 3, 5), shanghai_midnight),
        "TS-2": ("major", "交付延迟两周", dt.date(2024, 3, 6), shanghai_midnight + dt.timedelta(1)),
    }


async def test_rows_the_item_model_refuses_report_its_errors_and_the_rest_import(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await add_customers(api, "V1")
    # The long summaries come first: a NUL within the first 8 KB would make it a binary file.
    content = csv_bytes([
        ["沟通编号", "客户编号", "沟通时间", "沟通内容摘要"],
        ["I-1", "V1", "2024-03-05", "正" * 2000],
        ["I" * 129, "V1", "2024-03-05", ""],          # row 3: id too long
        ["I-3", "V1", "1899-12-01", ""],              # row 4: implausible year
        ["I-4", "V1", "2024-03-05", "长" * 2001],      # row 5: summary too long
        ["I-5", "V1", "2024-03-05", "甲\x00乙"],        # row 6: NUL
        ["I-6", "V1", "2024-03-05 09:00", "好"],
    ])  # fmt: skip
    report = await import_file(api, database, "interactions", content)
    assert counts(report) == (6, 2, 0, 4)
    assert errors_by_row(report) == {
        3: [("沟通编号", "string_too_long")],
        4: [("沟通时间", "value_error")],
        5: [("沟通内容摘要", "string_too_long")],
        6: [("沟通内容摘要", "value_error")],
    }
    messages = {e["row"]: e["message"] for e in report["errors"]}
    assert "1900" in messages[4]
    assert "NUL" in messages[6]
    async with database.sessionmaker() as session:
        written = await session.scalars(
            select(Interaction.external_id).where(Interaction.tenant_id == tenant.id)
        )
        assert sorted(written) == ["I-1", "I-6"]


async def test_amounts_keep_their_exact_decimals(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await add_customers(api, "E1")
    amounts = ["0.10", "¥1,234.56", "12.5万元", "3.20", "9999999999999999.99"]
    rows = [[f"SO-{i}", "E1", a, "2024-03-05"] for i, a in enumerate(amounts)]
    report = await import_file(api, database, "orders", csv_bytes([HEADER, *rows]))
    assert counts(report) == (5, 5, 0, 0)
    async with database.sessionmaker() as session:
        stored = await session.scalars(
            select(Order.amount).where(Order.tenant_id == tenant.id).order_by(Order.external_id)
        )
        assert list(stored) == [
            Decimal(a) for a in ("0.10", "1234.56", "125000.00", "3.20", "9999999999999999.99")
        ]


async def test_an_order_row_with_a_negative_amount_is_refused_alone(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await add_customers(api, "C1")
    rows = [HEADER, ["SO-1", "C1", "-¥300", "2026-11-01"], ["SO-2", "C1", "¥300", "2026-11-01"]]
    report = await import_file(api, database, "orders", csv_bytes(rows))
    assert counts(report)[1:] == (1, 0, 1)
    assert errors_by_row(report) == {2: [("订单金额", "negative_amount")]}
    assert await stored_orders(database, tenant.id) == {"SO-2": ("C1", "300.00")}
