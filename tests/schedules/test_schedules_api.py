"""Schedules over HTTP: create, read, change, delete; roles, ETags, and what is refused."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from app.models import Role
from tests.conftest import TenantKeys

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def create(api: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await api.post(
        "/api/v1/schedules", json={"name": "每月回顾", "cron": "0 9 1 * *", **body}
    )


async def test_a_monthly_schedule_fires_next_at_nine_on_the_first_in_the_tenants_zone(
    api: httpx.AsyncClient,
) -> None:
    before = datetime.now(UTC)
    created = await create(api)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["time_zone"] == "Asia/Shanghai"
    assert schedule["enabled"] is True
    assert schedule["tree_ids"] is None
    assert schedule["scope"] == {"type": "all"}
    assert schedule["mode"] == "apply"
    assert schedule["last_fire"] is None
    assert created.headers["ETag"] == '"1"'
    next_fire = datetime.fromisoformat(schedule["next_fire_at"])
    assert next_fire.utcoffset() == timedelta(hours=8)  # shown in the tenant's zone
    local = next_fire.astimezone(SHANGHAI)
    assert (local.day, local.hour, local.minute) == (1, 9, 0)
    assert before < next_fire <= before + timedelta(days=32)

    got = await api.get(f"/api/v1/schedules/{schedule['id']}")
    assert got.status_code == 200
    assert got.json() == schedule
    listed = await api.get("/api/v1/schedules")
    assert [s["id"] for s in listed.json()["items"]] == [schedule["id"]]


async def test_viewers_read_schedules_and_only_editors_change_them(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    viewer, editor = tenant.headers(Role.VIEWER), tenant.headers(Role.EDITOR)
    body = {"name": "每季度更新", "cron": "0 9 1 1,4,7,10 *"}
    refused = await client.post("/api/v1/schedules", json=body, headers=viewer)
    assert refused.status_code == 403
    created = await client.post("/api/v1/schedules", json=body, headers=editor)
    assert created.status_code == 201, created.text
    path = f"/api/v1/schedules/{created.json()['id']}"
    assert (await client.get(path, headers=viewer)).status_code == 200
    assert (await client.get("/api/v1/schedules", headers=viewer)).status_code == 200
    assert (await client.patch(path, json={"enabled": False}, headers=viewer)).status_code == 403
    assert (await client.delete(path, headers=viewer)).status_code == 403
    assert (await client.delete(path, headers=editor)).status_code == 204
    assert (await client.get(path, headers=viewer)).status_code == 404


async def test_an_unreadable_cron_expression_is_a_422_in_chinese_that_changes_nothing(
    api: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    for cron in ("61 * * * *", "* * * *", "0 9 1 * * *", "0 0 30 2 *", "每月一号"):
        refused = await create(api, cron=cron)
        assert refused.status_code == 422, (cron, refused.text)
        problem = refused.json()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert problem["detail"].startswith("cron 表达式"), problem
        assert problem["errors"][0]["loc"] == ["body", "cron"]
        assert problem["errors"][0]["type"] == "invalid_cron"
    english = await api.post(
        "/api/v1/schedules",
        json={"name": "x", "cron": "0 0 30 2 *"},
        headers={"Accept-Language": "en"},
    )
    assert english.json()["detail"] == "Invalid cron expression “0 0 30 2 *”: never comes round"
    assert (await api.get("/api/v1/schedules")).json()["items"] == []


async def test_trees_and_scopes_a_run_would_refuse_are_refused_when_saving(
    api: httpx.AsyncClient,
) -> None:
    unknown = await create(api, tree_ids=["00000000-0000-4000-8000-000000000000"])
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "tree_ids", 0]
    bad_scope = await create(api, scope={"type": "filter", "when": "no_such_field > 1"})
    assert bad_scope.status_code == 422
    assert bad_scope.json()["errors"][0]["loc"][:3] == ["body", "scope", "when"]
    assert (await api.get("/api/v1/schedules")).json()["items"] == []


async def test_patch_honours_if_match_and_counts_the_next_fire_again_for_a_new_cron(
    api: httpx.AsyncClient,
) -> None:
    schedule = (await create(api)).json()
    path = f"/api/v1/schedules/{schedule['id']}"
    renamed = await api.patch(path, json={"name": "月度回顾"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"2"'
    assert renamed.json()["next_fire_at"] == schedule["next_fire_at"]  # same cron, same time
    stale = await api.patch(path, json={"enabled": False}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412

    quarterly = await api.patch(path, json={"cron": "0 9 1 1,4,7,10 *", "mode": "dry_run"})
    assert quarterly.status_code == 200, quarterly.text
    local = datetime.fromisoformat(quarterly.json()["next_fire_at"]).astimezone(SHANGHAI)
    assert (local.month, local.day, local.hour) in {(m, 1, 9) for m in (1, 4, 7, 10)}
    assert quarterly.json()["mode"] == "dry_run"

    disabled = await api.patch(path, json={"enabled": False})
    assert disabled.json()["enabled"] is False
    assert disabled.json()["next_fire_at"] is None
    enabled = await api.patch(path, json={"enabled": True})
    assert enabled.json()["next_fire_at"] == quarterly.json()["next_fire_at"]

    bad = await api.patch(path, json={"cron": "0 25 * * *"})
    assert bad.status_code == 422
    assert (await api.get(path)).json()["cron"] == "0 9 1 1,4,7,10 *"
    assert (await api.delete(path, headers={"If-Match": '"1"'})).status_code == 412
    assert (await api.delete(path)).status_code == 204


async def test_another_tenants_schedule_is_not_found(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_tenant: Any
) -> None:
    schedule = (await create(api)).json()
    other = await make_tenant()
    path = f"/api/v1/schedules/{schedule['id']}"
    assert (await client.get(path, headers=other.headers())).status_code == 404
    assert (await client.delete(path, headers=other.headers())).status_code == 404
    assert (await api.get(path)).status_code == 200


async def test_a_schedule_reads_its_cron_in_the_tenants_own_zone(
    client: httpx.AsyncClient, make_tenant: Any
) -> None:
    tenant = await make_tenant(time_zone="America/New_York")
    created = await client.post(
        "/api/v1/schedules",
        json={"name": "daily", "cron": "30 1 * * *"},
        headers=tenant.headers(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["time_zone"] == "America/New_York"
    local = datetime.fromisoformat(created.json()["next_fire_at"]).astimezone(
        ZoneInfo("America/New_York")
    )
    assert (local.hour, local.minute) == (1, 30)
