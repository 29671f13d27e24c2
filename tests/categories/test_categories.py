"""Creating, reading and editing categories; every invariant is a clear 409 or 422."""

import httpx

from app.models import Role
from tests.categories.factories import make_category, make_tree
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def test_categories_list_depth_first_with_level_and_path(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    strat = await make_category(api, tree, "STRAT", name="战略客户", sort_order=1)
    key = await make_category(api, tree, "KEY", name="重点客户", sort_order=2)
    await make_category(api, tree, "STRAT_MFG", strat, name="战略客户-制造业", sort_order=2)
    await make_category(api, tree, "STRAT_SVC", strat, name="战略客户-服务业", sort_order=1)
    await make_category(api, tree, "KEY_EAST", key, name="重点客户-华东")
    flat = (await api.get(f"/api/v1/category-trees/{tree['id']}/categories")).json()["items"]
    assert [(c["code"], c["level"], c["path"]) for c in flat] == [
        ("STRAT", 1, ["STRAT"]),
        ("STRAT_SVC", 2, ["STRAT", "STRAT_SVC"]),
        ("STRAT_MFG", 2, ["STRAT", "STRAT_MFG"]),
        ("KEY", 1, ["KEY"]),
        ("KEY_EAST", 2, ["KEY", "KEY_EAST"]),
        ("DEFAULT", 1, ["DEFAULT"]),
    ]
    assert flat[2]["path_ids"] == [strat["id"], flat[2]["id"]]
    nested = await api.get(
        f"/api/v1/category-trees/{tree['id']}/categories", params={"view": "nested"}
    )
    roots = nested.json()["items"]
    assert [r["code"] for r in roots] == ["STRAT", "KEY", "DEFAULT"]
    assert [c["code"] for c in roots[0]["children"]] == ["STRAT_SVC", "STRAT_MFG"]
    assert roots[0]["children"][0]["children"] == []


async def test_a_category_carries_its_playbook_and_etag(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    playbook = {"next_action": "销售总监跟进", "owner_role": "销售总监", "sla_days": 7}
    created = await make_category(
        api,
        tree,
        "HIGH",
        name="高价值客户",
        name_en="High value",
        applies_to="signed",
        description="近6个月订单金额≥50万",
        playbook=playbook,
    )
    read = await api.get(f"/api/v1/categories/{created['id']}")
    assert read.json() == created
    assert read.json()["playbook"] == playbook
    assert read.headers["etag"] == '"1"'


async def test_a_code_is_unique_in_its_tree(api: httpx.AsyncClient) -> None:
    tree, other = await make_tree(api, "a"), await make_tree(api, "b")
    await make_category(api, tree, "HIGH")
    duplicate = await api.post(
        f"/api/v1/category-trees/{tree['id']}/categories", json={"code": "HIGH", "name": "另一个"}
    )
    assert_problem(duplicate, 409)
    default = await api.post(
        f"/api/v1/category-trees/{tree['id']}/categories", json={"code": "DEFAULT", "name": "x"}
    )
    assert_problem(default, 409)
    await make_category(api, other, "HIGH")


async def test_a_name_is_unique_among_siblings_including_top_level_ones(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    a = await make_category(api, tree, "A", name="华东")
    b = await make_category(api, tree, "B", name="华南")
    url = f"/api/v1/category-trees/{tree['id']}/categories"
    assert_problem(await api.post(url, json={"code": "C", "name": "华东"}), 409)
    assert_problem(await api.post(url, json={"code": "C", "name": "默认分类"}), 409)
    await make_category(api, tree, "A1", a, name="上海")
    await make_category(api, tree, "B1", b, name="上海")  # another parent: allowed
    clash = await api.post(url, json={"code": "A2", "name": "上海", "parent_id": a["id"]})
    assert_problem(clash, 409)


async def test_a_parent_from_another_tree_or_nowhere_is_422(api: httpx.AsyncClient) -> None:
    tree, other = await make_tree(api, "a"), await make_tree(api, "b")
    foreign = await make_category(api, other, "X")
    url = f"/api/v1/category-trees/{tree['id']}/categories"
    for parent in (foreign["id"], "00000000-0000-4000-8000-000000000000"):
        body = assert_problem(
            await api.post(url, json={"code": "C", "name": "c", "parent_id": parent}), 422
        )
        assert body["errors"][0]["loc"] == ["body", "parent_id"]


async def test_the_default_category_cannot_have_children(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    response = await api.post(
        f"/api/v1/category-trees/{tree['id']}/categories",
        json={"code": "C", "name": "c", "parent_id": tree["default_category_id"]},
    )
    assert_problem(response, 422)


async def test_depth_is_limited_by_the_trees_max_depth(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api, max_depth=2)
    top = await make_category(api, tree, "A")
    child = await make_category(api, tree, "A1", top)
    response = await api.post(
        f"/api/v1/category-trees/{tree['id']}/categories",
        json={"code": "A11", "name": "x", "parent_id": child["id"]},
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["type"] == "max_depth_exceeded"


async def test_applies_to_cannot_contradict_the_parent(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    signed = await make_category(api, tree, "S", applies_to="signed")
    contradicting = await api.post(
        f"/api/v1/category-trees/{tree['id']}/categories",
        json={"code": "P", "name": "p", "parent_id": signed["id"], "applies_to": "potential"},
    )
    assert_problem(contradicting, 422)
    await make_category(api, tree, "S1", signed, applies_to="all")
    await make_category(api, tree, "S2", signed, applies_to="signed")


async def test_updating_changes_fields_under_if_match(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    created = await make_category(
        api,
        tree,
        "KEY",
        name="重点客户",
        description="年采购500-1000万元",
        playbook={"next_action": "季度回访", "sla_days": 90},
    )
    url = f"/api/v1/categories/{created['id']}"
    updated = await api.patch(
        url,
        json={"description": "年采购600-1000万元", "playbook": {"sla_days": 30}},
        headers={"If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == '"2"'
    body = updated.json()
    assert body["description"] == "年采购600-1000万元"
    assert body["playbook"] == {"next_action": None, "owner_role": None, "sla_days": 30}
    assert body["name"] == "重点客户"
    assert_problem(await api.patch(url, json={"name": "x"}, headers={"If-Match": '"1"'}), 412)
    cleared = await api.patch(url, json={"playbook": None, "description": None})
    assert cleared.json()["playbook"] is None
    assert cleared.json()["description"] is None


async def test_an_update_cannot_take_a_siblings_name_or_another_code(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    await make_category(api, tree, "A", name="甲")
    b = await make_category(api, tree, "B", name="乙")
    assert_problem(await api.patch(f"/api/v1/categories/{b['id']}", json={"name": "甲"}), 409)
    assert_problem(await api.patch(f"/api/v1/categories/{b['id']}", json={"code": "A"}), 409)
    same = await api.patch(f"/api/v1/categories/{b['id']}", json={"name": "乙", "code": "B"})
    assert same.status_code == 200
    assert same.headers["etag"] == '"1"'  # nothing changed


async def test_the_default_category_keeps_its_code_and_applies_to_everyone(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    url = f"/api/v1/categories/{tree['default_category_id']}"
    assert_problem(await api.patch(url, json={"code": "OTHER"}), 409)
    assert_problem(await api.patch(url, json={"applies_to": "signed"}), 409)
    renamed = await api.patch(url, json={"name": "未分类", "playbook": {"next_action": "补充资料"}})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "未分类"


async def test_viewers_cannot_edit_categories(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    created = await client.post(
        "/api/v1/category-trees", json={"key": "v", "name": "v"}, headers=tenant.headers()
    )
    response = await client.post(
        f"/api/v1/category-trees/{created.json()['id']}/categories",
        json={"code": "A", "name": "a"},
        headers=tenant.headers(Role.VIEWER),
    )
    assert_problem(response, 403)
    editor = await client.post(
        f"/api/v1/category-trees/{created.json()['id']}/categories",
        json={"code": "A", "name": "a"},
        headers=tenant.headers(Role.EDITOR),
    )
    assert editor.status_code == 201


async def test_bad_category_input_is_422(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    url = f"/api/v1/category-trees/{tree['id']}/categories"
    for body in (
        {"code": "has space", "name": "x"},
        {"code": "A", "name": ""},
        {"code": "A", "name": "x", "applies_to": "vip"},
        {"code": "A", "name": "x", "sort_order": "1"},
        {"code": "A", "name": "x", "playbook": {"sla_days": -1}},
        {"code": "A", "name": "x", "level": 2},
    ):
        assert_problem(await api.post(url, json=body), 422)
    moved = await api.patch(
        f"/api/v1/categories/{tree['default_category_id']}", json={"parent_id": None}
    )
    assert_problem(moved, 422)


async def test_labels_follow_the_requested_language(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api, name="价值维度", name_en="Value")
    await make_category(api, tree, "HIGH", name="高价值客户", name_en="High value")
    await make_category(api, tree, "ONLY_ZH", name="只有中文")
    url = f"/api/v1/category-trees/{tree['id']}/categories"
    chinese = (await api.get(url)).json()["items"]
    english = (await api.get(url, headers={"Accept-Language": "en"})).json()["items"]
    assert [c["label"] for c in chinese] == ["高价值客户", "只有中文", "默认分类"]
    assert [c["label"] for c in english] == ["High value", "只有中文", "Default"]
    read = await api.get(f"/api/v1/category-trees/{tree['id']}", headers={"Accept-Language": "en"})
    assert read.json()["label"] == "Value"
