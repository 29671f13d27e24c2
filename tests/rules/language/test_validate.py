"""Validation: every error kind, reported all at once with the JSON path of the bad node."""

import copy
from typing import Any

import pytest

from app.catalog import FieldCatalog, FieldDef
from app.rules.language.errors import RulesetInvalid
from app.rules.language.parse_json import read_ruleset
from app.rules.language.validate import check_condition, check_ruleset

CATEGORIES = {"CORE", "POT", "LOW", "DEFAULT"}


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        out["value"] = value
    return out


def body(*conditions: dict[str, Any] | str, **top: Any) -> dict[str, Any]:
    rules = [
        {"key": f"r{i}", "name": f"规则{i}", "category": "CORE", "when": c}
        for i, c in enumerate(conditions)
    ]
    return {"hit_policy": "first", "default_category": "LOW", "rules": rules, **top}


def errors_of(data: Any, multi_assign: bool = False, **kwargs: Any) -> list[dict[str, Any]]:
    with pytest.raises(RulesetInvalid) as caught:
        check_ruleset(data, categories=CATEGORIES, multi_assign=multi_assign, **kwargs)
    return [{"loc": e["loc"], "type": e["type"]} for e in caught.value.to_list("en")]


def test_a_valid_ruleset_passes() -> None:
    data = body(
        {"all": [leaf("order_amount_12m", "gte", 500000), leaf("interactions_6m", "gte", 10)]},
        "order_amount_12m between 20万 and 50万 or inquiries_6m > 0",
        leaf("last_order_date", "within_last_days", 90),
        leaf("size", "in", ["small", "medium"]),
        leaf("tags", "contains", "重点"),
        leaf("region", "is_null"),
        leaf("order_amount_6m", "gte", "500000.00"),
    )
    assert check_ruleset(data, categories=CATEGORIES).rules[1].key == "r1"


def test_all_errors_are_collected_with_their_paths() -> None:
    data = body(
        {
            "all": [
                leaf("order_amount_12m", "gte", 500000),
                leaf("order_amount_12m", "gte", "lots"),
                leaf("no_such_field", "gte", 1),
                leaf("tags", "gte", 1),
            ]
        },
        {"any": [{"not": leaf("last_order_date", "gte", "31/01/2024")}]},
    )
    data["rules"][1]["key"] = "r0"
    data["rules"][1]["category"] = "NOPE"
    data["default_category"] = "GONE"
    assert errors_of(data) == [
        {"loc": ["default_category"], "type": "unknown_category"},
        {"loc": ["rules", 1, "key"], "type": "duplicate_key"},
        {"loc": ["rules", 1, "category"], "type": "unknown_category"},
        {"loc": ["rules", 0, "when", "all", 1, "value"], "type": "number_type"},
        {"loc": ["rules", 0, "when", "all", 2, "field"], "type": "unknown_field"},
        {"loc": ["rules", 0, "when", "all", 3, "op"], "type": "operator_not_allowed"},
        {"loc": ["rules", 1, "when", "any", 0, "not", "value"], "type": "date_type"},
    ]


@pytest.mark.parametrize(
    ("condition", "loc", "type_"),
    [
        (leaf("size", "eq", "huge"), ["value"], "enum_value"),
        (leaf("interactions_6m", "gte", 9.5), ["value"], "int_type"),
        (leaf("interactions_6m", "gte", True), ["value"], "int_type"),
        (leaf("industry", "eq", 5), ["value"], "string_type"),
        (leaf("industry", "in", []), ["value"], "list_type"),
        (leaf("industry", "in", "制造业"), ["value"], "list_type"),
        (leaf("industry", "in", ["制造业", 3]), ["value", 1], "string_type"),
        (leaf("order_amount_12m", "between", [10]), ["value"], "between_shape"),
        (leaf("order_amount_12m", "between", [20, 10]), ["value", 1], "between_order"),
        (leaf("order_amount_12m", "between", [1, "x"]), ["value", 1], "number_type"),
        (leaf("last_order_date", "between", ["2024-02-01", "2024-01-01"]), ["value", 1],
         "between_order"),
        (leaf("last_order_date", "within_last_days", -1), ["value"], "window_days"),
        (leaf("last_order_date", "within_last_days", 1.5), ["value"], "window_days"),
        (leaf("last_order_date", "within_last_days", 10**9), ["value"], "window_days"),
        (leaf("region", "is_null", "x"), ["value"], "value_not_allowed"),
        (leaf("region", "eq"), ["value"], "string_type"),
        (leaf("region", "like", "x"), ["op"], "operator_unknown"),
        (leaf("order_amount_12m", "contains", 1), ["op"], "operator_not_allowed"),
        (leaf("last_order_date", "in", ["2024-01-01"]), ["op"], "operator_not_allowed"),
        ({"all": []}, ["all"], "too_short"),
    ],
)  # fmt: skip
def test_each_kind_of_bad_condition(condition: dict[str, Any], loc: list[Any], type_: str) -> None:
    assert errors_of(body(condition)) == [{"loc": ["rules", 0, "when", *loc], "type": type_}]


def test_money_accepts_ints_decimals_and_number_strings() -> None:
    for value in (500000, 500000.5, "500000.00", "-1"):
        check_ruleset(body(leaf("order_amount_12m", "gte", value)), categories=CATEGORIES)
    for value in ("5e5", "50万", "", None, [1]):
        assert errors_of(body(leaf("order_amount_12m", "gte", value)))[0]["type"] == "number_type"


