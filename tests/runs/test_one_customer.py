"""One customer now: reclassify (the webhook path) and the classifications view."""

from typing import Any

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.models import OutboxEvent
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.runs.conftest import AS_OF
from tests.runs.test_runs_api import all_results, finished, start


async def _customer(api: httpx.AsyncClient, code: str, orders: list[tuple[str, str]]) -> str:
    made = await api.post("/api/v1/customers", json={"code": code, "name": f"客户{code}"})
    assert made.status_code == 201, made.text
    items = [{"external_id": f"{code}-{i}", "customer_code": code, "amount": amount,
              "ordered_at": day} for i, (amount, day) in enumerate(orders)]  # fmt: skip
    if items:
        posted = await api.post("/api/v1/orders/bulk", json={"items": items})
        assert posted.status_code == 200, posted.text
    return made.json()["id"]


async def _reclassify(api: httpx.AsyncClient, customer_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(
        f"/api/v1/customers/{customer_id}/reclassify", json={"as_of": AS_OF.isoformat(), **body}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _in(answer: dict[str, Any], tree_id: str) -> dict[str, Any]:
    return next(i for i in answer["items"] if i["tree_id"] == tree_id)


async def test_a_new_order_moves_the_customer_at_once_with_history_and_an_event(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    value = classified["value"]
    customer_id = await _customer(api, "NEW-1", [("20000", "2026-10-01")])
    first = _in(await _reclassify(api, customer_id), value)
    assert first["changed"] is True
    assert first["previous_category"] is None
    big = [{"external_id": "NEW-1-big", "customer_code": "NEW-1", "amount": "900000",
            "ordered_at": "2026-11-20"}]  # fmt: skip
    await api.post("/api/v1/orders/bulk", json={"items": big})
    second = _in(await _reclassify(api, customer_id), value)
    assert second["changed"] is True
    assert second["previous_category"]["code"] == first["category"]["code"]
    assert second["category"]["code"] == "HIGH", second
    assert second["rule"]["key"] is not None
    held = await api.get(f"/api/v1/customers/{customer_id}/assignments/{value}")
    [assignment] = held.json()["items"]
    assert (assignment["category"]["code"], assignment["source"]) == ("HIGH", "manual_reclassify")
    history = (await api.get(f"/api/v1/customers/{customer_id}/history")).json()["items"]
    latest = next(h for h in history if h["tree"]["id"] == value)
    assert latest["to_category"]["code"] == "HIGH"
    assert latest["rule_key"] == second["rule"]["key"]
    async with database.sessionmaker() as session:
        events = list(
            await session.scalars(
                select(OutboxEvent.payload)
                .where(OutboxEvent.tenant_id == tenant.id)
                .order_by(OutboxEvent.id)
            )
        )
    moves = [e for e in events if e["tree_id"] == value]
    assert [m["to"]["code"] for m in moves] == [first["category"]["code"], "HIGH"]


async def test_a_dry_run_says_what_would_change_and_writes_nothing(
    api: httpx.AsyncClient, classified: dict[str, str]
) -> None:
    customer_id = await _customer(api, "NEW-2", [("700000", "2026-11-01")])
    answer = await _reclassify(api, customer_id, dry_run=True)
    assert answer["dry_run"] is True
    assert all(item["changed"] for item in answer["items"])
    held = await api.get(f"/api/v1/customers/{customer_id}/assignments/{classified['value']}")
    assert held.json()["items"] == []


async def test_a_locked_assignment_is_a_conflict_and_stays(
    api: httpx.AsyncClient, classified: dict[str, str]
) -> None:
    value = classified["value"]
    customer_id = await _customer(api, "NEW-3", [("900000", "2026-11-01")])
    categories = (await api.get(f"/api/v1/category-trees/{value}/categories")).json()["items"]
    low = next(c for c in categories if c["code"] == "LOW")
    await api.put(
        f"/api/v1/customers/{customer_id}/assignments/{value}",
        json={"category_id": low["id"], "locked": True, "reason": "合同约定"},
    )
    item = _in(await _reclassify(api, customer_id), value)
    assert item["locked_conflict"] is True
    assert item["changed"] is False
    assert item["category"]["code"] == "HIGH"
    held = await api.get(f"/api/v1/customers/{customer_id}/assignments/{value}")
    assert held.json()["items"][0]["category"]["code"] == "LOW"


async def test_reclassifying_agrees_with_the_run_on_the_same_day(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    run = await start(api, mode="dry_run")
    await finished(api, database, run["id"])
    results = await all_results(api, run["id"])
    for customer_id in sorted({r["customer_id"] for r in results})[:10]:
        answer = await _reclassify(api, customer_id, dry_run=True)
        for item in answer["items"]:
            stored = next(
                r for r in results
                if r["customer_id"] == customer_id and r["tree_id"] == item["tree_id"]
            )  # fmt: skip
            for key in ("category", "rule", "rationale", "borderline", "metrics"):
                assert item[key] == stored[key], (key, item, stored)


async def test_classifications_explain_a_run_result_and_a_manual_choice(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    run = await start(api)
    await finished(api, database, run["id"])
    results = await all_results(api, run["id"])
    customer_id = results[0]["customer_id"]
    risk = classified["risk"]
    categories = (await api.get(f"/api/v1/category-trees/{risk}/categories")).json()["items"]
    mine = next(r for r in results if r["customer_id"] == customer_id and r["tree_id"] == risk)
    other = next(c for c in categories if c["id"] != mine["category"]["id"])
    await api.put(
        f"/api/v1/customers/{customer_id}/assignments/{risk}",
        json={"category_id": other["id"], "reason": "客户经理复核"},
    )
    answer = await api.get(f"/api/v1/customers/{customer_id}/classifications")
    assert answer.status_code == 200, answer.text
    items = {i["tree_id"]: i for i in answer.json()["items"]}
    assert set(items) == set(classified.values())
    for tree_id, item in items.items():
        if tree_id == risk:
            continue
        stored = next(r for r in results if r["customer_id"] == customer_id
                      and r["tree_id"] == tree_id)  # fmt: skip
        assert item["source"] == "run"
        assert item["run_id"] == run["id"]
        assert item["rationale"] == stored["rationale"]
        assert item["rules_today"] is None
    manual = items[risk]
    assert (manual["source"], manual["category"]["id"]) == ("manual", other["id"])
    assert "客户经理复核" in manual["rationale"]["text"]
    # What the rules say today (not the run's day): as a dry-run reclassification says.
    today = await api.post(
        f"/api/v1/customers/{customer_id}/reclassify", json={"dry_run": True, "tree_ids": [risk]}
    )
    [verdict] = today.json()["items"]
    assert manual["rules_today"]["category"] == verdict["category"]
    assert manual["rules_today"]["rationale"] == verdict["rationale"]


async def test_reclassifying_an_unknown_customer_is_a_404(
    api: httpx.AsyncClient, classified: dict[str, str]
) -> None:
    response = await api.post(
        "/api/v1/customers/00000000-0000-4000-8000-000000000000/reclassify", json={}
    )
    assert_problem(response, 404)
