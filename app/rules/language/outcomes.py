"""What evaluating a ruleset records: per-condition outcomes and the reasons behind results.

Plain data shared by the evaluator, the why/why-not logic, borderline detection and the
rationale renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from app.rules.language.tree import Loc
from app.rules.language.values import TypedValue


@dataclass(frozen=True, slots=True)
class ConditionOutcome:
    """How one leaf fared: `index` is its number across the ruleset (SQL's `leaf_<index>`),
    `path` its place inside the rule's `when`; `passed` is the leaf's own result, before
    any enclosing `not`."""

    index: int
    rule_index: int
    path: Loc
    field: str
    op: str
    threshold: TypedValue
    actual: object
    passed: bool


@dataclass(frozen=True, slots=True)
class Reason:
    """A leaf that decided a rule's result.

    `negated` is true under an odd number of `not`s: then the condition that counts is
    the opposite of the leaf (`effective_op`). For a condition that failed, `gap` says how
    far the actual value is from the threshold and `direction` which way it would have to
    move ("raise": higher / more recent, "lower"); `gap_in_days` for date fields.
    """

    outcome: ConditionOutcome
    negated: bool
    gap: Decimal | int | None = None
    direction: Literal["raise", "lower"] | None = None
    gap_in_days: bool = False

    @property
    def effective_op(self) -> str:
        """The operator as it counts here (negated under `not`; may be `not_between` or
        `not_contains`, which exist only for display)."""
        return NEGATED_OPS[self.outcome.op] if self.negated else self.outcome.op

    @property
    def satisfied(self) -> bool:
        """Whether the condition as it counts here holds."""
        return self.outcome.passed != self.negated


NEGATED_OPS: dict[str, str] = {
    "eq": "ne",
    "ne": "eq",
    "gt": "lte",
    "lte": "gt",
    "gte": "lt",
    "lt": "gte",
    "in": "not_in",
    "not_in": "in",
    "is_null": "is_not_null",
    "is_not_null": "is_null",
    "within_last_days": "not_within_last_days",
    "not_within_last_days": "within_last_days",
    "between": "not_between",
    "not_between": "between",
    "contains": "not_contains",
    "not_contains": "contains",
}
