"""Integers beyond bigint and numbers beyond 18 digits are 422 where a rule is written
(`?when=`, a version body, an evaluation), never a 500 when it is later run in SQL."""

import copy
from typing import Any

import httpx

from app.rules.templates import RELATIONSHIP
from tests.core.test_errors import assert_problem
from tests.rules.test_rulesets_api import make_ruleset

BEYOND_BIGINT = "9223372036854775808"


async def test_an_integer_beyond_bigint_in_when_is_a_422_at_the_query(
    api: httpx.AsyncClient,
) -> None:
    await api.post("/api/v1/customers", json={"code": "A", "name": "甲", "employees": 10})
    for when in (
        f"employees >= {BEYOND_BIGINT}",
        f"employees in (1, {BEYOND_BIGINT})",
        f"employees between 1 and {BEYOND_BIGINT}",
        f"employees >= -{BEYOND_BIGINT}1",
    ):
        body = assert_problem(await api.get("/api/v1/customers", params={"when": when}), 422)
        assert body["errors"][0]["loc"][:2] == ["query", "when"]
        assert body["errors"][0]["type"] == "integer_range"


async def test_the_ends_of_the_ranges_run_in_sql(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/customers", json={"code": "A", "name": "甲", "employees": 10})
    for when, codes in (
        ("employees <= 9223372036854775807", ["A"]),
        ("employees > -9223372036854775808", ["A"]),
        ("annual_revenue is null or annual_revenue < 999999999999999999.99999999999999999999",
         ["A"]),
        ("order_amount_12m >= 0.00000000000000000001", []),
    ):  # fmt: skip
        response = await api.get("/api/v1/customers", params={"when": when})
        assert response.status_code == 200, response.text
        assert [c["code"] for c in response.json()["items"]] == codes


async def test_a_version_with_a_value_out_of_range_is_not_saved(api: httpx.AsyncClient) -> None:
    _, ruleset_id = await make_ruleset(api)
    versions = f"/api/v1/rulesets/{ruleset_id}/versions"
    for when, loc in (
        (f"employees between 1 and {BEYOND_BIGINT}", ["body", "rules", 0, "when"]),
        ({"field": "employees", "op": "in", "value": [1, 2**70]},
         ["body", "rules", 0, "when", "value", 1]),
        ({"field": "order_amount_12m", "op": "gte", "value": 1e300},
         ["body", "rules", 0, "when", "value"]),
    ):  # fmt: skip
        body: dict[str, Any] = copy.deepcopy(RELATIONSHIP["ruleset"])
        body["rules"][0]["when"] = when
        problem = assert_problem(await api.post(versions, json=body), 422)
        assert [e["loc"] for e in problem["errors"]] == [loc]
    assert (await api.get(versions)).json()["items"] == []


async def test_evaluating_values_beyond_the_field_type_is_a_422(api: httpx.AsyncClient) -> None:
    ruleset = {"default_category": "LOW", "rules": [
        {"key": "big", "category": "HIGH", "when": "order_amount_12m >= 1"}]}  # fmt: skip
    for values, loc in (
        ({"order_amount_12m": 1e300}, ["body", "values", "order_amount_12m"]),
        ({"interactions_6m": 2**64}, ["body", "values", "interactions_6m"]),
    ):
        response = await api.post(
            "/api/v1/rules/evaluate", json={"ruleset": ruleset, "values": values}
        )
        assert assert_problem(response, 422)["errors"][0]["loc"] == loc
