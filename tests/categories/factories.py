"""Small builders over the HTTP API for category tests."""

from typing import Any

import httpx

from app.models import Role
from tests.conftest import TenantKeys


async def make_tree(api: httpx.AsyncClient, key: str = "value", **fields: Any) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/category-trees", json={"key": key, "name": f"维度 {key}", **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_category(
    api: httpx.AsyncClient,
    tree: dict[str, Any] | str,
    code: str,
    parent: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    tree_id = tree if isinstance(tree, str) else tree["id"]
    body = {"code": code, "name": fields.pop("name", f"分类 {code}"), **fields}
    if parent is not None:
        body["parent_id"] = parent["id"]
    response = await api.post(f"/api/v1/category-trees/{tree_id}/categories", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def make_customers(
    api: httpx.AsyncClient, count: int, *, stage: str = "signed", prefix: str = "C"
) -> list[str]:
    """Customers created through the API; their ids in creation order."""
    ids = []
    for index in range(count):
        response = await api.post(
            "/api/v1/customers",
            json={"code": f"{prefix}{index:04d}", "name": f"客户{prefix}{index}", "stage": stage},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def assign(
    api: httpx.AsyncClient,
    customer_id: str,
    tree: dict[str, Any],
    category: dict[str, Any],
    **fields: Any,
) -> httpx.Response:
    return await api.put(
        f"/api/v1/customers/{customer_id}/assignments/{tree['id']}",
        json={"category_id": category["id"], **fields},
    )


async def assigned_codes(
    api: httpx.AsyncClient, customer_id: str, tree: dict[str, Any]
) -> list[str]:
    response = await api.get(f"/api/v1/customers/{customer_id}/assignments/{tree['id']}")
    assert response.status_code == 200, response.text
    return [item["category"]["code"] for item in response.json()["items"]]


async def category_codes(api: httpx.AsyncClient, tree: dict[str, Any]) -> list[str]:
    response = await api.get(f"/api/v1/category-trees/{tree['id']}/categories")
    assert response.status_code == 200, response.text
    return [c["code"] for c in response.json()["items"]]


def as_role(tenant: TenantKeys, role: Role, **extra: str) -> dict[str, str]:
    return tenant.headers(role, **extra)
