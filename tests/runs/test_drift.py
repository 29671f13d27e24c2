"""Drift alerts (流失率异常波动, seed 002): an apply run that moves a category's share by more
than the tree's `drift_threshold_pp` since the tree's previous apply run says so, in
GET /runs/{id} and as a `run.drift_detected` event written with the run."""

import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.models import OutboxEvent
from tests.conftest import TenantKeys
from tests.runs.conftest import AS_OF, run_jobs

LATER = date(AS_OF.year + 3, AS_OF.month, AS_OF.day)  # no order is recent any more


async def apply_run(
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    tree_id: str,
    as_of: date,
    mode: str = "apply",
) -> dict[str, Any]:
    started = await api.post(
        "/api/v1/runs", json={"tree_ids": [tree_id], "as_of": as_of.isoformat(), "mode": mode}
    )
    assert started.status_code == 202, started.text
    await run_jobs(database, tenant.id)
    done = (await api.get(f"/api/v1/runs/{started.json()['id']}")).json()
    assert done["status"] == "succeeded", done
    return done


def shares(run: dict[str, Any]) -> dict[str, float]:
    """Category code → share of the run's customers in percent."""
    [tree] = run["counts"]["trees"]
    total = run["counts"]["customers"]
    return {c["category"]["code"]: 100 * c["count"] / total for c in tree["categories"]}


def moves(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    then, now = shares(before), shares(after)
    return {code: now.get(code, 0) - then.get(code, 0) for code in then.keys() | now.keys()}


async def drift_events(database: Database, tenant: TenantKeys) -> list[dict[str, Any]]:
    async with database.sessionmaker() as session:
        events = await session.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.tenant_id == tenant.id,
                OutboxEvent.event_type == "run.drift_detected",
            )
            .order_by(OutboxEvent.id)
        )
        return [e.payload for e in events]


async def set_threshold(api: httpx.AsyncClient, tree_id: str, threshold: float) -> None:
    changed = await api.patch(
        f"/api/v1/category-trees/{tree_id}", json={"drift_threshold_pp": threshold}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["drift_threshold_pp"] == threshold


async def test_a_share_moving_past_the_threshold_is_recorded_with_the_run_and_sent(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    value = classified["value"]
    tree = (await api.get(f"/api/v1/category-trees/{value}")).json()
    assert tree["drift_threshold_pp"] == 10.0  # the default
    first = await apply_run(api, database, tenant, value, AS_OF)
    assert first["drift"] == []  # nothing to compare with yet

    later = await apply_run(api, database, tenant, value, LATER)
    moved = moves(first, later)
    expected = {code for code, pp in moved.items() if abs(pp) > 10}
    assert expected, moved  # the data moved enough for this test to mean something
    assert {d["category"]["code"] for d in later["drift"]} == expected
    then, now = shares(first), shares(later)
    for drift in later["drift"]:
        code = drift["category"]["code"]
        assert drift["tree_id"] == value
        assert drift["before"] == round(then.get(code, 0), 2)
        assert drift["after"] == round(now.get(code, 0), 2)
        assert drift["pp"] == round(moved[code], 2)
        assert drift["threshold_pp"] == 10.0
        assert drift["previous_run_id"] == first["id"]
    assert [abs(d["pp"]) for d in later["drift"]] == sorted(
        (abs(d["pp"]) for d in later["drift"]), reverse=True
    )
    [event] = await drift_events(database, tenant)
    assert event["run_id"] == later["id"]
    assert event["drift"] == later["drift"]

    # A dry run records no drift, and is no apply run to compare with.
    dry = await apply_run(api, database, tenant, value, AS_OF, mode="dry_run")
    assert dry["drift"] == []
    again = await apply_run(api, database, tenant, value, LATER)
    assert again["drift"] == []  # against `later`: nothing moved
    assert len(await drift_events(database, tenant)) == 1


async def test_moves_within_the_threshold_record_no_drift(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    value = classified["value"]
    first = await apply_run(api, database, tenant, value, AS_OF)
    later = await apply_run(api, database, tenant, value, LATER)
    largest = max(abs(pp) for pp in moves(first, later).values())
    assert largest > 2

    await set_threshold(api, value, round(largest + 1, 2))
    back = await apply_run(api, database, tenant, value, AS_OF)  # the same moves, reversed
    assert back["drift"] == []
    events = await drift_events(database, tenant)
    assert [e["run_id"] for e in events] == [later["id"]]

    await set_threshold(api, value, round(largest - 1, 2))
    forth = await apply_run(api, database, tenant, value, LATER)
    assert forth["drift"]
    assert {d["previous_run_id"] for d in forth["drift"]} == {back["id"]}
    assert {d["threshold_pp"] for d in forth["drift"]} == {round(largest - 1, 2)}


async def test_the_threshold_is_a_number_of_points_above_0_up_to_100(
    api: httpx.AsyncClient, classified: dict[str, str]
) -> None:
    path = f"/api/v1/category-trees/{classified['value']}"
    for bad in (0, -5, 100.5, "10", True):
        refused = await api.patch(path, json={"drift_threshold_pp": bad})
        assert refused.status_code == 422, (bad, refused.text)
    assert (await api.get(path)).json()["drift_threshold_pp"] == 10.0
    created = await api.post(
        "/api/v1/category-trees",
        json={"key": f"t{uuid.uuid4().hex[:8]}", "name": "风险维度", "drift_threshold_pp": 5},
    )
    assert created.status_code == 201, created.text
    assert created.json()["drift_threshold_pp"] == 5.0
