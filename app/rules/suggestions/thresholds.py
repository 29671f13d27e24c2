"""The thresholds of a ruleset a search may move, the round numbers they may take, and
the ruleset and its body with new values in place.

Pure: no database and no arrays. A threshold is one number of one leaf — the value of a
comparison (`gt`, `gte`, `lt`, `lte`) or one bound of a `between` — on a number or
integer field; everything else (structure, operators, other values) stays as written.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any, Final, Literal

from app.catalog import NUMBER_DIGITS, NUMBER_PLACES, FieldCatalog, FieldDef
from app.rules.language.evaluate import Evaluator
from app.rules.language.parse_json import condition_to_json
from app.rules.language.print_text import print_text
from app.rules.language.tree import All, Condition, Leaf, Loc, Not, Ruleset, Value
from app.rules.language.tree import Any as AnyOf

Number = int | Decimal
Bound = Literal["value", "low", "high"]

TUNABLE_OPS: Final = ("gt", "gte", "lt", "lte", "between")
MONEY_STEP: Final = 10_000
"""Money moves in whole 万元."""
WHOLE_UNITS: Final = ("count", "days", "months", "employees")
FRACTION_STEP: Final = Decimal("0.01")
"""A number field without a unit (a ratio, a score) moves in hundredths."""
# Exact arithmetic for any value a number field holds (18 digits before the point, 20
# after) and its grid.
_EXACT: Final = Context(prec=80)


@dataclass(frozen=True)
class Threshold:
    """One number of one leaf that a search may move."""

    leaf: int  # the leaf's number across the ruleset (the back ends' numbering)
    rule_index: int
    rule_key: str
    path: Loc  # the leaf's place inside the rule's `when`
    field: str
    op: str
    bound: Bound  # "value", or a `between`'s "low" or "high"
    value: Number  # as it stands, converted to the field's type
    step: Number  # the grid: 万元 for money, 1 for counts and days

    @property
    def lower(self) -> bool:
        """Whether the threshold is a lower bound (`x ≥ t`, `x > t`, a between's low)."""
        return self.op in ("gt", "gte") or self.bound == "low"

    @property
    def right_closed(self) -> bool:
        """Whether a value t separates neighbouring sample values a < b exactly when
        a < t ≤ b (`≥` and `<`, a between's low); otherwise when a ≤ t < b."""
        return self.op in ("gte", "lt") or self.bound == "low"


def grid_step(field: FieldDef) -> Number:
    """The round unit of a field's thresholds."""
    if field.unit == "CNY":
        return MONEY_STEP
    if field.type == "integer" or field.unit in WHOLE_UNITS:
        return 1
    return FRACTION_STEP


def tunable_thresholds(evaluator: Evaluator, catalog: FieldCatalog) -> list[Threshold]:
    """Every threshold of the evaluator's (validated) ruleset on a number or integer field,
    in leaf order; a score's (ntile, rank_pct) is a bucket, not a value of the field."""
    ruleset = evaluator.ruleset
    found: list[Threshold] = []
    for prepared in evaluator.leaves:
        leaf = prepared.leaf
        field = catalog.get(leaf.field)
        if field is None or field.type not in ("number", "integer") or leaf.op not in TUNABLE_OPS:
            continue
        if leaf.score is not None:
            continue
        bounds: list[tuple[Bound, object]] = (
            [("low", prepared.threshold[0]), ("high", prepared.threshold[1])]
            if isinstance(prepared.threshold, tuple)
            else [("value", prepared.threshold)]
        )
        for bound, value in bounds:
            assert isinstance(value, int | Decimal)  # validated against a numeric field
            found.append(
                Threshold(
                    leaf=prepared.index,
                    rule_index=prepared.rule_index,
                    rule_key=ruleset.rules[prepared.rule_index].key,
                    path=prepared.path,
                    field=leaf.field,
                    op=leaf.op,
                    bound=bound,
                    value=value,
                    step=grid_step(field),
                )
            )
    return found


def round_between(low: Number, high: Number, step: Number, right_closed: bool) -> Number:
    """The roundest number that separates `low` from `high` (low < high): in (low, high]
    when `right_closed`, else in [low, high) — a multiple of the coarsest of `step` ×
    10^k and × 5·10^k found there, the one nearest the midpoint. When no multiple of `step`
    lies there, the multiple of `step` nearest the midpoint (the gap is finer than the
    grid)."""
    lo, hi, unit = Decimal(low), Decimal(high), Decimal(step)
    with localcontext(_EXACT):
        middle = (lo + hi) / 2
        top = max(0, (abs(lo).max(abs(hi)) / unit).adjusted() + 1)
        # Coarsest first: 10^k, 5·10^(k-1), 10^(k-1), … down to the unit itself.
        grids = [unit.scaleb(p) * f for p in range(top, -1, -1) for f in (1, Decimal("0.5"))]
        for grid in grids[:-1]:
            first = (lo / grid).to_integral_value(ROUND_CEILING) * grid
            if right_closed and first == lo:
                first += grid
            last = (hi / grid).to_integral_value(ROUND_FLOOR) * grid
            if not right_closed and last == hi:
                last -= grid
            if first <= last:
                nearest = (middle / grid).to_integral_value(ROUND_HALF_EVEN) * grid
                return _plain(min(max(nearest, first), last), step)
        return _plain((middle / unit).to_integral_value(ROUND_HALF_EVEN) * unit, step)


def roundness(value: Number, step: Number) -> int:
    """How round a value is on its grid: how many of `step`, 5·`step`, 10·`step`,
    50·`step`, … divide it (0 when not even `step` does; zero is roundest of all)."""
    number, unit = Decimal(value), Decimal(step)
    if number == 0:
        return 2 * (NUMBER_DIGITS + NUMBER_PLACES)
    levels = 0
    with localcontext(_EXACT):
        grid = unit
        while levels < 2 * (NUMBER_DIGITS + NUMBER_PLACES) and number % grid == 0:
            levels += 1
            grid *= 5 if levels % 2 else 2
    return levels


def _plain(number: Decimal, step: Number) -> Number:
    """A grid value as the rule would say it: an int for whole numbers."""
    if isinstance(step, int) or number == number.to_integral_value():
        return int(number)
    return number.normalize(_EXACT)  # without trailing zeros: 0.5, not 0.50


def cut_points(values: Sequence[Number], threshold: Threshold, limit: int) -> list[Number]:
    """The candidate values of a threshold: between each two neighbouring distinct sample
    values (sorted, distinct), the roundest number that separates them, and the threshold
    as it stands; sorted, distinct, at most `limit` (+1 for the current value) spread
    evenly over the samples' order when there are more."""
    cuts = [
        round_between(a, b, threshold.step, threshold.right_closed)
        for a, b in itertools.pairwise(values)
    ]
    distinct = sorted(set(cuts))
    if len(distinct) > limit:
        last = len(distinct) - 1
        distinct = [distinct[round(i * last / (limit - 1))] for i in range(limit)]
    return sorted({*distinct, threshold.value})


def with_thresholds(ruleset: Ruleset, values: Mapping[int, Value]) -> Ruleset:
    """The ruleset with the values of some leaves (by leaf number) replaced."""
    counter = [0]

    def rebuild(node: Condition) -> Condition:
        if isinstance(node, Leaf):
            index = counter[0]
            counter[0] += 1
            return replace(node, value=values[index]) if index in values else node
        if isinstance(node, Not):
            return replace(node, item=rebuild(node.item))
        items = tuple(rebuild(item) for item in node.items)
        return All(items, node.origin) if isinstance(node, All) else AnyOf(items, node.origin)

    rules = tuple(replace(rule, when=rebuild(rule.when)) for rule in ruleset.rules)
    return replace(ruleset, rules=rules)


def leaf_values(thresholds: Sequence[Threshold], chosen: Sequence[Number]) -> dict[int, Value]:
    """Leaf number → the leaf's new value (a pair for a between) from one value per
    threshold."""
    values: dict[int, Value] = {}
    bounds: dict[int, dict[Bound, Number]] = {}
    for threshold, value in zip(thresholds, chosen, strict=True):
        if threshold.bound == "value":
            values[threshold.leaf] = value
        else:
            bounds.setdefault(threshold.leaf, {})[threshold.bound] = value
    for leaf, pair in bounds.items():
        values[leaf] = (pair["low"], pair["high"])
    return values


def proposed_body(
    body: Mapping[str, Any], old: Ruleset, new: Ruleset, catalog: FieldCatalog
) -> dict[str, Any]:
    """`body` (a stored version's Rules JSON) with the `when` of every rule whose
    thresholds moved rewritten from `new`: text stays text (with field labels where the
    original is Chinese, keys otherwise), JSON stays JSON; the rest is kept exactly."""
    out = copy.deepcopy(dict(body))
    for index, (before, after) in enumerate(zip(old.rules, new.rules, strict=True)):
        if before.when == after.when:
            continue
        if before.when_text is not None:
            chinese = not before.when_text.isascii()
            out["rules"][index]["when"] = print_text(after.when, catalog if chinese else None)
        else:
            out["rules"][index]["when"] = condition_to_json(after.when)
    return out
