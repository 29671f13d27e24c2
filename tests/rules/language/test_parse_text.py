"""The text form: the design's and seeds' examples, precedence, Chinese, errors."""

from decimal import Decimal

import pytest

from app.rules.language.errors import RuleSyntaxError
from app.rules.language.parse_text import parse_text
from app.rules.language.print_text import print_text
from app.rules.language.tree import All, Leaf, Not
from app.rules.language.tree import Any as AnyOf

AMOUNT = "order_amount_12m"


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "order_amount_12m >= 500000 and interactions_6m >= 10",
            All((Leaf(AMOUNT, "gte", 500000), Leaf("interactions_6m", "gte", 10))),
        ),
        (
            "not (complaints_6m >= 2 or major_complaints_6m > 0)",
            Not(AnyOf((Leaf("complaints_6m", "gte", 2), Leaf("major_complaints_6m", "gt", 0)))),
        ),
        ("order_amount_12m between 50000 and 200000", Leaf(AMOUNT, "between", (50000, 200000))),
        (
            'industry in ("制造业-电子", "服务业-咨询")',
            Leaf("industry", "in", ("制造业-电子", "服务业-咨询")),
        ),
        ('industry not in ("零售业")', Leaf("industry", "not_in", ("零售业",))),
        ("last_order_date within last 90 days", Leaf("last_order_date", "within_last_days", 90)),
        (
            "last_order_date not within last 90 days",
            Leaf("last_order_date", "not_within_last_days", 90),
        ),
        ("region is null", Leaf("region", "is_null")),
        ("region is not null", Leaf("region", "is_not_null")),
        ('tags contains "重点"', Leaf("tags", "contains", "重点")),
        ('stage = "signed"', Leaf("stage", "eq", "signed")),
        ('stage == "signed"', Leaf("stage", "eq", "signed")),
        ('stage != "signed"', Leaf("stage", "ne", "signed")),
        ("last_order_date >= 2024-01-31", Leaf("last_order_date", "gte", "2024-01-31")),
        ('last_order_date >= "2024-01-31"', Leaf("last_order_date", "gte", "2024-01-31")),
        ("complaints_6m < -1", Leaf("complaints_6m", "lt", -1)),
        ("order_amount_12m > 0.5", Leaf(AMOUNT, "gt", Decimal("0.5"))),
    ],
)
def test_the_design_examples_parse_to_the_expected_tree(text: str, tree: object) -> None:
    assert parse_text(text) == tree


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    a, b, c = (Leaf(f, "gt", 0) for f in ("interactions_6m", "complaints_6m", "inquiries_6m"))
    parsed = parse_text("not interactions_6m > 0 and complaints_6m > 0 or inquiries_6m > 0")
    assert parsed == AnyOf((All((Not(a), b)), c))
    grouped = parse_text("not (interactions_6m > 0 and (complaints_6m > 0 or inquiries_6m > 0))")
    assert grouped == Not(All((a, AnyOf((b, c)))))


def test_a_chain_is_one_group_but_parentheses_keep_their_own_group() -> None:
    a, b, c = (Leaf(f, "gt", 0) for f in ("interactions_6m", "complaints_6m", "inquiries_6m"))
    text = "interactions_6m > 0 and complaints_6m > 0 and inquiries_6m > 0"
    assert parse_text(text) == All((a, b, c))
    text = "(interactions_6m > 0 and complaints_6m > 0) and inquiries_6m > 0"
    assert parse_text(text) == All((All((a, b)), c))


def test_keywords_are_case_insensitive_and_symbols_from_the_rationale_are_accepted() -> None:
    expected = All((Leaf(AMOUNT, "gte", 500000), Leaf("interactions_6m", "lte", 9)))
    assert parse_text("order_amount_12m ≥ 500000 AND interactions_6m ≤ 9") == expected
    assert parse_text("complaints_6m ≠ 0") == Leaf("complaints_6m", "ne", 0)


def test_chinese_labels_and_wan_amounts() -> None:
    expected = All((Leaf(AMOUNT, "gte", 500000), Leaf("interactions_6m", "gte", 10)))
    assert parse_text("近12个月交易金额 >= 50万 and 近6个月互动 >= 10") == expected
    assert parse_text("近12个月订单金额 >= 50万元 且 近6个月互动次数 >= 10次") == expected
    # No spaces at all, as people type Chinese.
    assert parse_text("近12个月交易金额>=50万且近6个月互动>=10") == expected
    assert parse_text("近12个月交易金额 >= 1.5亿") == Leaf(AMOUNT, "gte", Decimal("150000000.0"))
    assert parse_text("距上次联系天数 > 90天 或 近6个月投诉次数 >= 2") == AnyOf(
        (Leaf("days_since_last_contact", "gt", 90), Leaf("complaints_6m", "gte", 2))
    )


