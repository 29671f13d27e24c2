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
from decimal import Decimal
from functools import partial
from itertools import repeat
from operator import call
from typing import Final

from app.catalog import BUILTIN_CATALOG, FieldCatalog, FieldType
from app.rules.language.borderline import NearTest, near_test
from app.rules.language.deciding import (
    Plan,
    ReasonLeaf,
    make_reason,
    outcome_of,
    plan_for,
    reason_leaves,
)
from app.rules.language.outcomes import ConditionOutcome, Reason
from app.rules.language.quantiles import CutPoints, Scored, Scorer, Scoring, score_field
from app.rules.language.tree import All, Any, Condition, Leaf, Loc, Not, Rule, Ruleset, iter_leaves
from app.rules.language.values import TypedValue, actual, operand

LeafTest = Callable[[object, date], bool]

# Distinct patterns of leaf results remembered per evaluator. Real rulesets over real
# customers show a few dozen; the bound keeps a pathological ruleset from growing memory.
MAX_SHAPES: Final = 4096


@dataclass(frozen=True, slots=True)
class WhyNot:
    """Why a rule did not match: its first failing condition (None only if it has none)."""

    rule_index: int
    rule: Rule
    reason: Reason | None


@dataclass(frozen=True, slots=True)
class Shape:
    """Everything that follows from one pattern of leaf results alone, the same for every
    customer whose conditions come out that way: the rules that match, the categories,
    which leaves decided (with the `not`s above them) and which leaves can make the
    result borderline."""

    rule_matches: tuple[bool, ...]
    matched: tuple[int, ...]
    categories: tuple[str, ...]
    reasons: tuple[tuple[ReasonLeaf, ...], ...]
    why_not: tuple[tuple[int, ReasonLeaf | None], ...]
    near: tuple[tuple[int, NearTest], ...]


@dataclass(slots=True)
class Evaluation:
    """The result for one customer: each leaf's actual value and result, and the shape
    they make; the categories, the matched rules and the evidence follow from those."""

    evaluator: Evaluator
    as_of: date
    actuals: tuple[object, ...]
    results: tuple[bool, ...]
    shape: Shape
    borderline: bool

    @property
    def ruleset(self) -> Ruleset:
        return self.evaluator.ruleset

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories assigned (one under `first`)."""
        return self.shape.categories

    @property
    def matched(self) -> tuple[int, ...]:
        """Indexes of the matched rules (empty for the default category)."""
        return self.shape.matched

    @property
    def rule_matches(self) -> tuple[bool, ...]:
        """Whether each rule's condition holds."""
        return self.shape.rule_matches

    @property
    def category(self) -> str:
        """The (first) category assigned."""
        return self.shape.categories[0]

    @property
    def rule_index(self) -> int | None:
        """Index of the (first) matched rule, or None for the default category."""
        matched = self.shape.matched
        return matched[0] if matched else None

    @property
    def rule(self) -> Rule | None:
        """The (first) matched rule, or None for the default category."""
        index = self.rule_index
        return None if index is None else self.ruleset.rules[index]

    @property
    def conditions(self) -> tuple[ConditionOutcome, ...]:
        """Every leaf of every rule with its actual value and result."""
        return tuple(
            ConditionOutcome(
                p.index, p.rule_index, p.path, p.leaf.field, p.leaf.op, p.threshold, value, ok
            )
            for p, value, ok in zip(self.evaluator.leaves, self.actuals, self.results, strict=True)
        )

    @property
    def reasons(self) -> tuple[tuple[Reason, ...], ...]:
        """Per matched rule, the conditions that made it match."""
        outcomes = self.conditions
        return tuple(
            tuple(make_reason(outcomes[leaf], negated, self.as_of) for leaf, negated in leaves)
            for leaves in self.shape.reasons
        )

    @property
    def why_not(self) -> tuple[WhyNot, ...]:
        """Per rule that did not match (before the match under `first`), its first
        failing condition."""
        outcomes, rules = self.conditions, self.ruleset.rules
        return tuple(
            WhyNot(
                index,
                rules[index],
                None if first is None else make_reason(outcomes[first[0]], first[1], self.as_of),
            )
            for index, first in self.shape.why_not
        )


