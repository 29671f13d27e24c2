"""Deleting a category moves its customers (set-based, with history) and says how many."""

import asyncio

import httpx
from sqlalchemy import text

from app.core.db import Database
from tests.categories.factories import (
    assign,
    assigned_codes,
    make_category,
    make_customers,
    make_tree,
)
from tests.core.test_errors import assert_problem


async def test_deleting_a_category_moves_its_customers_to_the_default(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    high = await make_category(api, tree, "HIGH", name="高价值客户")
    low = await make_category(api, tree, "LOW", name="低价值客户")
    customers = await make_customers(api, 3)
    for customer in customers[:2]:
        await assign(api, customer, tree, high, locked=True)
    await assign(api, customers[2], tree, low)
    impact = await api.get(f"/api/v1/categories/{high['id']}/impact")
    assert impact.json()["customers_direct"] == 2
    assert impact.json()["would_move"] == 2
    assert impact.json()["reassign_to"]["code"] == "DEFAULT"
    assert impact.json()["rules"] == []
    deleted = await api.delete(f"/api/v1/categories/{high['id']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "category_id": high["id"],
        "reassigned_to": {"id": tree["default_category_id"], "code": "DEFAULT", "name": "默认分类"},
        "moved": 2,
    }
    assert await assigned_codes(api, customers[0], tree) == ["DEFAULT"]
    assert await assigned_codes(api, customers[2], tree) == ["LOW"]
    state = (await api.get(f"/api/v1/customers/{customers[0]}/assignments/{tree['id']}")).json()
    assert state["items"][0]["source"] == "reassign"
    assert state["items"][0]["locked"] is True  # a lock is a person's decision; it stays
    history = (await api.get(f"/api/v1/customers/{customers[0]}/history")).json()["items"]
    latest = history[0]
    assert latest["source"] == "reassign"
    assert latest["from_category"] == {"id": high["id"], "code": "HIGH", "name": "高价值客户"}
    assert latest["to_category"]["code"] == "DEFAULT"
    assert_problem(await api.get(f"/api/v1/categories/{high['id']}"), 404)


async def test_deleting_with_reassign_to_moves_the_customers_there(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    old, new = await make_category(api, tree, "OLD"), await make_category(api, tree, "NEW")
    customers = await make_customers(api, 4)
    for customer in customers:
        await assign(api, customer, tree, old)
    impact = await api.get(
        f"/api/v1/categories/{old['id']}/impact", params={"reassign_to": new["id"]}
    )
    assert impact.json()["reassign_to"]["code"] == "NEW"
    deleted = await api.delete(f"/api/v1/categories/{old['id']}", params={"reassign_to": new["id"]})
    assert deleted.json()["moved"] == impact.json()["would_move"] == 4
    members = await api.get(f"/api/v1/categories/{new['id']}/customers")
    assert len(members.json()["items"]) == 4


async def test_reassign_to_must_be_another_category_of_the_same_tree(
    api: httpx.AsyncClient,
) -> None:
    tree, other = await make_tree(api, "a"), await make_tree(api, "b")
    doomed = await make_category(api, tree, "X")
    foreign = await make_category(api, other, "Y")
    for target in (foreign["id"], doomed["id"], "00000000-0000-4000-8000-000000000000"):
        response = await api.delete(
            f"/api/v1/categories/{doomed['id']}", params={"reassign_to": target}
        )
        assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", "reassign_to"]
    assert (await api.get(f"/api/v1/categories/{doomed['id']}")).status_code == 200


async def test_a_category_with_children_cannot_be_deleted(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    parent = await make_category(api, tree, "P")
    await make_category(api, tree, "P1", parent)
    await make_category(api, tree, "P2", parent)
    impact = (await api.get(f"/api/v1/categories/{parent['id']}/impact")).json()
    assert (impact["children"], impact["deletable"]) == (2, False)
    body = assert_problem(await api.delete(f"/api/v1/categories/{parent['id']}"), 409)
    assert body["children"] == 2
    assert "2" in body["detail"]


async def test_the_default_category_cannot_be_deleted(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    assert_problem(await api.delete(f"/api/v1/categories/{tree['default_category_id']}"), 409)
    impact = (await api.get(f"/api/v1/categories/{tree['default_category_id']}/impact")).json()
    assert impact["deletable"] is False
    assert impact["reassign_to"] is None


async def test_impact_counts_customers_below_a_category(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    top = await make_category(api, tree, "T")
    child = await make_category(api, tree, "T1", top)
    grandchild = await make_category(api, tree, "T11", child)
    customers = await make_customers(api, 4)
    await assign(api, customers[0], tree, top)
    await assign(api, customers[1], tree, child)
    await assign(api, customers[2], tree, grandchild)
    await assign(api, customers[3], tree, grandchild)
    impact = (await api.get(f"/api/v1/categories/{top['id']}/impact")).json()
    assert impact["customers_direct"] == 1
    assert impact["customers_in_descendants"] == 3
    assert (impact["children"], impact["descendants"]) == (1, 2)


async def test_a_reassign_target_restricted_by_stage_must_fit_the_customers(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    anyone, signed_only = (
        await make_category(api, tree, "ANY"),
        await make_category(api, tree, "SIGNED", applies_to="signed"),
    )
    [prospect] = await make_customers(api, 1, stage="potential")
    await assign(api, prospect, tree, anyone)
    response = await api.delete(
        f"/api/v1/categories/{anyone['id']}", params={"reassign_to": signed_only["id"]}
    )
    assert_problem(response, 422)


async def test_in_a_multi_assign_tree_a_customer_already_in_the_target_just_leaves(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api, multi_assign=True)
    a, b = await make_category(api, tree, "A"), await make_category(api, tree, "B")
    both, only_a = await make_customers(api, 2)
    for customer, category in ((both, a), (both, b), (only_a, a)):
        assert (await assign(api, customer, tree, category)).status_code == 200
    deleted = await api.delete(f"/api/v1/categories/{a['id']}", params={"reassign_to": b["id"]})
    assert deleted.json()["moved"] == 2
    assert await assigned_codes(api, both, tree) == ["B"]
    assert await assigned_codes(api, only_a, tree) == ["B"]


async def test_reassignment_is_one_statement_per_table_whatever_the_count(
    api: httpx.AsyncClient, database: Database, tenant
) -> None:
    """1,000 customers move with one UPDATE and one INSERT (checked by row counts and
    by the history written in the same transaction)."""
    tree = await make_tree(api)
    doomed = await make_category(api, tree, "DOOMED")
    items = [{"code": f"B{i:05d}", "name": f"客户{i}"} for i in range(1000)]
    assert (await api.post("/api/v1/customers/bulk", json={"items": items})).status_code == 200
    async with database.sessionmaker() as session:
        ids = (
            (
                await session.execute(
                    text("SELECT id FROM customers WHERE tenant_id = :t"), {"t": tenant.id}
                )
            )
            .scalars()
            .all()
        )
    for start in range(0, 1000, 500):
        bulk = await api.post(
            f"/api/v1/category-trees/{tree['id']}/assignments/bulk",
            json={
                "category_id": doomed["id"],
                "customer_ids": [str(i) for i in ids[start : start + 500]],
            },
        )
        assert bulk.json()["created"] == 500, bulk.text
    deleted = await api.delete(f"/api/v1/categories/{doomed['id']}")
    assert deleted.json()["moved"] == 1000
    async with database.sessionmaker() as session:
        counts = (
            await session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE source = 'reassign'), count(*) "
                    "FROM assignment_history WHERE tenant_id = :t"
                ),
                {"t": tenant.id},
            )
        ).one()
    assert tuple(counts) == (1000, 2000)


async def test_a_delete_racing_assignments_never_leaves_one_in_the_deleted_category(
    api: httpx.AsyncClient, database: Database, tenant
) -> None:
    tree = await make_tree(api)
    customers = await make_customers(api, 8)
    for round_ in range(4):
        doomed = await make_category(api, tree, f"D{round_}")
        racers = [assign(api, c, tree, doomed) for c in customers]
        responses = await asyncio.gather(
            *racers[:4], api.delete(f"/api/v1/categories/{doomed['id']}"), *racers[4:]
        )
        deletion = responses[4]
        assert deletion.status_code == 200, deletion.text
        assigned = [r for i, r in enumerate(responses) if i != 4]
        assert {r.status_code for r in assigned} <= {200, 422}, [r.text for r in assigned]
        async with database.sessionmaker() as session:
            left = await session.scalar(
                text("SELECT count(*) FROM assignments WHERE tenant_id = :t AND category_id = :c"),
                {"t": tenant.id, "c": doomed["id"]},
            )
        assert left == 0
        # Every assignment that succeeded before the delete was moved, and counted.
        in_default = (
            await api.get(
                f"/api/v1/categories/{tree['default_category_id']}/customers", params={"limit": 100}
            )
        ).json()["items"]
        assert deletion.json()["moved"] <= len(in_default)
