"""One chunk of a run, set-based: values as of the day (materialised once, every tree
reads them) → each tree's ruleset compiled to SQL → one result row per customer, written
by a single INSERT … SELECT. No Python per customer.
"""

from collections.abc import Sequence
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

from app.facts.metrics import CustomerSelection, selected
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
        compile_ruleset(tree.rules, columns, run.as_of, plan.catalog, cut_points=tree.cut_points)
        for tree in plan.trees
    ]
    selected: list[Any] = [values.c.customer_id, *columns.values()]
    joined: Any = values
    for tree, rules in zip(plan.trees, compiled, strict=True):
        prefix = f"t{tree.position}_"
        locked: ColumnElement[Any]  # a mask of locked categories, or whether the one is
        if tree.multi:
            previous, locked = _held_masks(plan, tree, values.c.customer_id)
        else:
            joined, previous, locked = _held_slot(
                plan, tree, joined, values.c.customer_id, customers
            )
        selected += [
            previous.label(f"{prefix}previous"),
            locked.label(f"{prefix}locked"),
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
        parts = (_outcome_multi if tree.multi else _outcome)(tree, rules, leaves)
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
        cast(array(outcome, type_=Integer), ARRAY(Integer)),
        cast(attention, SmallInteger),
        *snapshot.values(),
    )
    result = await conn.execute(
        insert(RunResult).from_select(
            ["tenant_id", "run_id", "customer_id", "outcome", "attention", *snapshot], rows
        )
    )
    return ChunkOutcome(customers=result.rowcount)


def _held_slot(
    plan: RunPlan, tree: TreePlan, joined: Any, customer_id: Any, customers: CustomerSelection
) -> tuple[Any, ColumnElement[int], ColumnElement[bool]]:
    """A single-assign tree: the slot of the customer's category (0: none) and whether the
    assignment is locked, by joining it.

    The assignments joined are bounded by the chunk's customers too: without it the
    planner hashed every assignment of the tree for every chunk (a scan of the whole tree
    per chunk, quadratic over a run)."""
    run = plan.run
    current = Assignment.__table__.alias(f"current_{tree.position}")
    slot = RunCategory.__table__.alias(f"slot_{tree.position}")
    joined = joined.outerjoin(
        current,
        and_(
            current.c.tenant_id == run.tenant_id,
            current.c.tree_id == tree.tree_id,
            current.c.customer_id == customer_id,
            selected(current.c.customer_id, customers),
        ),
    ).outerjoin(
        slot,
        and_(
            slot.c.tenant_id == run.tenant_id,
            slot.c.run_id == run.id,
            slot.c.category_id == current.c.category_id,
        ),
    )
    return joined, func.coalesce(slot.c.slot, 0), func.coalesce(current.c.locked, False)


def _held_masks(
    plan: RunPlan, tree: TreePlan, customer_id: Any
) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """A multi-assign tree: the masks of the customer's categories and of the locked ones.
    (A category made after the run started has no bit: applying then finds the
    assignment changed and leaves it.)"""
    run = plan.run
    held = Assignment.__table__.alias(f"held_{tree.position}")
    slot = RunCategory.__table__.alias(f"held_slot_{tree.position}")
    bit = literal(1).op("<<")(slot.c.slot - tree.first_slot)
    source = held.join(
        slot,
        and_(
            slot.c.tenant_id == run.tenant_id,
            slot.c.run_id == run.id,
            slot.c.category_id == held.c.category_id,
        ),
    )
    where = and_(
        held.c.tenant_id == run.tenant_id,
        held.c.tree_id == tree.tree_id,
        held.c.customer_id == customer_id,
    )
    masks = []
    for only_locked in (False, True):
        picked = case((held.c.locked, bit), else_=0) if only_locked else bit
        masks.append(
            func.coalesce(
                select(func.bit_or(picked)).select_from(source).where(where).scalar_subquery(),
                0,
            )
        )
    return masks[0], masks[1]


def _outcome_multi(tree: TreePlan, rules: CompiledRuleset, leaves: Any) -> list[ColumnElement[Any]]:
    """A multi-assign tree's four entries: the mask of its categories (those of every
    matching rule, or the default), the mask it held, the mask of matching rules, flags.
    Categories to add are applied; ones to remove are, unless locked (a conflict)."""
    prefix = f"t{tree.position}_"
    over = [leaves.c[f"{prefix}leaf_{i}"] for i in range(len(rules.leaves))]
    near = {i: leaves.c[f"{prefix}near_{i}"] for i, n in enumerate(rules.near) if n is not None}
    matches = rules.rule_matches(over)
    rule_bits = [case((m, 1 << i), else_=0) for i, m in enumerate(matches)]
    category_bits = [
        case((m, tree.bit(tree.slot_of[r.category])), else_=0)
        for m, r in zip(matches, tree.rules.rules, strict=True)
    ]
    rule_mask = _bitwise_or(rule_bits)
    default = literal(tree.bit(tree.slot_of[tree.rules.default_category]))
    category = case((rule_mask == 0, default), else_=_bitwise_or(category_bits))
    previous = leaves.c[f"{prefix}previous"]
    locked = leaves.c[f"{prefix}locked"]
    added = category.op("&")(previous.op("#")(-1))  # category & ~previous
    gone = previous.op("&")(category.op("#")(-1))
    changed = added.op("|")(gone.op("&")(locked.op("#")(-1))) != 0
    conflict = gone.op("&")(locked) != 0
    flag = (
        case((changed, CHANGED), else_=0)
        + case((rules.borderline(over, near), BORDERLINE), else_=0)
        + case((conflict, LOCKED_CONFLICT), else_=0)
    )
    return [category, previous, rule_mask, cast(flag, Integer)]


def _bitwise_or(items: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    if not items:
        return literal(0)
    combined = items[0]
    for item in items[1:]:
        combined = combined.op("|")(item)
    return combined


def _outcome(tree: TreePlan, rules: CompiledRuleset, leaves: Any) -> list[ColumnElement[Any]]:
    """The tree's four outcome entries: category slot, previous slot, rule, flags."""
    prefix = f"t{tree.position}_"
    over = [leaves.c[f"{prefix}leaf_{i}"] for i in range(len(rules.leaves))]
    near = {i: leaves.c[f"{prefix}near_{i}"] for i, n in enumerate(rules.near) if n is not None}
    matches = rules.rule_matches(over)
    slot_of = tree.slot_of
    default = _int(slot_of[tree.rules.default_category])
    whens = [(m, _int(slot_of[r.category])) for m, r in zip(matches, tree.rules.rules, strict=True)]
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


def _int(value: int) -> Label[int] | ColumnElement[int]:
    return cast(literal(value, Integer()), Integer())
