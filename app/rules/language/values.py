"""Converting rule values and customer values to the Python types of their field.

Shared by validation (which reports what does not convert) and both back ends (which
convert validated values), so "what a threshold means" is decided in one place. Money
and other numbers become `Decimal`, never float.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Final

from app.catalog import (
    INTEGER_MAX,
    INTEGER_MIN,
    NUMBER_DIGITS,
    NUMBER_PLACES,
    FieldDef,
    FieldType,
)
from app.core.i18n import Text
from app.rules.language.tree import Loc, Value

# Plain decimal notation only: "1e9" or "0x10" in a money field is more likely a mistake
# than an intention.
_NUMBER_TEXT: Final = re.compile(r"-?\d+(\.\d+)?")
_DATE_TEXT: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# within_last_days larger than this is surely a typo, and keeps date arithmetic in range.
MAX_WINDOW_DAYS: Final = 36_600
_SMALLEST_PLACE: Final = Decimal(1).scaleb(-NUMBER_PLACES)
_EXACT: Final = Context(prec=NUMBER_DIGITS + NUMBER_PLACES)

Operand = Decimal | int | date | str | bool | None
TypedValue = Operand | tuple[Operand, ...]


class ValueProblem(ValueError):
    """A value that does not fit; `sub_loc` is its path below the leaf's `value`."""

    def __init__(self, type_: str, text: Text, sub_loc: Loc = ()) -> None:
        super().__init__(text.en)
        self.type = type_
        self.text = text
        self.sub_loc = sub_loc


def to_decimal(value: object) -> Decimal:
    """A number (int, Decimal, finite float, or a decimal string) as an exact Decimal,
    within what a number field holds (NUMBER_DIGITS before the point, NUMBER_PLACES after)."""
    number = _exact(value)
    if number.adjusted() >= NUMBER_DIGITS:
        raise ValueProblem(
            "number_range",
            Text(
                f"数值过大:整数部分最多 {NUMBER_DIGITS} 位",
                f"too large: at most {NUMBER_DIGITS} digits before the decimal point",
            ),
        )
    if _decimal_places(number) > NUMBER_PLACES:
        raise ValueProblem(
            "number_places",
            Text(f"小数最多 {NUMBER_PLACES} 位", f"at most {NUMBER_PLACES} decimal places"),
        )
    if number.as_tuple().exponent < -NUMBER_PLACES:  # type: ignore[operator]  # finite
        # Only trailing zeros lie beyond: drop them, so SQL never sees a vast scale.
        return number.quantize(_SMALLEST_PLACE, context=_EXACT)
    return number


def to_int(value: object) -> int:
    """A whole number (also 10.0 or "10") as int, within bigint."""
    if type(value) is int:
        whole = value
    else:
        try:
            number = _exact(value)
        except ValueProblem:
            raise ValueProblem("int_type", Text("应为整数", "must be a whole number")) from None
        if number != number.to_integral_value():
            raise ValueProblem("int_type", Text("应为整数", "must be a whole number"))
        # Digits first: int() of a Decimal of 100,000 digits would be slow for nothing.
        whole = int(number) if number.adjusted() < 20 else INTEGER_MAX + 1
    if not INTEGER_MIN <= whole <= INTEGER_MAX:
        raise ValueProblem(
            "integer_range",
            Text(
                f"超出整数范围({INTEGER_MIN} 到 {INTEGER_MAX})",
                f"out of range for an integer ({INTEGER_MIN} to {INTEGER_MAX})",
            ),
        )
    return whole


def _decimal_places(number: Decimal) -> int:
    """Digits after the point that are not trailing zeros (exact, unlike normalize(),
    which rounds to the context's precision)."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    zeros = len(digits) - len(bytes(digits).rstrip(b"\x00"))
    return max(0, -(exponent + zeros)) if any(digits) else 0


def _exact(value: object) -> Decimal:
    """Any finite number as an exact Decimal, however large."""
    if isinstance(value, bool):
        raise _expected_number()
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _expected_number()
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _expected_number()
        # repr is the shortest string that round-trips, i.e. what the JSON said.
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
            raise _expected_number() from None
    raise _expected_number()


def to_date(value: object) -> date:
    """A date or a `YYYY-MM-DD` string as a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueProblem("date_type", Text("应为日期(YYYY-MM-DD)", "must be a date (YYYY-MM-DD)"))


