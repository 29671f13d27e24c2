"""One chunk of a run, set-based: values as of the day (materialised once, every tree
reads them) → each tree's ruleset compiled to SQL → one result row per customer, written
by a single INSERT … SELECT. No Python per customer.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    SmallInteger,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import Label

from app.facts.metrics import CustomerSelection
from app.facts.values import materialise_values
from app.models import Assignment, RunCategory, RunResult
from app.models.runs import BORDERLINE, CHANGED, LOCKED_CONFLICT
from app.rules.language.compile_sql import CompiledRuleset, compile_condition, compile_ruleset
from app.runs.plan import RunPlan, TreePlan


@dataclass(frozen=True)
class ChunkOutcome:
    """What a chunk wrote."""

    customers: int


async def classify_chunk(
    conn: AsyncConnection, plan: RunPlan, customers: CustomerSelection
) -> ChunkOutcome:
    """Classify `customers` in every tree of the run and write their results (in the
    caller's transaction)."""
    run = plan.run
    values = await materialise_values(
        conn, run.tenant_id, run.as_of, plan.catalog, plan.layout.keys, customers
    )
    columns = {key: values.c[key] for key in plan.layout.keys}
    compiled = [
        compile_ruleset(tree.rules, columns, run.as_of, plan.catalog) for tree in plan.trees
    ]
    selected: list[Any] = [values.c.customer_id, *columns.values()]
    joined: Any = values
    for tree, rules in zip(plan.trees, compiled, strict=True):
        current = Assignment.__table__.alias(f"current_{tree.position}")
        slot = RunCategory.__table__.alias(f"slot_{tree.position}")
        joined = joined.outerjoin(
            current,
            and_(
                current.c.tenant_id == run.tenant_id,
                current.c.tree_id == tree.tree_id,
                current.c.customer_id == values.c.customer_id,
            ),
        ).outerjoin(
            slot,
            and_(
                slot.c.tenant_id == run.tenant_id,
                slot.c.run_id == run.id,
                slot.c.category_id == current.c.category_id,
            ),
        )
        prefix = f"t{tree.position}_"
        selected += [
            func.coalesce(slot.c.slot, 0).label(f"{prefix}previous"),
            func.coalesce(current.c.locked, False).label(f"{prefix}locked"),
            *rules.leaf_columns(f"{prefix}leaf_"),
            *rules.near_columns(f"{prefix}near_"),
        ]
    inner = select(*selected).select_from(joined)
    if plan.scope is not None:
        inner = inner.where(compile_condition(plan.scope, columns, run.as_of, plan.catalog))
    # OFFSET keeps PostgreSQL from folding the subquery into the outer SELECT, which would
    # compute every leaf again for each expression that reads it.
    leaves = inner.offset(0).subquery("leaves")
    outcome: list[ColumnElement[Any]] = []
    flags: list[ColumnElement[Any]] = []
    for tree, rules in zip(plan.trees, compiled, strict=True):
        parts = _outcome(tree, rules, leaves)
        outcome += parts
        flags.append(parts[3])
    attention = flags[0]
    for more in flags[1:]:
        attention = attention.op("|")(more)
    snapshot = plan.layout.arrays({key: leaves.c[key] for key in plan.layout.keys})
    rows = select(
        literal(run.tenant_id),
        literal(run.id),
        leaves.c.customer_id,
        cast(array(outcome, type_=SmallInteger), ARRAY(SmallInteger)),
        cast(attention, SmallInteger),
        *snapshot.values(),
    )
    result = await conn.execute(
        insert(RunResult).from_select(
            ["tenant_id", "run_id", "customer_id", "outcome", "attention", *snapshot], rows
        )
    )
    return ChunkOutcome(customers=result.rowcount)  # type: ignore[attr-defined]


def _outcome(tree: TreePlan, rules: CompiledRuleset, leaves: Any) -> list[ColumnElement[Any]]:
    """The tree's four outcome entries: category slot, previous slot, rule, flags."""
    prefix = f"t{tree.position}_"
    over = [leaves.c[f"{prefix}leaf_{i}"] for i in range(len(rules.leaves))]
    near = {i: leaves.c[f"{prefix}near_{i}"] for i, n in enumerate(rules.near) if n is not None}
    matches = rules.rule_matches(over)
    slot_of = tree.slot_of
    default = _small(slot_of[tree.rules.default_category])
    whens = [
        (m, _small(slot_of[r.category])) for m, r in zip(matches, tree.rules.rules, strict=True)
    ]
    category: ColumnElement[Any] = case(*whens, else_=default) if whens else default
    previous = leaves.c[f"{prefix}previous"]
    locked = leaves.c[f"{prefix}locked"]
    rule = func.coalesce(rules.matched_rule(over) + 1, 0)
    differs = category != previous
    flag = (
        case((and_(differs, ~locked), CHANGED), else_=0)
        + case((rules.borderline(over, near), BORDERLINE), else_=0)
        + case((and_(differs, locked), LOCKED_CONFLICT), else_=0)
    )
    return [category, previous, rule, cast(flag, Integer)]


def _small(value: int) -> Label[int] | ColumnElement[int]:
    return cast(literal(value, SmallInteger()), SmallInteger())
