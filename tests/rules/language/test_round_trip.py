"""JSON → tree → JSON and tree → text → tree are the identity (hypothesis properties)."""

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.language.parse_json import (
    condition_from_json,
    condition_to_json,
    ruleset_from_json,
    ruleset_to_json,
)
from app.rules.language.parse_text import parse_text
from app.rules.language.print_text import print_text
from app.rules.language.tree import All, Condition, Leaf, Not, Ruleset
from app.rules.language.tree import Any as AnyOf
from app.rules.language.validate import validate_ruleset
from tests.rules.language.generators import CATALOG, CATEGORIES, conditions, rulesets

# Any text at all in a string value, quotes, backslashes and newlines included.
awkward_strings = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
awkward_leaves = st.builds(
    Leaf,
    st.sampled_from(["industry", "region", "code"]),
    st.sampled_from(["eq", "ne", "contains"]),
    awkward_strings,
)
trees = st.one_of(
    conditions(max_leaves=8),
    st.recursive(awkward_leaves, lambda inner: inner.map(Not), max_leaves=2),
    st.lists(awkward_leaves, max_size=2).map(lambda xs: All(tuple(xs))),
    st.lists(awkward_leaves, max_size=2).map(lambda xs: AnyOf(tuple(xs))),
)


@settings(max_examples=300)
@given(trees)
def test_printing_then_parsing_a_condition_gives_the_same_tree(tree: Condition) -> None:
    assert parse_text(print_text(tree), CATALOG) == tree


@settings(max_examples=150)
@given(conditions(max_leaves=8))
def test_printing_with_chinese_labels_parses_back_to_the_same_tree(tree: Condition) -> None:
    assert parse_text(print_text(tree, CATALOG), CATALOG) == tree


@settings(max_examples=100)
@given(rulesets())
def test_json_to_tree_to_json_is_the_identity(ruleset: Ruleset) -> None:
    body = ruleset_to_json(ruleset)
    # Through real JSON text, as a request body would come.
    wire = json.loads(json.dumps(body, ensure_ascii=False))
    parsed = ruleset_from_json(wire, CATALOG)
    assert parsed == ruleset
    assert ruleset_to_json(parsed) == wire
    assert validate_ruleset(parsed, CATALOG, CATEGORIES, multi_assign=True) == []


@settings(max_examples=100)
@given(rulesets())
def test_json_to_tree_to_text_to_tree_is_the_identity(ruleset: Ruleset) -> None:
    parsed = ruleset_from_json(json.loads(json.dumps(ruleset_to_json(ruleset))), CATALOG)
    for rule in parsed.rules:
        assert parse_text(print_text(rule.when), CATALOG) == rule.when
    as_text = ruleset_to_json(parsed, when_style="text")
    assert ruleset_from_json(as_text, CATALOG) == parsed


def test_a_text_when_is_serialised_back_as_the_text_it_came_as() -> None:
    body = {
        "hit_policy": "first",
        "default_category": "LOW",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": "core",
                "name": "核心客户",
                "category": "CORE",
                "when": "近12个月交易金额 >= 50万 且 近6个月互动 >= 10",
                "tags": ["重点维护"],
                "next_action": "客户成功经理一对一月度跟进",
            }
        ],
    }
    ruleset = ruleset_from_json(body)
    assert ruleset_to_json(ruleset) == body
    assert ruleset_to_json(ruleset, when_style="json")["rules"][0]["when"] == {  # type: ignore[index]
        "all": [
            {"field": "order_amount_12m", "op": "gte", "value": 500000},
            {"field": "interactions_6m", "op": "gte", "value": 10},
        ]
    }


def test_the_design_example_round_trips_exactly() -> None:
    body = {
        "hit_policy": "first",
        "default_category": "LOW",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": "core",
                "name": "核心客户",
                "category": "CORE",
                "when": {
                    "all": [
                        {"field": "order_amount_12m", "op": "gte", "value": 500000},
                        {"field": "interactions_6m", "op": "gte", "value": 10},
                    ]
                },
                "tags": ["重点维护"],
                "next_action": "客户成功经理一对一月度跟进",
            }
        ],
    }
    assert ruleset_to_json(ruleset_from_json(body)) == body


def test_decimal_values_keep_their_exact_value_through_json() -> None:
    exact = {"field": "order_amount_12m", "op": "gte", "value": 0.1}
    assert condition_to_json(condition_from_json(exact)) == exact
    assert condition_from_json(exact) == Leaf("order_amount_12m", "gte", Decimal("0.1"))
    # Beyond float precision the value comes back as a decimal string, not rounded.
    huge = Leaf("order_amount_12m", "gte", Decimal("12345678901234567.89"))
    assert condition_to_json(huge)["value"] == "12345678901234567.89"
