"""Moving a category moves its subtree; no cycles, depth counted with the subtree."""

import asyncio

import httpx

from tests.categories.factories import make_category, make_tree
from tests.core.test_errors import assert_problem


async def _move(
    api: httpx.AsyncClient, category: dict, parent: dict | None, **extra
) -> httpx.Response:
    body = {"parent_id": parent["id"] if parent else None, **extra}
    return await api.post(f"/api/v1/categories/{category['id']}/move", json=body)


async def _shape(api: httpx.AsyncClient, tree: dict) -> dict[str, tuple[int, list[str]]]:
    items = (await api.get(f"/api/v1/category-trees/{tree['id']}/categories")).json()["items"]
    return {c["code"]: (c["level"], c["path"]) for c in items}


async def test_moving_a_category_rewrites_the_level_and_path_of_its_subtree(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api, max_depth=4)
    a, b = await make_category(api, tree, "A"), await make_category(api, tree, "B")
    a1 = await make_category(api, tree, "A1", a)
    await make_category(api, tree, "A11", a1)
    moved = await _move(api, a1, b)
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == b["id"]
    assert moved.json()["path"] == ["B", "A1"]
    shape = await _shape(api, tree)
    assert shape["A1"] == (2, ["B", "A1"])
    assert shape["A11"] == (3, ["B", "A1", "A11"])
    assert shape["A"] == (1, ["A"])
    to_top = await _move(api, a1, None, sort_order=5)
    assert to_top.status_code == 200, to_top.text
    assert (to_top.json()["parent_id"], to_top.json()["path"]) == (None, ["A1"])
    assert to_top.json()["level"] == 1
    assert to_top.json()["sort_order"] == 5
    read = (await api.get(f"/api/v1/categories/{a1['id']}")).json()
    assert (read["parent_id"], read["level"], read["sort_order"]) == (None, 1, 5)
    shape = await _shape(api, tree)
    assert (shape["A1"], shape["A11"]) == ((1, ["A1"]), (2, ["A1", "A11"]))


async def test_a_category_cannot_move_under_itself_or_its_descendants(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    a = await make_category(api, tree, "A")
    a1 = await make_category(api, tree, "A1", a)
    for target in (a, a1):
        body = assert_problem(await _move(api, a, target), 422)
        assert body["errors"][0]["type"] == "cycle"


async def test_the_depth_of_the_moved_subtree_counts(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api, max_depth=3)
    a, b = await make_category(api, tree, "A"), await make_category(api, tree, "B")
    b1 = await make_category(api, tree, "B1", b)
    a1 = await make_category(api, tree, "A1", a)
    await make_category(api, tree, "A11", a1)
    # A (3 levels: A, A1, A11) under B1 (level 2) would reach level 5.
    body = assert_problem(await _move(api, a, b1), 422)
    assert body["errors"][0]["type"] == "max_depth_exceeded"
    assert "5" in body["detail"]
    assert (await _move(api, a1, b1)).status_code == 422  # A1 + A11 under B1 → level 4
    assert (await _shape(api, tree))["A11"] == (3, ["A", "A1", "A11"]), "refused: unmoved"
    assert (await _move(api, a1, b)).status_code == 200
    assert (await _shape(api, tree))["A11"] == (3, ["B", "A1", "A11"])


async def test_the_default_category_cannot_move_and_parents_stay_in_the_tree(
    api: httpx.AsyncClient,
) -> None:
    tree, other = await make_tree(api, "a"), await make_tree(api, "b")
    a = await make_category(api, tree, "A")
    default = {"id": tree["default_category_id"]}
    assert_problem(await _move(api, default, a), 409)
    assert_problem(await _move(api, a, await make_category(api, other, "X")), 422)
    assert_problem(await _move(api, a, default), 422)


async def test_a_move_into_a_parent_with_a_same_named_child_is_409(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    a, b = await make_category(api, tree, "A"), await make_category(api, tree, "B")
    await make_category(api, tree, "A1", a, name="上海")
    b1 = await make_category(api, tree, "B1", b, name="上海")
    assert_problem(await _move(api, b1, a), 409)
    assert (await _shape(api, tree))["B1"] == (2, ["B", "B1"]), "refused: unmoved"
    assert (await _move(api, b1, None)).status_code == 200
    assert (await _shape(api, tree))["B1"] == (1, ["B1"])


async def test_a_stale_if_match_refuses_the_move(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    a, b = await make_category(api, tree, "A"), await make_category(api, tree, "B")
    await api.patch(f"/api/v1/categories/{a['id']}", json={"name": "改名"})
    response = await api.post(
        f"/api/v1/categories/{a['id']}/move",
        json={"parent_id": b["id"]},
        headers={"If-Match": '"1"'},
    )
    assert_problem(response, 412)


async def test_two_concurrent_moves_that_together_form_a_cycle_cannot_both_succeed(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api, max_depth=6)
    for round_ in range(5):
        a = await make_category(api, tree, f"A{round_}")
        b = await make_category(api, tree, f"B{round_}")
        first, second = await asyncio.gather(_move(api, a, b), _move(api, b, a))
        statuses = sorted([first.status_code, second.status_code])
        assert statuses == [200, 422], (first.text, second.text)
        shape = await _shape(api, tree)
        levels = sorted([shape[f"A{round_}"][0], shape[f"B{round_}"][0]])
        assert levels == [1, 2]
    # Every path still starts at a top-level category and ends at its own category.
    items = (await api.get(f"/api/v1/category-trees/{tree['id']}/categories")).json()["items"]
    by_id = {c["id"]: c for c in items}
    for c in items:
        assert c["path_ids"][-1] == c["id"]
        assert by_id[c["path_ids"][0]]["parent_id"] is None
        assert len(c["path_ids"]) == c["level"]


async def test_many_concurrent_moves_in_one_tree_leave_a_consistent_tree(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api, max_depth=6)
    nodes = [await make_category(api, tree, f"N{i}") for i in range(6)]
    moves = [(nodes[i], nodes[(i + 1) % 6]) for i in range(6)] + [
        (nodes[i], nodes[(i + 3) % 6]) for i in range(6)
    ]
    responses = await asyncio.gather(*(_move(api, c, p) for c, p in moves))
    assert {r.status_code for r in responses} <= {200, 422}
    items = (await api.get(f"/api/v1/category-trees/{tree['id']}/categories")).json()["items"]
    by_id = {c["id"]: c for c in items}
    for c in items:
        assert len(c["path_ids"]) == c["level"] <= 6
        parent = by_id.get(c["parent_id"]) if c["parent_id"] else None
        assert c["path_ids"] == ([*parent["path_ids"], c["id"]] if parent else [c["id"]])
