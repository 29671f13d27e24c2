"""GET /api/v1/data-quality: completeness, invalid values, inactivity, the sample check."""

import hashlib
import uuid
from typing import Any

import httpx
from sqlalchemy import update

from app.core.db import Database
from app.models import Customer, Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.quality.factories import (
    add_activity,
    add_customers,
    add_valid_customers,
    customer_row,
    use_industries,
    use_standard_industries,
    valid_uscc,
)


async def _report(client: httpx.AsyncClient, tenant: TenantKeys, **params: Any) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/data-quality", params=params, headers=tenant.headers(Role.VIEWER)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _known_data_set(database: Database, tenant: TenantKeys) -> dict[str, uuid.UUID]:
    """Ten customers, each with a stated flaw; the first seven have some activity."""
    await use_standard_industries(database, tenant.id)
    t = tenant.id
    ids = await add_customers(
        database,
        t,
        customer_row(t, 0),
        customer_row(t, 1, uscc=valid_uscc(1)[:-1] + ("0" if valid_uscc(1)[-1] != "0" else "1")),
        customer_row(t, 2, uscc=valid_uscc(2).lower()),
        customer_row(t, 3, industry="火星业-采矿"),
        customer_row(t, 4, size="small", employees=120),
        customer_row(t, 5, region=None, industry=None, contact_name="  "),
        customer_row(t, 6, employees=None, size=None, annual_revenue=None),
        customer_row(t, 7, uscc=None, contact_title=None, cooperation_since=None),
        customer_row(t, 8),
        customer_row(t, 9),
    )
    for index, customer_id in enumerate(ids[:7]):
        await add_activity(
            database, t, customer_id,
            orders=index % 3 == 0, interactions=index % 3 == 1, complaints=index % 3 == 2,
        )  # fmt: skip
    return {f"C{i:05d}": customer_id for i, customer_id in enumerate(ids)}


async def test_completeness_invalid_values_and_inactivity_are_counted_on_a_known_data_set(
    client: httpx.AsyncClient, tenant: TenantKeys, make_tenant: Any, database: Database
) -> None:
    ids = await _known_data_set(database, tenant)
    other = await make_tenant()  # another tenant's flawed customers never count
    await add_customers(database, other.id, customer_row(other.id, 0, region=None, uscc="X"))

    report = await _report(client, tenant)

    assert report["total_customers"] == 10
    assert report["industry_list"] == "tenant"
    filled = {f["field"]: (f["filled"], f["share"]) for f in report["completeness"]}
    assert filled == {
        "name": (10, 1.0), "industry": (9, 0.9), "employees": (9, 0.9), "size": (9, 0.9),
        "annual_revenue": (9, 0.9), "region": (9, 0.9), "uscc": (9, 0.9),
        "contact_name": (9, 0.9), "contact_title": (9, 0.9), "cooperation_since": (9, 0.9),
    }  # fmt: skip
    assert {f["field"]: f["label"] for f in report["completeness"]}["uscc"] == "统一社会信用代码"
    invalid = {p["kind"]: p for p in report["invalid"]}
    assert {kind: p["count"] for kind, p in invalid.items()} == {
        "invalid_uscc": 2, "unknown_industry": 1, "size_mismatch": 1,
    }  # fmt: skip
    assert [e["code"] for e in invalid["invalid_uscc"]["examples"]] == ["C00001", "C00002"]
    assert "校验位不正确" in invalid["invalid_uscc"]["examples"][0]["message"]
    assert "应为 " + valid_uscc(2) in invalid["invalid_uscc"]["examples"][1]["message"]
    [unknown] = invalid["unknown_industry"]["examples"]
    assert (unknown["customer_id"], unknown["value"]) == (str(ids["C00003"]), "火星业-采矿")
    [mismatch] = invalid["size_mismatch"]["examples"]
    assert mismatch["message"] == "企业规模为小型，但员工人数 120 对应中型"
    idle = report["without_activity"]
    assert (idle["count"], idle["share"]) == (3, 0.3)
    assert [c["code"] for c in idle["examples"]] == ["C00007", "C00008", "C00009"]


