"""审核: on a tree that requires approval, category edits wait for a second person."""

import asyncio
from typing import Any

import httpx

from app.models import Role
from tests.categories.factories import assign, category_codes, make_category, make_customers
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def _approval_tree(client: httpx.AsyncClient, tenant: TenantKeys) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/category-trees",
        json={"key": "value", "name": "价值维度", "requires_approval": True},
        headers=tenant.headers(),
    )
    assert response.status_code == 201, response.text
    return response.json()


def client_api(client: httpx.AsyncClient, tenant: TenantKeys) -> httpx.AsyncClient:
    """The client with the tenant's admin key by default (headers given per call win)."""
    client.headers.update(tenant.headers())
    return client


def _editor(tenant: TenantKeys) -> dict[str, str]:
    return tenant.headers(Role.EDITOR)


def _approver(tenant: TenantKeys) -> dict[str, str]:
    return tenant.headers(Role.APPROVER)


async def _file_create(
    client: httpx.AsyncClient,
    tenant: TenantKeys,
    tree: dict[str, Any],
    code: str = "STRAT",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/category-trees/{tree['id']}/categories",
        json={"code": code, "name": fields.pop("name", "战略客户"), **fields},
        params={"note": "新增战略客户分类,适配2024年大客户管理策略"},
        headers=headers or _editor(tenant),
    )
    assert response.status_code == 202, response.text
    return response.json()


async def test_creating_on_an_approval_tree_files_a_change_request(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree, applies_to="signed")
    assert request["status"] == "pending"
    assert request["kind"] == "category.create"
    assert request["note"] == "新增战略客户分类,适配2024年大客户管理策略"
    assert request["diff"]["before"] is None
    assert request["diff"]["after"]["code"] == "STRAT"
    assert request["diff"]["after"]["level"] == 1
    assert request["submitted_by"].startswith("key:")
    assert await category_codes(client_api(client, tenant), tree) == ["DEFAULT"]
    read = await client.get(
        f"/api/v1/change-requests/{request['id']}", headers=tenant.headers(Role.VIEWER)
    )
    assert read.json() == request
    approved = await client.post(
        f"/api/v1/change-requests/{request['id']}/approve",
        json={"comment": "同意"},
        headers=_approver(tenant),
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["reason"]) == ("approved", "同意")
    assert body["decided_by"] != body["submitted_by"]
    created = await client.get(
        f"/api/v1/categories/{body['result']['category_id']}", headers=_editor(tenant)
    )
    assert created.json()["code"] == "STRAT"
    assert created.json()["applies_to"] == "signed"


