"""Cursor pagination: stable order, no repeats, opaque cursors validated."""

import httpx

from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def test_paging_through_a_list_returns_every_item_once_in_order(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    for i in range(7):
        created = await client.post(
            "/api/v1/api-keys", json={"name": f"k{i}", "role": "viewer"}, headers=tenant.headers()
        )
        assert created.status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get("/api/v1/api-keys", params=params, headers=tenant.headers())
        ).json()
        pages += 1
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4 + 7  # one key per role, plus seven
    assert pages == 4
    everything = await client.get(
        "/api/v1/api-keys", params={"limit": 500}, headers=tenant.headers()
    )
    assert [item["id"] for item in everything.json()["items"]] == seen


async def test_a_forged_cursor_is_a_422(client: httpx.AsyncClient, tenant: TenantKeys) -> None:
    for cursor in ["garbage", "W10", "WyJ4Il0", "WyIyMDI0LTAxLTAxIiwibm90LWEtdXVpZCJd"]:
        response = await client.get(
            "/api/v1/api-keys", params={"cursor": cursor}, headers=tenant.headers()
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["query", "cursor"]


async def test_limit_is_bounded(client: httpx.AsyncClient, tenant: TenantKeys) -> None:
    for limit in (0, 501, -1):
        response = await client.get(
            "/api/v1/api-keys", params={"limit": limit}, headers=tenant.headers()
        )
        assert_problem(response, 422)