@dataclass(frozen=True, slots=True)
class PreparedLeaf:
    """A leaf with its threshold converted and its test built, numbered across the ruleset."""

    index: int
    rule_index: int
    path: Loc
    leaf: Leaf
    slot: int
    threshold: TypedValue
    test: LeafTest
    near: NearTest | None
    scoring: Scoring | None = None  # a score leaf's cut points (its actual is a Scored)


class Evaluator:
    """A validated ruleset prepared once (thresholds converted, tests built) and applied
    many times; the consequences of each pattern of leaf results are worked out once.

    Score leaves (ntile, rank_pct) need `cut_points` for their field and k (raises
    MissingCutPoints otherwise); a customer's score is its value's place among them."""

    def __init__(
        self,
        ruleset: Ruleset,
        catalog: FieldCatalog = BUILTIN_CATALOG,
        max_shapes: int = MAX_SHAPES,
        *,
        cut_points: CutPoints | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.catalog = catalog
        self.leaves: list[PreparedLeaf] = []
        self.plans: list[Plan] = []
        # Each field is read and converted once per customer, however many leaves use it:
        # a leaf's slot is its field's place in `keys` and `converters`.
        keys: list[str] = []
        converters: list[Callable[[object], object]] = []
        slots: dict[object, int] = {}  # field key, or the ScoreKey of a score
        margin = ruleset.borderline_margin
        for rule_index, rule in enumerate(ruleset.rules):
            paths = _leaf_paths(rule.when)
            first = len(self.leaves)
            for path, leaf in zip(paths, iter_leaves(rule.when), strict=True):
                definition = catalog.get(leaf.field)
                if definition is None:
                    raise ValueError(f"unknown field {leaf.field!r}; validate the ruleset first")
                scoring = None
                slot_name: object = leaf.field
                converter: Callable[[object], object] = partial(actual, definition.type)
                compared = definition
                if leaf.score is not None:
                    scoring = Scoring.of(definition, leaf.score, cut_points or {})
                    slot_name = scoring.key
                    converter = partial(_scored, definition.type, scoring.scorer())
                    compared = score_field(definition, leaf.score)
                if slot_name not in slots:
                    slots[slot_name] = len(keys)
                    keys.append(leaf.field)
                    converters.append(converter)
                threshold = operand(compared, leaf.op, leaf.value)
                self.leaves.append(
                    PreparedLeaf(
                        len(self.leaves),
                        rule_index,
                        path,
                        leaf,
                        slots[slot_name],
                        threshold,
                        _leaf_test(leaf.op, threshold),
                        None if scoring else near_test(leaf.op, threshold, margin),
                        scoring,
                    )
                )
            self.plans.append(plan_for(rule.when, first))
        self.keys = tuple(keys)
        self._converters = tuple(converters)
        self.slots = tuple(p.slot for p in self.leaves)
        self._tests = tuple(p.test for p in self.leaves)
        self.shapes: dict[tuple[bool, ...], Shape] = {}
        self._max_shapes = max_shapes
        # What renderers (the rationale's words per locale) keep for this ruleset.
        self.memo: dict[object, object] = {}

    def evaluate(self, values: Mapping[str, object], as_of: date) -> Evaluation:
        """Evaluate for one customer's `values` (field key → value; missing means null)."""
        # map() with operator.call keeps these loops in C: this runs per customer.
        converted = list(map(call, self._converters, map(values.get, self.keys)))
        actuals = tuple(map(converted.__getitem__, self.slots))
        results = tuple(map(call, self._tests, actuals, repeat(as_of)))
        shape = self.shapes.get(results)
        if shape is None:
            shape = self._shape(results)
            if len(self.shapes) < self._max_shapes:
                self.shapes[results] = shape
        borderline = False
        for leaf, near in shape.near:
            if near(actuals[leaf], as_of):
                borderline = True
                break
        return Evaluation(self, as_of, actuals, results, shape, borderline)

    def _shape(self, results: tuple[bool, ...]) -> Shape:
        rule_matches = tuple(outcome_of(plan, results) for plan in self.plans)
        matching = [i for i, ok in enumerate(rule_matches) if ok]
        ruleset = self.ruleset
        if ruleset.hit_policy == "first":
            matched = tuple(matching[:1])
            unmatched: list[int] | range = range(matched[0] if matched else len(rule_matches))
        else:
            matched = tuple(matching)
            unmatched = [i for i, ok in enumerate(rule_matches) if not ok]
        categories = tuple(ruleset.rules[i].category for i in matched) or (
            ruleset.default_category,
        )
        reasons = tuple(reason_leaves(self.plans[i], results, True) for i in matched)
        why_not = tuple(
            (i, _first(reason_leaves(self.plans[i], results, False))) for i in unmatched
        )
        deciding = [leaf for leaves in reasons for leaf, _ in leaves]
        deciding += [first[0] for _, first in why_not if first is not None]
        near = tuple(
            (leaf, test) for leaf in deciding if (test := self.leaves[leaf].near) is not None
        )
        return Shape(rule_matches, matched, categories, reasons, why_not, near)


def _scored(field_type: FieldType, scorer: Scorer, value: object) -> Scored | None:
    """A customer's value as its score (None without a value), carrying the value."""
    converted = actual(field_type, value)
    if converted is None:
        return None
    assert isinstance(converted, int | Decimal)  # scores are of numeric fields
    return Scored(scorer(converted), converted)


def _first(leaves: tuple[ReasonLeaf, ...]) -> ReasonLeaf | None:
    return leaves[0] if leaves else None


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


def _leaf_test(op: str, t: TypedValue) -> LeafTest:
    """A function (actual, as_of) → bool implementing `op` against threshold `t`.

    Every operator but is_null / is_not_null is false on a null value: each test below
    says so itself (one function call per leaf and customer matters here)."""
    if op == "is_null":
        return lambda a, _: a is None
    if op == "is_not_null":
        return lambda a, _: a is not None
    if op == "eq":
        return lambda a, _: a is not None and a == t
    if op == "ne":
        return lambda a, _: a is not None and a != t
    # `a` is the customer's value of the leaf's field and `t` a threshold of that field's
    # type (the rule was checked against the catalog when it was read), so these compare;
    # mypy sees `object` and a union, and a check per call would cost in this loop.
    if op == "gt":
        return lambda a, _: a is not None and a > t  # type: ignore[operator]
    if op == "gte":
        return lambda a, _: a is not None and a >= t  # type: ignore[operator]
    if op == "lt":
        return lambda a, _: a is not None and a < t  # type: ignore[operator]
    if op == "lte":
        return lambda a, _: a is not None and a <= t  # type: ignore[operator]
    if op == "between":
        assert isinstance(t, tuple)
        lo, hi = t
        return lambda a, _: a is not None and lo <= a <= hi  # type: ignore[operator]
    if op == "in":
        return lambda a, _: a is not None and a in t  # type: ignore[operator]
    if op == "not_in":
        return lambda a, _: a is not None and a not in t  # type: ignore[operator]
    if op == "contains":
        return lambda a, _: a is not None and t in a  # type: ignore[operator]
    if op == "within_last_days":
        return lambda a, as_of: a is not None and 0 <= (as_of - a).days < t  # type: ignore[operator]
    if op == "not_within_last_days":
        return lambda a, as_of: a is not None and not 0 <= (as_of - a).days < t  # type: ignore[operator]
    raise ValueError(f"unknown operator {op!r}")
