"""The word tables of the rationale: complete in every locale, and text put into their
holes (a tenant's labels, rule names) is said as written, never read as a template."""

from datetime import date
from decimal import Decimal
from string import Formatter
from typing import Any, get_args

import pytest

from app.catalog import OPERATORS, FieldCatalog, FieldDef, FieldUnit
from app.core.i18n import Locale
from app.rules.language.evaluate import evaluate
from app.rules.language.explain import explain
from app.rules.language.outcomes import NEGATED_OPS
from app.rules.language.tree import HitPolicy, Leaf, Not, Rule, Ruleset
from app.rules.language.words import EN, ZH_CN, Words

TABLES = pytest.mark.parametrize("words", [ZH_CN, EN], ids=["zh-CN", "en"])
CONDITION_HOLES = {"label", "actual", "threshold", "low", "high", "days"}


def holes(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


@TABLES
def test_every_operator_and_its_negation_has_a_condition(words: Words) -> None:
    assert set(words.conditions) == set(OPERATORS) | set(NEGATED_OPS.values())
    for template in words.conditions.values():
        assert "label" in holes(template) <= CONDITION_HOLES


@TABLES
def test_every_unit_says_one_number(words: Words) -> None:
    assert set(words.units) == {None, *get_args(FieldUnit)}
    for template in words.units.values():
        assert len(holes(template) & {"number", "wan", "yuan"}) == 1 == len(holes(template))


@TABLES
def test_why_not_endings_say_the_condition_before_the_gap(words: Words) -> None:
    assert holes(words.of_rule) == {"rule", "text"}
    assert holes(words.no_data_for) == {"label"}
    assert holes(words.not_met) == {"condition"}
    for template in (words.short_by, words.over_by, words.off_by_days):
        assert holes(template) == {"condition", "gap"}
        assert template.index("{condition}") < template.index("{gap}")


def test_labels_and_rule_names_with_braces_are_said_as_written() -> None:
    budget = FieldDef("attr_budget", "custom", "number", "CNY", "预算{actual}", "Budget {gap}")
    signed = FieldDef("attr_signed", "custom", "date", None, "签约{threshold}", "Signed {")
    catalog = FieldCatalog((budget, signed))
    rules = (
        Rule("big", "A", Leaf("attr_budget", "gte", 500_000), name="{rule}:{text}"),
        Rule("old", "B", Not(Leaf("attr_signed", "within_last_days", 30)), name="}{"),
    )
    as_of = date(2024, 6, 30)

    def said(hit_policy: HitPolicy, values: dict[str, object], locale: Locale) -> dict[str, Any]:
        ruleset = Ruleset(rules, "C", hit_policy)
        return explain(evaluate(ruleset, values, as_of, catalog), catalog, locale).to_dict()

    missed = {"attr_budget": Decimal(350_000), "attr_signed": date(2024, 6, 20)}
    assert [w["text"] for w in said("first", missed, "zh-CN")["why_not"]] == [
        "{rule}:{text}:预算{actual} 35.00万元 ≥ 50.00万元 不满足,还差 15.00万元",
        "}{:签约{threshold} 2024-06-20 不在近 30 天内 不满足,相差 20 天",
    ]
    assert [w["text"] for w in said("first", missed, "en")["why_not"]] == [
        "{rule}:{text}: Budget {gap} CNY 350,000.00 ≥ CNY 500,000.00 not met, short by "
        "CNY 150,000.00",
        "}{: Signed { 2024-06-20 not within last 30 days not met, off by 20 days",
    ]
    both = {"attr_budget": Decimal(600_000), "attr_signed": date(2024, 1, 1)}
    assert said("collect", both, "zh-CN")["text"] == (
        "{rule}:{text}:预算{actual} 60.00万元 ≥ 50.00万元 / "
        "}{:签约{threshold} 2024-01-01 不在近 30 天内"
    )
