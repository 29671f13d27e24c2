"""Runs over a multi-assign tree (seed 003's 客户分级, hit policy `collect`): a customer
holds every category whose rule matches, kept as a set."""

from collections import Counter
from typing import Any

import httpx
import pytest

from app.core.db import Database
from app.demo import load_demo
from tests.conftest import TenantKeys
from tests.runs.conftest import AS_OF
from tests.runs.test_runs_api import all_results, finished, published_body, start


@pytest.fixture
async def grading(api: httpx.AsyncClient, database: Database, tenant: TenantKeys) -> str:
    await load_demo(database.engine, tenant.id, customers=60, seed=11, as_of=AS_OF)
    installed = await api.post("/api/v1/templates/grading/install")
    assert installed.status_code == 201, installed.text
    return str(installed.json()["tree_id"])


def _codes(items: list[dict[str, Any]]) -> set[str]:
    return {c["code"] for c in items}


async def _held(api: httpx.AsyncClient, customer_id: str, tree_id: str) -> set[str]:
    got = await api.get(f"/api/v1/customers/{customer_id}/assignments/{tree_id}")
    return {a["category"]["code"] for a in got.json()["items"]}


async def test_a_run_gives_every_customer_the_set_its_matching_rules_name(
    api: httpx.AsyncClient, database: Database, grading: str
) -> None:
    run = await start(api, tree_ids=[grading])
    done = await finished(api, database, run["id"])
    assert done["status"] == "succeeded", done
    items = await all_results(api, run["id"])
    assert len(items) == 60
    body = await published_body(api, grading)
    counted: Counter[str] = Counter()
    for item in items:
        evaluated = await api.post(
            "/api/v1/rules/evaluate",
            json={"ruleset": body, "values": item["metrics"], "as_of": AS_OF.isoformat()},
        )
        expected = evaluated.json()
        assert evaluated.status_code == 200, evaluated.text
        assert _codes(item["categories"]) == set(expected["categories"]), item
        assert item["rationale"] == expected["rationale"]
        assert item["borderline"] == expected["borderline"]
        assert await _held(api, item["customer_id"], grading) == set(expected["categories"])
        counted.update(expected["categories"])
    [tree] = done["counts"]["trees"]
    assert {c["category"]["code"]: c["count"] for c in tree["categories"]} == dict(counted)
    assert done["counts"]["customers"] == 60
    some = next(iter(counted))
    filtered = await all_results(api, run["id"], tree_id=grading, category=some)
    assert len(filtered) == counted[some]
    again = await start(api, tree_ids=[grading])
    assert (await finished(api, database, again["id"]))["counts"]["changed"] == 0


async def test_a_locked_category_stays_and_is_a_conflict_the_rest_is_applied(
    api: httpx.AsyncClient, database: Database, grading: str
) -> None:
    dry = await start(api, tree_ids=[grading], mode="dry_run")
    await finished(api, database, dry["id"])
    item = (await all_results(api, dry["id"]))[0]
    categories = (await api.get(f"/api/v1/category-trees/{grading}/categories")).json()["items"]
    extra = next(c for c in categories if c["code"] not in _codes(item["categories"]))
    locked = await api.put(
        f"/api/v1/customers/{item['customer_id']}/assignments/{grading}",
        json={"category_id": extra["id"], "locked": True, "reason": "人工标注"},
    )
    assert locked.status_code == 200, locked.text
    run = await start(api, tree_ids=[grading])
    await finished(api, database, run["id"])
    [mine] = [
        r for r in await all_results(api, run["id"]) if r["customer_id"] == item["customer_id"]
    ]
    assert mine["locked_conflict"] is True
    assert _codes(mine["previous_categories"]) == {extra["code"]}
    assert await _held(api, item["customer_id"], grading) == {
        extra["code"],
        *_codes(item["categories"]),
    }


async def test_reclassifying_one_customer_in_a_multi_assign_tree_adds_and_removes(
    api: httpx.AsyncClient, database: Database, grading: str
) -> None:
    run = await start(api, tree_ids=[grading])
    await finished(api, database, run["id"])
    item = (await all_results(api, run["id"]))[0]
    categories = (await api.get(f"/api/v1/category-trees/{grading}/categories")).json()["items"]
    extra = next(c for c in categories if c["code"] not in _codes(item["categories"]))
    await api.put(
        f"/api/v1/customers/{item['customer_id']}/assignments/{grading}",
        json={"category_id": extra["id"], "reason": "临时标注"},
    )
    answer = await api.post(
        f"/api/v1/customers/{item['customer_id']}/reclassify",
        json={"as_of": AS_OF.isoformat(), "tree_ids": [grading]},
    )
    assert answer.status_code == 200, answer.text
    [redone] = answer.json()["items"]
    assert redone["changed"] is True
    assert _codes(redone["categories"]) == _codes(item["categories"])
    assert await _held(api, item["customer_id"], grading) == _codes(item["categories"])
    history = (await api.get(f"/api/v1/customers/{item['customer_id']}/history")).json()
    removal = next(h for h in history["items"] if h["source"] == "manual_reclassify")
    assert removal["from_category"]["code"] == extra["code"]
    assert removal["to_category"] is None
