"""The filter form of bulk assignment: every customer matching a rule condition."""

import httpx

from tests.core.test_errors import assert_problem


async def test_bulk_assignment_by_filter_assigns_the_matching_customers(
    api: httpx.AsyncClient,
) -> None:
    installed = (await api.post("/api/v1/templates/value/install")).json()
    tree_id = installed["tree_id"]
    categories = (await api.get(f"/api/v1/category-trees/{tree_id}/categories")).json()["items"]
    high = next(c for c in categories if c["code"] == "HIGH")
    await api.post(
        "/api/v1/customers/bulk",
        json={"items": [{"code": "SH1", "name": "a", "region": "上海"},
                        {"code": "SH2", "name": "b", "region": "上海"},
                        {"code": "BJ1", "name": "c", "region": "北京"}]},
    )  # fmt: skip
    response = await api.post(
        f"/api/v1/category-trees/{tree_id}/assignments/bulk",
        json={"category_id": high["id"], "filter": 'region = "上海"', "reason": "上海重点客户"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    members = (await api.get(f"/api/v1/categories/{high['id']}/customers")).json()["items"]
    assert len(members) == 2
    none = await api.post(
        f"/api/v1/category-trees/{tree_id}/assignments/bulk",
        json={"category_id": high["id"], "filter": 'region = "火星"'},
    )
    assert_problem(none, 422)
    both = await api.post(
        f"/api/v1/category-trees/{tree_id}/assignments/bulk",
        json={"category_id": high["id"], "filter": "x", "customer_ids": []},
    )
    assert_problem(both, 422)
