"""Classification runs through the HTTP API, on demo customers and the seed templates."""

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.models import Run, RunCategory, RunResult
from tests.conftest import TenantKeys
from tests.runs.conftest import AS_OF, run_jobs


async def start(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    started = await api.post("/api/v1/runs", json={"as_of": AS_OF.isoformat(), **body})
    assert started.status_code == 202, started.text
    return started.json()


async def finished(api: httpx.AsyncClient, database: Database, run_id: str) -> dict[str, Any]:
    """Run the jobs of the run's tenant until none is left; the run as it ends."""
    async with database.sessionmaker() as session:
        tenant_id = await session.scalar(select(Run.tenant_id).where(Run.id == uuid.UUID(run_id)))
    assert tenant_id is not None
    await run_jobs(database, tenant_id)
    return (await api.get(f"/api/v1/runs/{run_id}")).json()


async def all_results(api: httpx.AsyncClient, run_id: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 37, **params, **({"cursor": cursor} if cursor else {})}
        page = await api.get(f"/api/v1/runs/{run_id}/results", params=query)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def published_body(api: httpx.AsyncClient, tree_id: str) -> dict[str, Any]:
    [ruleset] = (await api.get("/api/v1/rulesets", params={"tree_id": tree_id})).json()["items"]
    version = ruleset["published_version"]
    got = await api.get(f"/api/v1/rulesets/{ruleset['id']}/versions/{version}")
    return got.json()["body"]


async def test_an_apply_run_assigns_every_customer_and_explains_every_result(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    run = await start(api)
    assert run["status"] == "queued"
    assert {t["key"] for t in run["trees"]} == set(classified)
    done = await finished(api, database, run["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"]["done"] == done["progress"]["total"] == 60
    assert done["counts"]["customers"] == 60
    assert set(done["timings"]) >= {"plan", "classify", "apply", "count", "total"}
    for tree in done["counts"]["trees"]:
        assert sum(c["count"] for c in tree["categories"]) == 60
        assert tree["changed"] == 60  # nobody was assigned before
    items = await all_results(api, run["id"])
    assert len(items) == 240
    assert len({(i["customer_id"], i["tree_id"]) for i in items}) == 240  # no repeats
    bodies = {tree_id: await published_body(api, tree_id) for tree_id in classified.values()}
    for item in items:
        # What the run stored renders as POST /rules/evaluate says for the same values.
        evaluated = await api.post(
            "/api/v1/rules/evaluate",
            json={"ruleset": bodies[item["tree_id"]], "values": item["metrics"],
                  "as_of": AS_OF.isoformat()},
        )  # fmt: skip
        assert evaluated.status_code == 200, evaluated.text
        expected = evaluated.json()
        assert item["category"]["code"] == expected["category"], item
        assert item["rule"] == expected["rule"]
        assert item["rationale"] == expected["rationale"]
        assert item["borderline"] == expected["borderline"]
        assert item["next_action"] == expected["next_action"]
        assert item["changed"] is True
        assert item["previous_category"] is None
    sample = items[0]
    assignment = await api.get(
        f"/api/v1/customers/{sample['customer_id']}/assignments/{sample['tree_id']}"
    )
    [held] = assignment.json()["items"]
    assert held["category"]["id"] == sample["category"]["id"]
    assert held["source"] == "run"
    history = (await api.get(f"/api/v1/customers/{sample['customer_id']}/history")).json()
    assert {h["run_id"] for h in history["items"]} == {run["id"]}
    assert len(history["items"]) == 4


async def test_results_speak_english_when_asked(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    run = await start(api, tree_ids=[classified["value"]])
    await finished(api, database, run["id"])
    page = await api.get(
        f"/api/v1/runs/{run['id']}/results",
        params={"limit": 5},
        headers={"Accept-Language": "en"},
    )
    text = page.json()["items"][0]["rationale"]["text"]
    assert text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text), text


async def test_a_rerun_on_the_same_data_changes_nothing_and_repeats_every_result(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    first = await start(api)
    await finished(api, database, first["id"])
    second = await start(api)
    done = await finished(api, database, second["id"])
    assert done["counts"]["changed"] == 0
    before = {(i["customer_id"], i["tree_id"]): i for i in await all_results(api, first["id"])}
    after = await all_results(api, second["id"])
    assert len(after) == len(before)
    for item in after:
        earlier = before[(item["customer_id"], item["tree_id"])]
        assert item["previous_category"] == earlier["category"]
        assert item["changed"] is False
        for key in ("category", "rule", "rationale", "metrics", "borderline"):
            assert item[key] == earlier[key], key
    history = await api.get(f"/api/v1/customers/{after[0]['customer_id']}/history")
    assert {h["run_id"] for h in history.json()["items"]} == {first["id"]}


async def test_a_dry_run_stores_results_and_assigns_nobody(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    run = await start(api, mode="dry_run", tree_ids=[classified["risk"]])
    done = await finished(api, database, run["id"])
    assert done["status"] == "succeeded"
    assert done["counts"]["changed"] == 60  # would change
    items = await all_results(api, run["id"])
    assert len(items) == 60
    assert all(i["changed"] for i in items)
    got = await api.get(f"/api/v1/customers/{items[0]['customer_id']}/assignments/"
                        f"{classified['risk']}")  # fmt: skip
    assert got.json()["items"] == []


async def test_locked_assignments_are_reported_as_conflicts_and_left_alone(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    tree_id = classified["relationship"]
    dry = await start(api, mode="dry_run", tree_ids=[tree_id])
    await finished(api, database, dry["id"])
    item = (await all_results(api, dry["id"]))[0]
    categories = (await api.get(f"/api/v1/category-trees/{tree_id}/categories")).json()["items"]
    other = next(c for c in categories if c["id"] != item["category"]["id"])
    locked = await api.put(
        f"/api/v1/customers/{item['customer_id']}/assignments/{tree_id}",
        json={"category_id": other["id"], "locked": True, "reason": "年度战略合作协议"},
    )
    assert locked.status_code == 200, locked.text
    run = await start(api, tree_ids=[tree_id])
    done = await finished(api, database, run["id"])
    assert done["counts"]["locked_conflicts"] == 1
    assert done["counts"]["changed"] == 59
    [conflict] = await all_results(api, run["id"], locked_conflict="true")
    assert conflict["customer_id"] == item["customer_id"]
    assert conflict["changed"] is False
    assert conflict["category"]["id"] == item["category"]["id"]
    assert conflict["previous_category"]["id"] == other["id"]
    kept = await api.get(f"/api/v1/customers/{item['customer_id']}/assignments/{tree_id}")
    [held] = kept.json()["items"]
    assert (held["category"]["id"], held["locked"], held["source"]) == (other["id"], True, "manual")


async def test_a_manual_change_made_while_a_run_works_is_not_overwritten(
    tenant: TenantKeys, api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    tree_id = classified["activity"]
    run = await start(api, tree_ids=[tree_id])
    await run_jobs(database, tenant.id, kinds=["run.start", "run.chunk"])  # classified, not applied
    item = (await all_results_when_done(api, database, run["id"], before_apply=True))[0]
    categories = (await api.get(f"/api/v1/category-trees/{tree_id}/categories")).json()["items"]
    other = next(c for c in categories if c["id"] != item["category"]["id"])
    manual = await api.put(
        f"/api/v1/customers/{item['customer_id']}/assignments/{tree_id}",
        json={"category_id": other["id"], "reason": "销售经理判断"},
    )
    assert manual.status_code == 200, manual.text
    done = await finished(api, database, run["id"])
    assert done["counts"]["changed"] == 59
    [mine] = [
        i for i in await all_results(api, run["id"]) if i["customer_id"] == item["customer_id"]
    ]
    assert mine["changed"] is False
    kept = await api.get(f"/api/v1/customers/{item['customer_id']}/assignments/{tree_id}")
    [held] = kept.json()["items"]
    assert (held["category"]["id"], held["source"]) == (other["id"], "manual")


async def all_results_when_done(
    api: httpx.AsyncClient, database: Database, run_id: str, *, before_apply: bool
) -> list[dict[str, Any]]:
    """The customers a run has classified so far and the category of its first tree,
    read from the stored rows (the API shows results once the run has succeeded)."""
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(RunResult.customer_id, RunCategory.category_id)
            .join(
                RunCategory,
                (RunCategory.run_id == RunResult.run_id)
                & (RunCategory.slot == RunResult.outcome[1]),
            )
            .where(RunResult.run_id == uuid.UUID(run_id))
        )
        found = rows.all()
    assert found
    assert before_apply
    status = (await api.get(f"/api/v1/runs/{run_id}")).json()["status"]
    assert status == "running"
    return [{"customer_id": str(c), "category": {"id": str(k)}} for c, k in found]
