"""Trying a ruleset version before it matters: backtest against labelled samples, and a
preview of the distribution and transitions it would produce. Nothing is written."""

import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import ColumnElement, FromClause, Uuid, and_, any_, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.core.errors import InvalidInput
from app.core.i18n import Text, current_locale
from app.customers.repository import ids_by_code
from app.facts.conditions import read_condition
from app.facts.cut_points import current_cut_points, population_cut_points
from app.facts.metrics import FieldColumns, set_local_settings
from app.facts.snapshots import (
    SNAPSHOT_PLANNER_SETTINGS,
    changed_since,
    latest_snapshot,
    newest_change,
    snapshot_values,
)
from app.facts.values import customer_values, materialise_values
from app.models import Assignment, Category
from app.rules.language.compile_sql import compile_condition, compile_ruleset
from app.rules.language.evaluate import Evaluator
from app.rules.language.explain import Rationale, explain
from app.rules.language.quantiles import score_keys
from app.rules.language.tree import Condition, Ruleset, iter_leaves


@dataclass(frozen=True)
class ClassFigures:
    """How well one category was found: of the customers predicted in it, the share
    expected there (precision); of those expected there, the share found (recall)."""

    precision: float | None  # None: never predicted
    recall: float | None  # None: never expected
    support: int  # samples expected in it


@dataclass(frozen=True)
class Mismatch:
    """A sample the version classifies otherwise than expected, with the rationale."""

    customer_code: str
    expected: str
    actual: str
    rationale: Rationale


@dataclass(frozen=True)
class Backtest:
    """A version's figures on labelled samples."""

    samples: int  # the samples whose customer exists
    correct: int
    accuracy: float
    min_accuracy: float
    passed: bool
    confusion_matrix: dict[str, dict[str, int]]  # expected → predicted → samples
    per_class: dict[str, ClassFigures]  # every category expected or predicted
    mismatches: list[Mismatch]
    unknown_codes: list[str]


async def backtest(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ruleset: Ruleset,
    catalog: FieldCatalog,
    samples: list[tuple[str, str]],
    as_of: date,
    min_accuracy: float,
) -> Backtest:
    """Accuracy, confusion matrix, per-class precision/recall and mismatches with rationale."""
    ids = await ids_by_code(session, tenant_id, {code for code, _ in samples})
    unknown = sorted({code for code, _ in samples if code not in ids})
    known = [(code, expected) for code, expected in samples if code in ids]
    if not known:
        raise InvalidInput(
            Text("样本中的客户编号均不存在", "None of the sample customer codes exist"),
            errors=[{"loc": ["body", "samples"], "msg": "no known customer", "type": "unknown"}],
        )
    values = await customer_values(session, tenant_id, list(set(ids.values())), as_of, catalog)
    # Scores rank the samples among all the tenant's customers as of the day.
    cut_points = await current_cut_points(session, tenant_id, as_of, catalog, score_keys([ruleset]))
    evaluator = Evaluator(ruleset, catalog, cut_points=cut_points)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    mismatches = []
    for code, expected in known:
        evaluation = evaluator.evaluate(values[ids[code]], as_of)
        predicted = evaluation.category
        confusion[expected][predicted] += 1
        if expected not in evaluation.categories:
            rationale = explain(evaluation, catalog, current_locale.get())
            mismatches.append(Mismatch(code, expected, predicted, rationale))
    correct = len(known) - len(mismatches)
    accuracy = correct / len(known)
    return Backtest(
        samples=len(known),
        correct=correct,
        accuracy=round(accuracy, 4),
        min_accuracy=min_accuracy,
        passed=accuracy >= min_accuracy,
        confusion_matrix={e: dict(row) for e, row in sorted(confusion.items())},
        per_class=per_class_figures(confusion),
        mismatches=mismatches,
        unknown_codes=unknown,
    )


