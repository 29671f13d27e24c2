"""Instant what-if (issue 16, item 2): previews read the snapshot of the newest run as of
the same day, say so and how old it is, recompute on `fresh`, and tell when activity or
profiles changed since; an unsaved ruleset body previews like a version."""

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.db import Database
from app.demo import load_demo
from app.models import Customer, Order, Role
from app.rules.templates import RELATIONSHIP
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.runs.conftest import AS_OF, run_jobs

WHOLE = {"scope": {"type": "all"}, "as_of": AS_OF.isoformat()}


async def _install(api: httpx.AsyncClient, database: Database, tenant: TenantKeys) -> str:
    """40 demo customers and the seed 002 relationship tree; its ruleset's id."""
    await load_demo(database.engine, tenant.id, customers=40, seed=11, as_of=AS_OF)
    installed = await api.post("/api/v1/templates/relationship/install")
    assert installed.status_code == 201, installed.text
    return str(installed.json()["ruleset_id"])


async def _run(api: httpx.AsyncClient, database: Database, tenant: TenantKeys, **body: Any) -> str:
    started = await api.post("/api/v1/runs", json={"as_of": AS_OF.isoformat(), **body})
    assert started.status_code == 202, started.text
    await run_jobs(database, tenant.id)
    run = (await api.get(f"/api/v1/runs/{started.json()['id']}")).json()
    assert run["status"] == "succeeded", run
    return str(run["id"])


