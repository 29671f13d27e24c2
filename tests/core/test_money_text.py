"""Money strings: accepted exactly when the spec's pattern says so (issue 15, item 1),
so Schemathesis's negative data and the validation never disagree."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.core.schemas import MONEY_TEXT, MoneyIn

MONEY = TypeAdapter(MoneyIn)
_ALPHABET = st.sampled_from(list("0123456789.-+eE ,\n万"))


@given(
    st.text(_ALPHABET, max_size=12) | st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,4})?", fullmatch=True)
)
def test_a_money_string_is_taken_exactly_when_it_matches_the_documented_pattern(
    text: str,
) -> None:
    try:
        taken = MONEY.validate_python(text)
    except ValidationError:
        taken = None
    assert (taken is not None) == bool(re.fullmatch(MONEY_TEXT, text)), text
    if taken is not None:
        assert taken == Decimal(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("-5.00", "greater_than_equal"),
        ("1.005", "decimal_max_places"),
        ("1e3", "decimal_parsing"),
        ("12.5万", "decimal_parsing"),
    ],
)
def test_a_refused_money_string_says_why(text: str, kind: str) -> None:
    with pytest.raises(ValidationError) as refused:
        MONEY.validate_python(text)
    assert refused.value.errors()[0]["type"] == kind
