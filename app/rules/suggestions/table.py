"""The samples as arrays, and candidate threshold sets scored over them at once.

A `SampleTable` holds what never changes during a search: each sample's expected
category, every leaf's result under the version as it stands (from the evaluator, once
per sample), and for each tunable threshold the rank of each sample's value among the
distinct values of its field. A `Problem` is the table restricted to some samples (a
cross-validation fold) with the candidate values of each threshold; it scores many
candidate sets at once with numpy: a tuned leaf's result is a comparison of ranks with
the candidate's cut, rules combine leaf arrays as their conditions say, and the first
matching rule (or every one, under `collect`) gives each sample's category. Neither the
rule parser nor the evaluator runs per candidate.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from app.catalog import FieldCatalog
from app.rules.language.deciding import Plan
from app.rules.language.evaluate import Evaluator
from app.rules.language.values import actual
from app.rules.suggestions.thresholds import Number, Threshold, cut_points, roundness

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

MAX_CANDIDATES: Final = 1000
"""Candidate values per threshold at most (spread over the samples' order beyond that)."""
BATCH_CELLS: Final = 1 << 21
"""Candidate sets × samples scored in one batch at most (bounds memory: a few MB)."""


@dataclass(frozen=True)
class TunedValues:
    """One threshold's field over the samples: its distinct values, sorted, and each
    sample's rank among them (-1 where the sample has no value)."""

    values: list[Number]
    ranks: Ints


@dataclass(frozen=True)
class SampleTable:
    """Everything a search reads about the samples, computed once."""

    classes: tuple[str, ...]  # every category a sample may expect or get
    expected: Ints  # per sample, its index in `classes`
    rule_classes: Ints  # per rule, its category's index
    default_class: int
    collect: bool  # hit policy `collect` (every matching rule) rather than `first`
    plans: tuple[Plan, ...]
    leaf_results: Bools  # leaf × sample, under the thresholds as they stand
    thresholds: tuple[Threshold, ...]
    tuned: tuple[TunedValues, ...]  # per threshold

    @property
    def size(self) -> int:
        return len(self.expected)


def sample_table(
    evaluator: Evaluator,
    catalog: FieldCatalog,
    thresholds: Sequence[Threshold],
    values: Sequence[Mapping[str, object]],
    expected: Sequence[str],
    classes: Sequence[str],
    as_of: date,
) -> SampleTable:
    """The table of some samples (each one's field values and expected category, one of
    `classes`), evaluated once under the evaluator's ruleset as it stands."""
    ruleset = evaluator.ruleset
    results = np.array(
        [evaluator.evaluate(row, as_of).results for row in values], dtype=np.bool_
    ).reshape(len(values), len(evaluator.leaves))
    index = {code: i for i, code in enumerate(classes)}
    tuned: dict[str, TunedValues] = {}
    for threshold in thresholds:
        if threshold.field not in tuned:
            field = catalog.get(threshold.field)
            assert field is not None
            typed = [_number(actual(field.type, row.get(threshold.field))) for row in values]
            distinct = sorted({v for v in typed if v is not None})
            rank = {v: i for i, v in enumerate(distinct)}
            ranks = np.array([-1 if v is None else rank[v] for v in typed], dtype=np.int64)
            tuned[threshold.field] = TunedValues(distinct, ranks)
    return SampleTable(
        classes=tuple(classes),
        expected=np.array([index[code] for code in expected], dtype=np.int64),
        rule_classes=np.array([index[rule.category] for rule in ruleset.rules], dtype=np.int64),
        default_class=index[ruleset.default_category],
        collect=ruleset.hit_policy == "collect",
        plans=tuple(evaluator.plans),
        leaf_results=np.ascontiguousarray(results.T),
        thresholds=tuple(thresholds),
        tuned=tuple(tuned[t.field] for t in thresholds),
    )


def _number(value: object) -> Number | None:
    assert value is None or isinstance(value, int | Decimal)  # a number or integer field
    return value


@dataclass(frozen=True)
class Scores:
    """How candidate sets fare, one row each: samples right, and per class the samples
    rightly put there, put there at all, and expected there."""

    correct: Ints  # (B,)
    true_positive: Ints  # (B, K)
    predicted: Ints  # (B, K)
    support: Ints  # (K,)
    samples: int

    def accuracy(self) -> Floats:
        return self.correct / max(self.samples, 1)

    def macro_f1(self) -> Floats:
        """The mean F1 over the classes the samples expect (2·TP / (predicted + expected))."""
        assert self.true_positive.shape[1] == len(self.support), "scored without per_class"
        present = self.support > 0
        if not present.any():
            return np.zeros(len(self.correct))
        denominator = self.predicted[:, present] + self.support[present]
        f1 = 2 * self.true_positive[:, present] / np.maximum(denominator, 1)
        return np.asarray(f1.mean(axis=1), dtype=np.float64)

    def of(self, objective: str) -> Floats:
        """The objective's value per row."""
        return self.macro_f1() if objective == "macro_f1" else self.accuracy()


class Problem:
    """The table over some samples, with each threshold's candidate values; scores
    candidate sets given as rows of candidate indices, one column per threshold."""

    def __init__(
        self,
        table: SampleTable,
        samples: Ints,
        candidates: Sequence[Sequence[Number]] | None = None,
    ) -> None:
        self.table = table
        self.samples = samples
        self.size = len(samples)
        self.expected = table.expected[samples]
        self.leaf_results = table.leaf_results[:, samples]
        self.classes = len(table.classes)
        self.support = np.bincount(self.expected, minlength=self.classes).astype(np.int64)
        self.class_type = np.dtype(np.int8 if self.classes < 127 else np.int16)
        self.expected_small = self.expected.astype(self.class_type)
        self.expects = [self.expected == c for c in range(self.classes)]
        if candidates is None:
            candidates = [
                cut_points(_present(tuned, samples), threshold, MAX_CANDIDATES)
                for threshold, tuned in zip(table.thresholds, table.tuned, strict=True)
            ]
        self.candidates = [list(c) for c in candidates]
        self.roundness = [
            np.array([roundness(v, t.step) for v in c], dtype=np.int64)
            for c, t in zip(self.candidates, table.thresholds, strict=True)
        ]
        self.start = np.array(
            [
                c.index(t.value) if t.value in c else 0
                for c, t in zip(self.candidates, table.thresholds, strict=True)
            ],
            dtype=np.int64,
        )
        # Per threshold, candidate × sample: whether the threshold's part of its leaf holds.
        self.passes = [
            _passes(threshold, tuned, samples, values)
            for threshold, tuned, values in zip(
                table.thresholds, table.tuned, self.candidates, strict=True
            )
        ]
        self.by_leaf: dict[int, list[int]] = {}
        for slot, threshold in enumerate(table.thresholds):
            self.by_leaf.setdefault(threshold.leaf, []).append(slot)
        self.rules_of_slot = [
            {i for i, plan in enumerate(table.plans) if threshold.leaf in _plan_leaves(plan)}
            for threshold in table.thresholds
        ]
        self.pairs = _between_pairs(table.thresholds, self.candidates)
        self.cells = 0  # candidate sets × samples scored so far

    def score(self, rows: Ints, varying: Sequence[int], per_class: bool = True) -> Scores:
        """Scores of candidate sets (rows × thresholds of candidate indices) that differ
        only in the thresholds `varying`; a row whose between has low > high scores as
        no sample right. Without `per_class` only the samples right are counted (enough
        for accuracy; the per-class counts are then empty)."""
        parts = [
            self._score(rows[start : start + self._batch()], varying, per_class)
            for start in range(0, len(rows), self._batch())
        ]
        return Scores(
            correct=np.concatenate([p.correct for p in parts]),
            true_positive=np.concatenate([p.true_positive for p in parts]),
            predicted=np.concatenate([p.predicted for p in parts]),
            support=self.support,
            samples=self.size,
        )

    def _batch(self) -> int:
        return max(1, BATCH_CELLS // max(self.size, 1))

    def _score(self, rows: Ints, varying: Sequence[int], per_class: bool) -> Scores:
        self.cells += len(rows) * self.size
        moving = set(varying)
        leaves: dict[int, Bools] = {}
        for leaf, slots in self.by_leaf.items():
            result: Bools | None = None
            for slot in slots:
                chosen = rows[:, slot] if slot in moving else rows[0, slot]
                part = self.passes[slot][chosen]
                result = part if result is None else result & part
            assert result is not None
            leaves[leaf] = result
        moved_rules = set().union(*(self.rules_of_slot[s] for s in moving)) if moving else set()
        matches = [
            _combine(plan, self.leaf_results, leaves) for i, plan in enumerate(self.table.plans)
        ]
        if self.table.collect:
            scores = self._collect(matches, len(rows))
        else:
            scores = self._first(matches, moved_rules, len(rows), per_class)
        invalid = self._invalid(rows)
        if invalid.any():
            scores.correct[invalid] = 0
            scores.true_positive[invalid] = 0
        return scores

    def _first(self, matches: list[Bools], moved: set[int], batch: int, per_class: bool) -> Scores:
        """The first matching rule's category per sample (as small integers: the arrays
        are candidate sets × samples), counted per row. Rules before the first moving
        rule are folded into one step."""
        table, kind = self.table, self.class_type
        rule_classes = table.rule_classes.astype(kind)
        fold_until = min(moved) if moved else len(matches)
        # `where(match, c, p)` as `p + match·(c − p)`: numpy's masked selections branch
        # per element and run ten times slower than this arithmetic.
        predicted = np.full(self.size, table.default_class, kind)
        for i in range(len(matches) - 1, fold_until - 1, -1):
            predicted = _select(matches[i], rule_classes[i], predicted)
        if fold_until:
            before = np.full(self.size, -1, kind)
            for i in range(fold_until - 1, -1, -1):
                before = _select(matches[i], rule_classes[i], before)
            predicted = _select(before >= 0, before, predicted)
        predicted = np.broadcast_to(predicted, (batch, self.size))
        true_positive = np.zeros((batch, self.classes if per_class else 0), np.int64)
        counted = np.zeros((batch, self.classes if per_class else 0), np.int64)
        if per_class:
            for c in range(self.classes):
                put = predicted == c
                counted[:, c] = np.count_nonzero(put, axis=1)
                true_positive[:, c] = np.count_nonzero(put & self.expects[c], axis=1)
            correct = true_positive.sum(axis=1)
        else:
            correct = np.count_nonzero(predicted == self.expected_small, axis=1).astype(np.int64)
        return Scores(correct, true_positive, counted, self.support, self.size)

    def _collect(self, matches: list[Bools], batch: int) -> Scores:
        """Every matching rule's category (the default when none), per class."""
        table = self.table
        shape = (batch, self.size)
        none = np.ones(shape, np.bool_)
        members: dict[int, Bools] = {}
        for i, match in enumerate(matches):
            none = none & ~match
            c = int(table.rule_classes[i])
            members[c] = (members[c] | match) if c in members else np.broadcast_to(match, shape)
        d = table.default_class
        members[d] = (members[d] | none) if d in members else none
        correct = np.zeros(shape, np.bool_)
        true_positive = np.zeros((batch, self.classes), np.int64)
        predicted = np.zeros((batch, self.classes), np.int64)
        for c, member in members.items():
            hits = member & (self.expected == c)
            correct |= hits
            true_positive[:, c] = hits.sum(axis=1)
            predicted[:, c] = np.broadcast_to(member, shape).sum(axis=1)
        return Scores(correct.sum(axis=1), true_positive, predicted, self.support, self.size)

    def _invalid(self, rows: Ints) -> Bools:
        invalid = np.zeros(len(rows), np.bool_)
        for low, high, allowed in self.pairs:
            invalid |= ~allowed[rows[:, low], rows[:, high]]
        return invalid

    def values(self, row: Ints) -> list[Number]:
        """The threshold values of one row."""
        return [self.candidates[s][int(i)] for s, i in enumerate(row)]


def _select(condition: Bools, chosen: Any, otherwise: Any) -> Any:
    """`np.where(condition, chosen, otherwise)` for small integers, by arithmetic."""
    return otherwise + condition.view(np.int8).astype(otherwise.dtype, copy=False) * (
        chosen - otherwise
    )


def _present(tuned: TunedValues, samples: Ints) -> list[Number]:
    """The distinct values of a field among some samples, sorted."""
    ranks = np.unique(tuned.ranks[samples])
    return [tuned.values[int(r)] for r in ranks if r >= 0]


def _passes(
    threshold: Threshold, tuned: TunedValues, samples: Ints, candidates: Sequence[Number]
) -> Bools:
    """Candidate × sample: whether the sample's value passes the threshold's comparison.

    Exact, by ranks: `x ≥ t` is rank ≥ bisect_left(values, t), `x > t` is rank ≥
    bisect_right, `x < t` is rank < bisect_left and `x ≤ t` rank < bisect_right; a
    sample without a value passes nothing."""
    ranks = tuned.ranks[samples]
    search = bisect.bisect_left if threshold.right_closed else bisect.bisect_right
    cuts = np.array([search(tuned.values, t) for t in candidates], dtype=np.int64)[:, None]
    if threshold.lower:
        return np.asarray(ranks[None, :] >= cuts)
    return np.asarray((ranks[None, :] < cuts) & (ranks[None, :] >= 0))


def _plan_leaves(plan: Plan) -> set[int]:
    if plan.kind == "leaf":
        return {plan.leaf}
    return set().union(*(_plan_leaves(item) for item in plan.items))


def _combine(plan: Plan, fixed: Bools, tuned: Mapping[int, Bools]) -> Bools:
    """A rule's condition over arrays: a sample vector, or candidate × sample where a
    tuned leaf moves."""
    if plan.kind == "leaf":
        return tuned[plan.leaf] if plan.leaf in tuned else fixed[plan.leaf]
    if plan.kind == "not":
        return ~_combine(plan.items[0], fixed, tuned)
    items = [_combine(item, fixed, tuned) for item in plan.items]
    if not items:
        return np.full(fixed.shape[1], plan.kind == "all", np.bool_)
    combined = items[0]
    for item in items[1:]:
        combined = (combined & item) if plan.kind == "all" else (combined | item)
    return combined


def _between_pairs(
    thresholds: Sequence[Threshold], candidates: Sequence[Sequence[Number]]
) -> list[tuple[int, int, Bools]]:
    """For each between, its low and high thresholds and which candidate pairs keep
    low ≤ high."""
    pairs = []
    lows = {t.leaf: s for s, t in enumerate(thresholds) if t.bound == "low"}
    for high, threshold in enumerate(thresholds):
        if threshold.bound == "high" and threshold.leaf in lows:
            low = lows[threshold.leaf]
            allowed = np.array(
                [[a <= b for b in candidates[high]] for a in candidates[low]], dtype=np.bool_
            )
            pairs.append((low, high, allowed))
    return pairs
