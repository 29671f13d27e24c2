"""Category trees: created with their default category, edited under If-Match, deleted."""

import httpx

from app.models import Role
from tests.categories.factories import assign, make_category, make_customers, make_tree
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def test_a_new_tree_has_its_default_category(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api, "value", name="价值维度", name_en="Value")
    assert tree["max_depth"] == 3
    assert tree["requires_approval"] is False
    assert tree["multi_assign"] is False
    categories = (await api.get(f"/api/v1/category-trees/{tree['id']}/categories")).json()
    [default] = categories["items"]
    assert default["id"] == tree["default_category_id"]
    assert (default["code"], default["name"], default["name_en"]) == (
        "DEFAULT",
        "默认分类",
        "Default",
    )
    assert default["is_default"] is True
    assert default["level"] == 1
    assert default["path"] == ["DEFAULT"]
    assert default["applies_to"] == "all"


async def test_a_tree_key_is_unique_in_the_tenant_but_not_across_tenants(
    client: httpx.AsyncClient, make_tenant
) -> None:
    first, second = await make_tenant(), await make_tenant()
    body = {"key": "value", "name": "价值"}
    assert (
        await client.post("/api/v1/category-trees", json=body, headers=first.headers())
    ).status_code == 201
    assert_problem(
        await client.post("/api/v1/category-trees", json=body, headers=first.headers()), 409
    )
    assert (
        await client.post("/api/v1/category-trees", json=body, headers=second.headers())
    ).status_code == 201


async def test_max_depth_must_be_between_one_and_six(api: httpx.AsyncClient) -> None:
    for bad in (0, 7, "3", True):
        response = await api.post(
            "/api/v1/category-trees", json={"key": "x", "name": "x", "max_depth": bad}
        )
        assert_problem(response, 422)
    assert (await make_tree(api, "deep", max_depth=6))["max_depth"] == 6


async def test_another_tenants_tree_is_not_found(client: httpx.AsyncClient, make_tenant) -> None:
    owner, stranger = await make_tenant(), await make_tenant()
    created = await client.post(
        "/api/v1/category-trees", json={"key": "v", "name": "v"}, headers=owner.headers()
    )
    tree_id = created.json()["id"]
    assert_problem(
        await client.get(f"/api/v1/category-trees/{tree_id}", headers=stranger.headers()), 404
    )
    assert_problem(
        await client.delete(f"/api/v1/category-trees/{tree_id}", headers=stranger.headers()), 404
    )
    listed = await client.get("/api/v1/category-trees", headers=stranger.headers())
    assert listed.json()["items"] == []


async def test_only_admins_manage_trees_and_viewers_read_them(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    body = {"key": "v", "name": "v"}
    forbidden = await client.post(
        "/api/v1/category-trees", json=body, headers=tenant.headers(Role.EDITOR)
    )
    assert_problem(forbidden, 403)
    created = await client.post("/api/v1/category-trees", json=body, headers=tenant.headers())
    read = await client.get(
        f"/api/v1/category-trees/{created.json()['id']}", headers=tenant.headers(Role.VIEWER)
    )
    assert read.status_code == 200


async def test_updating_a_tree_honours_if_match(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    read = await api.get(f"/api/v1/category-trees/{tree['id']}")
    etag = read.headers["etag"]
    first = await api.patch(
        f"/api/v1/category-trees/{tree['id']}",
        json={"name": "客户价值"},
        headers={"If-Match": etag},
    )
    assert first.status_code == 200, first.text
    assert first.json()["name"] == "客户价值"
    stale = await api.patch(
        f"/api/v1/category-trees/{tree['id']}", json={"name": "别的"}, headers={"If-Match": etag}
    )
    assert_problem(stale, 412)


async def test_max_depth_cannot_drop_below_the_deepest_category(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    top = await make_category(api, tree, "A")
    await make_category(api, tree, "A1", parent=top)
    response = await api.patch(f"/api/v1/category-trees/{tree['id']}", json={"max_depth": 1})
    assert "2" in assert_problem(response, 409)["detail"]
    assert (
        await api.patch(f"/api/v1/category-trees/{tree['id']}", json={"max_depth": 2})
    ).status_code == 200


async def test_multi_assign_cannot_be_turned_off_while_a_customer_holds_several(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api, multi_assign=True)
    a, b = await make_category(api, tree, "A"), await make_category(api, tree, "B")
    [customer] = await make_customers(api, 1)
    assert (await assign(api, customer, tree, a)).status_code == 200
    assert (await assign(api, customer, tree, b)).status_code == 200
    response = await api.patch(f"/api/v1/category-trees/{tree['id']}", json={"multi_assign": False})
    assert assert_problem(response, 409)["customers"] == 1
    removed = await api.delete(
        f"/api/v1/customers/{customer}/assignments/{tree['id']}", params={"category_id": b["id"]}
    )
    assert removed.status_code == 200, removed.text
    turned_off = await api.patch(
        f"/api/v1/category-trees/{tree['id']}", json={"multi_assign": False}
    )
    assert turned_off.status_code == 200, turned_off.text
    # From now on the database holds the customer to one category of this tree.
    assert (await assign(api, customer, tree, b)).status_code == 200
    listed = (await api.get(f"/api/v1/customers/{customer}/assignments/{tree['id']}")).json()
    assert [i["category"]["code"] for i in listed["items"]] == ["B"]


async def test_deleting_a_tree_with_assignments_needs_force_and_is_audited(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    category = await make_category(api, tree, "A")
    [customer] = await make_customers(api, 1)
    await assign(api, customer, tree, category)
    refused = await api.delete(f"/api/v1/category-trees/{tree['id']}")
    assert assert_problem(refused, 409)["assignments"] == 1
    deleted = await api.delete(f"/api/v1/category-trees/{tree['id']}", params={"force": "true"})
    assert deleted.status_code == 204, deleted.text
    assert_problem(await api.get(f"/api/v1/category-trees/{tree['id']}"), 404)
    assert_problem(await api.get(f"/api/v1/categories/{category['id']}"), 404)
    events = await api.get(
        "/api/v1/audit-events", params={"entity_type": "category_tree", "entity_id": tree["id"]}
    )
    actions = [e["action"] for e in events.json()["items"]]
    assert actions == ["delete", "create"]
    assert events.json()["items"][0]["after"]["assignments_deleted"] == 1
    assert (await api.get(f"/api/v1/customers/{customer}")).status_code == 200


async def test_an_empty_tree_is_deleted_without_force(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    kept = await make_tree(api, "kept")
    category = await make_category(api, tree, "A")
    assert (await api.delete(f"/api/v1/category-trees/{tree['id']}")).status_code == 204
    assert_problem(await api.get(f"/api/v1/category-trees/{tree['id']}"), 404)
    assert_problem(await api.get(f"/api/v1/categories/{category['id']}"), 404)
    listed = (await api.get("/api/v1/category-trees")).json()["items"]
    assert [t["id"] for t in listed] == [kept["id"]]
