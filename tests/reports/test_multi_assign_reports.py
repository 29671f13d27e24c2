"""Reports over a multi-assign tree (seed 003's 客户分级): a customer counts once in each
of its categories; figures agree with the run's results read one by one."""

import io
from collections import Counter
from typing import Any

import httpx
from openpyxl import load_workbook

from app.core.db import Database
from app.demo import load_demo
from tests.conftest import TenantKeys
from tests.reports.conftest import AS_OF, apply_run


async def results(api: httpx.AsyncClient, run_id: str, tree_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200, "tree_id": tree_id, **({"cursor": cursor} if cursor else {})}
        page = (await api.get(f"/api/v1/runs/{run_id}/results", params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def cells(table: dict[str, Any]) -> dict[tuple[str, str], int]:
    rows = [c["code"] for c in table["rows"]["categories"]]
    cols = [c["code"] for c in table["cols"]["categories"]]
    return {
        (rows[i], cols[j]): n
        for i, line in enumerate(table["cells"])
        for j, n in enumerate(line)
        if n
    }


async def test_a_multi_assign_tree_counts_each_customer_in_each_of_its_categories(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await load_demo(database.engine, tenant.id, customers=60, seed=11, as_of=AS_OF)
    trees = {}
    for key in ("grading", "value"):
        installed = await api.post(f"/api/v1/templates/{key}/install")
        assert installed.status_code == 201, installed.text
        trees[key] = installed.json()["tree_id"]
    run = await apply_run(api, database, tenant)
    grading = await results(api, run["id"], trees["grading"])
    value = {
        i["customer_id"]: i["category"]["code"]
        for i in await results(api, run["id"], trees["value"])
    }
    held = {i["customer_id"]: {c["code"] for c in i["categories"]} for i in grading}
    expected = Counter(code for codes in held.values() for code in codes)

    got = await api.get(
        f"/api/v1/runs/{run['id']}/report",
        params={"rows": trees["value"], "cols": trees["grading"]},
    )
    assert got.status_code == 200, got.text
    body = got.json()
    [distribution] = [t for t in body["distribution"] if t["key"] == "grading"]
    assert distribution["multi_assign"] is True
    assert {
        c["category"]["code"]: c["count"] for c in distribution["categories"] if c["count"]
    } == dict(expected)
    table = body["crosstab"]
    rows = [c["code"] for c in table["rows"]["categories"]]
    cols = [c["code"] for c in table["cols"]["categories"]]
    crossed = Counter((value[c], code) for c, codes in held.items() for code in codes)
    for i, line in enumerate(table["cells"]):
        for j, count in enumerate(line):
            assert count == crossed.get((rows[i], cols[j]), 0), (rows[i], cols[j])
    [moves] = [t for t in body["transitions"] if t["key"] == "grading"]
    assert sum(i["count"] for i in moves["items"]) == 60
    sets = Counter(
        frozenset(c["code"] for c in i["to_categories"])
        for i in moves["items"]
        for _ in range(i["count"])
    )
    assert sets == Counter(frozenset(codes) for codes in held.values())

    workbook = await api.get(f"/api/v1/runs/{run['id']}/report", params={"format": "xlsx"})
    assert workbook.status_code == 200, workbook.text
    book = load_workbook(io.BytesIO(workbook.content))
    lists = [name for name in book.sheetnames if name.startswith("客户清单-")]
    assert len(lists) == 2
    grading_sheet = next(book[n] for n in lists if n != "客户清单-价值维度")
    assert grading_sheet.max_row - 1 == sum(expected.values())  # a line per customer and category

    now = await api.get(
        "/api/v1/reports/crosstab", params={"rows": trees["value"], "cols": trees["grading"]}
    )
    assert now.status_code == 200, now.text
    assert cells(now.json()) == cells(table)
    refused = await api.get(
        "/api/v1/reports/transitions", params={"tree_id": trees["grading"], "from": run["id"]}
    )
    assert refused.status_code == 422
