"""The SQL back end: a ruleset as SQLAlchemy Core expressions for set-based runs.

The caller supplies one SQL expression per field (its metrics query, built elsewhere);
this module only combines them with operators and bound parameters. Nothing from a rule
reaches SQL as text: field keys select a caller-provided expression or fail, values and
category codes are bound parameters.

Semantics match `evaluate.py` exactly: every leaf is wrapped in `coalesce(…, false)` so
a NULL never leaks into `not`/`and`/`or` (two-valued logic, like the Python back end),
numbers are compared as NUMERIC/BIGINT parameters (exact), `within_last_days N` is
`d <= as_of AND as_of - d < N`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    FromClause,
    Integer,
    Numeric,
    Select,
    Text,
    and_,
    any_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.sql.elements import BindParameter, Label
from sqlalchemy.types import TypeEngine

from app.catalog import BUILTIN_CATALOG, FieldCatalog, FieldDef
from app.rules.language.deciding import Plan, plan_for
from app.rules.language.quantiles import CutPoints, Scoring, score_field
from app.rules.language.tree import Condition, Leaf, Ruleset, iter_leaves
from app.rules.language.values import Operand, TypedValue, operand


class MissingColumn(KeyError):
    """A rule references a field the caller gave no SQL expression for."""


@dataclass(frozen=True, slots=True)
class CompiledRuleset:
    """A ruleset as SQL expressions over the caller's field expressions.

    `leaves[i]` is the (never NULL) boolean of leaf i, numbered like the Python back
    end's `ConditionOutcome.index`. The decision expressions can be built over
    `leaves` themselves or over columns of a subquery that selected them (`over=`), so
    Postgres computes each leaf once.
    """

    ruleset: Ruleset
    leaves: tuple[ColumnElement[bool], ...]
    plans: tuple[Plan, ...]
    as_of: BindParameter[date]
    # Per leaf: true when its actual value lies within the borderline margin of its
    # threshold (None for a leaf with no threshold to be near), as `borderline.py` says.
    near: tuple[ColumnElement[bool] | None, ...] = ()

    def leaf_columns(self, prefix: str = "leaf_") -> list[Label[bool]]:
        """The leaves labelled `leaf_0`, `leaf_1`, … for a SELECT."""
        return [leaf.label(f"{prefix}{i}") for i, leaf in enumerate(self.leaves)]

    def rule_matches(
        self, over: Sequence[ColumnElement[bool]] | None = None
    ) -> list[ColumnElement[bool]]:
        """One boolean per rule (never NULL), from the leaves or the given leaf columns."""
        leaves = self.leaves if over is None else tuple(over)
        return [_combine(plan, leaves) for plan in self.plans]

    def matched_rule(self, over: Sequence[ColumnElement[bool]] | None = None) -> ColumnElement:
        """`first`: index of the first matching rule or NULL (integer).
        `collect`: indices of all matching rules, possibly empty (integer[])."""
        matches = self.rule_matches(over)
        if self.ruleset.hit_policy == "first":
            if not matches:
                return cast(null(), Integer)
            return case(*((m, literal(i, Integer)) for i, m in enumerate(matches)), else_=null())
        return _collect(matches, [literal(i, Integer) for i in range(len(matches))], Integer)

    def category(self, over: Sequence[ColumnElement[bool]] | None = None) -> ColumnElement:
        """`first`: the category code (text). `collect`: the codes of all matching rules,
        or just the default when none matched (text[])."""
        matches = self.rule_matches(over)
        default = _text(self.ruleset.default_category)
        if self.ruleset.hit_policy == "first":
            if not matches:
                return default
            rules = self.ruleset.rules
            whens = ((m, _text(r.category)) for m, r in zip(matches, rules, strict=True))
            return case(*whens, else_=default)
        codes = [_text(r.category) for r in self.ruleset.rules]
        found = _collect(matches, codes, Text)
        nothing = cast(array([], type_=Text), ARRAY(Text))
        return func.coalesce(func.nullif(found, nothing), array([default]), type_=ARRAY(Text))

    def near_columns(self, prefix: str = "near_") -> list[Label[bool]]:
        """The near tests labelled `near_<i>` for the leaves that have one."""
        return [n.label(f"{prefix}{i}") for i, n in enumerate(self.near) if n is not None]

    def borderline(
        self,
        over: Sequence[ColumnElement[bool]] | None = None,
        near_over: Mapping[int, ColumnElement[bool]] | None = None,
    ) -> ColumnElement[bool]:
        """True when a deciding leaf's value is near its threshold — the Python back end's
        `Evaluation.borderline`: the reasons of the matched rule(s), and the first reason
        each rule before the match (`first`) or each unmatched rule (`collect`) failed.

        `over` and `near_over` (leaf number → column) take the leaves and near tests from
        columns of a subquery that selected them (`leaf_columns`, `near_columns`)."""
        leaves = self.leaves if over is None else tuple(over)
        near = dict(enumerate(self.near)) if near_over is None else dict(near_over)
        words = _Deciding(leaves, near)
        matches = self.rule_matches(over)
        matched_near = [words.reasons_near(plan, True) for plan in self.plans]
        missed_near = [words.first_near(plan, False) for plan in self.plans]
        if self.ruleset.hit_policy == "collect":
            return _any_true(
                case((m, hit), else_=miss)
                for m, hit, miss in zip(matches, matched_near, missed_near, strict=True)
            )
        # `first`: rule i matched, so rules 0..i-1 missed; no match: every rule missed.
        whens = [(m, _any_true([*missed_near[:i], matched_near[i]])) for i, m in enumerate(matches)]
        otherwise = _any_true(missed_near)
        return case(*whens, else_=otherwise) if whens else otherwise

    def columns(self, prefix: str = "") -> list[Label]:
        """`matched_rule`, `category` and every `leaf_<i>`, labelled for one SELECT."""
        return [
            self.matched_rule().label(f"{prefix}matched_rule"),
            self.category().label(f"{prefix}category"),
            *self.leaf_columns(f"{prefix}leaf_"),
        ]


def compile_ruleset(
    ruleset: Ruleset,
    columns: Mapping[str, ColumnElement],
    as_of: date,
    catalog: FieldCatalog = BUILTIN_CATALOG,
    *,
    cut_points: CutPoints | None = None,
) -> CompiledRuleset:
    """Compile a validated ruleset over `columns` (field key → SQL expression).

    Only the fields the rules reference need an entry; see the module docstring for the
    SQL types each field type expects. Score leaves (ntile, rank_pct) compare the score
    of their field's value among `cut_points` (raises MissingCutPoints without them), as
    the Python back end does: `quantiles.py` says how.
    """
    as_of_param = _as_of_param(as_of)
    leaves: list[ColumnElement[bool]] = []
    near: list[ColumnElement[bool] | None] = []
    plans: list[Plan] = []
    margin = ruleset.borderline_margin
    for rule in ruleset.rules:
        plans.append(plan_for(rule.when, len(leaves)))
        for leaf in iter_leaves(rule.when):
            leaves.append(_leaf(leaf, columns, catalog, as_of_param, cut_points))
            near.append(_near(leaf, columns, catalog, as_of_param, margin))
    return CompiledRuleset(ruleset, tuple(leaves), tuple(plans), as_of_param, tuple(near))


def compile_condition(
    node: Condition,
    columns: Mapping[str, ColumnElement],
    as_of: date,
    catalog: FieldCatalog = BUILTIN_CATALOG,
) -> ColumnElement[bool]:
    """A validated standalone condition as one (never NULL) boolean, e.g. for a WHERE."""
    as_of_param = _as_of_param(as_of)
    leaves = tuple(_leaf(leaf, columns, catalog, as_of_param) for leaf in iter_leaves(node))
    return _combine(plan_for(node, 0), leaves)


@dataclass(frozen=True)
class _Deciding:
    """`deciding.reason_leaves` in SQL: which leaves make a node come out as wanted, and
    whether one of them is near its threshold."""

    leaves: tuple[ColumnElement[bool], ...]
    near: Mapping[int, ColumnElement[bool] | None]

    def reasons_near(self, plan: Plan, want: bool) -> ColumnElement[bool]:
        """A reason leaf of `plan` (which comes out as `want`) is near its threshold."""
        if plan.kind == "leaf":
            return self._near(plan.leaf)
        if plan.kind == "not":
            return self.reasons_near(plan.items[0], not want)
        if (plan.kind == "all") == want:  # every item is a reason
            return _any_true(self.reasons_near(item, want) for item in plan.items)
        return self._first_wanted(plan, want, self.reasons_near)

    def first_near(self, plan: Plan, want: bool) -> ColumnElement[bool]:
        """The first reason leaf of `plan` (in document order) is near its threshold."""
        if plan.kind == "leaf":
            return self._near(plan.leaf)
        if plan.kind == "not":
            return self.first_near(plan.items[0], not want)
        if (plan.kind == "all") == want:  # groups are never empty: the first item leads
            return self.first_near(plan.items[0], want)
        return self._first_wanted(plan, want, self.first_near)

    def _first_wanted(
        self, plan: Plan, want: bool, inner: Callable[[Plan, bool], ColumnElement[bool]]
    ) -> ColumnElement[bool]:
        # A false `all` or a true `any`: the first item with the wanted value decides.
        whens = []
        for item in plan.items:
            outcome = _combine(item, self.leaves)
            whens.append((outcome if want else not_(outcome), inner(item, want)))
        return case(*whens, else_=false())

    def _near(self, leaf: int) -> ColumnElement[bool]:
        test = self.near.get(leaf)
        return false() if test is None else test


def _any_true(items: Iterable[ColumnElement[bool]]) -> ColumnElement[bool]:
    listed = list(items)
    return or_(*listed) if listed else false()


def _as_of_param(as_of: date) -> BindParameter[date]:
    # One parameter object reused by every window, unique so it cannot clash with the
    # caller's own parameters.
    return BindParameter("rules_as_of", as_of, type_=Date(), unique=True)


def _combine(plan: Plan, leaves: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    if plan.kind == "leaf":
        return leaves[plan.leaf]
    if plan.kind == "not":
        return not_(_combine(plan.items[0], leaves))
    items = [_combine(item, leaves) for item in plan.items]
    if plan.kind == "all":
        return and_(*items) if items else true()
    return or_(*items) if items else false()


def _collect(
    matches: Sequence[ColumnElement[bool]],
    values: Sequence[ColumnElement],
    element_type: type[TypeEngine],
) -> ColumnElement:
    if not matches:
        return cast(array([], type_=element_type), ARRAY(element_type))
    picked = array(
        [case((m, v), else_=null()) for m, v in zip(matches, values, strict=True)],
        type_=element_type,
    )
    return func.array_remove(picked, null(), type_=ARRAY(element_type))


def _text(value: str) -> ColumnElement[str]:
    # asyncpg types a text literal as VARCHAR; arrays of it must still be text[].
    return cast(literal(value, Text()), Text())


def _param(definition: FieldDef, value: Operand) -> ColumnElement:
    """A bound parameter of the SQL type matching the field (explicit casts keep NUMERIC
    comparisons exact whatever the driver infers)."""
    kind = definition.type
    if kind == "number":
        return cast(literal(value, Numeric()), Numeric())
    if kind == "integer":
        return cast(literal(value, BigInteger()), BigInteger())
    if kind == "date":
        return cast(literal(value, Date()), Date())
    if kind == "boolean":
        return literal(value, Boolean())
    return cast(literal(value, Text()), Text())


def _leaf(
    leaf: Leaf,
    columns: Mapping[str, ColumnElement],
    catalog: FieldCatalog,
    as_of: BindParameter[date],
    cut_points: CutPoints | None = None,
) -> ColumnElement[bool]:
    definition = catalog.get(leaf.field)
    if definition is None:
        raise ValueError(f"unknown field {leaf.field!r}; validate the ruleset first")
    if leaf.field not in columns:
        raise MissingColumn(leaf.field)
    column = columns[leaf.field]
    if leaf.score is not None:
        column = _score(column, Scoring.of(definition, leaf.score, cut_points or {}))
        definition = score_field(definition, leaf.score)
    op = leaf.op
    if op == "is_null":
        return column.is_(None)
    if op == "is_not_null":
        return column.is_not(None)
    threshold = operand(definition, op, leaf.value)
    # The Python back end's "a leaf on NULL is false", for every other operator.
    return func.coalesce(_compare(definition, op, column, threshold, as_of), false())


def _score(column: ColumnElement, scoring: Scoring) -> ColumnElement:
    """The score of `column`'s value: 1 + the cut points it reaches, by width_bucket's
    binary search over them (negated when lower is better, so they ascend); NULL for a
    NULL value."""
    value: ColumnElement = cast(column, Numeric())
    cuts = list(scoring.cuts)
    if scoring.lower_better:
        value, cuts = -value, [-c for c in cuts]
    if not cuts:
        return case((column.is_not(None), literal(1, BigInteger())), else_=null())
    thresholds = cast(literal(cuts, ARRAY(Numeric())), ARRAY(Numeric()))
    return cast(func.width_bucket(value, thresholds), BigInteger()) + 1


def worst_value_per_score(
    value: ColumnElement,
    population: FromClause,
    where: Sequence[ColumnElement[bool]],
    buckets: int,
    lower_better: bool,
) -> Select[tuple[int, Decimal, int]]:
    """(score, worst value, customers) for each score in the population — the rows of `population`
    passing `where` that have a `value` — scored with window functions as `quantiles.py`
    defines: ceil(k · not-better / n). The worst value is the least (the greatest when
    lower is better); `quantiles.cut_points_from` turns these into cut points."""
    number = cast(value, Numeric())
    # The default frame with ORDER BY includes the row's ties: "not better than".
    not_better = func.count().over(order_by=number.desc() if lower_better else number.asc())
    size = func.count().over()
    score = (literal(buckets, BigInteger()) * not_better + size - 1) // size
    ranked = (
        select(score.label("score"), number.label("value"))
        .select_from(population)
        .where(value.is_not(None), *where)
        .subquery("ranked")
    )
    worst = func.max if lower_better else func.min
    return select(ranked.c.score, worst(ranked.c.value), func.count()).group_by(ranked.c.score)


def _near(
    leaf: Leaf,
    columns: Mapping[str, ColumnElement],
    catalog: FieldCatalog,
    as_of: BindParameter[date],
    margin: Decimal,
) -> ColumnElement[bool] | None:
    """`borderline.near_test` in SQL: the value within `margin` (relative) of a numeric
    threshold of gt/gte/lt/lte/between, or a date's age within `margin` of the day count
    of a `within_last_days` window; never NULL. None where there is no such threshold."""
    definition = catalog.get(leaf.field)
    if definition is None or leaf.op in ("is_null", "is_not_null") or leaf.score is not None:
        return None  # (a score is a group number: nothing to be near, as in Python)
    threshold = operand(definition, leaf.op, leaf.value)
    column = columns[leaf.field]
    if leaf.op in ("within_last_days", "not_within_last_days"):
        if definition.type != "date" or not _is_number(threshold):
            return None
        age = as_of - column
        return func.coalesce(_within_band(age, threshold, margin, Integer()), false())
    if leaf.op in ("gt", "gte", "lt", "lte"):
        thresholds: tuple[object, ...] = (threshold,)
    elif leaf.op == "between" and isinstance(threshold, tuple):
        thresholds = threshold
    else:
        return None
    if definition.type not in ("number", "integer"):
        return None
    bands = [_within_band(column, t, margin, Numeric()) for t in thresholds if _is_number(t)]
    return func.coalesce(or_(*bands), false()) if bands else None


def _within_band(
    value: ColumnElement, threshold: object, margin: Decimal, kind: TypeEngine
) -> ColumnElement[bool]:
    # |value - threshold| <= margin * |threshold|, in exact NUMERIC as Python's Decimal.
    # Bands are made for numeric thresholds only (int or Decimal), which mypy cannot see.
    width = margin * abs(threshold)  # type: ignore[arg-type]
    difference = value - cast(literal(threshold, kind), kind)
    return func.abs(difference) <= cast(literal(width, Numeric()), Numeric())


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _compare(
    definition: FieldDef,
    op: str,
    column: ColumnElement,
    threshold: TypedValue,
    as_of: BindParameter[date],
) -> ColumnElement[bool]:
    # `operand` gives a tuple for between, in and not_in, and one value otherwise.
    if op in ("within_last_days", "not_within_last_days"):
        window = and_(column <= as_of, (as_of - column) < literal(threshold, Integer))
        return window if op == "within_last_days" else not_(window)
    if op == "contains":
        assert not isinstance(threshold, tuple)
        value = _param(definition, threshold)
        if definition.type == "string_list":
            return value == any_(column)
        # strpos, not LIKE: no wildcard characters to escape, plain substring like Python.
        return func.strpos(column, value) > 0
    if op == "between":
        assert isinstance(threshold, tuple)
        low, high = threshold
        return column.between(_param(definition, low), _param(definition, high))
    if op in ("in", "not_in"):
        assert isinstance(threshold, tuple)
        params = [_param(definition, v) for v in threshold]
        return column.in_(params) if op == "in" else column.not_in(params)
    if op not in _COMPARISONS:
        raise ValueError(f"unknown operator {op!r}")
    assert not isinstance(threshold, tuple)
    return _COMPARISONS[op](column, _param(definition, threshold))


_COMPARISONS: Final = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
