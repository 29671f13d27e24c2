"""POST /api/v1/rules/evaluate: a rule editor's try-it button."""

import json
from typing import Any

import httpx
import jsonschema

from tests.core.test_errors import assert_problem

RULESET: dict[str, Any] = {
    "hit_policy": "first",
    "default_category": "LOW",
    "borderline_margin": 0.05,
    "rules": [
        {"key": "core", "name": "核心客户", "category": "CORE",
         "when": {"all": [{"field": "order_amount_12m", "op": "gte", "value": 500000},
                          {"field": "interactions_6m", "op": "gte", "value": 10}]},
         "tags": ["重点维护"], "next_action": "客户成功经理一对一月度跟进"},
        {"key": "mid", "name": "中价值", "category": "MID",
         "when": "近12个月交易金额 >= 10万"},
    ],
}  # fmt: skip


async def _evaluate(api: httpx.AsyncClient, values: dict[str, Any], **extra: Any) -> Any:
    return await api.post(
        "/api/v1/rules/evaluate",
        json={"ruleset": RULESET, "values": values, "as_of": "2026-11-25"},
        **extra,
    )


async def test_the_design_example_gets_its_exact_rationale(api: httpx.AsyncClient) -> None:
    response = await _evaluate(api, {"order_amount_12m": 650000, "interactions_6m": 12})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["category"], result["rule"]) == ("CORE", {"key": "core", "name": "核心客户"})
    assert result["rationale"]["text"] == (
        "近12个月交易金额 65.00万元 ≥ 50.00万元;近6个月互动 12 次 ≥ 10 次"
    )
    assert result["tags"] == ["重点维护"]
    assert result["next_action"] == "客户成功经理一对一月度跟进"
    assert [c["passed"] for c in result["rationale"]["conditions"]] == [True, True]


async def test_why_not_names_the_first_failing_condition_of_earlier_rules(
    api: httpx.AsyncClient,
) -> None:
    result = (await _evaluate(api, {"order_amount_12m": 200000, "interactions_6m": 12})).json()
    assert result["category"] == "MID"
    [why_not] = result["rationale"]["why_not"]
    assert "核心客户" in json.dumps(why_not, ensure_ascii=False)
    assert "还差" in json.dumps(why_not, ensure_ascii=False)


async def test_values_near_a_deciding_threshold_are_borderline(api: httpx.AsyncClient) -> None:
    near = (await _evaluate(api, {"order_amount_12m": 510000, "interactions_6m": 12})).json()
    far = (await _evaluate(api, {"order_amount_12m": 900000, "interactions_6m": 30})).json()
    assert near["borderline"] is True
    assert far["borderline"] is False


async def test_the_rationale_is_english_on_request(api: httpx.AsyncClient) -> None:
    result = (
        await _evaluate(
            api,
            {"order_amount_12m": 650000, "interactions_6m": 12},
            headers={"Accept-Language": "en"},
        )
    ).json()
    assert "≥" in result["rationale"]["text"]
    assert "万" not in result["rationale"]["text"]


async def test_missing_values_are_null_and_fall_to_the_default(api: httpx.AsyncClient) -> None:
    result = (await _evaluate(api, {})).json()
    assert (result["category"], result["rule"]) == ("LOW", None)


async def test_bad_rules_and_values_are_422_at_their_json_path(api: httpx.AsyncClient) -> None:
    bad_rule = {
        **RULESET,
        "rules": [{**RULESET["rules"][0], "when": {"field": "nope", "op": "eq", "value": 1}}],
    }
    response = await api.post("/api/v1/rules/evaluate", json={"ruleset": bad_rule, "values": {}})
    errors = assert_problem(response, 422)["errors"]
    assert errors[0]["loc"][:5] == ["body", "ruleset", "rules", 0, "when"]
    syntax = {**RULESET, "rules": [{**RULESET["rules"][0], "when": "order_amount_12m >= "}]}
    response = await api.post("/api/v1/rules/evaluate", json={"ruleset": syntax, "values": {}})
    errors = assert_problem(response, 422)["errors"]
    assert "line" in errors[0].get("ctx", {}) or "行" in errors[0]["msg"]
    bad_value = await _evaluate(api, {"order_amount_12m": "lots", "unknown_field": 1})
    locs = [e["loc"] for e in assert_problem(bad_value, 422)["errors"]]
    assert ["body", "values", "order_amount_12m"] in locs
    assert ["body", "values", "unknown_field"] in locs


async def test_a_body_nested_thousands_deep_is_refused_before_parsing(
    api: httpx.AsyncClient,
) -> None:
    deep = '{"ruleset": {"rules": [{"when": ' + '{"not": ' * 5000 + "{}" + "}" * 5000 + "}]}, "
    response = await api.post(
        "/api/v1/rules/evaluate",
        content=(deep + '"values": {}}').encode(),
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 422)
    nested_33 = {"field": "order_amount_12m", "op": "gte", "value": 1}
    for _ in range(33):
        nested_33 = {"not": nested_33}
    too_deep = {**RULESET, "rules": [{**RULESET["rules"][0], "when": nested_33}]}
    response = await api.post("/api/v1/rules/evaluate", json={"ruleset": too_deep, "values": {}})
    assert_problem(response, 422)


async def test_the_documented_example_is_what_the_service_answers(
    api: httpx.AsyncClient, app: Any
) -> None:
    # The spec once showed `"threshold": 500000` while the service answered "500000"
    # (decimals are strings) with `index`, `path` and `text`: the example is the answer.
    operation = app.openapi()["paths"]["/api/v1/rules/evaluate"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["example"]
    answer = operation["responses"]["200"]["content"]["application/json"]["example"]
    response = await api.post("/api/v1/rules/evaluate", json=request)
    assert response.status_code == 200, response.text
    assert response.json() == answer


async def test_answers_validate_against_the_typed_rationale_schema(
    api: httpx.AsyncClient, app: Any
) -> None:
    spec = app.openapi()
    values = {"order_amount_12m": "200000.5", "interactions_6m": 3, "region": "华东"}
    response = await _evaluate(api, values)
    assert response.status_code == 200, response.text
    schema = {"$ref": "#/components/schemas/EvaluateResult", "components": spec["components"]}
    jsonschema.validate(response.json(), schema)
    why_not = response.json()["rationale"]["why_not"]
    assert why_not[0]["threshold"] == "500000"
    assert why_not[0]["actual"] == "200000.5"
    assert why_not[0]["gap"] == "299999.5"
