"""A succeeded run's plan is kept per process (app/runs/plan.py): never another run's or
another tenant's, and a run still working is always read afresh."""

import uuid
from typing import Any

import httpx

from app.core.db import Database
from app.models import Role, Run
from app.runs.plan import SETTLED_PLANS, forget_settled_plans, load_plan
from tests.conftest import TenantKeys
from tests.runs.test_runs_api import all_results, finished, start


def _rule_keys(items: list[dict[str, Any]], tree_id: str) -> set[str]:
    return {i["rule"]["key"] for i in items if i["tree_id"] == tree_id and i["rule"]}


async def test_each_run_renders_with_its_own_rules_after_another_runs_plan_was_kept(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    tree_id = classified["risk"]
    first = await finished(api, database, (await start(api, tree_ids=[tree_id]))["id"])
    before = await all_results(api, first["id"])  # its plan is kept from here on
    [ruleset] = (await api.get("/api/v1/rulesets", params={"tree_id": tree_id})).json()["items"]
    body = (await api.get(f"/api/v1/rulesets/{ruleset['id']}/versions/1")).json()["body"]
    renamed = {r["key"]: f"{r['key']}_v2" for r in body["rules"]}
    body["rules"] = [{**r, "key": renamed[r["key"]]} for r in body["rules"]]
    draft = await api.post(f"/api/v1/rulesets/{ruleset['id']}/versions", json=body)
    assert draft.status_code == 201, draft.text
    published = await api.post(f"/api/v1/rulesets/{ruleset['id']}/versions/2/publish")
    assert published.status_code == 200, published.text
    second = await finished(api, database, (await start(api, tree_ids=[tree_id]))["id"])
    after = await all_results(api, second["id"])
    assert _rule_keys(after, tree_id) == {renamed[k] for k in _rule_keys(before, tree_id)}
    assert await all_results(api, first["id"]) == before  # the first run's, from the cache
    forget_settled_plans()
    assert await all_results(api, first["id"]) == before  # and as read afresh


async def test_another_tenant_never_reads_a_kept_plan(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    database: Database,
    classified: dict[str, str],
    make_tenant: Any,
) -> None:
    run = await finished(api, database, (await start(api))["id"])
    assert await all_results(api, run["id"])  # kept now
    other: TenantKeys = await make_tenant()
    for path in (f"/api/v1/runs/{run['id']}/results", f"/api/v1/runs/{run['id']}"):
        response = await client.get(path, headers=other.headers(Role.VIEWER))
        assert response.status_code == 404, response.text


async def test_only_succeeded_runs_are_kept_and_a_kept_plan_carries_the_run_asked_with(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    assert SETTLED_PLANS > 0
    queued = await start(api)
    async with database.sessionmaker() as session:
        run = await session.get(Run, uuid.UUID(queued["id"]))
        assert run is not None
        fresh = await load_plan(session, run)
        assert await load_plan(session, run) is not fresh  # not kept while it works
    done = await finished(api, database, queued["id"])
    async with database.sessionmaker() as session:
        run = await session.get(Run, uuid.UUID(done["id"]))
        assert run is not None
        assert run.tenant_id == tenant.id
        kept = await load_plan(session, run)
        again = await load_plan(session, run)
        assert again.run is run
        assert again.trees is kept.trees  # read and parsed once
        position = kept.trees[0].position
        assert again.evaluator(position) is kept.evaluator(position)
