"""Rationale sentences, why-not gaps and borderline flags."""

from datetime import date
from decimal import Decimal
from typing import Any

from app.catalog import BUILTIN_FIELDS
from app.rules.language.evaluate import evaluate
from app.rules.language.explain import explain, format_value
from app.rules.language.tree import Ruleset
from app.rules.language.validate import check_ruleset

AS_OF = date(2024, 6, 30)


def ruleset(*rules: tuple[str, str, str], margin: float = 0.05) -> Ruleset:
    return check_ruleset(
        {
            "default_category": "LOW",
            "borderline_margin": margin,
            "rules": [
                {"key": key, "name": name, "category": key.upper(), "when": when}
                for key, name, when in rules
            ],
        }
    )


CORE = ("core", "核心客户", "order_amount_12m >= 500000 and interactions_6m >= 10")
POTENTIAL = (
    "potential",
    "潜力客户",
    "order_amount_12m between 200000 and 500000 or inquiries_6m > 0",
)


def rationale(rs: Ruleset, values: dict[str, Any], locale: str = "zh-CN") -> dict[str, Any]:
    return explain(evaluate(rs, values, AS_OF), locale=locale).to_dict()  # type: ignore[arg-type]


def test_the_design_example_sentence() -> None:
    values = {"order_amount_12m": Decimal("650000"), "interactions_6m": 12}
    zh = rationale(ruleset(CORE), values)
    assert zh["text"] == "近12个月交易金额 65.00万元 ≥ 50.00万元;近6个月互动 12 次 ≥ 10 次"
    assert zh["rule"] == {"key": "core", "name": "核心客户"}
    assert zh["conditions"] == [
        {"index": 0, "path": ["all", 0], "field": "order_amount_12m", "label": "近12个月交易金额",
         "op": "gte", "threshold": "500000", "actual": "650000", "passed": True,
         "text": "近12个月交易金额 65.00万元 ≥ 50.00万元"},
        {"index": 1, "path": ["all", 1], "field": "interactions_6m", "label": "近6个月互动",
         "op": "gte", "threshold": 10, "actual": 12, "passed": True,
         "text": "近6个月互动 12 次 ≥ 10 次"},
    ]  # fmt: skip
    en = rationale(ruleset(CORE), values, "en")
    assert en["text"] == (
        "Order amount (12 months) CNY 650,000.00 ≥ CNY 500,000.00; Interactions (6 months) 12 ≥ 10"
    )


def test_units_of_days_months_and_counts() -> None:
    when = (
        "days_since_last_contact > 90 and cooperation_months >= 24 "
        "and complaints_6m = 0 and last_order_date within last 30 days"
    )
    rs = ruleset(("x", "X", when))
    values = {"days_since_last_contact": 120, "cooperation_months": 36, "complaints_6m": 0,
              "last_order_date": date(2024, 6, 20)}  # fmt: skip
    assert rationale(rs, values)["text"] == (
        "距上次联系天数 120 天 > 90 天;合作时长 36 个月 ≥ 24 个月;近6个月投诉次数 0 次 = 0 次;"
        "最近下单日期 2024-06-20 在近 30 天内"
    )
    assert rationale(rs, values, "en")["text"] == (
        "Days since last contact 120 days > 90 days; Cooperation (months) 36 months ≥ 24 months; "
        "Complaints (6 months) 0 = 0; Last order date 2024-06-20 within last 30 days"
    )


def test_a_condition_under_not_is_stated_the_way_it_counts() -> None:
    rs = ruleset(("stable", "稳定客户", "not (complaints_6m >= 2 or major_complaints_6m > 0)"))
    text = rationale(rs, {"complaints_6m": 1, "major_complaints_6m": 0})["text"]
    assert text == "近6个月投诉次数 1 次 < 2 次;近6个月重大投诉次数 0 次 ≤ 0 次"


def test_only_the_deciding_branch_of_an_any_is_in_the_sentence() -> None:
    result = rationale(
        ruleset(POTENTIAL), {"order_amount_12m": Decimal("80000"), "inquiries_6m": 2}
    )
    assert result["text"] == "近6个月咨询次数 2 次 > 0 次"
    assert [c["passed"] for c in result["conditions"]] == [False, True]


def test_why_not_names_the_first_failing_condition_and_the_gap() -> None:
    values = {"order_amount_12m": Decimal("350000"), "interactions_6m": 12}
    result = rationale(ruleset(CORE, POTENTIAL), values)
    assert result["rule"] == {"key": "potential", "name": "潜力客户"}
    assert result["why_not"] == [
        {"rule": {"key": "core", "name": "核心客户"}, "field": "order_amount_12m",
         "label": "近12个月交易金额", "op": "gte", "threshold": "500000", "actual": "350000",
         "gap": "150000",
         "text": "核心客户:近12个月交易金额 35.00万元 ≥ 50.00万元 不满足,还差 15.00万元"},
    ]  # fmt: skip
    en = rationale(ruleset(CORE, POTENTIAL), values, "en")["why_not"][0]["text"]
    assert en == (
        "核心客户: Order amount (12 months) CNY 350,000.00 ≥ CNY 500,000.00 not met, "
        "short by CNY 150,000.00"
    )


