"""Why a result moved: the flipped conditions of the deciding rules, and the sentence."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.rules.language.evaluate import Evaluator
from app.rules.language.moves import describe, flipped
from app.rules.language.parse_text import parse_text
from app.rules.language.tree import Rule, Ruleset
from tests.rules.language.generators import AS_OF, CATALOG, customer_rows, rulesets


@given(rulesets(min_rules=1), customer_rows(), customer_rows())
def test_flips_are_the_deciding_rules_conditions_that_came_out_differently(
    ruleset: Ruleset, before: dict[str, Any], after: dict[str, Any]
) -> None:
    evaluator = Evaluator(ruleset, CATALOG)
    old, new = evaluator.evaluate(before, AS_OF), evaluator.evaluate(after, AS_OF)
    flips = flipped(old, new)
    if ruleset.hit_policy == "first":
        deciding = {i for i in (old.rule_index, new.rule_index) if i is not None}
    else:
        deciding = {i for i, (a, b) in enumerate(zip(old.rule_matches, new.rule_matches,
                                                    strict=True)) if a != b}  # fmt: skip
    expected = [
        leaf.index
        for leaf in evaluator.leaves
        if leaf.rule_index in deciding and old.results[leaf.index] != new.results[leaf.index]
    ]
    assert [f.index for f in flips] == expected
    for flip in flips:
        assert (flip.held_before, flip.held_after) == (
            old.results[flip.index],
            new.results[flip.index],
        )
    move = describe(flips, "甲", "乙", CATALOG)
    assert move.text.endswith("由 甲 调整为 乙")
    assert move.text.count("→") == len(flips)


@given(st.sampled_from(["zh-CN", "en"]))
def test_the_seed_example_is_said_as_a_sales_manager_would_read_it(locale: Any) -> None:
    rule = Rule("high", "HIGH", parse_text("近6个月订单金额 >= 50万元", CATALOG), name="高价值")
    evaluator = Evaluator(Ruleset((rule,), default_category="MEDIUM"), CATALOG)
    before = evaluator.evaluate({"order_amount_6m": 520000}, AS_OF)
    after = evaluator.evaluate({"order_amount_6m": 480000}, AS_OF)
    move = describe(flipped(before, after), "高价值客户", "中价值客户", CATALOG, locale)
    if locale == "en":
        assert move.text == (
            "Order amount (6 months) CNY 520,000.00 → CNY 480,000.00, below CNY 500,000.00; "
            "moved from 高价值客户 to 中价值客户"
        )
    else:
        assert move.text == (
            "近6个月订单金额 52.00万元 → 48.00万元,低于 50.00万元;由 高价值客户 调整为 中价值客户"
        )
