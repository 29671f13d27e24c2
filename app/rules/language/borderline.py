"""Borderline results: an actual value within `borderline_margin` of a deciding threshold.

Seed 002's 复核小组 reviews such customers by hand rather than trusting a threshold that
was only just met or missed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeGuard

from app.rules.language.values import TypedValue

NearTest = Callable[[object, date], bool]


def near_test(op: str, threshold: TypedValue, margin: Decimal) -> NearTest | None:
    """A test (actual, as_of) → True when the actual value lies within `margin` (relative:
    0.05 = 5 % of the threshold) of a threshold of the condition `op threshold`, on either
    side; None for conditions that have no threshold to be near.

    Applies to numeric thresholds (gt, gte, lt, lte and both ends of between) and to the
    day count of `within_last_days` windows (a date's age in days against N). A threshold
    of 0 is borderline only when hit exactly.
    """
    if op in ("within_last_days", "not_within_last_days"):
        if not isinstance(threshold, int):
            return None
        days = _band(threshold, margin)
        return lambda value, as_of: isinstance(value, date) and days((as_of - value).days)
    if op in ("gt", "gte", "lt", "lte"):
        thresholds: tuple[object, ...] = (threshold,)
    elif op == "between" and isinstance(threshold, tuple):
        thresholds = threshold
    else:
        return None
    bands = [_band(t, margin) for t in thresholds if _is_number(t)]
    if not bands:
        return None
    if len(bands) == 1:
        (near,) = bands
        return lambda value, _: _is_number(value) and near(value)
    low, high = bands
    return lambda value, _: _is_number(value) and (low(value) or high(value))


def _is_number(value: object) -> TypeGuard[int | Decimal]:
    kind = type(value)
    if kind is Decimal or kind is int:
        return True
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _band(threshold: int | Decimal, margin: Decimal) -> Callable[[int | Decimal], bool]:
    # abs() of an int | Decimal is one of them, but mypy joins the two to `object`.
    width = margin * abs(threshold)  # type: ignore[operator]
    return lambda value: abs(value - threshold) <= width  # type: ignore[operator]
