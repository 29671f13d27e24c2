"""What an integer and a number field hold: bigint, and 18 digits before the point with
20 after. Anything beyond is a value problem at parse time, never an error later in SQL
or in a rationale."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.catalog import INTEGER_MAX, INTEGER_MIN, NUMBER_DIGITS, NUMBER_PLACES
from app.rules.language.errors import RulesetInvalid
from app.rules.language.validate import check_condition
from app.rules.language.values import ValueProblem, to_decimal, to_int


def problems(condition: Any) -> list[dict[str, Any]]:
    with pytest.raises(RulesetInvalid) as caught:
        check_condition(condition)
    return [{"loc": e["loc"], "type": e["type"]} for e in caught.value.to_list("en")]


@given(st.integers(min_value=-(2**80), max_value=2**80))
def test_an_integer_field_takes_exactly_the_bigint_range(value: int) -> None:
    if INTEGER_MIN <= value <= INTEGER_MAX:
        assert to_int(value) == value
        assert to_int(str(value)) == value
    else:
        with pytest.raises(ValueProblem) as caught:
            to_int(value)
        assert caught.value.type == "integer_range"


@given(
    st.booleans(),
    st.text("0123456789", min_size=1, max_size=25),
    st.text("0123456789", max_size=25),
)
def test_a_number_field_takes_18_digits_before_the_point_and_20_after(
    negative: bool, whole: str, fraction: str
) -> None:
    text = ("-" if negative else "") + whole + (f".{fraction}" if fraction else "")
    fits = len(whole.lstrip("0")) <= NUMBER_DIGITS and len(fraction.rstrip("0")) <= NUMBER_PLACES
    if fits:
        assert to_decimal(text) == Decimal(text)
    else:
        with pytest.raises(ValueProblem) as caught:
            to_decimal(text)
        assert caught.value.type in ("number_range", "number_places")


def test_the_ends_of_the_integer_range_are_values_and_one_beyond_is_not() -> None:
    assert to_int(INTEGER_MAX) == INTEGER_MAX
    assert to_int(INTEGER_MIN) == INTEGER_MIN
    for text in ("9223372036854775808", "-9223372036854775809", "9" * 5000):
        assert problems(f"employees >= {text}") == [{"loc": [], "type": "integer_range"}]


@pytest.mark.parametrize(
    ("condition", "loc", "type_"),
    [
        ({"field": "employees", "op": "gte", "value": 2**63}, ["value"], "integer_range"),
        ({"field": "employees", "op": "in", "value": [1, 2**70]}, ["value", 1], "integer_range"),
        ({"field": "employees", "op": "between", "value": [1, 2**63]}, ["value", 1],
         "integer_range"),
        ({"field": "order_amount_12m", "op": "gte", "value": 1e300}, ["value"], "number_range"),
        ({"field": "order_amount_12m", "op": "gte", "value": "1" + "0" * 18}, ["value"],
         "number_range"),
        ({"field": "order_amount_12m", "op": "gte", "value": 5e-324}, ["value"],
         "number_places"),
        ({"field": "order_amount_12m", "op": "eq", "value": "0." + "0" * 20000 + "1"},
         ["value"], "number_places"),
        ({"field": "order_amount_12m", "op": "gte", "value": float("inf")}, ["value"],
         "number_type"),
    ],
)  # fmt: skip
def test_values_beyond_the_field_type_are_refused_at_the_node(
    condition: dict[str, Any], loc: list[Any], type_: str
) -> None:
    assert problems(condition) == [{"loc": loc, "type": type_}]


def test_text_rules_refuse_huge_literals_instead_of_failing_to_read_them() -> None:
    # More digits than int() reads (4,300), and a 万 multiplier beyond the range.
    assert problems("order_amount_12m >= " + "9" * 5000) == [{"loc": [], "type": "number_range"}]
    assert problems("order_amount_12m >= 1" + "0" * 15 + "亿")[0]["type"] == "number_range"
    assert problems("last_order_date within last " + "9" * 5000 + " days")[0]["type"] == (
        "window_days"
    )


def test_trailing_zeros_beyond_20_places_are_dropped_not_refused() -> None:
    assert to_decimal("1." + "0" * 5000) == 1
    assert to_decimal("1." + "0" * 5000).as_tuple().exponent == -NUMBER_PLACES
    assert to_decimal(Decimal("99999999999999999.0000000000000000000000000")) == 10**17 - 1
