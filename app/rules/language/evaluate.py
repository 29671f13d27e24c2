"""The Python back end: one customer's values through a ruleset, with every outcome.

Semantics (the SQL back end in `compile_sql.py` matches them exactly, and a differential
test holds the two together):

- a leaf on a null (missing) value is false, except `is_null` / `is_not_null`;
- `not` is plain negation of its child, so `not` over a null leaf is true (two-valued
  logic: there is no "unknown");
- `between` is inclusive; money and other numbers compare as Decimal, never float;
- `within_last_days N` on a date d is `as_of - N days < d <= as_of` (N = 0 is never true;
  a future date is never within); `not_within_last_days` is its negation on a non-null d;
- `contains` is substring on a string and element membership on a string list;
- hit policy `first` takes the first matching rule, else the default category;
  `collect` takes every matching rule, else the default.

Every leaf of every rule is evaluated (no short-circuit), so the per-condition outcomes
are complete and line up one to one with the SQL back end's leaf columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from app.fields.catalog import BUILTIN_CATALOG, FieldCatalog, FieldType
from app.rules.language.borderline import is_borderline
from app.rules.language.deciding import Plan, outcome_of, plan_for, reasons_for
from app.rules.language.outcomes import ConditionOutcome, Reason
from app.rules.language.tree import All, Any, Condition, Leaf, Loc, Not, Rule, Ruleset, iter_leaves
from app.rules.language.values import TypedValue, actual, operand

LeafTest = Callable[[object, date], bool]


@dataclass(frozen=True, slots=True)
class WhyNot:
    """Why a rule did not match: its first failing condition (None only if it has none)."""

    rule_index: int
    rule: Rule
    reason: Reason | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The result for one customer: categories, matched rules and the evidence."""

    ruleset: Ruleset
    as_of: date
    categories: tuple[str, ...]
    matched: tuple[int, ...]
    rule_matches: tuple[bool, ...]
    conditions: tuple[ConditionOutcome, ...]
    reasons: tuple[tuple[Reason, ...], ...]
    why_not: tuple[WhyNot, ...]
    borderline: bool

    @property
    def category(self) -> str:
        """The (first) category assigned."""
        return self.categories[0]

    @property
    def rule_index(self) -> int | None:
        """Index of the (first) matched rule, or None for the default category."""
        return self.matched[0] if self.matched else None

    @property
    def rule(self) -> Rule | None:
        """The (first) matched rule, or None for the default category."""
        index = self.rule_index
        return None if index is None else self.ruleset.rules[index]


@dataclass(frozen=True, slots=True)
class _PreparedLeaf:
    index: int
    rule_index: int
    path: Loc
    leaf: Leaf
    field_type: FieldType
    threshold: TypedValue
    test: LeafTest


