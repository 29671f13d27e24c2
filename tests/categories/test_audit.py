"""Every mutation is in the audit log, in the same transaction as the change."""

import httpx

from app.models import Role
from tests.categories.factories import assign, make_category, make_customers, make_tree
from tests.conftest import TenantKeys


async def _events(api: httpx.AsyncClient, entity_type: str, entity_id: str) -> list[dict]:
    response = await api.get(
        "/api/v1/audit-events", params={"entity_type": entity_type, "entity_id": entity_id}
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first


async def test_a_categorys_life_is_in_the_audit_log(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    parent = await make_category(api, tree, "P")
    category = await make_category(api, tree, "C", name="初始")
    await api.patch(f"/api/v1/categories/{category['id']}", json={"name": "改名"})
    await api.post(f"/api/v1/categories/{category['id']}/move", json={"parent_id": parent["id"]})
    await api.delete(f"/api/v1/categories/{category['id']}")
    events = await _events(api, "category", category["id"])
    assert [e["action"] for e in events] == ["create", "update", "move", "delete"]
    assert events[0]["before"] is None
    assert events[0]["after"]["name"] == "初始"
    assert (events[1]["before"]["name"], events[1]["after"]["name"]) == ("初始", "改名")
    assert (events[2]["before"]["level"], events[2]["after"]["level"]) == (1, 2)
    assert events[2]["after"]["parent_id"] == parent["id"]
    assert events[3]["after"] == {
        "reassigned_to": {"id": tree["default_category_id"], "code": "DEFAULT", "name": "默认分类"},
        "moved": 0,
    }
    assert all(e["actor"].startswith("key:") for e in events)


async def test_a_failed_change_leaves_no_audit_event(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    category = await make_category(api, tree, "C")
    await make_category(api, tree, "C1", category)
    assert (await api.delete(f"/api/v1/categories/{category['id']}")).status_code == 409
    assert [e["action"] for e in await _events(api, "category", category["id"])] == ["create"]


async def test_assignments_and_approvals_are_audited_with_their_actor(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    client.headers.update(tenant.headers())
    tree = await make_tree(client, requires_approval=False)
    category = await make_category(client, tree, "HIGH")
    [customer] = await make_customers(client, 1)
    await assign(client, customer, tree, category, reason="人工判断")
    [event] = await _events(client, "assignment", customer)
    assert event["action"] == "set"
    assert event["after"]["categories"] == [category["id"]]
    assert event["after"]["reason"] == "人工判断"
    await client.patch(f"/api/v1/category-trees/{tree['id']}", json={"requires_approval": True})
    filed = await client.patch(
        f"/api/v1/categories/{category['id']}",
        json={"name": "高价值"},
        headers=tenant.headers(Role.EDITOR),
    )
    assert filed.status_code == 202
    approved = await client.post(
        f"/api/v1/change-requests/{filed.json()['id']}/approve",
        headers=tenant.headers(Role.APPROVER),
    )
    assert approved.status_code == 200, approved.text
    actions = [e["action"] for e in await _events(client, "change_request", filed.json()["id"])]
    assert actions == ["submit", "approve"]
    update = (await _events(client, "category", category["id"]))[-1]
    assert update["action"] == "update"
    assert update["after"]["change_request_id"] == filed.json()["id"]
    assert update["after"]["submitted_by"] == filed.json()["submitted_by"]
    assert update["actor"] == approved.json()["decided_by"]