async def _preview(api: httpx.AsyncClient, ruleset_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/preview", json={**WHOLE, **body}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _figures(preview: dict[str, Any]) -> tuple[Any, ...]:
    return preview["total"], preview["distribution"], preview["transitions"], preview["changed"]


@pytest.fixture
async def ruleset_id(api: httpx.AsyncClient, database: Database, tenant: TenantKeys) -> str:
    return await _install(api, database, tenant)


async def test_a_preview_reads_the_snapshot_of_a_run_as_of_the_same_day(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, ruleset_id: str
) -> None:
    before = await _preview(api, ruleset_id)
    assert before["source"]["kind"] == "computed"
    assert before["source"]["reason"] == "no_snapshot"
    run_id = await _run(api, database, tenant, mode="dry_run")
    read = await _preview(api, ruleset_id)
    source = read["source"]
    assert source["kind"] == "snapshot"
    assert source["run_id"] == run_id
    assert source["stale"] is False
    assert source["age_seconds"] >= 0
    run = (await api.get(f"/api/v1/runs/{run_id}")).json()
    assert datetime.fromisoformat(source["taken_at"]) == datetime.fromisoformat(run["started_at"])
    assert _figures(read) == _figures(before)
    other_day = await _preview(api, ruleset_id, as_of="2026-11-24")
    assert other_day["source"]["reason"] == "no_snapshot"


async def test_fresh_recomputes_and_gives_the_snapshots_figures_on_unchanged_data(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, ruleset_id: str
) -> None:
    await _run(api, database, tenant)  # apply: the transitions start from its assignments
    customers = (await api.get("/api/v1/customers", params={"limit": 7})).json()["items"]
    scopes = [
        {"type": "all"},
        {"type": "filter", "when": "近12个月交易金额 >= 10万 or 近6个月互动 >= 3"},
        {"type": "customers", "customer_ids": [c["id"] for c in customers]},
    ]
    for scope in scopes:
        read = await _preview(api, ruleset_id, scope=scope)
        fresh = await _preview(api, ruleset_id, scope=scope, fresh=True)
        assert read["source"]["kind"] == "snapshot", scope
        assert fresh["source"]["kind"] == "computed"
        assert fresh["source"]["reason"] == "fresh_requested"
        assert fresh["source"]["run_id"] is None
        assert _figures(read) == _figures(fresh), scope
    assert read["total"] == len(customers)


async def test_a_new_order_after_the_snapshot_makes_it_stale(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, ruleset_id: str
) -> None:
    run_id = await _run(api, database, tenant, mode="dry_run")
    assert (await _preview(api, ruleset_id))["source"]["stale"] is False
    tree_id = (await api.get(f"/api/v1/rulesets/{ruleset_id}")).json()["tree_id"]
    low = await api.get(
        f"/api/v1/runs/{run_id}/results",
        params={"tree_id": tree_id, "category": "LOW", "limit": 1},
    )
    assert low.status_code == 200, low.text
    [customer] = low.json()["items"]
    order = {
        "external_id": "WHATIF-1",
        "customer_code": customer["customer_code"],
        "amount": 300_000,  # 30万: 潜力客户 (20万–50万)
        "ordered_at": f"{AS_OF.isoformat()}T10:00:00+08:00",
    }
    added = await api.post("/api/v1/orders/bulk", json={"items": [order]})
    assert added.json()["failed"] == 0, added.text
    stale = await _preview(api, ruleset_id)
    source = stale["source"]
    assert source["kind"] == "snapshot"
    assert source["stale"] is True
    assert datetime.fromisoformat(source["changed_at"]) > datetime.fromisoformat(source["taken_at"])
    fresh = await _preview(api, ruleset_id, fresh=True)
    assert fresh["source"]["stale"] is False
    # The big order moved its customer: the fresh figures see it, the snapshot's do not.
    assert _figures(fresh) != _figures(stale)
    rerun = await _run(api, database, tenant, mode="dry_run")
    again = await _preview(api, ruleset_id)
    assert again["source"]["run_id"] == rerun
    assert again["source"]["stale"] is False
    assert _figures(again) == _figures(fresh)


async def test_an_order_written_before_the_run_and_committed_after_it_makes_it_stale(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, ruleset_id: str
) -> None:
    # The writer's transaction stamps its change before the run starts and commits after
    # the run read the values: the run never saw the order, whatever the clocks say.
    async with database.sessionmaker() as writer:
        customer_id = await writer.scalar(
            select(Customer.id).where(Customer.tenant_id == tenant.id).limit(1)
        )
        writer.add(
            Order(
                tenant_id=tenant.id,
                customer_id=customer_id,
                external_id="WHATIF-LATE",
                amount=Decimal(900_000),
                ordered_at=datetime(2026, 11, 20, 2, tzinfo=UTC),
                ordered_on=AS_OF.replace(day=20),
            )
        )
        await writer.flush()
        await _run(api, database, tenant, mode="dry_run")
        await writer.commit()
    assert (await _preview(api, ruleset_id))["source"]["stale"] is True


async def test_a_profile_change_after_the_snapshot_makes_it_stale(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, ruleset_id: str
) -> None:
    await _run(api, database, tenant, mode="dry_run")
    [customer] = (await api.get("/api/v1/customers", params={"limit": 1})).json()["items"]
    got = await api.get(f"/api/v1/customers/{customer['id']}")
    changed = await api.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"region": "西北"},
        headers={"If-Match": got.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert (await _preview(api, ruleset_id))["source"]["stale"] is True


async def test_a_snapshot_without_a_field_the_rules_read_is_not_used(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, ruleset_id: str
) -> None:
    tree_id = (await api.get(f"/api/v1/rulesets/{ruleset_id}")).json()["tree_id"]
    await _run(api, database, tenant, mode="dry_run")
    body = copy.deepcopy(RELATIONSHIP["ruleset"])
    body["rules"][0]["when"] = "近6个月投诉次数 >= 1"  # no rule of the run reads it
    response = await api.post(
        "/api/v1/rules/preview", json={**WHOLE, "tree_id": tree_id, "ruleset": body}
    )
    assert response.status_code == 200, response.text
    assert response.json()["source"]["reason"] == "no_snapshot"


async def test_an_unsaved_body_previews_like_a_version_and_follows_the_threshold(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, ruleset_id: str
) -> None:
    tree_id = (await api.get(f"/api/v1/rulesets/{ruleset_id}")).json()["tree_id"]
    await _run(api, database, tenant)
    body = copy.deepcopy(RELATIONSHIP["ruleset"])
    unsaved = await api.post(
        "/api/v1/rules/preview", json={**WHOLE, "tree_id": tree_id, "ruleset": body}
    )
    assert unsaved.status_code == 200, unsaved.text
    version = await _preview(api, ruleset_id)
    assert _figures(unsaved.json()) == _figures(version)
    assert unsaved.json()["source"]["run_id"] == version["source"]["run_id"]
    # Dragging the REGULAR threshold down to 0 takes every LOW customer with an order.
    body["rules"][2]["when"] = "近12个月交易金额 between 0.01万 and 20万"
    dragged = await api.post(
        "/api/v1/rules/preview", json={**WHOLE, "tree_id": tree_id, "ruleset": body}
    )
    counts = {d["category"]: d["count"] for d in dragged.json()["distribution"]}
    before = {d["category"]: d["count"] for d in version["distribution"]}
    assert counts.get("REGULAR", 0) >= before.get("REGULAR", 0)
    assert counts.get("LOW", 0) <= before.get("LOW", 0)
    fresh = await api.post(
        "/api/v1/rules/preview",
        json={**WHOLE, "tree_id": tree_id, "ruleset": body, "fresh": True},
    )
    assert _figures(fresh.json()) == _figures(dragged.json())


async def test_an_unsaved_body_is_validated_like_a_draft(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    client.headers.update(tenant.headers(Role.ADMIN))
    ruleset_id = await _install(client, database, tenant)
    tree_id = (await client.get(f"/api/v1/rulesets/{ruleset_id}")).json()["tree_id"]
    body = copy.deepcopy(RELATIONSHIP["ruleset"])
    body["rules"][0]["category"] = "NO_SUCH"
    body["rules"][1]["when"] = "no_such_field >= 1"
    response = await client.post(
        "/api/v1/rules/preview", json={**WHOLE, "tree_id": tree_id, "ruleset": body}
    )
    problem = assert_problem(response, 422)
    locs = [tuple(error["loc"][:4]) for error in problem["errors"]]
    assert ("body", "ruleset", "rules", 0) in locs
    assert ("body", "ruleset", "rules", 1) in locs
    client.headers.update(tenant.headers(Role.VIEWER))
    good = {**WHOLE, "tree_id": tree_id, "ruleset": RELATIONSHIP["ruleset"]}
    assert_problem(await client.post("/api/v1/rules/preview", json=good), 403)


async def test_previews_of_tenants_are_isolated(
    client: httpx.AsyncClient, database: Database, make_tenant: Any
) -> None:
    first, second = await make_tenant(), await make_tenant()
    client.headers.update(first.headers(Role.ADMIN))
    first_ruleset = await _install(client, database, first)
    first_tree = (await client.get(f"/api/v1/rulesets/{first_ruleset}")).json()["tree_id"]
    await _run(client, database, first, mode="dry_run")
    client.headers.update(second.headers(Role.ADMIN))
    second_ruleset = await _install(client, database, second)
    # The first tenant's run is no snapshot of the second's.
    assert (await _preview(client, second_ruleset))["source"]["reason"] == "no_snapshot"
    # Nor is its tree the second tenant's to preview.
    other_tree = {**WHOLE, "tree_id": first_tree, "ruleset": RELATIONSHIP["ruleset"]}
    assert_problem(await client.post("/api/v1/rules/preview", json=other_tree), 404)
    # The second tenant's changes leave the first tenant's snapshot current.
    [customer] = (await client.get("/api/v1/customers", params={"limit": 1})).json()["items"]
    order = {"external_id": "ISO-1", "customer_code": customer["code"], "amount": 10,
             "ordered_at": f"{AS_OF.isoformat()}T10:00:00+08:00"}  # fmt: skip
    assert (await client.post("/api/v1/orders/bulk", json={"items": [order]})).status_code == 200
    client.headers.update(first.headers(Role.ADMIN))
    source = (await _preview(client, first_ruleset))["source"]
    assert source["kind"] == "snapshot"
    assert source["stale"] is False
