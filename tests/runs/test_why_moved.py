"""Why a customer moved between two apply runs of a tree (issue 16, item 5)."""

from typing import Any

import httpx

from app.core.db import Database
from tests.runs.test_runs_api import all_results, finished, start


async def _low_customer(api: httpx.AsyncClient, run_id: str, tree_id: str) -> dict[str, Any]:
    items = await all_results(api, run_id, tree_id=tree_id, category="LOW")
    return items[0]


async def _big_order(api: httpx.AsyncClient, code: str) -> None:
    order = {"external_id": f"{code}-big", "customer_code": code, "amount": "900000",
             "ordered_at": "2026-11-20"}  # fmt: skip
    posted = await api.post("/api/v1/orders/bulk", json={"items": [order]})
    assert posted.status_code == 200, posted.text


async def test_a_changed_result_says_which_conditions_flipped_and_between_which_values(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    value = [classified["value"]]
    first = await start(api, tree_ids=value)
    await finished(api, database, first["id"])
    low = await _low_customer(api, first["id"], value[0])
    await _big_order(api, low["customer_code"])
    second = await start(api, tree_ids=value)
    await finished(api, database, second["id"])
    changed = await all_results(api, second["id"], tree_id=value[0], changed="true")
    [mine] = [i for i in changed if i["customer_id"] == low["customer_id"]]
    reason = mine["change_reason"]
    assert reason is not None
    assert reason["text"].endswith(f"由 低价值客户 调整为 {mine['category']['name']}")
    flips = {c["field"]: c for c in reason["conditions"]}
    assert "order_amount_6m" in flips
    amount = flips["order_amount_6m"]
    assert (amount["held_before"], amount["held_after"]) == (False, True)
    assert amount["before"] == low["metrics"]["order_amount_6m"]
    assert amount["after"] == mine["metrics"]["order_amount_6m"]
    assert f"{amount['label']} " in reason["text"]
    assert "→" in reason["text"]
    assert "达到 50.00万元" in reason["text"]
    english = await api.get(
        f"/api/v1/runs/{second['id']}/results",
        params={"tree_id": value[0], "changed": "true", "limit": 500},
        headers={"Accept-Language": "en"},
    )
    [theirs] = [i for i in english.json()["items"] if i["customer_id"] == low["customer_id"]]
    text = theirs["change_reason"]["text"]
    assert "reaching CNY 500,000.00" in text
    # Category names are the tenant's data, said as they were named.
    assert text.endswith(f"moved from 低价值客户 to {theirs['category']['name']}")
    unchanged = await all_results(api, second["id"], tree_id=value[0], changed="false")
    assert all(i["change_reason"] is None for i in unchanged)


async def test_a_first_classification_has_no_reason_to_explain(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    run = await start(api, tree_ids=[classified["risk"]])
    await finished(api, database, run["id"])
    items = await all_results(api, run["id"], changed="true")
    assert items
    assert all(i["change_reason"] is None for i in items)


async def test_a_move_caused_by_a_new_ruleset_version_says_so(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    tree_id = classified["value"]
    first = await start(api, tree_ids=[tree_id])
    await finished(api, database, first["id"])
    [ruleset] = (await api.get("/api/v1/rulesets", params={"tree_id": tree_id})).json()["items"]
    body = (await api.get(f"/api/v1/rulesets/{ruleset['id']}/versions/1")).json()["body"]
    body["rules"] = [r for r in body["rules"] if r["category"] != "HIGH"]
    await api.post(f"/api/v1/rulesets/{ruleset['id']}/versions", json=body)
    published = await api.post(f"/api/v1/rulesets/{ruleset['id']}/versions/2/publish")
    assert published.status_code == 200, published.text
    second = await start(api, tree_ids=[tree_id])
    await finished(api, database, second["id"])
    changed = await all_results(api, second["id"], tree_id=tree_id, changed="true")
    assert changed, "customers of the removed rule moved"
    for item in changed:
        assert "规则集由 v1 改为 v2" in item["change_reason"]["text"]