async def test_approving_takes_the_reason_field_the_request_shows(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree)
    approved = await client.post(
        f"/api/v1/change-requests/{request['id']}/approve",
        json={"reason": "符合2024年大客户管理策略"},
        headers=_approver(tenant),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["reason"] == "符合2024年大客户管理策略"


async def test_the_submitter_cannot_approve_their_own_change(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree, headers=_approver(tenant))
    own = await client.post(
        f"/api/v1/change-requests/{request['id']}/approve", headers=_approver(tenant)
    )
    body = assert_problem(own, 403)
    assert "四眼" in body["detail"]
    english = await client.post(
        f"/api/v1/change-requests/{request['id']}/approve",
        headers=tenant.headers(Role.APPROVER, **{"Accept-Language": "en"}),
    )
    assert "Four-eyes" in assert_problem(english, 403)["detail"]
    read = await client.get(f"/api/v1/change-requests/{request['id']}", headers=_editor(tenant))
    assert read.json()["status"] == "pending"


async def test_actors_behind_a_delegating_key_are_compared_not_the_key(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    zhang = tenant.headers(Role.ADMIN, **{"X-Actor": "%E5%BC%A0%E4%BC%9F"})  # 张伟
    li = tenant.headers(Role.ADMIN, **{"X-Actor": "%E6%9D%8E%E5%A8%9C"})  # 李娜
    request = await _file_create(client, tenant, tree, headers=zhang)
    assert request["submitted_by"] == "user:张伟"
    url = f"/api/v1/change-requests/{request['id']}/approve"
    assert_problem(await client.post(url, headers=zhang), 403)
    approved = await client.post(url, headers=li)
    assert approved.json()["decided_by"] == "user:李娜"


async def test_editors_cannot_approve(client: httpx.AsyncClient, tenant: TenantKeys) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree, headers=tenant.headers(Role.ADMIN))
    url = f"/api/v1/change-requests/{request['id']}/approve"
    assert_problem(await client.post(url, headers=_editor(tenant)), 403)


async def test_rejecting_needs_a_reason_and_applies_nothing(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree)
    url = f"/api/v1/change-requests/{request['id']}/reject"
    assert_problem(await client.post(url, json={}, headers=_approver(tenant)), 422)
    assert_problem(await client.post(url, json={"reason": "  "}, headers=_approver(tenant)), 422)
    rejected = await client.post(
        url, json={"reason": "分类层级错误,需重新设置二级分类关联上级"}, headers=_approver(tenant)
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["reason"]) == (
        "rejected",
        "分类层级错误,需重新设置二级分类关联上级",
    )
    again = await client.post(
        f"/api/v1/change-requests/{request['id']}/approve", headers=_approver(tenant)
    )
    assert assert_problem(again, 409)["request_status"] == "rejected"
    assert await category_codes(client_api(client, tenant), tree) == ["DEFAULT"]


async def test_a_change_that_could_never_apply_is_refused_when_filed(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    response = await client.post(
        f"/api/v1/category-trees/{tree['id']}/categories",
        json={"code": "DEFAULT", "name": "重复"},
        headers=_editor(tenant),
    )
    assert_problem(response, 409)
    listed = await client.get("/api/v1/change-requests", headers=_editor(tenant))
    assert listed.json()["items"] == []


async def _direct_tree_with(
    client: httpx.AsyncClient, tenant: TenantKeys, *codes: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A tree with categories made directly, then switched to requiring approval."""
    api = client_api(client, tenant)
    tree = (await api.post("/api/v1/category-trees", json={"key": "t", "name": "t"})).json()
    made = [await make_category(api, tree, code) for code in codes]
    switched = await api.patch(
        f"/api/v1/category-trees/{tree['id']}", json={"requires_approval": True}
    )
    assert switched.json()["requires_approval"] is True
    return tree, made


async def test_approving_after_the_target_changed_is_409_and_stays_pending(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    _, [category] = await _direct_tree_with(client, tenant, "KEY")
    first = await client.patch(
        f"/api/v1/categories/{category['id']}", json={"name": "重点客户"}, headers=_editor(tenant)
    )
    assert first.status_code == 202
    second = await client.patch(
        f"/api/v1/categories/{category['id']}",
        json={"description": "年采购≥600万"},
        headers=tenant.headers(Role.ADMIN),
    )
    assert second.status_code == 202
    assert second.json()["diff"]["before"] == {"description": None}
    approve = "/api/v1/change-requests/{}/approve"
    assert (
        await client.post(approve.format(first.json()["id"]), headers=_approver(tenant))
    ).status_code == 200
    stale = await client.post(approve.format(second.json()["id"]), headers=_approver(tenant))
    assert assert_problem(stale, 409)["current_version"] == 2
    read = await client.get(
        f"/api/v1/change-requests/{second.json()['id']}", headers=_editor(tenant)
    )
    assert read.json()["status"] == "pending"
    now = await client.get(f"/api/v1/categories/{category['id']}", headers=_editor(tenant))
    assert (now.json()["name"], now.json()["description"]) == ("重点客户", None)


async def test_moves_and_deletes_go_through_approval_too(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree, [a, b] = await _direct_tree_with(client, tenant, "A", "B")
    api = client_api(client, tenant)
    [customer] = await make_customers(api, 1)
    await assign(api, customer, tree, a)
    move = await client.post(
        f"/api/v1/categories/{b['id']}/move", json={"parent_id": a["id"]}, headers=_editor(tenant)
    )
    assert move.status_code == 202, move.text
    assert move.json()["diff"]["after"]["parent"]["code"] == "A"
    delete = await client.delete(f"/api/v1/categories/{a['id']}", headers=_editor(tenant))
    assert delete.status_code == 202, delete.text
    assert delete.json()["diff"]["effects"]["customers_moved"] == 1
    assert delete.json()["diff"]["effects"]["reassign_to"]["code"] == "DEFAULT"
    approve = "/api/v1/change-requests/{}/approve"
    moved = await client.post(approve.format(move.json()["id"]), headers=_approver(tenant))
    assert moved.status_code == 200, moved.text
    # A now has a child: the pending delete can no longer apply and stays pending.
    blocked = await client.post(approve.format(delete.json()["id"]), headers=_approver(tenant))
    assert_problem(blocked, 409)
    pending = await client.get(
        "/api/v1/change-requests", params={"status": "pending"}, headers=_editor(tenant)
    )
    assert [r["kind"] for r in pending.json()["items"]] == ["category.delete"]


async def test_change_requests_are_filtered_by_status_tree_and_submitter(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    mine = await _file_create(client, tenant, tree, "A", name="甲")
    theirs = await _file_create(
        client, tenant, tree, "B", name="乙", headers=tenant.headers(Role.ADMIN)
    )
    await client.post(
        f"/api/v1/change-requests/{theirs['id']}/reject",
        json={"reason": "不需要"},
        headers=_approver(tenant),
    )

    async def ids(**params: str) -> list[str]:
        response = await client.get(
            "/api/v1/change-requests", params=params, headers=_editor(tenant)
        )
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await ids() == [theirs["id"], mine["id"]]
    assert await ids(status="pending") == [mine["id"]]
    assert await ids(status="rejected") == [theirs["id"]]
    assert await ids(tree_id=tree["id"], submitted_by=mine["submitted_by"]) == [mine["id"]]
    assert await ids(tree_id="00000000-0000-4000-8000-000000000000") == []
    assert await ids(kind="category.create") == [theirs["id"], mine["id"]]


async def test_two_approvers_at_once_apply_a_change_once(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree)
    url = f"/api/v1/change-requests/{request['id']}/approve"
    responses = await asyncio.gather(
        *(client.post(url, headers=h) for h in [_approver(tenant), tenant.headers(Role.ADMIN)] * 3)
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409, 409]
    assert await category_codes(client_api(client, tenant), tree) == ["STRAT", "DEFAULT"]


async def test_a_change_request_of_another_tenant_is_not_found(
    client: httpx.AsyncClient, make_tenant: Any
) -> None:
    owner, stranger = await make_tenant(), await make_tenant()
    tree = await _approval_tree(client, owner)
    request = await _file_create(client, owner, tree)
    assert_problem(
        await client.get(f"/api/v1/change-requests/{request['id']}", headers=stranger.headers()),
        404,
    )
    assert_problem(
        await client.post(
            f"/api/v1/change-requests/{request['id']}/approve", headers=stranger.headers()
        ),
        404,
    )
