"""Reports in JSON through the HTTP API, on six customers whose figures are worked out by
hand in tests/reports/conftest.py."""

from datetime import timedelta
from typing import Any

import httpx

from app.core.db import Database
from tests.conftest import TenantKeys
from tests.reports.conftest import AS_OF, SmallSet, apply_run


def by_code(distribution: dict[str, Any]) -> dict[str | None, tuple[int, float, float | None]]:
    return {
        c["category"]["code"]: (c["count"], c["share"], c["change_pp"])
        for c in distribution["categories"]
    }


def tree_of(report: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(t for t in report if t["key"] == key)


def moves(transitions: dict[str, Any]) -> dict[tuple[str | None, str | None], int]:
    def code(side: list[dict[str, Any]]) -> str | None:
        return "+".join(c["code"] for c in side) or None

    return {
        (code(i["from_categories"]), code(i["to_categories"])): i["count"]
        for i in transitions["items"]
    }


async def report(api: httpx.AsyncClient, run_id: str, **params: Any) -> dict[str, Any]:
    got = await api.get(f"/api/v1/runs/{run_id}/report", params=params)
    assert got.status_code == 200, got.text
    return got.json()


async def test_a_first_run_reports_shares_crosstab_transitions_and_borderline_customers(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> None:
    run = await apply_run(api, database, tenant)
    body = await report(api, run["id"])
    assert body["customers"] == 6
    value = tree_of(body["distribution"], "value")
    assert by_code(value) == {
        "HIGH": (1, 0.1667, None),
        "MEDIUM": (2, 0.3333, None),
        "LOW": (3, 0.5, None),
    }
    assert value["previous_run_id"] is None
    activity = tree_of(body["distribution"], "activity")
    assert {k: v[0] for k, v in by_code(activity).items()} == {"HIGH": 4, "MEDIUM": 1, "LOW": 1}
    crosstab = body["crosstab"]
    assert crosstab["rows"]["key"] == "value"
    assert crosstab["cols"]["key"] == "activity"
    assert [c["code"] for c in crosstab["rows"]["categories"]] == ["HIGH", "MEDIUM", "LOW"]
    assert [c["code"] for c in crosstab["cols"]["categories"]] == ["HIGH", "MEDIUM", "LOW"]
    assert crosstab["cells"] == [[1, 0, 0], [1, 1, 0], [2, 0, 1]]
    assert crosstab["row_totals"] == [1, 2, 3]
    assert crosstab["col_totals"] == [4, 1, 1]
    assert crosstab["total"] == 6
    assert crosstab["highlights"] == [
        {"row": 1, "col": 0, "label": "潜力客户(中价值 + 高活跃)", "count": 1}
    ]
    value_moves = tree_of(body["transitions"], "value")
    assert moves(value_moves) == {(None, "HIGH"): 1, (None, "MEDIUM"): 2, (None, "LOW"): 3}
    assert value_moves["changed"] == 6
    assert value_moves["from"] == {"kind": "before_run", "run_id": run["id"], "date": None}
    borderline = [
        (i["customer_code"], i["tree_name"], i["category"]["code"])
        for i in body["borderline"]["items"]
    ]
    assert ("A5", "价值维度", "LOW") in borderline
    expected = sum(t["borderline"] for t in run["counts"]["trees"])
    assert body["borderline"]["total"] == expected == len(borderline)
    assert body["locked_conflicts"] == {"total": 0, "items": []}


async def test_a_second_run_reports_changes_in_points_moves_and_locked_conflicts(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> None:
    first = await apply_run(api, database, tenant)
    locked = await api.put(
        f"/api/v1/customers/{small.customers['A6']}/assignments/{small.trees['value']}",
        json={
            "category_id": small.categories[("value", "HIGH")],
            "locked": True,
            "reason": "大客户",
        },
    )
    assert locked.status_code == 200, locked.text
    more = {
        "external_id": "SO-A4-2",
        "customer_code": "A4",
        "amount": "60000",
        "ordered_at": "2026-11-21",
    }
    assert (await api.post("/api/v1/orders/bulk", json={"items": [more]})).json()["created"] == 1
    second = await apply_run(api, database, tenant)
    body = await report(api, second["id"])
    value = tree_of(body["distribution"], "value")
    # Run 1: 1 / 2 / 3 of 6; run 2: A4 → 中价值, A6 stays 低价值 by the rules (locked 高价值).
    assert by_code(value) == {
        "HIGH": (1, 0.1667, 0.0),
        "MEDIUM": (3, 0.5, 16.67),
        "LOW": (2, 0.3333, -16.67),
    }
    assert value["previous_run_id"] == first["id"]
    previous = {c["category"]["code"]: c["previous_share"] for c in value["categories"]}
    assert previous == {"HIGH": 0.1667, "MEDIUM": 0.3333, "LOW": 0.5}
    value_moves = tree_of(body["transitions"], "value")
    assert moves(value_moves) == {
        ("HIGH", "HIGH"): 1,
        ("MEDIUM", "MEDIUM"): 2,
        ("LOW", "MEDIUM"): 1,
        ("LOW", "LOW"): 1,
        ("HIGH", "LOW"): 1,  # A6: what the rules asked; the lock kept it
    }
    assert value_moves["changed"] == 1
    [conflict] = body["locked_conflicts"]["items"]
    assert body["locked_conflicts"]["total"] == 1
    assert conflict["customer_code"] == "A6"
    assert conflict["category"]["code"] == "LOW"
    assert conflict["rule"] is None  # the default category
    assert conflict["next_action"] == "标准化服务,营销活动激励提升消费"  # LOW's playbook
    # Past the default 10 pp: the run's drift alerts (流失率异常波动) are in its report.
    drifts = {
        (d["category"]["code"], d["pp"])
        for d in body["drift"]
        if d["tree_id"] == small.trees["value"]
    }
    assert drifts == {("MEDIUM", 16.67), ("LOW", -16.67)}

    # The current state: A6 is held at 高价值 by hand.
    now = await api.get("/api/v1/reports/distribution", params={"tree_id": small.trees["value"]})
    assert now.status_code == 200, now.text
    [current] = now.json()["trees"]
    assert current["previous_run_id"] == second["id"]
    assert by_code(current) == {
        "DEFAULT": (0, 0.0, 0.0),
        "HIGH": (2, 0.3333, 16.67),
        "MEDIUM": (3, 0.5, 0.0),
        "LOW": (1, 0.1667, -16.67),
    }
    crossed = await api.get(
        "/api/v1/reports/crosstab",
        params={"rows": small.trees["value"], "cols": small.trees["activity"]},
    )
    assert crossed.status_code == 200, crossed.text
    table = crossed.json()
    codes = [c["code"] for c in table["rows"]["categories"]]
    cols = [c["code"] for c in table["cols"]["categories"]]
    cells = {
        (codes[i], cols[j]): n for i, line in enumerate(table["cells"]) for j, n in enumerate(line)
    }
    assert {k: n for k, n in cells.items() if n} == {
        ("HIGH", "HIGH"): 1,
        ("HIGH", "LOW"): 1,
        ("MEDIUM", "HIGH"): 2,
        ("MEDIUM", "MEDIUM"): 1,
        ("LOW", "HIGH"): 1,
    }
    assert table["total"] == sum(table["row_totals"]) == sum(table["col_totals"]) == 6
    [highlight] = table["highlights"]
    assert (codes[highlight["row"]], cols[highlight["col"]], highlight["count"]) == (
        "MEDIUM",
        "HIGH",
        2,
    )

    between = await api.get(
        "/api/v1/reports/transitions",
        params={"tree_id": small.trees["value"], "from": first["id"], "to": second["id"]},
    )
    assert between.status_code == 200, between.text
    assert moves(between.json()) == {
        ("HIGH", "HIGH"): 1,
        ("MEDIUM", "MEDIUM"): 2,
        ("LOW", "MEDIUM"): 1,
        ("LOW", "LOW"): 2,
    }
    assert between.json()["changed"] == 1
    to_now = await api.get(
        "/api/v1/reports/transitions",
        params={"tree_id": small.trees["value"], "from": first["id"]},
    )
    assert moves(to_now.json()) == {
        ("HIGH", "HIGH"): 1,
        ("MEDIUM", "MEDIUM"): 2,
        ("LOW", "MEDIUM"): 1,
        ("LOW", "LOW"): 1,
        ("LOW", "HIGH"): 1,
    }
    assert to_now.json()["to"]["kind"] == "current"


async def test_transitions_between_days_come_from_the_assignment_history(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> None:
    await apply_run(api, database, tenant)
    before = (AS_OF - timedelta(days=400)).isoformat()  # before any history row
    long_ago = await api.get(
        "/api/v1/reports/transitions",
        params={"tree_id": small.trees["value"], "from": before, "to": "2100-01-01"},
    )
    assert long_ago.status_code == 200, long_ago.text
    assert moves(long_ago.json()) == {(None, "HIGH"): 1, (None, "MEDIUM"): 2, (None, "LOW"): 3}
    assert long_ago.json()["from"] == {"kind": "date", "run_id": None, "date": before}
    assert long_ago.json()["changed"] == 6
    # The end of a day after every change is the current state.
    since = await api.get(
        "/api/v1/reports/transitions",
        params={"tree_id": small.trees["value"], "from": "2100-01-01"},
    )
    assert since.json()["changed"] == 0
    assert moves(since.json()) == {("HIGH", "HIGH"): 1, ("MEDIUM", "MEDIUM"): 2, ("LOW", "LOW"): 3}


async def test_reports_refuse_what_they_cannot_answer(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> None:
    queued = await api.post("/api/v1/runs", json={"as_of": AS_OF.isoformat()})
    assert (await api.get(f"/api/v1/runs/{queued.json()['id']}/report")).status_code == 409
    value = small.trees["value"]
    same = await api.get("/api/v1/reports/crosstab", params={"rows": value, "cols": value})
    assert same.status_code == 422
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = await api.get("/api/v1/reports/crosstab", params={"rows": value, "cols": unknown})
    assert missing.status_code == 404
    bad = await api.get("/api/v1/reports/transitions", params={"tree_id": value, "from": "soon"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "from"]
    not_a_run = await api.get(
        "/api/v1/reports/transitions", params={"tree_id": value, "from": unknown}
    )
    assert not_a_run.status_code == 422
    assert (
        await api.get("/api/v1/reports/distribution", params={"tree_id": unknown})
    ).status_code == 404


async def test_reports_speak_english_when_asked(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, small: SmallSet
) -> None:
    await apply_run(api, database, tenant, tree_ids=[small.trees["value"]])
    crossed = await api.get(
        "/api/v1/reports/crosstab",
        params={"rows": small.trees["value"], "cols": small.trees["activity"]},
        headers={"Accept-Language": "en"},
    )
    table = crossed.json()
    assert table["cols"]["categories"][-1]["name"] == "Not classified"
    assert table["highlights"][0]["label"] == "Potential (medium value + highly active)"
    assert table["highlights"][0]["count"] == 0