async def test_labels_and_messages_are_english_with_accept_language_en(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await _known_data_set(database, tenant)
    response = await client.get(
        "/api/v1/data-quality", headers=tenant.headers(Role.VIEWER, **{"Accept-Language": "en"})
    )
    report = response.json()
    invalid = {p["kind"]: p for p in report["invalid"]}
    assert invalid["invalid_uscc"]["label"] == "Unified social credit code"
    assert "checksum mismatch" in invalid["invalid_uscc"]["examples"][0]["message"]
    assert invalid["size_mismatch"]["examples"][0]["message"] == (
        "Size is small but 120 employees make it medium"
    )


def _drawn(ids: list[uuid.UUID], seed: int, size: int) -> list[uuid.UUID]:
    # The documented draw: the customers with the smallest md5('<id>:<seed>').
    def draw(customer_id: uuid.UUID) -> str:
        return hashlib.md5(f"{customer_id}:{seed}".encode(), usedforsecurity=False).hexdigest()

    return sorted(ids, key=draw)[:size]


async def _set(database: Database, customer_id: uuid.UUID, **values: Any) -> None:
    async with database.sessionmaker() as session, session.begin():
        await session.execute(update(Customer).where(Customer.id == customer_id).values(**values))


async def test_the_sample_check_passes_below_five_percent_errors_and_fails_at_five(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await use_standard_industries(database, tenant.id)
    ids = await add_valid_customers(database, tenant.id, 400)
    drawn = _drawn(ids, 7, 40)
    outside = next(i for i in ids if i not in drawn)

    clean = (await _report(client, tenant, seed=7))["sample_check"]
    assert clean | {"problems": []} == {
        "seed": 7, "sample_share": 0.1, "sample_size": 40, "errors": 0, "error_rate": 0.0,
        "max_error_rate": 0.05, "passed": True, "problems": [],
    }  # fmt: skip

    await _set(database, outside, region=None)  # not drawn: does not count
    await _set(database, drawn[0], region=None)
    one = (await _report(client, tenant, seed=7))["sample_check"]
    assert (one["errors"], one["error_rate"], one["passed"]) == (1, 0.025, True)

    await _set(database, drawn[1], uscc="91310000ABCDEFGHJ0", region="  ")
    two = (await _report(client, tenant, seed=7))["sample_check"]
    assert (two["errors"], two["error_rate"], two["passed"]) == (2, 0.05, False)
    problems = {(p["kind"], p["field"]): p for p in two["problems"]}
    assert {key: p["count"] for key, p in problems.items()} == {
        ("missing", "region"): 2, ("invalid_uscc", "uscc"): 1,
    }  # fmt: skip
    assert problems[("missing", "region")]["examples"][0]["message"] == "缺少必填字段：所在地区"


async def test_the_sample_is_a_tenth_and_the_same_seed_draws_the_same_sample(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    await use_standard_industries(database, tenant.id)
    ids = await add_valid_customers(database, tenant.id, 95)
    for customer_id in ids[::3]:
        await _set(database, customer_id, industry=None)

    first = (await _report(client, tenant))["sample_check"]
    assert first["sample_size"] == 10  # ⌈9.5⌉
    again = (await _report(client, tenant, seed=first["seed"]))["sample_check"]
    assert again == first
    expected_errors = len(set(_drawn(ids, first["seed"], 10)) & set(ids[::3]))
    assert first["errors"] == expected_errors


async def test_industries_are_checked_against_the_tenants_list_or_else_the_standard_one(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    t = tenant.id
    await add_customers(database, t, customer_row(t, 0), customer_row(t, 1, industry="火星业-采矿"))
    await use_industries(database, t, [])
    report = await _report(client, tenant)
    assert report["industry_list"] == "standard"
    [unknown] = [p for p in report["invalid"] if p["kind"] == "unknown_industry"]
    assert [e["code"] for e in unknown["examples"]] == ["C00001"]

    await use_industries(database, t, ["火星业-采矿"])
    report = await _report(client, tenant)
    assert report["industry_list"] == "tenant"
    [unknown] = [p for p in report["invalid"] if p["kind"] == "unknown_industry"]
    assert [e["value"] for e in unknown["examples"]] == ["制造业-电子"]


async def test_a_tenant_without_customers_gets_an_empty_report_that_passes(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    report = await _report(client, tenant, seed=1)
    assert report["total_customers"] == 0
    assert all(f["filled"] == 0 and f["share"] == 0.0 for f in report["completeness"])
    assert report["sample_check"]["sample_size"] == 0
    assert report["sample_check"]["passed"] is True


async def test_the_report_needs_a_key_and_a_valid_seed(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    assert_problem(await client.get("/api/v1/data-quality"), 401)
    bad = await client.get(
        "/api/v1/data-quality", params={"seed": -1}, headers=tenant.headers(Role.VIEWER)
    )
    assert_problem(bad, 422)