def _expected_number() -> ValueProblem:
    return ValueProblem("number_type", Text("应为数值", "must be a number"))


def scalar(field: FieldDef, value: object) -> Operand:
    """One rule value converted for comparison with `field` (for string_list: an element)."""
    kind: FieldType = field.type
    if kind == "number":
        return to_decimal(value)
    if kind == "integer":
        return to_int(value)
    if kind == "date":
        return to_date(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueProblem("bool_type", Text("应为 true 或 false", "must be true or false"))
    if not isinstance(value, str):
        raise ValueProblem("string_type", Text("应为文本", "must be a string"))
    if kind == "enum" and field.enum_values is not None and value not in field.enum_values:
        allowed = ", ".join(field.enum_values)
        raise ValueProblem(
            "enum_value",
            Text(f"应为以下之一:{allowed}", f"must be one of: {allowed}"),
        )
    return value


def operand(field: FieldDef, op: str, value: Value) -> TypedValue:
    """The value of a leaf `field op value`, converted; raises ValueProblem if it does not fit."""
    if op in ("is_null", "is_not_null"):
        if value is not None:
            raise ValueProblem("value_not_allowed", Text("此运算符不需要取值", "takes no value"))
        return None
    if op in ("within_last_days", "not_within_last_days"):
        return _window_days(value)
    if op == "between":
        return _between(field, value)
    if op in ("in", "not_in"):
        if not isinstance(value, tuple) or not value:
            raise ValueProblem("list_type", Text("应为非空列表", "must be a non-empty list"))
        return tuple(_scalar_at(field, item, (i,)) for i, item in enumerate(value))
    if value is None or isinstance(value, tuple):
        raise _single_value_expected(field)
    return scalar(field, value)


def _scalar_at(field: FieldDef, value: Value, sub_loc: Loc) -> Operand:
    if value is None or isinstance(value, tuple):
        problem = _single_value_expected(field)
    else:
        try:
            return scalar(field, value)
        except ValueProblem as exc:
            problem = exc
    raise ValueProblem(problem.type, problem.text, sub_loc + problem.sub_loc)


def _single_value_expected(field: FieldDef) -> ValueProblem:
    try:
        # Reuse the type's own message ("must be a number"...) for a missing value.
        scalar(field, object())
    except ValueProblem as exc:
        return exc
    raise AssertionError("unreachable")  # pragma: no cover


def _window_days(value: Value) -> int:
    problem = ValueProblem(
        "window_days",
        Text(
            f"应为 0 到 {MAX_WINDOW_DAYS} 之间的整数天数",
            f"must be a whole number of days from 0 to {MAX_WINDOW_DAYS}",
        ),
    )
    if isinstance(value, tuple) or value is None:
        raise problem
    try:
        days = to_int(value)
    except ValueProblem:
        raise problem from None
    if not 0 <= days <= MAX_WINDOW_DAYS:
        raise problem
    return days


def _between(field: FieldDef, value: Value) -> tuple[Operand, Operand]:
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueProblem("between_shape", Text("应为 [下限, 上限] 两个值", "must be [low, high]"))
    lo = _scalar_at(field, value[0], (0,))
    hi = _scalar_at(field, value[1], (1,))
    if lo > hi:  # type: ignore[operator]  # both ordered values of one field type
        raise ValueProblem(
            "between_order", Text("下限不能大于上限", "low must not exceed high"), (1,)
        )
    return lo, hi


def actual(field_type: FieldType, value: object) -> Operand | tuple[str, ...]:
    """A customer's value as the evaluator compares it (floats to Decimal, datetimes to
    dates, ISO strings to dates, sequences to tuples); None stays None."""
    if value is None:
        return None
    if field_type == "number":
        return value if isinstance(value, int | Decimal) else to_decimal(value)
    if field_type == "integer":
        return value if type(value) is int else to_int(value)
    if field_type == "date":
        return value if type(value) is date else to_date(value)
    if field_type == "string_list":
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ValueProblem("list_type", Text("应为文本列表", "must be a list of strings"))
        return tuple(value)
    return value  # type: ignore[return-value]  # strings, enums and booleans as given
