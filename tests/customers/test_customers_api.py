"""Customers through the HTTP API: validation, filters, ETags, bulk upsert."""

from typing import Any

import httpx

from app.customers.normalise import uscc_check_char
from app.models import Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem

VALID_USCC = "91350100M000100Y43"


def uscc(n: int) -> str:
    first17 = f"9131000{n:010d}"
    return first17 + uscc_check_char(first17)


async def create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/customers", json={"name": "某公司", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_customer_is_created_with_size_derived_from_employees(
    api: httpx.AsyncClient,
) -> None:
    customer = await create(api, code="C1", employees=180, uscc=VALID_USCC, industry="制造业-电子")
    assert customer["size"] == "medium"
    assert customer["uscc"] == VALID_USCC
    read = await api.get(f"/api/v1/customers/{customer['id']}")
    assert read.json() == customer
    assert read.headers["etag"]


async def test_size_boundaries_follow_the_seed(api: httpx.AsyncClient) -> None:
    sizes = {n: (await create(api, code=f"S{n}", employees=n))["size"] for n in (49, 50, 200, 201)}
    assert sizes == {49: "small", 50: "medium", 200: "medium", 201: "large"}


async def test_an_invalid_uscc_or_contradicting_size_is_422(api: httpx.AsyncClient) -> None:
    bad = await api.post(
        "/api/v1/customers", json={"code": "X", "name": "n", "uscc": "91350100M000100Y44"}
    )
    assert assert_problem(bad, 422)["errors"][0]["loc"] == ["body", "uscc"]
    contradiction = await api.post(
        "/api/v1/customers", json={"code": "X", "name": "n", "employees": 10, "size": "large"}
    )
    assert_problem(contradiction, 422)
    listed = await api.get("/api/v1/customers")
    assert listed.json()["items"] == []


async def test_a_duplicate_code_is_409(api: httpx.AsyncClient) -> None:
    await create(api, code="DUP")
    assert_problem(await api.post("/api/v1/customers", json={"code": "DUP", "name": "x"}), 409)


async def test_an_industry_outside_the_list_is_accepted(api: httpx.AsyncClient) -> None:
    customer = await create(api, code="I1", industry="外星产业-飞碟")
    assert customer["industry"] == "外星产业-飞碟"


async def test_listing_filters_by_industry_prefix_size_region_stage_tag_and_text(
    api: httpx.AsyncClient,
) -> None:
    await create(api, code="A1", name="华信电子", industry="制造业-电子", employees=10,
                 region="上海", stage="signed", tags=["重点客户"])  # fmt: skip
    await create(api, code="A2", name="远航物流", industry="服务业-物流", employees=300,
                 region="广东", stage="potential")  # fmt: skip
    await create(api, code="A3", name="制造业之家", industry="制造业", region="上海")

    async def codes(**params: str) -> list[str]:
        response = await api.get("/api/v1/customers", params=params)
        assert response.status_code == 200, response.text
        return [c["code"] for c in response.json()["items"]]

    assert await codes(industry="制造业") == ["A1", "A3"]
    assert await codes(industry="制造") == []
    assert await codes(size="large") == ["A2"]
    assert await codes(region="上海") == ["A1", "A3"]
    assert await codes(stage="signed") == ["A1"]
    assert await codes(tag="重点客户") == ["A1"]
    assert await codes(q="物流") == ["A2"]
    assert await codes(q="a3") == ["A3"]
    assert await codes(q="%") == []


async def test_a_customer_is_found_by_code(api: httpx.AsyncClient) -> None:
    customer = await create(api, code="客户-001")
    found = await api.get("/api/v1/customers/by-code/客户-001")
    assert found.json()["id"] == customer["id"]
    assert_problem(await api.get("/api/v1/customers/by-code/nope"), 404)


async def test_patch_honours_if_match_and_null_clears(api: httpx.AsyncClient) -> None:
    customer = await create(api, code="P1", region="上海", employees=10)
    etag = (await api.get(f"/api/v1/customers/{customer['id']}")).headers["etag"]
    ok = await api.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"region": None, "employees": 500},
        headers={"If-Match": etag},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["region"] is None
    assert ok.json()["size"] == "large"
    stale = await api.patch(
        f"/api/v1/customers/{customer['id']}", json={"region": "北京"}, headers={"If-Match": etag}
    )
    assert_problem(stale, 412)


async def test_delete_honours_if_match_and_then_404(api: httpx.AsyncClient) -> None:
    customer = await create(api, code="D1")
    stale = await api.delete(f"/api/v1/customers/{customer['id']}", headers={"If-Match": '"99"'})
    assert_problem(stale, 412)
    assert (await api.delete(f"/api/v1/customers/{customer['id']}")).status_code == 204
    assert_problem(await api.get(f"/api/v1/customers/{customer['id']}"), 404)


async def test_another_tenants_customer_is_404(client: httpx.AsyncClient, make_tenant: Any) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    created = await client.post(
        "/api/v1/customers", json={"code": "T1", "name": "n"}, headers=theirs.headers()
    )
    customer_id = created.json()["id"]
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, f"/api/v1/customers/{customer_id}", headers=ours.headers(),
            json={"region": "x"} if method == "PATCH" else None,
        )  # fmt: skip
        assert_problem(response, 404)


async def test_viewers_cannot_write_customers(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    response = await client.post(
        "/api/v1/customers", json={"code": "V", "name": "n"}, headers=tenant.headers(Role.VIEWER)
    )
    assert_problem(response, 403)


async def test_bulk_upsert_keeps_good_items_and_reports_bad_ones_by_index(
    api: httpx.AsyncClient,
) -> None:
    await create(api, code="B1", region="上海", contact_name="王敏")
    response = await api.post(
        "/api/v1/customers/bulk",
        json={
            "items": [
                {"code": "B1", "name": "更新后的名称"},
                {"code": "B2", "name": "新客户", "employees": 60},
                {"code": "B3", "name": "坏的", "uscc": "123"},
                {"code": "B2", "name": "重复"},
                {"name": "没有编号"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["received"], result["created"], result["updated"], result["failed"]) == (
        5, 1, 1, 3,
    )  # fmt: skip
    assert [e["index"] for e in result["errors"]] == [2, 3, 4]
    assert result["errors"][0]["errors"][0]["loc"] == ["uscc"]
    b1 = (await api.get("/api/v1/customers/by-code/B1")).json()
    assert b1["name"] == "更新后的名称"
    assert b1["region"] == "上海", "an omitted field keeps its value"
    assert (await api.get("/api/v1/customers/by-code/B2")).json()["size"] == "medium"


async def test_a_bulk_request_with_only_bad_items_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/customers/bulk", json={"items": [{"code": "x"}]})
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][:3] == ["body", "items", 0]


async def test_bulk_upsert_of_ten_thousand_customers_is_accepted(api: httpx.AsyncClient) -> None:
    items = [{"code": f"K{i:05d}", "name": f"公司{i}", "uscc": uscc(i)} for i in range(10_000)]
    response = await api.post("/api/v1/customers/bulk", json={"items": items})
    assert response.json()["created"] == 10_000
    again = await api.post("/api/v1/customers/bulk", json={"items": items})
    assert again.json()["updated"] == 10_000
    too_many = await api.post("/api/v1/customers/bulk", json={"items": [*items, items[0]]})
    assert_problem(too_many, 422)
