"""POST /api/v1/customers/{id}/merge: activity moves, codes stay, duplicates go, audited."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from app.core.db import Database
from app.models import Role
from app.quality import repository
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.locks import until_one_waits_for_a_lock
from tests.quality.factories import (
    activity_counts,
    add_activity,
    add_customers,
    add_valid_customers,
    customer_row,
    valid_uscc,
)


async def _merge(
    client: httpx.AsyncClient,
    tenant: TenantKeys,
    survivor: uuid.UUID,
    duplicates: list[uuid.UUID],
    role: Role = Role.EDITOR,
    **headers: str,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/customers/{survivor}/merge",
        json={"duplicate_ids": [str(d) for d in duplicates]},
        headers=tenant.headers(role, **headers),
    )


async def test_merging_moves_activity_keeps_codes_as_aliases_and_deletes_the_duplicates(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    t = tenant.id
    survivor, first, second, bystander = await add_valid_customers(database, t, 4)
    await add_activity(database, t, survivor, orders=1)
    await add_activity(database, t, first, orders=2, interactions=1)
    await add_activity(database, t, second, interactions=3, complaints=1)
    await add_activity(database, t, bystander, orders=1)

    response = await _merge(client, tenant, survivor, [first, second])

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert body["survivor"]["id"] == str(survivor)
    assert body["survivor"]["code"] == "C00000"
    assert body["survivor"]["aliases"] == ["C00001", "C00002"]
    assert body["merged_ids"] == [str(first), str(second)]
    assert body["moved"] == {
        "orders": 2,
        "interactions": 4,
        "complaints": 1,
        "assignments": 0,
        "assignment_history": 0,
    }
    assert await activity_counts(database, t) == {
        "orders": {survivor: 3, bystander: 1},
        "interactions": {survivor: 4},
        "complaints": {survivor: 1},
    }
    viewer = tenant.headers(Role.VIEWER)
    assert_problem(await client.get(f"/api/v1/customers/{first}", headers=viewer), 404)
    by_old_code = await client.get("/api/v1/customers/by-code/C00002", headers=viewer)
    assert by_old_code.json()["id"] == str(survivor)


async def test_the_survivor_keeps_its_values_and_fills_empty_ones_from_the_duplicates_in_order(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    t = tenant.id
    survivor, first, second = await add_customers(
        database, t,
        customer_row(t, 0, industry=None, uscc=None, employees=None, size=None,
                     contact_name="  ", tags=["老客户"], attributes={"a": 1}),
        customer_row(t, 1, industry=None, region="北京", uscc=valid_uscc(11), employees=20,
                     size="small", contact_name="李雷", tags=["重点", "老客户"],
                     attributes={"a": 2, "b": 2}),
        customer_row(t, 2, industry="服务业-咨询", uscc=valid_uscc(12), employees=500,
                     size="large", tags=["华东"], attributes={"b": 3, "c": 3}, stage="signed"),
    )  # fmt: skip

    merged = (await _merge(client, tenant, survivor, [first, second])).json()["survivor"]

    assert {key: merged[key] for key in (
        "name", "region", "industry", "uscc", "employees", "size", "contact_name", "tags",
        "attributes", "stage",
    )} == {
        "name": "测试客户0号有限公司", "region": "上海", "industry": "服务业-咨询",
        "uscc": valid_uscc(11), "employees": 20, "size": "small", "contact_name": "李雷",
        "tags": ["老客户", "重点", "华东"], "attributes": {"a": 1, "b": 2, "c": 3},
        "stage": "signed",
    }  # fmt: skip


async def test_a_merge_is_audited_for_every_customer(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    survivor, duplicate = await add_valid_customers(database, tenant.id, 2)
    assert (await _merge(client, tenant, survivor, [duplicate])).status_code == 200

    async def events(entity_id: uuid.UUID) -> list[dict[str, Any]]:
        response = await client.get(
            "/api/v1/audit-events",
            params={"entity_type": "customer", "entity_id": str(entity_id)},
            headers=tenant.headers(Role.VIEWER),
        )
        return response.json()["items"]

    [gone] = await events(duplicate)
    assert (gone["action"], gone["before"]["code"]) == ("merge", "C00001")
    assert gone["after"] == {"merged_into": str(survivor)}
    assert gone["actor"].startswith("key:")
    [kept] = await events(survivor)
    assert kept["action"] == "merge"
    assert kept["before"]["code"] == kept["after"]["code"] == "C00000"
    assert kept["after"]["merged_from"] == [str(duplicate)]


async def test_an_unknown_or_another_tenants_customer_is_a_404_and_nothing_changes(
    client: httpx.AsyncClient, tenant: TenantKeys, make_tenant: Any, database: Database
) -> None:
    survivor, duplicate = await add_valid_customers(database, tenant.id, 2)
    await add_activity(database, tenant.id, duplicate, orders=1)
    theirs = await make_tenant()
    [foreign] = await add_valid_customers(database, theirs.id, 1)

    for survivor_id, duplicates in (
        (survivor, [duplicate, foreign]),
        (survivor, [duplicate, uuid.uuid4()]),
        (foreign, [duplicate]),
        (uuid.uuid4(), [duplicate]),
    ):
        assert_problem(await _merge(client, tenant, survivor_id, duplicates), 404)
    assert await activity_counts(database, tenant.id) == {
        "orders": {duplicate: 1}, "interactions": {}, "complaints": {},
    }  # fmt: skip
    mine = await client.get(f"/api/v1/customers/{duplicate}", headers=tenant.headers(Role.VIEWER))
    assert mine.status_code == 200
    still = await client.get(f"/api/v1/customers/{foreign}", headers=theirs.headers(Role.VIEWER))
    assert still.status_code == 200


async def test_the_survivor_in_its_own_list_is_a_422(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    survivor, duplicate = await add_valid_customers(database, tenant.id, 2)
    body = assert_problem(await _merge(client, tenant, survivor, [duplicate, survivor]), 422)
    assert body["errors"][0]["loc"] == ["body", "duplicate_ids", 1]
    assert_problem(await _merge(client, tenant, survivor, []), 422)
    assert_problem(await _merge(client, tenant, survivor, [uuid.uuid4()] * 101), 422)


async def test_if_match_guards_the_survivor_and_a_viewer_cannot_merge(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    survivor, first, second = await add_valid_customers(database, tenant.id, 3)
    stale = await _merge(client, tenant, survivor, [first], **{"If-Match": '"7"'})
    assert assert_problem(stale, 412)["current_etag"] == '"1"'
    assert (await _merge(client, tenant, survivor, [first], **{"If-Match": '"1"'})).is_success
    assert_problem(await _merge(client, tenant, survivor, [second], **{"If-Match": '"1"'}), 412)
    denied = await client.post(
        f"/api/v1/customers/{survivor}/merge",
        json={"duplicate_ids": [str(second)]},
        headers=tenant.headers(Role.VIEWER),
    )
    assert_problem(denied, 403)


async def test_codes_merged_earlier_follow_their_customer_into_the_next_merge(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    survivor, middle, oldest = await add_valid_customers(database, tenant.id, 3)
    assert (await _merge(client, tenant, middle, [oldest])).status_code == 200
    response = await _merge(client, tenant, survivor, [middle])
    assert response.json()["survivor"]["aliases"] == ["C00001", "C00002"]
    found = await client.get("/api/v1/customers/by-code/C00002", headers=tenant.headers())
    assert found.json()["id"] == str(survivor)


@pytest.mark.parametrize("same_survivor", [True, False])
async def test_two_concurrent_merges_of_overlapping_sets_leave_consistent_data(
    client: httpx.AsyncClient,
    make_tenant: Any,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    same_survivor: bool,
) -> None:
    # The first merge to lock its customers holds them until the second is seen waiting
    # for one of them (only the merge's locking query selects customers and can wait for
    # a lock here), so the two really overlap rather than merely run back to back.
    real_lock, holders, overlapped = repository.lock_customers, [], []
    merges: list[asyncio.Task[httpx.Response]] = []

    async def lock_and_hold(session: Any, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> Any:
        locked = await real_lock(session, tenant_id, ids)
        holders.append(ids)
        if len(holders) == 1:
            overlapped.append(
                await until_one_waits_for_a_lock(database, merges, "SELECT customers.%")
            )
        return locked

    monkeypatch.setattr(repository, "lock_customers", lock_and_hold)
    tenant = await make_tenant()
    ids = await add_valid_customers(database, tenant.id, 5)
    for customer_id in ids:
        await add_activity(database, tenant.id, customer_id, orders=1, interactions=2)
    one, two, a, shared, b = ids

    merges += [  # two keys: requests of one key queue up anyway
        asyncio.create_task(_merge(client, tenant, one, [a, shared], Role.EDITOR)),
        asyncio.create_task(
            _merge(client, tenant, one if same_survivor else two, [shared, b], Role.ADMIN)
        ),
    ]
    first, second = await asyncio.gather(*merges)

    assert len(holders) == 2
    assert overlapped == [True], "the second merge waited for the first one's lock"
    assert sorted([first.status_code, second.status_code]) == [200, 404]
    winner = first if first.status_code == 200 else second
    merged = {uuid.UUID(i) for i in winner.json()["merged_ids"]}
    counts = await activity_counts(database, tenant.id)
    assert sum(counts["orders"].values()) == 5  # nothing lost, nothing doubled
    assert sum(counts["interactions"].values()) == 10
    assert not merged & (counts["orders"].keys() | counts["interactions"].keys())
    left = [c for c in ids if c not in merged]
    assert len(left) == 3
    for customer_id in left:
        response = await client.get(
            f"/api/v1/customers/{customer_id}", headers=tenant.headers(Role.VIEWER)
        )
        assert response.status_code == 200
    assert winner.json()["survivor"]["aliases"] == sorted(f"C{ids.index(m):05d}" for m in merged)