class Evaluator:
    """A validated ruleset prepared once (thresholds converted) and applied many times."""

    def __init__(self, ruleset: Ruleset, catalog: FieldCatalog = BUILTIN_CATALOG) -> None:
        self.ruleset = ruleset
        self.leaves: list[_PreparedLeaf] = []
        self.plans: list[Plan] = []
        for rule_index, rule in enumerate(ruleset.rules):
            paths = _leaf_paths(rule.when)
            first = len(self.leaves)
            for path, leaf in zip(paths, iter_leaves(rule.when), strict=True):
                definition = catalog.get(leaf.field)
                if definition is None:
                    raise ValueError(f"unknown field {leaf.field!r}; validate the ruleset first")
                threshold = operand(definition, leaf.op, leaf.value)
                self.leaves.append(
                    _PreparedLeaf(
                        len(self.leaves), rule_index, path, leaf, definition.type, threshold,
                        _leaf_test(leaf.op, threshold),
                    )
                )  # fmt: skip
            self.plans.append(plan_for(rule.when, first))

    def evaluate(self, values: Mapping[str, object], as_of: date) -> Evaluation:
        """Evaluate for one customer's `values` (field key → value; missing means null)."""
        outcomes: list[ConditionOutcome] = []
        for p in self.leaves:
            value = actual(p.field_type, values.get(p.leaf.field))
            outcomes.append(
                ConditionOutcome(
                    p.index, p.rule_index, p.path, p.leaf.field, p.leaf.op, p.threshold, value,
                    p.test(value, as_of),
                )
            )  # fmt: skip
        results = [o.passed for o in outcomes]
        rule_matches = tuple(outcome_of(plan, results) for plan in self.plans)
        matching = [i for i, ok in enumerate(rule_matches) if ok]
        ruleset = self.ruleset
        if ruleset.hit_policy == "first":
            matched = tuple(matching[:1])
            unmatched = range(matched[0] if matched else len(rule_matches))
        else:
            matched = tuple(matching)
            unmatched = [i for i, ok in enumerate(rule_matches) if not ok]
        categories = tuple(ruleset.rules[i].category for i in matched) or (
            ruleset.default_category,
        )
        reasons = tuple(tuple(reasons_for(self.plans[i], outcomes, True, as_of)) for i in matched)
        why_not = tuple(self._why_not(i, outcomes, as_of) for i in unmatched)
        deciding = [r.outcome for rs in reasons for r in rs]
        deciding += [w.reason.outcome for w in why_not if w.reason is not None]
        borderline = any(is_borderline(o, ruleset.borderline_margin, as_of) for o in deciding)
        return Evaluation(
            ruleset, as_of, categories, matched, rule_matches, tuple(outcomes), reasons,
            why_not, borderline,
        )  # fmt: skip

    def _why_not(self, index: int, outcomes: list[ConditionOutcome], as_of: date) -> WhyNot:
        failing = reasons_for(self.plans[index], outcomes, False, as_of)
        return WhyNot(index, self.ruleset.rules[index], failing[0] if failing else None)


def evaluate(
    ruleset: Ruleset,
    values: Mapping[str, object],
    as_of: date,
    catalog: FieldCatalog = BUILTIN_CATALOG,
) -> Evaluation:
    """Evaluate a validated ruleset for one customer (prepare an Evaluator to reuse it)."""
    return Evaluator(ruleset, catalog).evaluate(values, as_of)


def _leaf_paths(node: Condition, path: Loc = ()) -> list[Loc]:
    """Paths of the leaves under `node` relative to it, in `iter_leaves` order."""
    if isinstance(node, Not):
        return _leaf_paths(node.item, (*path, "not"))
    if isinstance(node, All | Any):
        key = "all" if isinstance(node, All) else "any"
        return [p for i, item in enumerate(node.items) for p in _leaf_paths(item, (*path, key, i))]
    return [path]


def _leaf_test(op: str, threshold: TypedValue) -> LeafTest:
    """A function (actual, as_of) → bool implementing `op` against `threshold`."""
    if op == "is_null":
        return lambda a, _: a is None
    if op == "is_not_null":
        return lambda a, _: a is not None
    compare = _comparison(op, threshold)
    # The null rule lives here, once: every other operator is false on a null value.
    return lambda a, as_of: a is not None and compare(a, as_of)


def _comparison(op: str, t: TypedValue) -> LeafTest:
    if op == "eq":
        return lambda a, _: a == t
    if op == "ne":
        return lambda a, _: a != t
    if op == "gt":
        return lambda a, _: a > t  # type: ignore[operator]
    if op == "gte":
        return lambda a, _: a >= t  # type: ignore[operator]
    if op == "lt":
        return lambda a, _: a < t  # type: ignore[operator]
    if op == "lte":
        return lambda a, _: a <= t  # type: ignore[operator]
    if op == "between":
        lo, hi = t  # type: ignore[misc]
        return lambda a, _: lo <= a <= hi  # type: ignore[operator]
    if op == "in":
        return lambda a, _: a in t  # type: ignore[operator]
    if op == "not_in":
        return lambda a, _: a not in t  # type: ignore[operator]
    if op == "contains":
        return lambda a, _: t in a  # type: ignore[operator]
    if op == "within_last_days":
        return lambda a, as_of: 0 <= (as_of - a).days < t  # type: ignore[operator]
    if op == "not_within_last_days":
        return lambda a, as_of: not 0 <= (as_of - a).days < t  # type: ignore[operator]
    raise ValueError(f"unknown operator {op!r}")