def test_shape_errors_are_collected_with_the_rest() -> None:
    data = body(
        {"all": [leaf("order_amount_12m", "gte", 1), "oops"]},
        {"all": [leaf("no_such_field", "gt", 1)], "any": []},
        leaf("region", "eq", "华东"),
    )
    data["rules"][2]["extra"] = 1
    del data["rules"][2]["category"]
    data["hit_policy"] = "sometimes"
    data["rules"].append({"key": "x", "category": "CORE", "when": {"field": "region"}})
    assert errors_of(data) == [
        {"loc": ["hit_policy"], "type": "hit_policy"},
        {"loc": ["rules", 0, "when", "all", 1], "type": "condition_type"},
        {"loc": ["rules", 1, "when"], "type": "condition_shape"},
        {"loc": ["rules", 2, "extra"], "type": "extra_forbidden"},
        {"loc": ["rules", 2, "category"], "type": "missing"},
        {"loc": ["rules", 3, "when", "op"], "type": "missing"},
    ]


def test_collect_needs_a_multi_assign_tree() -> None:
    data = body(leaf("region", "is_null"), hit_policy="collect")
    assert errors_of(data) == [{"loc": ["hit_policy"], "type": "collect_single_assign"}]
    assert check_ruleset(data, categories=CATEGORIES, multi_assign=True).hit_policy == "collect"


def test_borderline_margin_must_be_a_fraction() -> None:
    for margin in (-0.1, 1, 5, "x"):
        data = body(leaf("region", "is_null"), borderline_margin=margin)
        assert errors_of(data)[0]["loc"] == ["borderline_margin"]


def test_errors_in_a_text_when_point_at_the_string_with_line_and_column() -> None:
    data = body("order_amount_12m >= 1\nand no_such_field > 2 and region > 1")
    with pytest.raises(RulesetInvalid) as caught:
        check_ruleset(data, categories=CATEGORIES)
    errors = caught.value.to_list("en")
    assert [(e["loc"], e["type"], e["ctx"]) for e in errors] == [
        (["rules", 0, "when"], "unknown_field", {"line": 2, "column": 5}),
        (["rules", 0, "when"], "operator_not_allowed", {"line": 2, "column": 27}),
    ]
    assert errors[0]["msg"] == "line 2, column 5: unknown field 'no_such_field'"
    assert errors[0]["msg_zh"] == "第 2 行第 5 列:未知字段 “no_such_field”"


def test_a_syntax_error_in_a_text_when_is_one_of_the_errors() -> None:
    data = body("order_amount_12m >=", leaf("nope", "eq", 1))
    with pytest.raises(RulesetInvalid) as caught:
        check_ruleset(data, categories=CATEGORIES)
    errors = caught.value.to_list("zh-CN")
    assert errors[0]["loc"] == ["rules", 0, "when"]
    assert errors[0]["type"] == "syntax_error"
    assert errors[0]["ctx"] == {"line": 1, "column": 20}
    assert errors[0]["msg"].startswith("第 1 行第 20 列:期望取值")
    assert errors[1]["loc"] == ["rules", 1, "when", "field"]


def test_nesting_deeper_than_32_is_rejected_at_the_first_too_deep_node() -> None:
    condition: dict[str, Any] = leaf("region", "is_null")
    for _ in range(32):
        condition = {"not": condition}
    loc = ["rules", 0, "when", *(["not"] * 32)]
    assert errors_of(body(condition)) == [{"loc": loc, "type": "too_deep"}]
    assert check_ruleset(body(condition["not"]), categories=CATEGORIES)


def test_more_than_1000_conditions_are_rejected() -> None:
    many = [leaf("interactions_6m", "gt", i) for i in range(500)]
    data = body({"all": many}, {"any": copy.deepcopy(many)}, "region is null")
    assert errors_of(data) == [{"loc": ["rules", 2, "when"], "type": "too_many_conditions"}]
    data["rules"].pop()
    assert len(check_ruleset(data, categories=CATEGORIES).rules) == 2


def test_custom_fields_are_checked_like_built_ins() -> None:
    catalog = FieldCatalog([FieldDef("attr_level", "custom", "enum", None, "客户等级", "Level",
                                     enum_values=("A", "B"))])  # fmt: skip
    data = body('客户等级 = "A"', leaf("attr_level", "eq", "C"))
    with pytest.raises(RulesetInvalid) as caught:
        check_ruleset(data, catalog, CATEGORIES)
    assert [e.loc for e in caught.value.errors] == [("rules", 1, "when", "value")]


def test_a_standalone_condition_is_checked_at_its_own_path() -> None:
    assert check_condition("region is null", loc=("scope", "when"))
    with pytest.raises(RulesetInvalid) as caught:
        check_condition({"any": [leaf("region", "gt", 1)]}, loc=("scope", "when"))
    assert caught.value.errors[0].loc == ("scope", "when", "any", 0, "op")


def test_a_non_object_body_is_an_error_not_a_crash() -> None:
    for data in (None, [], "rules", {"rules": "x"}, {"rules": [1]}):
        _, errors = read_ruleset(data)
        assert errors
