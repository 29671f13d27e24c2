"""The seeds' thresholds and worked examples, written in the rule language."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.rules.language.evaluate import Evaluator
from app.rules.language.explain import explain
from app.rules.language.validate import check_ruleset
from app.rules.templates import TEMPLATES

AS_OF = date(2024, 9, 30)

# Seed 002 (客户关系划分): the built-in template's thresholds, first match wins.
RELATIONSHIP = check_ruleset(
    TEMPLATES["relationship"]["ruleset"], categories={"CORE", "POTENTIAL", "REGULAR", "LOW"}
)


def relationship(amount_wan: int, interactions: int, inquiries: int = 0) -> Any:
    values = {
        "order_amount_12m": Decimal(amount_wan) * 10_000,
        "interactions_6m": interactions,
        "inquiries_6m": inquiries,
    }
    return Evaluator(RELATIONSHIP).evaluate(values, AS_OF)


@pytest.mark.parametrize(
    ("customer", "amount_wan", "interactions", "inquiries", "expected"),
    [
        # 客户A:年交易额60万,互动12次 → 核心客户
        ("A", 60, 12, 0, "CORE"),
        # 客户B:年交易额30万,近3个月主动咨询新产品 → 潜力客户
        ("B", 30, 2, 1, "POTENTIAL"),
        # 客户C:年交易额8万,近6个月无沟通 → 普通客户
        ("C", 8, 0, 0, "REGULAR"),
        # 模板表 C001–C004
        ("C001", 65, 12, 0, "CORE"),
        ("C002", 28, 5, 1, "POTENTIAL"),
        ("C003", 12, 3, 0, "REGULAR"),
        ("C004", 3, 0, 0, "LOW"),
    ],
)
def test_seed_002_examples(
    customer: str, amount_wan: int, interactions: int, inquiries: int, expected: str
) -> None:
    assert relationship(amount_wan, interactions, inquiries).category == expected, customer


def test_seed_002_rationale_of_c001() -> None:
    result = explain(relationship(65, 12))
    assert result.text == "近12个月交易金额 65.00万元 ≥ 50.00万元;近6个月互动 12 次 ≥ 10 次"
    assert result.rule == {"key": "core", "name": "核心客户"}


def test_seed_002_borderline_case_goes_to_review() -> None:
    # 金额达标但互动不足: the seed's thresholds leave 52万 with 9 interactions in no tier
    # but the default, 4 % above 潜力客户's upper bound, so the 复核小组 sees it.
    result = relationship(52, 9)
    assert result.category == "LOW"
    assert result.borderline
    assert [w["text"] for w in explain(result).why_not] == [
        "核心客户:近6个月互动 9 次 ≥ 10 次 不满足,还差 1 次",
        "潜力客户:近12个月交易金额 52.00万元 在 20.00万元 至 50.00万元 之间 不满足,超出 2.00万元",
        "普通客户:近12个月交易金额 52.00万元 在 5.00万元 至 20.00万元 之间 不满足,超出 32.00万元",
    ]


# Seed 000 (智能分类规则配置): three dimensions.
VALUE = check_ruleset(
    {"default_category": "LOW", "rules": [
        {"key": "high", "name": "高价值客户", "category": "HIGH",
         "when": "近6个月订单金额 >= 50万元 and 近6个月重大投诉次数 = 0"},
        {"key": "medium", "name": "中价值客户", "category": "MEDIUM",
         "when": "年订单金额 >= 10万元"},
    ]},
)  # fmt: skip
ACTIVITY = check_ruleset(
    {"default_category": "LOW", "rules": [
        {"key": "high", "name": "高活跃", "category": "HIGH",
         "when": "近30天互动 > 0 or 近1个月订单频次 > 0"},
        {"key": "medium", "name": "中活跃", "category": "MEDIUM",
         "when": "近90天互动 > 0 or 近3个月订单频次 > 0"},
    ]},
)  # fmt: skip
RISK = check_ruleset(
    {"default_category": "STABLE", "rules": [
        {"key": "churn", "name": "流失预警", "category": "CHURN",
         "when": "近3个月订单金额 = 0 且 (最近联系时间 not within last 90 days "
                 "or 最近联系时间 is null)"},
        {"key": "complaint", "name": "投诉客户", "category": "COMPLAINT",
         "when": "近6个月投诉次数 >= 2"},
    ]},
)  # fmt: skip


def test_seed_000_high_value_example_and_its_rationale() -> None:
    # 分类依据说明示例:近6个月订单52万元,沟通及时 → 高价值
    values = {"order_amount_6m": Decimal("520000"), "major_complaints_6m": 0,
              "order_amount_12m": Decimal("800000")}  # fmt: skip
    result = Evaluator(VALUE).evaluate(values, AS_OF)
    assert result.category == "HIGH"
    assert (
        explain(result).text
        == "近6个月订单金额 52.00万元 ≥ 50.00万元;近6个月重大投诉次数 0 次 = 0 次"
    )


def test_seed_000_a_major_complaint_keeps_a_big_customer_out_of_high_value() -> None:
    values = {"order_amount_6m": Decimal("900000"), "major_complaints_6m": 1,
              "order_amount_12m": Decimal("1200000")}  # fmt: skip
    result = Evaluator(VALUE).evaluate(values, AS_OF)
    assert result.category == "MEDIUM"
    assert explain(result).why_not[0]["text"] == (
        "高价值客户:近6个月重大投诉次数 1 次 = 0 次 不满足"
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"interactions_30d": 1, "interactions_90d": 1}, "HIGH"),
        ({"interactions_30d": 0, "order_count_1m": 0, "interactions_90d": 2}, "MEDIUM"),
        ({"interactions_30d": 0, "order_count_1m": 0, "interactions_90d": 0,
          "order_count_3m": 0}, "LOW"),
    ],
)  # fmt: skip
def test_seed_000_activity(values: dict[str, Any], expected: str) -> None:
    assert Evaluator(ACTIVITY).evaluate(values, AS_OF).category == expected


@pytest.mark.parametrize(
    ("days_since_contact", "amount_3m", "complaints", "expected"),
    [
        (120, 0, 0, "CHURN"),
        (None, 0, 0, "CHURN"),  # never contacted at all
        (90, 0, 0, "CHURN"),  # 最近联系时间 ≤ 当前日期 − 90天
        (89, 0, 0, "STABLE"),
        (120, 5000, 3, "COMPLAINT"),
        (10, 5000, 1, "STABLE"),
    ],
)
def test_seed_000_risk(
    days_since_contact: int | None, amount_3m: int, complaints: int, expected: str
) -> None:
    contact = None if days_since_contact is None else AS_OF - timedelta(days=days_since_contact)
    values = {"last_contact_date": contact, "order_amount_3m": Decimal(amount_3m),
              "complaints_6m": complaints}  # fmt: skip
    assert Evaluator(RISK).evaluate(values, AS_OF).category == expected


def test_seed_003_rules() -> None:
    # 高价值客户:购买金额>10000元;活跃客户:最近30天内互动次数>5次
    rs = check_ruleset(
        {"hit_policy": "collect", "default_category": "OTHER", "rules": [
            {"key": "high", "name": "高价值客户", "category": "HIGH",
             "when": "近12个月交易金额 > 10000元"},
            {"key": "active", "name": "活跃客户", "category": "ACTIVE",
             "when": "近30天互动 > 5次"},
        ]},
        multi_assign=True,
    )  # fmt: skip
    both = {"order_amount_12m": Decimal("10000.01"), "interactions_30d": 6}
    assert Evaluator(rs).evaluate(both, AS_OF).categories == ("HIGH", "ACTIVE")
    edge = {"order_amount_12m": Decimal("10000"), "interactions_30d": 5}
    assert Evaluator(rs).evaluate(edge, AS_OF).categories == ("OTHER",)
