"""Which conditions decided a result, and by how much a failing one missed.

A rule's condition is flattened into a `Plan` over leaf numbers so that results are
computed from the per-leaf results alone. `reason_leaves` walks the plan to name the
leaves that make a node true (for the rationale) or false (for why-not):
every item of a true `all`, the first true item of an `any`, the first false item of a
false `all`, every item of a false `any`; `not` flips what is wanted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from app.rules.language.outcomes import ConditionOutcome, Reason
from app.rules.language.tree import All, Any, Condition, Not, children

PlanKind = Literal["leaf", "all", "any", "not"]
# A leaf behind a result: its number and whether an odd number of `not`s is above it.
ReasonLeaf = tuple[int, bool]


@dataclass(frozen=True, slots=True)
class Plan:
    """A condition over leaf numbers."""

    kind: PlanKind
    leaf: int = -1
    items: tuple[Plan, ...] = ()


def plan_for(node: Condition, first_leaf: int) -> Plan:
    """The plan of `node` whose leaves are numbered from `first_leaf` in document order."""
    counter = [first_leaf]

    def build(current: Condition) -> Plan:
        if isinstance(current, Not):
            return Plan("not", items=(build(current.item),))
        if isinstance(current, All | Any):
            kind: PlanKind = "all" if isinstance(current, All) else "any"
            return Plan(kind, items=tuple(build(item) for item in children(current)))
        counter[0] += 1
        return Plan("leaf", leaf=counter[0] - 1)

    return build(node)


def outcome_of(plan: Plan, results: Sequence[bool]) -> bool:
    """The value of `plan` given every leaf's result."""
    kind = plan.kind
    if kind == "leaf":
        return results[plan.leaf]
    if kind == "not":
        return not outcome_of(plan.items[0], results)
    if kind == "all":
        return all(outcome_of(item, results) for item in plan.items)
    return any(outcome_of(item, results) for item in plan.items)


def reason_leaves(plan: Plan, results: Sequence[bool], want: bool) -> tuple[ReasonLeaf, ...]:
    """The leaves that make `plan` evaluate to `want` (which it must), in document order,
    each with whether it sits under an odd number of `not`s."""
    found: list[ReasonLeaf] = []

    def walk(node: Plan, wanted: bool, negated: bool) -> None:
        if node.kind == "leaf":
            found.append((node.leaf, negated))
        elif node.kind == "not":
            walk(node.items[0], not wanted, not negated)
        elif (node.kind == "all") == wanted:
            # A true `all` or a false `any`: every item counts.
            for item in node.items:
                walk(item, wanted, negated)
        else:
            # A false `all` or a true `any`: the first item with the wanted value decides.
            for item in node.items:
                if outcome_of(item, results) == wanted:
                    walk(item, wanted, negated)
                    break

    walk(plan, want, False)
    return tuple(found)


def make_reason(outcome: ConditionOutcome, negated: bool, as_of: date) -> Reason:
    """The reason that `outcome` (negated or not) gives, with the gap if it is unmet."""
    reason = Reason(outcome, negated)
    if reason.satisfied or outcome.actual is None:
        return reason
    found = gap(reason.effective_op, outcome.threshold, outcome.actual, as_of)
    if found is None:
        return reason
    amount, direction = found
    return Reason(outcome, negated, amount, direction, isinstance(outcome.actual, date))


Direction = Literal["raise", "lower"]
GapFunction = Callable[[object, date], tuple[Decimal | int, Direction] | None]


def gap(
    op: str, threshold: object, actual: object, as_of: date
) -> tuple[Decimal | int, Direction] | None:
    """How far `actual` is from meeting `op threshold`, in the field's unit (days for dates)."""
    return gap_function(op, threshold)(actual, as_of)


def gap_function(op: str, threshold: object) -> GapFunction:
    """`gap` for one condition, its operator and threshold looked at once."""
    window = threshold if isinstance(threshold, int) else None  # a day count
    if op in ("within_last_days", "not_within_last_days"):
        within = op == "within_last_days"

        def days(actual: object, as_of: date) -> tuple[Decimal | int, Direction] | None:
            if window is None or not isinstance(actual, date):
                return None
            age = (as_of - actual).days
            if within and age >= window:
                return age - window + 1, "raise"
            if not within and 0 <= age < window:
                return window - age, "lower"
            return None

        return days
    low = high = None
    if op in ("gt", "gte"):
        low = threshold
    elif op in ("lt", "lte"):
        high = threshold
    elif op == "between" and isinstance(threshold, tuple):
        low, high = threshold
    strict_low, strict_high = op == "gt", op == "lt"

    def distance(actual: object, as_of: date) -> tuple[Decimal | int, Direction] | None:
        if window is not None and isinstance(actual, date):
            return None  # a day count is no threshold for a date
        if low is not None and _below(actual, low):
            return _distance(low, actual), "raise"
        if high is not None and _below(high, actual):
            return _distance(actual, high), "lower"
        if strict_low and _comparable(actual, low) and actual == low:
            return _distance(actual, low), "raise"  # missed exactly at the threshold
        if strict_high and _comparable(actual, high) and actual == high:
            return _distance(actual, high), "lower"
        return None

    return distance


_NUMBERS = (int, Decimal)


def _comparable(a: object, b: object) -> bool:
    if type(a) in _NUMBERS and type(b) in _NUMBERS:
        return True  # the common case, said fast (bool's type is not int)
    numeric = _NUMBERS
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return (isinstance(a, numeric) and isinstance(b, numeric)) or (
        isinstance(a, date) and isinstance(b, date)
    )


# Below, `_comparable` has said that both values are numbers (int or Decimal, bool
# excluded) or both dates; written as isinstance checks, mypy would know it too, at the
# cost of repeating them on the path every why-not takes.


def _below(a: object, b: object) -> bool:
    return _comparable(a, b) and a < b  # type: ignore[operator]


def _distance(high: object, low: object) -> Decimal | int:
    if isinstance(high, date) and isinstance(low, date):
        return (high - low).days
    return high - low  # type: ignore[operator]
