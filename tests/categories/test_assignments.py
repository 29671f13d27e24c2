"""Assignments: manual, bulk, back to default, one category per customer, history."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.core.db import Database
from app.models import Role
from tests.categories.factories import (
    assign,
    assigned_codes,
    make_category,
    make_customers,
    make_tree,
)
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def test_a_manual_assignment_is_recorded_with_history(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    high, low = await make_category(api, tree, "HIGH"), await make_category(api, tree, "LOW")
    [customer] = await make_customers(api, 1)
    never = await api.get(f"/api/v1/customers/{customer}/assignments/{tree['id']}")
    assert never.json()["items"] == []
    first = await assign(api, customer, tree, low, reason="首次评估")
    assert first.status_code == 200, first.text
    [item] = first.json()["items"]
    assert (item["category"]["code"], item["source"], item["locked"]) == ("LOW", "manual", False)
    assert item["assigned_by"].startswith("key:")
    second = await assign(api, customer, tree, high, locked=True, reason="年度战略合作协议")
    assert [i["category"]["code"] for i in second.json()["items"]] == ["HIGH"]
    assert second.json()["items"][0]["locked"] is True
    history = (await api.get(f"/api/v1/customers/{customer}/history")).json()["items"]
    assert [
        (h["from_category"] and h["from_category"]["code"], h["to_category"]["code"])
        for h in history
    ] == [("LOW", "HIGH"), (None, "LOW")]
    assert history[0]["reason"] == "年度战略合作协议"
    assert history[0]["tree"] == {"id": tree["id"], "key": "value", "name": tree["name"]}
    assert history[0]["source"] == "manual"
    assert history[0]["run_id"] is None
    stored = (await api.get(f"/api/v1/customers/{customer}/assignments/{tree['id']}")).json()
    [item] = stored["items"]
    assert (item["category"]["code"], item["source"], item["locked"]) == ("HIGH", "manual", True)
    assert item["reason"] == "年度战略合作协议"
    # The same category again changes the lock, not the timeline.
    unlocked = await assign(api, customer, tree, high, locked=False)
    assert unlocked.status_code == 200, unlocked.text
    stored = (await api.get(f"/api/v1/customers/{customer}/assignments/{tree['id']}")).json()
    assert [(i["category"]["code"], i["locked"]) for i in stored["items"]] == [("HIGH", False)]
    assert len((await api.get(f"/api/v1/customers/{customer}/history")).json()["items"]) == 2


async def test_the_category_must_belong_to_the_tree(api: httpx.AsyncClient) -> None:
    tree, other = await make_tree(api, "a"), await make_tree(api, "b")
    foreign = await make_category(api, other, "X")
    [customer] = await make_customers(api, 1)
    body = assert_problem(await assign(api, customer, tree, foreign), 422)
    assert body["errors"][0]["loc"] == ["body", "category_id"]
    missing = await api.put(
        f"/api/v1/customers/{uuid.uuid4()}/assignments/{tree['id']}",
        json={"category_id": tree["default_category_id"]},
    )
    assert_problem(missing, 404)


async def test_applies_to_is_enforced_along_the_path(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    signed = await make_category(api, tree, "SIGNED", applies_to="signed")
    below = await make_category(api, tree, "SIGNED_EAST", signed)  # says all, inherits signed
    [prospect] = await make_customers(api, 1, stage="potential")
    [client_] = await make_customers(api, 1, stage="signed", prefix="S")
    for category in (signed, below):
        assert_problem(await assign(api, prospect, tree, category), 422)
        assert (await assign(api, client_, tree, category)).status_code == 200
        assert await assigned_codes(api, client_, tree) == [category["code"]]
    assert await assigned_codes(api, prospect, tree) == [], "refused: nothing stored"


async def test_restricting_applies_to_is_refused_while_customers_do_not_fit(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    category = await make_category(api, tree, "C")
    [prospect] = await make_customers(api, 1, stage="potential")
    await assign(api, prospect, tree, category)
    response = await api.patch(
        f"/api/v1/categories/{category['id']}", json={"applies_to": "signed"}
    )
    assert assert_problem(response, 409)["customers"] == 1
    ok = await api.patch(f"/api/v1/categories/{category['id']}", json={"applies_to": "potential"})
    assert ok.status_code == 200


async def test_a_single_assign_tree_holds_one_category_per_customer_in_the_database(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    """Not a check in Python: a second row for the customer violates a unique index."""
    tree = await make_tree(api)
    a, b = await make_category(api, tree, "A"), await make_category(api, tree, "B")
    [customer] = await make_customers(api, 1)
    await assign(api, customer, tree, a)
    with pytest.raises(IntegrityError, match="uq_assignments_one_per_customer_unless_multi"):
        async with database.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO assignments (tenant_id, tree_id, customer_id, category_id, multi,"
                    " source, assigned_by) VALUES (:t, :tree, :c, :cat, false, 'rule', 'test')"
                ),
                {"t": tenant.id, "tree": tree["id"], "c": customer, "cat": b["id"]},
            )
    # Nor can a row claim the tree is multi-assign when it is not.
    with pytest.raises(IntegrityError, match="fk_assignments_tree_id_category_trees"):
        async with database.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO assignments (tenant_id, tree_id, customer_id, category_id, multi,"
                    " source, assigned_by) VALUES (:t, :tree, :c, :cat, true, 'rule', 'test')"
                ),
                {"t": tenant.id, "tree": tree["id"], "c": customer, "cat": b["id"]},
            )


_ASSIGN = (
    "INSERT INTO assignments (tenant_id, tree_id, customer_id, category_id, multi, source,"
    " assigned_by) VALUES (:t, :tree, :c, :cat, false, 'rule', 'test')"
)
_HISTORY = (
    "INSERT INTO assignment_history (tenant_id, tree_id, customer_id, to_category_id, source,"
    " actor) VALUES (:t, :tree, :c, :cat, 'rule', 'test')"
)


async def test_assignments_and_history_cannot_dangle_without_a_tenant_key_of_their_own(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, make_tenant: Any
) -> None:
    """The composite keys hold what the dropped keys to `tenants` held and more: no
    missing or other tenant's customer, no missing category, no deleting a category
    that holds customers; and ids are UUIDv7 (time first)."""
    tree = await make_tree(api)
    a = await make_category(api, tree, "A")
    [customer] = await make_customers(api, 1)
    other = await make_tenant()
    async with database.sessionmaker() as session, session.begin():
        foreign = await session.scalar(
            text(
                "INSERT INTO customers (tenant_id, code, name, stage) "
                "VALUES (:t, 'X-1', 'x', 'potential') RETURNING id"
            ),
            {"t": other.id},
        )
    ok = {"t": tenant.id, "tree": tree["id"], "c": customer, "cat": a["id"]}
    dangling = [
        (_ASSIGN, {**ok, "c": uuid.uuid4()}, "fk_assignments_tenant_id_customers"),
        (_ASSIGN, {**ok, "c": foreign}, "fk_assignments_tenant_id_customers"),
        (_ASSIGN, {**ok, "cat": uuid.uuid4()}, "fk_assignments_category_id_categories"),
        (_ASSIGN, {**ok, "t": other.id}, "fk_assignments_"),  # none of its keys holds
        (_HISTORY, {**ok, "c": foreign}, "fk_assignment_history_tenant_id_customers"),
        (_HISTORY, {**ok, "t": other.id}, "fk_assignment_history_"),
    ]
    for statement, values, constraint in dangling:
        with pytest.raises(IntegrityError, match=constraint):
            async with database.sessionmaker() as session, session.begin():
                await session.execute(text(statement), values)
    await assign(api, customer, tree, a)
    with pytest.raises(IntegrityError, match="fk_assignments_category_id_categories"):
        async with database.sessionmaker() as session, session.begin():
            await session.execute(text("DELETE FROM categories WHERE id = :c"), {"c": a["id"]})
    async with database.sessionmaker() as session, session.begin():
        ids = list(
            await session.scalars(
                text(
                    "SELECT id FROM assignment_history WHERE tenant_id = :t "
                    "UNION ALL SELECT id FROM assignments WHERE tenant_id = :t"
                ),
                {"t": tenant.id},
            )
        )
    assert len(ids) == 2  # the assignment and its history row
    assert {i.version for i in ids} == {7}


async def test_a_multi_assign_tree_adds_categories_and_removes_one_at_a_time(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api, "grading", multi_assign=True)
    vip, loyal = await make_category(api, tree, "VIP"), await make_category(api, tree, "LOYAL")
    [customer] = await make_customers(api, 1)
    await assign(api, customer, tree, vip)
    both = await assign(api, customer, tree, loyal)
    assert sorted(i["category"]["code"] for i in both.json()["items"]) == ["LOYAL", "VIP"]
    assert "etag" not in both.headers
    again = await assign(api, customer, tree, loyal)  # idempotent
    assert len(again.json()["items"]) == 2
    url = f"/api/v1/customers/{customer}/assignments/{tree['id']}"
    one_left = await api.delete(url, params={"category_id": vip["id"]})
    assert [i["category"]["code"] for i in one_left.json()["items"]] == ["LOYAL"]
    none_left = await api.delete(url, params={"category_id": loyal["id"]})
    assert [i["category"]["code"] for i in none_left.json()["items"]] == ["DEFAULT"]


async def test_deleting_an_assignment_puts_the_customer_back_in_the_default_unlocked(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    high = await make_category(api, tree, "HIGH")
    [customer] = await make_customers(api, 1)
    await assign(api, customer, tree, high, locked=True)
    url = f"/api/v1/customers/{customer}/assignments/{tree['id']}"
    back = await api.delete(url, params={"reason": "客户需求变化"})
    assert back.status_code == 200, back.text
    [item] = back.json()["items"]
    assert (item["category"]["code"], item["locked"]) == ("DEFAULT", False)
    history = (await api.get(f"/api/v1/customers/{customer}/history")).json()["items"]
    assert (history[0]["from_category"]["code"], history[0]["to_category"]["code"]) == (
        "HIGH",
        "DEFAULT",
    )
    assert history[0]["reason"] == "客户需求变化"


async def test_if_match_guards_a_customers_assignment(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    a, b = await make_category(api, tree, "A"), await make_category(api, tree, "B")
    [customer] = await make_customers(api, 1)
    first = await assign(api, customer, tree, a)
    etag = first.headers["etag"]
    moved = await api.put(
        f"/api/v1/customers/{customer}/assignments/{tree['id']}",
        json={"category_id": b["id"]},
        headers={"If-Match": etag},
    )
    assert moved.status_code == 200, moved.text
    stale = await api.put(
        f"/api/v1/customers/{customer}/assignments/{tree['id']}",
        json={"category_id": a["id"]},
        headers={"If-Match": etag},
    )
    assert_problem(stale, 412)
    assert await assigned_codes(api, customer, tree) == ["B"]


async def test_bulk_assignment_keeps_the_good_customers_and_reports_the_rest(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    signed_only = await make_category(api, tree, "KEY", applies_to="signed")
    other = await make_category(api, tree, "OTHER")
    signed = await make_customers(api, 3, stage="signed")
    [prospect] = await make_customers(api, 1, stage="potential", prefix="P")
    await assign(api, signed[0], tree, other)
    await assign(api, signed[1], tree, signed_only)
    unknown = str(uuid.uuid4())
    response = await api.post(
        f"/api/v1/category-trees/{tree['id']}/assignments/bulk",
        json={
            "category_id": signed_only["id"],
            "reason": "年度名单",
            "customer_ids": [*signed, prospect, unknown, signed[2]],
        },
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (
        result["received"],
        result["created"],
        result["changed"],
        result["unchanged"],
        result["failed"],
    ) == (6, 1, 1, 1, 3)
    assert [(e["index"], e["errors"][0]["type"]) for e in result["errors"]] == [
        (3, "applies_to"),
        (4, "customer_not_found"),
        (5, "duplicate"),
    ]
    assert await assigned_codes(api, signed[0], tree) == ["KEY"]
    history = (await api.get(f"/api/v1/customers/{signed[0]}/history")).json()["items"]
    assert (history[0]["from_category"]["code"], history[0]["reason"]) == ("OTHER", "年度名单")
    unchanged = (await api.get(f"/api/v1/customers/{signed[1]}/history")).json()["items"]
    assert len(unchanged) == 1


async def test_a_bulk_assignment_with_no_valid_customer_is_422(api: httpx.AsyncClient) -> None:
    tree = await make_tree(api)
    response = await api.post(
        f"/api/v1/category-trees/{tree['id']}/assignments/bulk",
        json={"category_id": tree["default_category_id"], "customer_ids": [str(uuid.uuid4())]},
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "customer_ids", 0]


async def test_a_categorys_customers_are_listed_with_or_without_descendants(
    api: httpx.AsyncClient,
) -> None:
    tree = await make_tree(api)
    top = await make_category(api, tree, "T")
    child = await make_category(api, tree, "T1", top)
    customers = await make_customers(api, 5)
    for customer in customers[:2]:
        await assign(api, customer, tree, top)
    for customer in customers[2:]:
        await assign(api, customer, tree, child)
    direct = (await api.get(f"/api/v1/categories/{top['id']}/customers")).json()
    assert {m["customer"]["id"] for m in direct["items"]} == set(customers[:2])
    seen: list[str] = []
    cursor = None
    while True:
        params = {
            "include_descendants": "true",
            "limit": 2,
            **({"cursor": cursor} if cursor else {}),
        }
        page = (await api.get(f"/api/v1/categories/{top['id']}/customers", params=params)).json()
        seen += [m["customer"]["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(customers)
    member = page["items"][0]
    assert set(member) == {
        "customer",
        "category",
        "source",
        "locked",
        "reason",
        "assigned_by",
        "assigned_at",
    }


async def test_viewers_read_assignments_but_cannot_change_them(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    admin = tenant.headers()
    tree = (
        await client.post("/api/v1/category-trees", json={"key": "v", "name": "v"}, headers=admin)
    ).json()
    customer = (
        await client.post("/api/v1/customers", json={"code": "C1", "name": "c"}, headers=admin)
    ).json()
    url = f"/api/v1/customers/{customer['id']}/assignments/{tree['id']}"
    body = {"category_id": tree["default_category_id"]}
    viewer = tenant.headers(Role.VIEWER)
    assert_problem(await client.put(url, json=body, headers=viewer), 403)
    assert (await client.get(url, headers=viewer)).json()["items"] == []
    written = await client.put(url, json=body, headers=tenant.headers(Role.EDITOR))
    assert written.status_code == 200, written.text
    read = await client.get(url, headers=viewer)
    assert read.status_code == 200
    assert read.json()["items"] == written.json()["items"]
    [item] = read.json()["items"]
    assert (item["category"]["id"], item["source"]) == (tree["default_category_id"], "manual")
    assert item["assigned_by"].removeprefix("key:") in tenant.keys[Role.EDITOR]  # its prefix


async def test_deleting_a_customer_removes_its_assignments_and_history(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    tree = await make_tree(api)
    [customer] = await make_customers(api, 1)
    await assign(api, customer, tree, {"id": tree["default_category_id"]})
    assert (await api.delete(f"/api/v1/customers/{customer}")).status_code == 204
    async with database.sessionmaker() as session:
        left = await session.scalar(
            text(
                "SELECT (SELECT count(*) FROM assignments WHERE tenant_id = :t)"
                " + (SELECT count(*) FROM assignment_history WHERE tenant_id = :t)"
            ),
            {"t": tenant.id},
        )
    assert left == 0
