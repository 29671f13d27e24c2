"""The Python back end's semantics."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.rules.language.evaluate import Evaluator, evaluate
from app.rules.language.parse_text import parse_text
from app.rules.language.tree import Rule, Ruleset
from app.rules.language.validate import check_ruleset

AS_OF = date(2024, 6, 30)


def holds(text: str, values: dict[str, Any], as_of: date = AS_OF) -> bool:
    """Whether the one-rule ruleset `text` matches `values`."""
    ruleset = Ruleset((Rule("r", "YES", parse_text(text)),), default_category="NO")
    return evaluate(ruleset, values, as_of).category == "YES"


@pytest.mark.parametrize(
    "text",
    [
        'region = "华东"',
        'region != "华东"',
        "complaints_6m > 0",
        "complaints_6m <= 0",
        "complaints_6m between 0 and 9",
        "complaints_6m in (0, 1)",
        "complaints_6m not in (0, 1)",
        'region contains ""',
        'tags contains "重点"',
        "last_order_date within last 30 days",
        "last_order_date not within last 30 days",
        "region is not null",
    ],
)
def test_a_leaf_on_a_null_value_is_false_and_not_of_it_is_true(text: str) -> None:
    assert not holds(text, {})
    assert not holds(text, {"region": None, "complaints_6m": None, "tags": None})
    assert holds(f"not ({text})", {})


def test_is_null_and_is_not_null_see_missing_values() -> None:
    assert holds("region is null", {})
    assert holds("region is null", {"region": None})
    assert not holds("region is null", {"region": ""})
    assert holds("region is not null", {"region": ""})


def test_between_is_inclusive() -> None:
    text = "order_amount_12m between 50000 and 200000"
    assert holds(text, {"order_amount_12m": Decimal("50000")})
    assert holds(text, {"order_amount_12m": Decimal("200000.00")})
    assert not holds(text, {"order_amount_12m": Decimal("49999.99")})
    assert not holds(text, {"order_amount_12m": Decimal("200000.01")})


def test_the_window_is_as_of_minus_n_exclusive_to_as_of_inclusive() -> None:
    text = "last_order_date within last 90 days"
    assert holds(text, {"last_order_date": AS_OF})
    assert holds(text, {"last_order_date": date(2024, 4, 2)})  # as_of − 89 days
    assert not holds(text, {"last_order_date": date(2024, 4, 1)})  # as_of − 90 days
    assert not holds(text, {"last_order_date": date(2024, 7, 1)})  # after as_of
    assert not holds("last_order_date within last 0 days", {"last_order_date": AS_OF})
    negated = "last_order_date not within last 90 days"
    assert holds(negated, {"last_order_date": date(2024, 4, 1)})
    assert holds(negated, {"last_order_date": date(2024, 7, 1)})
    assert not holds(negated, {"last_order_date": AS_OF})


def test_money_is_compared_exactly_as_decimal() -> None:
    # 0.1 + 0.2 is not 0.3 in floats; thresholds from JSON floats still compare exactly.
    ruleset = check_ruleset(
        {"rules": [{"key": "r", "category": "YES",
                    "when": {"field": "order_amount_12m", "op": "eq", "value": 0.3}}],
         "default_category": "NO"}
    )  # fmt: skip
    assert (
        evaluate(ruleset, {"order_amount_12m": Decimal("0.1") + Decimal("0.2")}, AS_OF).category
        == "YES"
    )
    assert evaluate(ruleset, {"order_amount_12m": Decimal("0.30")}, AS_OF).category == "YES"
    # A float actual is taken as the decimal it prints as, not its binary expansion.
    assert evaluate(ruleset, {"order_amount_12m": 0.1 + 0.2}, AS_OF).category == "NO"
    assert evaluate(ruleset, {"order_amount_12m": 0.3}, AS_OF).category == "YES"
    big = 'order_amount_12m >= "12345678901234567.89"'
    assert holds(big, {"order_amount_12m": Decimal("12345678901234567.89")})
    assert not holds(big, {"order_amount_12m": Decimal("12345678901234567.88")})


def test_contains_is_substring_on_strings_and_membership_on_lists() -> None:
    assert holds('industry contains "制造"', {"industry": "制造业-电子"})
    assert not holds('industry contains "电子"', {"industry": "制造业"})
    assert holds('tags contains "重点"', {"tags": ["老客户", "重点"]})
    assert not holds('tags contains "重"', {"tags": ["重点"]})


def test_industry_eq_is_exact() -> None:
    assert not holds('industry = "制造业"', {"industry": "制造业-电子"})
    assert holds('industry = "制造业-电子"', {"industry": "制造业-电子"})


def test_values_are_normalised_from_loose_input() -> None:
    values = {"order_amount_12m": "500000.00", "last_order_date": datetime(2024, 6, 1, 12, 0)}
    assert holds("order_amount_12m >= 50万 and last_order_date within last 30 days", values)
    assert holds("last_order_date = 2024-06-01", {"last_order_date": "2024-06-01"})


def _three_rules(hit_policy: str) -> Ruleset:
    return check_ruleset(
        {
            "hit_policy": hit_policy,
            "default_category": "LOW",
            "rules": [
                {"key": "a", "category": "A", "when": "interactions_6m >= 10"},
                {"key": "b", "category": "B", "when": "interactions_6m >= 5"},
                {"key": "c", "category": "C", "when": "complaints_6m > 0"},
            ],
        },
        multi_assign=True,
    )


def test_first_takes_the_first_matching_rule_else_the_default() -> None:
    evaluator = Evaluator(_three_rules("first"))
    result = evaluator.evaluate({"interactions_6m": 12, "complaints_6m": 1}, AS_OF)
    assert (result.categories, result.matched, result.rule_index) == (("A",), (0,), 0)
    assert result.rule_matches == (True, True, True)
    assert evaluator.evaluate({"interactions_6m": 6}, AS_OF).category == "B"
    default = evaluator.evaluate({"interactions_6m": 1, "complaints_6m": 0}, AS_OF)
    assert (default.category, default.rule, default.rule_index) == ("LOW", None, None)
    assert [w.rule.key for w in default.why_not] == ["a", "b", "c"]


def test_collect_takes_every_matching_rule_else_the_default() -> None:
    evaluator = Evaluator(_three_rules("collect"))
    result = evaluator.evaluate({"interactions_6m": 12, "complaints_6m": 1}, AS_OF)
    assert (result.categories, result.matched) == (("A", "B", "C"), (0, 1, 2))
    partial = evaluator.evaluate({"interactions_6m": 6, "complaints_6m": 0}, AS_OF)
    assert partial.categories == ("B",)
    assert [w.rule.key for w in partial.why_not] == ["a", "c"]
    assert evaluator.evaluate({}, AS_OF).categories == ("LOW",)


def test_every_leaf_of_every_rule_has_an_outcome() -> None:
    ruleset = check_ruleset(
        {
            "default_category": "LOW",
            "rules": [
                {"key": "a", "category": "A", "when": "interactions_6m >= 10 or region is null"},
                {"key": "b", "category": "B", "when": "not complaints_6m > 0"},
            ],
        }
    )
    result = evaluate(ruleset, {"interactions_6m": 12, "complaints_6m": None}, AS_OF)
    assert [(o.index, o.rule_index, o.path, o.field, o.threshold, o.actual, o.passed)
            for o in result.conditions] == [
        (0, 0, ("any", 0), "interactions_6m", 10, 12, True),
        (1, 0, ("any", 1), "region", None, None, True),
        (2, 1, ("not",), "complaints_6m", 0, None, False),
    ]  # fmt: skip
