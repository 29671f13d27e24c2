"""An approved delete moves the customers where the request said, and a delete racing
the delete of its reassignment target never leaves a customer behind."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from app.categories import deletion
from app.core.db import Database
from app.models import Role
from tests.categories.factories import assign, assigned_codes, make_category, make_customers
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.locks import until_one_waits_for_a_lock


async def _tree(
    client: httpx.AsyncClient, tenant: TenantKeys, requires_approval: bool = True
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, list[str]]]:
    """A tree with OLD (3 customers), NEW (1) and OTHER (1), then switched to approval."""
    api = client  # as the admin, unless a call says otherwise
    api.headers.update(tenant.headers())
    tree = (await api.post("/api/v1/category-trees", json={"key": "t", "name": "价值"})).json()
    categories = {code: await make_category(api, tree, code) for code in ("OLD", "NEW", "OTHER")}
    customers = {
        "OLD": await make_customers(api, 3, prefix="O"),
        "NEW": await make_customers(api, 1, prefix="N"),
        "OTHER": await make_customers(api, 1, prefix="X"),
    }
    for code, ids in customers.items():
        for customer in ids:
            assert (await assign(api, customer, tree, categories[code])).status_code == 200
    if requires_approval:
        switched = await api.patch(
            f"/api/v1/category-trees/{tree['id']}", json={"requires_approval": True}
        )
        assert switched.status_code == 200, switched.text
    return tree, categories, customers


async def _members(client: httpx.AsyncClient, category_id: str) -> set[str]:
    response = await client.get(f"/api/v1/categories/{category_id}/customers")
    assert response.status_code == 200, response.text
    return {m["customer"]["id"] for m in response.json()["items"]}


async def _file_delete(
    client: httpx.AsyncClient,
    tenant: TenantKeys,
    category: dict[str, Any],
    reassign_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    params = {"reassign_to": reassign_to["id"]} if reassign_to else {}
    filed = await client.delete(
        f"/api/v1/categories/{category['id']}", params=params, headers=tenant.headers(Role.EDITOR)
    )
    assert filed.status_code == 202, filed.text
    return filed.json()


async def test_an_approved_delete_moves_the_customers_to_reassign_to_with_history(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree, cats, customers = await _tree(client, tenant)
    old, new = cats["OLD"], cats["NEW"]
    request = await _file_delete(client, tenant, old, reassign_to=new)
    assert request["diff"]["effects"]["reassign_to"]["code"] == "NEW"
    assert request["diff"]["effects"]["customers_moved"] == 3
    assert await _members(client, old["id"]) == set(customers["OLD"]), "filing moves nobody"

    approved = await client.post(
        f"/api/v1/change-requests/{request['id']}/approve", headers=tenant.headers(Role.APPROVER)
    )

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["result"] == {
        "category_id": old["id"],
        "reassigned_to": new["id"],
        "moved": 3,
    }
    assert_problem(await client.get(f"/api/v1/categories/{old['id']}"), 404)
    assert await _members(client, new["id"]) == {*customers["OLD"], *customers["NEW"]}
    assert await _members(client, tree["default_category_id"]) == set()
    assert await _members(client, cats["OTHER"]["id"]) == set(customers["OTHER"])
    for customer in customers["OLD"]:
        [latest, *_] = (await client.get(f"/api/v1/customers/{customer}/history")).json()["items"]
        assert (latest["source"], latest["from_category"]["code"], latest["to_category"]) == (
            "reassign",
            "OLD",
            {"id": new["id"], "code": "NEW", "name": new["name"]},
        )
    events = await client.get(
        "/api/v1/audit-events", params={"entity_type": "category", "entity_id": old["id"]}
    )
    [deleted] = [e for e in events.json()["items"] if e["action"] == "delete"]
    assert deleted["after"]["moved"] == 3
    assert deleted["after"]["reassigned_to"]["code"] == "NEW"
    assert deleted["after"]["change_request_id"] == request["id"]


Send = Callable[[], Awaitable[httpx.Response]]


async def _delete_later(
    client: httpx.AsyncClient,
    tenant: TenantKeys,
    category: dict[str, Any],
    reassign_to: dict[str, Any] | None,
    *,
    requires_approval: bool,
) -> Send:
    """A delete to send when the race starts; on an approval tree it is filed now, and
    its approval is what races."""
    if requires_approval:
        request = await _file_delete(client, tenant, category, reassign_to)
        return lambda: client.post(
            f"/api/v1/change-requests/{request['id']}/approve",
            headers=tenant.headers(Role.APPROVER),
        )
    params = {"reassign_to": reassign_to["id"]} if reassign_to else {}
    return lambda: client.delete(f"/api/v1/categories/{category['id']}", params=params)


async def _race(
    monkeypatch: pytest.MonkeyPatch,
    database: Database,
    first: tuple[dict[str, Any], Send],
    second: Send,
) -> tuple[httpx.Response, httpx.Response, bool]:
    """Send `first` and hold its transaction open once it has deleted its category,
    until `second` is seen waiting for a lock (or has finished); then let both finish.
    Also says whether `second` waited."""
    held, send_first = first
    real_apply, holding, overlapped = deletion._apply_delete, asyncio.Event(), []
    requests: list[asyncio.Task[httpx.Response]] = []

    async def apply_and_hold(
        session: Any, principal: Any, tree: Any, category: Any, target: Any, request: Any = None
    ) -> int:
        moved = await real_apply(session, principal, tree, category, target, request)
        if category.id == uuid.UUID(held["id"]):
            holding.set()
            overlapped.append(await until_one_waits_for_a_lock(database, requests))
        return moved

    monkeypatch.setattr(deletion, "_apply_delete", apply_and_hold)
    requests.append(asyncio.create_task(send_first()))
    await holding.wait()
    requests.append(asyncio.create_task(second()))
    first_response, second_response = await asyncio.gather(*requests)
    return first_response, second_response, overlapped == [True]


def _moved(response: httpx.Response) -> int:
    body = response.json()
    return int((body.get("result") or body)["moved"])  # an approval, or a direct delete


@pytest.mark.parametrize("requires_approval", [True, False], ids=["approved", "direct"])
async def test_a_delete_into_a_category_being_deleted_waits_and_is_refused(
    client: httpx.AsyncClient,
    tenant: TenantKeys,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    requires_approval: bool,
) -> None:
    tree, cats, customers = await _tree(client, tenant, requires_approval)
    old, new = cats["OLD"], cats["NEW"]
    approval = {"requires_approval": requires_approval}
    delete_new = await _delete_later(client, tenant, new, None, **approval)
    delete_old = await _delete_later(client, tenant, old, new, **approval)

    target_deleted, refused, overlapped = await _race(
        monkeypatch, database, (new, delete_new), delete_old
    )

    assert overlapped, "the second delete waited for the first"
    assert target_deleted.status_code == 200, target_deleted.text
    body = assert_problem(refused, 422)
    assert body["errors"][0]["type"] == "reassign_target"
    assert_problem(await client.get(f"/api/v1/categories/{new['id']}"), 404)
    assert (await client.get(f"/api/v1/categories/{old['id']}")).status_code == 200
    assert await _members(client, old["id"]) == set(customers["OLD"])
    assert await _members(client, tree["default_category_id"]) == set(customers["NEW"])


@pytest.mark.parametrize("requires_approval", [True, False], ids=["approved", "direct"])
async def test_deleting_the_target_while_a_delete_moves_customers_into_it_moves_them_on(
    client: httpx.AsyncClient,
    tenant: TenantKeys,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    requires_approval: bool,
) -> None:
    tree, cats, customers = await _tree(client, tenant, requires_approval)
    old, new = cats["OLD"], cats["NEW"]
    approval = {"requires_approval": requires_approval}
    delete_old = await _delete_later(client, tenant, old, new, **approval)
    delete_new = await _delete_later(client, tenant, new, None, **approval)

    moved_in, moved_on, overlapped = await _race(
        monkeypatch, database, (old, delete_old), delete_new
    )

    assert overlapped, "the second delete waited for the first"
    assert moved_in.status_code == moved_on.status_code == 200, (moved_in.text, moved_on.text)
    assert [_moved(moved_in), _moved(moved_on)] == [3, 4]  # NEW's own and OLD's three
    everyone = {*customers["OLD"], *customers["NEW"]}
    assert await _members(client, tree["default_category_id"]) == everyone
    for customer in customers["OLD"]:
        assert await assigned_codes(client, customer, tree) == ["DEFAULT"]
        history = (await client.get(f"/api/v1/customers/{customer}/history")).json()["items"]
        assert [(h["from_category"]["code"], h["to_category"]["code"]) for h in history[:2]] == [
            ("NEW", "DEFAULT"),
            ("OLD", "NEW"),
        ]
