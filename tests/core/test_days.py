"""Every day the API takes (`as_of` wherever it appears, a customer's
`cooperation_since`) lies between 1900-01-01 and 2200-12-31: outside is a 422 at the
parameter, never a 500 from date arithmetic that leaves the calendar."""

import copy
from typing import Any

import httpx

from app.core.db import Database
from app.rules.templates import RELATIONSHIP
from tests.core.test_errors import assert_problem
from tests.imports.helpers import csv_bytes, import_file
from tests.rules.test_rulesets_api import make_ruleset

OUTSIDE = ("0001-01-01", "1899-12-31", "2201-01-01", "9999-12-31")


async def test_as_of_outside_the_calendar_is_a_422_on_every_endpoint(
    api: httpx.AsyncClient,
) -> None:
    customer = await api.post("/api/v1/customers", json={"code": "A", "name": "甲"})
    customer_id = customer.json()["id"]
    tree_id, ruleset_id = await make_ruleset(api)
    body = copy.deepcopy(RELATIONSHIP["ruleset"])
    assert (await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=body)).is_success
    version = f"/api/v1/rulesets/{ruleset_id}/versions/1"
    default = (await api.get(f"/api/v1/category-trees/{tree_id}/categories")).json()["items"][0]
    for day in OUTSIDE:
        queries = (
            ("/api/v1/customers", {"when": "order_amount_12m >= 1", "as_of": day}),
            (f"/api/v1/customers/{customer_id}/metrics", {"as_of": day}),
        )
        for path, params in queries:
            problem = assert_problem(await api.get(path, params=params), 422)
            assert problem["errors"][0]["loc"] == ["query", "as_of"]
        bodies: tuple[tuple[str, dict[str, Any]], ...] = (
            (f"{version}/preview", {"as_of": day}),
            (f"{version}/backtest",
             {"as_of": day, "samples": [{"customer_code": "A", "expected": "LOW"}]}),
            (f"{version}/suggest",
             {"as_of": day, "samples": [{"customer_code": "A", "expected": "LOW"}]}),
            ("/api/v1/rules/evaluate", {"ruleset": body, "values": {}, "as_of": day}),
            (f"/api/v1/category-trees/{tree_id}/assignments/bulk",
             {"category_id": default["id"], "filter": "order_amount_12m >= 1", "as_of": day}),
        )  # fmt: skip
        for path, json in bodies:
            problem = assert_problem(await api.post(path, json=json), 422)
            assert problem["errors"][0]["loc"] == ["body", "as_of"], path


async def test_the_first_and_last_days_of_the_range_are_computed(api: httpx.AsyncClient) -> None:
    customer = await api.post("/api/v1/customers", json={"code": "A", "name": "甲"})
    metrics = f"/api/v1/customers/{customer.json()['id']}/metrics"
    for day in ("1900-01-01", "2200-12-31"):
        response = await api.get(metrics, params={"as_of": day})
        assert response.status_code == 200, response.text
        assert response.json()["metrics"]["order_count_12m"] == 0
        listed = await api.get(
            "/api/v1/customers",
            params={"when": "last_order_date not within last 36600 days", "as_of": day},
        )
        assert listed.status_code == 200, listed.text


async def test_cooperation_since_outside_the_calendar_is_refused(api: httpx.AsyncClient) -> None:
    for day in OUTSIDE:
        created = await api.post(
            "/api/v1/customers", json={"code": "A", "name": "甲", "cooperation_since": day}
        )
        assert assert_problem(created, 422)["errors"][0]["loc"] == ["body", "cooperation_since"]
    bulk = await api.post("/api/v1/customers/bulk", json={"items": [
        {"code": "OLD", "name": "旧", "cooperation_since": "0001-01-01"},
        {"code": "OK", "name": "好", "cooperation_since": "1900-01-01"},
    ]})  # fmt: skip
    assert bulk.status_code == 200, bulk.text
    assert [(e["index"], e["errors"][0]["loc"]) for e in bulk.json()["errors"]] == [
        (0, ["cooperation_since"])
    ]


async def test_an_imported_cooperation_since_outside_the_calendar_fails_its_row(
    api: httpx.AsyncClient, database: Database
) -> None:
    content = csv_bytes([
        ["客户编号", "客户名称", "合作开始日期"],
        ["OLD", "旧", "0001-01-01"],
        ["OK", "好", "2022-03-01"],
    ])  # fmt: skip
    report = await import_file(api, database, "customers", content)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "合作开始日期")]
    assert report["errors"][0]["message"] == "日期须在 1900-01-01 至 2200-12-31 之间"
    assert (await api.get("/api/v1/customers/by-code/OLD")).status_code == 404