def per_class_figures(confusion: Mapping[str, Mapping[str, int]]) -> dict[str, ClassFigures]:
    """Precision, recall and support of every category expected or predicted, from a
    confusion matrix (expected → predicted → samples)."""
    labels = sorted({*confusion, *(p for row in confusion.values() for p in row)})
    figures = {}
    for label in labels:
        row = confusion.get(label, {})
        true_positive = row.get(label, 0)
        predicted = sum(r.get(label, 0) for r in confusion.values())
        actual = sum(row.values())
        figures[label] = ClassFigures(
            precision=round(true_positive / predicted, 4) if predicted else None,
            recall=round(true_positive / actual, 4) if actual else None,
            support=actual,
        )
    return figures


@dataclass(frozen=True)
class Share:
    """How many customers of the scope land in a category."""

    category: str
    count: int
    share: float


@dataclass(frozen=True)
class Transition:
    """How many customers would move from their current category (None: none yet)."""

    from_category: str | None
    to_category: str
    count: int

    @property
    def changed(self) -> bool:
        return self.from_category != self.to_category


@dataclass(frozen=True)
class Preview:
    """What a version would do to a scope: its distribution and, under `first`, the
    transitions from the current assignments, largest first."""

    total: int
    distribution: list[Share]
    transitions: list[Transition]
    source: "ValuesSource"

    @property
    def changed(self) -> int:
        return sum(t.count for t in self.transitions if t.changed)


Scope = Condition | list[uuid.UUID] | None
"""Which customers a preview covers: those matching a condition, those listed, or all."""


def read_scope(
    kind: str, customer_ids: list[uuid.UUID] | None, when: object, catalog: FieldCatalog
) -> Scope:
    """A preview request's scope: all customers, those listed, or those matching `when`
    (validated against the catalog; problems under `body.scope.when`)."""
    if kind == "customers":
        return customer_ids or []
    if kind == "filter":
        return read_condition(when, catalog, ("body", "scope", "when"))
    return None


@dataclass(frozen=True)
class ValuesSource:
    """Where a preview's values came from, and how old they are.

    `snapshot`: a succeeded run's stored values as of the same day (`run_id`), read when
    that run started (`taken_at`); `stale` when the tenant's activity or profiles changed
    after that (`changed_at`, the newest change) — the figures then miss those changes,
    and `fresh: true` recomputes them. `computed`: aggregated from the activity for this
    request (`reason` says why: `fresh` was asked for, or no run's snapshot holds the
    fields the rules and the scope read).
    """

    kind: Literal["snapshot", "computed"]
    reason: Literal["snapshot", "fresh_requested", "no_snapshot"]
    run_id: uuid.UUID | None
    taken_at: datetime
    age_seconds: float
    stale: bool
    changed_at: datetime | None


@dataclass(frozen=True)
class _Values:
    """The values a preview reads: rows, customer id, filter and `columns`."""

    from_clause: FromClause
    customer_id: ColumnElement[uuid.UUID]
    where: ColumnElement[bool]
    columns: FieldColumns
    source: ValuesSource