def test_seed_002_core_customer_in_chinese() -> None:
    # 核心客户:年交易额 ≥ 50万 且 近6个月互动频次 ≥ 10次 (合作年限 in years → months)
    parsed = parse_text("年交易额 ≥ 50万 且 近6个月互动频次 ≥ 10次 且 合作时长 ≥ 3年")
    assert parsed == All(
        (
            Leaf(AMOUNT, "gte", 500000),
            Leaf("interactions_6m", "gte", 10),
            Leaf("cooperation_months", "gte", 36),
        )
    )


def test_seed_000_churn_warning_in_chinese() -> None:
    # 流失预警:“近3个月订单金额=0”且“最近联系时间≤当前日期-90天”
    parsed = parse_text("近3个月订单金额 = 0 且 最近联系时间 not within last 90 days")
    assert parsed == All(
        (
            Leaf("order_amount_3m", "eq", 0),
            Leaf("last_contact_date", "not_within_last_days", 90),
        )
    )


def test_full_width_punctuation_and_chinese_quotes() -> None:
    assert parse_text("所属行业 in （“制造业-电子”，“服务业-咨询”）") == Leaf(
        "industry", "in", ("制造业-电子", "服务业-咨询")
    )


def test_printing_uses_plain_ascii_operators_and_keys() -> None:
    tree = All(
        (
            Leaf(AMOUNT, "gte", 500000),
            Not(AnyOf((Leaf("complaints_6m", "gte", 2), Leaf("major_complaints_6m", "gt", 0)))),
            Leaf("industry", "in", ("制造业-电子", "服务业-咨询")),
            Leaf("last_order_date", "within_last_days", 90),
            Leaf("region", "is_not_null"),
        )
    )
    assert print_text(tree) == (
        "order_amount_12m >= 500000 and not (complaints_6m >= 2 or major_complaints_6m > 0)"
        ' and industry in ("制造业-电子", "服务业-咨询") and last_order_date within last 90 days'
        " and region is not null"
    )


def test_one_item_groups_print_in_function_form() -> None:
    tree = All((Leaf(AMOUNT, "gte", 1),))
    assert print_text(tree) == "all(order_amount_12m >= 1)"
    assert parse_text("all(order_amount_12m >= 1)") == tree
    assert parse_text("any()") == AnyOf(())


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("order_amount_12m >= ", 1, 21, "end of input"),
        ("order_amount_12m >>= 5", 1, 19, "expected a value"),
        ("order_amount_12m >= 5\n  and (interactions_6m > 1", 2, 27, "expected ')'"),
        ("order_amount_12m 5", 1, 18, "expected an operator"),
        ('industry = "制造业', 1, 12, "unterminated string"),
        ("order_amount_12m >= 5 interactions_6m", 1, 23, "unexpected 'interactions_6m'"),
        ("近12个月交易金额 >= 5天", 1, 14, "does not fit"),
        ("region is nul", 1, 11, "expected 'null'"),
        ("last_order_date within 90 days", 1, 24, "expected 'last'"),
        ("= 5", 1, 1, "expected a field name"),
        ("amount # 5", 1, 8, "unexpected character '#'"),
    ],
)
def test_syntax_errors_say_where(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_text(text)
    error = caught.value
    assert (error.line, error.column) == (line, column)
    assert fragment in error.message("en")
    assert error.message("zh-CN").startswith(f"第 {line} 行第 {column} 列:")


def test_a_unit_mismatch_is_reported_in_both_languages() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_text("近12个月交易金额 >= 5天")
    assert caught.value.type == "unit_mismatch"
    assert caught.value.text.zh == "单位 “天” 与字段 “近12个月交易金额” 的单位(元)不符"


def test_text_nested_deeper_than_32_is_refused_without_exhausting_the_stack() -> None:
    deep = "not " * 40 + "complaints_6m > 0"
    with pytest.raises(RuleSyntaxError) as caught:
        parse_text(deep)
    assert caught.value.type == "too_deep"
    assert (caught.value.line, caught.value.column) == (1, 1 + 4 * 32)
    parens = "(" * 5000 + "complaints_6m > 0" + ")" * 5000
    with pytest.raises(RuleSyntaxError):
        parse_text(parens)
    not_chain = "not " * 100_000 + "complaints_6m > 0"
    with pytest.raises(RuleSyntaxError):
        parse_text(not_chain)
    assert parse_text("not " * 31 + "complaints_6m > 0") is not None


def test_a_superscript_digit_is_a_syntax_error_not_a_crash() -> None:
    # Found by Schemathesis: "¹".isdigit() is true, yet it is no number.
    with pytest.raises(RuleSyntaxError):
        parse_text("¹Üñ")
