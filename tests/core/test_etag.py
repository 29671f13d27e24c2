"""ETags on mutable resources; If-Match makes concurrent editors safe (412)."""

import asyncio

import httpx

from app.models import Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def test_reading_gives_an_etag_that_a_matching_update_accepts(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    read = await client.get("/api/v1/tenant", headers=tenant.headers())
    etag = read.headers["etag"]
    updated = await client.patch(
        "/api/v1/tenant",
        json={"name": "华信科技集团"},
        headers=tenant.headers(**{"If-Match": etag}),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "华信科技集团"
    assert updated.headers["etag"] != etag


async def test_a_stale_etag_is_412_and_changes_nothing(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    stale = (await client.get("/api/v1/tenant", headers=tenant.headers())).headers["etag"]
    first = await client.patch(
        "/api/v1/tenant", json={"name": "第一"}, headers=tenant.headers(**{"If-Match": stale})
    )
    assert first.status_code == 200
    second = await client.patch(
        "/api/v1/tenant", json={"name": "第二"}, headers=tenant.headers(**{"If-Match": stale})
    )
    body = assert_problem(second, 412)
    assert body["current_etag"] == first.headers["etag"]
    now = await client.get("/api/v1/tenant", headers=tenant.headers())
    assert now.json()["name"] == "第一"


async def test_fifty_concurrent_updates_with_one_etag_let_exactly_one_through(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    etag = (await client.get("/api/v1/tenant", headers=tenant.headers())).headers["etag"]

    async def patch(i: int) -> httpx.Response:
        return await client.patch(
            "/api/v1/tenant",
            json={"name": f"editor {i}"},
            headers=tenant.headers(**{"If-Match": etag}),
        )

    responses = await asyncio.gather(*(patch(i) for i in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(412) == 49, statuses
    [winner] = [r for r in responses if r.status_code == 200]
    final = await client.get("/api/v1/tenant", headers=tenant.headers())
    assert final.json()["name"] == winner.json()["name"]
    events = await client.get(
        "/api/v1/audit-events", params={"entity_type": "tenant"}, headers=tenant.headers()
    )
    assert len(events.json()["items"]) == 1


async def test_updates_without_if_match_are_applied(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    response = await client.patch("/api/v1/tenant", json={"locale": "en"}, headers=tenant.headers())
    assert response.status_code == 200
    assert response.json()["locale"] == "en"


async def test_an_unknown_time_zone_is_422(client: httpx.AsyncClient, tenant: TenantKeys) -> None:
    response = await client.patch(
        "/api/v1/tenant", json={"time_zone": "Mars/Olympus"}, headers=tenant.headers()
    )
    assert_problem(response, 422)


async def test_the_tenant_locale_is_the_default_language_of_its_messages(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    await client.patch("/api/v1/tenant", json={"locale": "en"}, headers=tenant.headers())
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "role": "viewer"},
        headers=tenant.headers(Role.VIEWER),
    )
    assert assert_problem(response, 403)["title"] == "Forbidden"
    chinese = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "role": "viewer"},
        headers=tenant.headers(Role.VIEWER, **{"Accept-Language": "zh-CN"}),
    )
    assert assert_problem(chinese, 403)["title"] == "无权执行此操作"