def test_why_not_for_an_upper_bound_a_window_and_missing_data() -> None:
    rs = ruleset(
        ("calm", "低投诉", "complaints_6m <= 1"),
        ("recent", "近期下单", "last_order_date within last 30 days"),
        ("known", "有地区", 'region = "华东"'),
    )
    values = {"complaints_6m": 4, "last_order_date": date(2024, 5, 1)}
    assert [w["text"] for w in rationale(rs, values)["why_not"]] == [
        "低投诉:近6个月投诉次数 4 次 ≤ 1 次 不满足,超出 3 次",
        "近期下单:最近下单日期 2024-05-01 在近 30 天内 不满足,相差 31 天",
        "有地区:所在地区 无数据",
    ]
    assert rationale(rs, values)["text"] == "未命中任何规则,归入默认分类"


def test_why_not_only_covers_rules_before_the_match_under_first() -> None:
    values = {"order_amount_12m": Decimal("650000"), "interactions_6m": 12}
    assert rationale(ruleset(CORE, POTENTIAL), values)["why_not"] == []
    later = rationale(ruleset(POTENTIAL, CORE, ("any", "任意", "region is null")), values)
    assert [w["rule"]["key"] for w in later["why_not"]] == ["potential"]


def test_borderline_when_a_deciding_value_is_within_the_margin() -> None:
    rs = ruleset(CORE, POTENTIAL)
    # 48万 misses 50万 by 4 % (< 5 %): the why-not of 核心客户 is borderline.
    assert rationale(rs, {"order_amount_12m": Decimal("480000"), "interactions_6m": 12})[
        "borderline"
    ]
    # 52万 meets 50万 by 4 %: the match itself is borderline.
    assert rationale(rs, {"order_amount_12m": Decimal("520000"), "interactions_6m": 30})[
        "borderline"
    ]
    # exactly 5 % away is still within the margin; a bit more is not.
    assert rationale(rs, {"order_amount_12m": Decimal("525000"), "interactions_6m": 30})[
        "borderline"
    ]
    assert not rationale(rs, {"order_amount_12m": Decimal("525001"), "interactions_6m": 30})[
        "borderline"
    ]
    # Far from every deciding threshold.
    assert not rationale(rs, {"order_amount_12m": Decimal("900000"), "interactions_6m": 30})[
        "borderline"
    ]


def test_borderline_ignores_conditions_that_did_not_decide() -> None:
    rs = ruleset(POTENTIAL)
    # The amount is near 20万 but the inquiry branch (first passing) decided the match.
    values = {"order_amount_12m": Decimal("199000"), "inquiries_6m": 5}
    assert not rationale(rs, values)["borderline"]


def test_borderline_uses_the_rulesets_margin() -> None:
    values = {"order_amount_12m": Decimal("450000"), "interactions_6m": 30}
    assert not rationale(ruleset(CORE, margin=0.05), values)["borderline"]
    assert rationale(ruleset(CORE, margin=0.1), values)["borderline"]


def test_borderline_on_a_date_window_counts_days() -> None:
    rs = ruleset(("recent", "近期下单", "last_order_date within last 100 days"))
    assert rationale(rs, {"last_order_date": date(2024, 3, 25)})["borderline"]  # 97 days
    assert not rationale(rs, {"last_order_date": date(2024, 6, 1)})["borderline"]


def test_collect_names_each_matched_rule() -> None:
    rs = check_ruleset(
        {"hit_policy": "collect", "default_category": "LOW", "rules": [
            {"key": "a", "name": "高价值", "category": "A", "when": "order_amount_12m >= 50万"},
            {"key": "b", "name": "高活跃", "category": "B", "when": "interactions_30d > 0"},
        ]},
        multi_assign=True,
    )  # fmt: skip
    values = {"order_amount_12m": Decimal("600000"), "interactions_30d": 2}
    text = explain(evaluate(rs, values, AS_OF)).text
    assert text == "高价值:近12个月交易金额 60.00万元 ≥ 50.00万元 / 高活跃:近30天互动 2 次 > 0 次"


def test_values_are_formatted_with_units() -> None:
    amount = BUILTIN_FIELDS["order_amount_12m"]
    assert format_value(amount, Decimal("125000.005")) == "12.50万元"
    assert format_value(amount, Decimal("1234567.891"), "en") == "CNY 1,234,567.89"
    assert format_value(BUILTIN_FIELDS["employees"], 120) == "120 人"
    assert format_value(BUILTIN_FIELDS["size"], ("small", "medium")) == "small、medium"
    assert format_value(BUILTIN_FIELDS["region"], None, "en") == "no data"
