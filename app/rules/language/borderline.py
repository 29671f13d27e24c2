"""Borderline results: an actual value within `borderline_margin` of a deciding threshold.

Seed 002's 复核小组 reviews such customers by hand rather than trusting a threshold that
was only just met or missed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.rules.language.outcomes import ConditionOutcome


def is_borderline(outcome: ConditionOutcome, margin: Decimal, as_of: date) -> bool:
    """True when the actual value lies within `margin` (relative: 0.05 = 5 % of the
    threshold) of a threshold of this condition, on either side.

    Applies to numeric thresholds (gt, gte, lt, lte and both ends of between) and to the
    day count of `within_last_days` windows (a date's age in days against N). A threshold
    of 0 is borderline only when hit exactly.
    """
    value, op, threshold = outcome.actual, outcome.op, outcome.threshold
    if op in ("within_last_days", "not_within_last_days"):
        if not isinstance(value, date) or not isinstance(threshold, int):
            return False
        return _near((as_of - value).days, threshold, margin)
    if not _is_number(value):
        return False
    if op in ("gt", "gte", "lt", "lte"):
        thresholds: tuple[object, ...] = (threshold,)
    elif op == "between" and isinstance(threshold, tuple):
        thresholds = threshold
    else:
        return False
    return any(_is_number(t) and _near(value, t, margin) for t in thresholds)  # type: ignore[arg-type]


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _near(value: int | Decimal, threshold: int | Decimal, margin: Decimal) -> bool:
    return abs(value - threshold) <= margin * abs(threshold)