async def preview(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID,
    ruleset: Ruleset,
    catalog: FieldCatalog,
    as_of: date,
    scope: Scope,
    *,
    fresh: bool = False,
) -> Preview:
    """Distribution and transitions (current → new category) over the scope, in SQL.

    The values come from the newest succeeded run over every customer as of the same
    day whose snapshot holds every field the ruleset and the scope read (one scan of its
    results per preview: what makes dragging a threshold instant), else — or when
    `fresh` — they are computed once into a temporary table (the activity aggregated in
    one statement planned for many customers). The ruleset, the scope and the counts
    then read them; the result says which source it used and how old it is.
    """
    fields = {leaf.field for rule in ruleset.rules for leaf in iter_leaves(rule.when)}
    if scope is not None and not isinstance(scope, list):
        fields |= {leaf.field for leaf in iter_leaves(scope)}
    values = await _values(session, tenant_id, as_of, catalog, sorted(fields), scope, fresh)
    where = [values.where]
    if scope is not None and not isinstance(scope, list):
        where.append(compile_condition(scope, values.columns, as_of, catalog))
    # Scores rank the previewed population: the scope's customers as of the day.
    found = await population_cut_points(
        await session.connection(),
        values.from_clause,
        values.columns,
        where,
        score_keys([ruleset]),
        catalog,
    )
    cut_points = {key: cuts.cuts for key, cuts in found.items()}
    compiled = compile_ruleset(ruleset, values.columns, as_of, catalog, cut_points=cut_points)
    statement = (
        select(values.customer_id.label("customer_id"), compiled.category().label("category"))
        .select_from(values.from_clause)
        .where(*where)
    )
    decided = statement.subquery("decided")
    if ruleset.hit_policy == "collect":
        codes = func.unnest(decided.c.category).table_valued("code").render_derived("codes")
        rows = await session.execute(
            select(codes.c.code, func.count())
            .select_from(decided.join(codes, true()))
            .group_by(codes.c.code)
        )
        counts: dict[str, int] = dict(rows.all())
        total = await session.scalar(select(func.count()).select_from(decided))
        return Preview(total or 0, _distribution(counts, total or 0), [], values.source)
    # Count by the current category's id, and name the few groups afterwards: joining
    # every assignment to its category first doubled the work per customer (EXPLAIN in
    # bench/whatif.plans.txt).
    current = (
        select(Assignment.customer_id, Assignment.category_id)
        .where(Assignment.tenant_id == tenant_id, Assignment.tree_id == tree_id)
        .subquery("current")
    )
    counted = (
        select(current.c.category_id, decided.c.category, func.count().label("n"))
        .select_from(decided.outerjoin(current, current.c.customer_id == decided.c.customer_id))
        .group_by(current.c.category_id, decided.c.category)
        .subquery("counted")
    )
    rows = await session.execute(
        select(Category.code, counted.c.category, counted.c.n).select_from(
            counted.outerjoin(
                Category,
                and_(Category.tenant_id == tenant_id, Category.id == counted.c.category_id),
            )
        )
    )
    transitions = [Transition(before, after, count) for before, after, count in rows]
    transitions.sort(key=lambda t: (-t.count, str(t.from_category), t.to_category))
    landed: Counter[str] = Counter()
    for transition in transitions:
        landed[transition.to_category] += transition.count
    total = sum(landed.values())
    return Preview(total, _distribution(landed, total), transitions, values.source)


async def _values(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    as_of: date,
    catalog: FieldCatalog,
    fields: list[str],
    scope: Scope,
    fresh: bool,
) -> _Values:
    """A run's snapshot when one holds the fields (unless `fresh`), else computed now."""
    changed_at = await newest_change(session, tenant_id)
    now = datetime.now(UTC)
    snapshot = None
    if not fresh:
        snapshot = await latest_snapshot(session, tenant_id, as_of, fields, catalog)
    if snapshot is not None:
        # Transaction-local, and a preview's transaction reads nothing else after it.
        await set_local_settings(await session.connection(), SNAPSHOT_PLANNER_SETTINGS)
        stored = snapshot_values(snapshot, tenant_id, fields)
        source = ValuesSource(
            kind="snapshot",
            reason="snapshot",
            run_id=snapshot.run_id,
            taken_at=snapshot.taken_at,
            age_seconds=round(max((now - snapshot.taken_at).total_seconds(), 0.0), 3),
            stale=await changed_since(session, tenant_id, snapshot, changed_at),
            changed_at=changed_at,
        )
        where = stored.where
        if isinstance(scope, list):  # one array parameter, however many are listed
            listed = bindparam("listed", scope, type_=ARRAY(Uuid()))
            where = and_(where, stored.customer_id == any_(listed))
        return _Values(stored.from_clause, stored.customer_id, where, stored.columns, source)
    conn = await session.connection()
    ids = scope if isinstance(scope, list) else None
    table = await materialise_values(conn, tenant_id, as_of, catalog, fields, ids)
    source = ValuesSource(
        kind="computed",
        reason="fresh_requested" if fresh else "no_snapshot",
        run_id=None,
        taken_at=now,
        age_seconds=0.0,
        stale=False,
        changed_at=changed_at,
    )
    columns: FieldColumns = {key: table.c[key] for key in fields}
    return _Values(table, table.c.customer_id, true(), columns, source)


def _distribution(counts: Mapping[str, int], total: int) -> list[Share]:
    """Categories by count (largest first), then code."""
    return [
        Share(code, count, round(count / total, 4) if total else 0)
        for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
