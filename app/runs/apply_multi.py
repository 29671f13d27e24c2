"""Applying a finished run to one multi-assign tree, set-based, in the caller's transaction.

A customer's outcome in such a tree is a set of categories (bit masks, app/models/runs.py).
Like a single-assign tree, a result is applied only if the customer still holds exactly
the categories the run saw (locked in customer order first); then the categories to add
are inserted and the ones to remove deleted — except locked ones, which stay (the run
marked them a conflict). Each added or removed category gets a history row (to or from
nothing) and an outbox event.
"""

from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    Uuid,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.sql import rows_written
from app.models import Assignment, Customer, RunCategory, RunResult, table_of
from app.models.runs import CHANGED
from app.runs.apply import (
    NEW_ASSIGNMENT_COLUMNS,
    TreeApplied,
    applied_table,
    history_and_outbox,
    lock_targets,
)
from app.runs.layout import category_index, flags_index, previous_index, rule_index
from app.runs.plan import RunPlan, TreePlan

A = table_of(Assignment)
R = table_of(RunResult)
RC = table_of(RunCategory)


async def apply_multi_tree(
    session: AsyncSession, plan: RunPlan, tree: TreePlan, actor: str
) -> TreeApplied:
    """Apply the run's results for a multi-assign `tree` (see the module docstring)."""
    run = plan.run
    await lock_targets(session, plan, tree)
    applied = await applied_table(session)
    eligible = await _eligible(session, plan, tree)
    bit = literal(1).op("<<")(RC.c.slot - tree.first_slot)
    in_tree = and_(
        RC.c.tenant_id == run.tenant_id, RC.c.run_id == run.id, RC.c.position == tree.position
    )
    removed = (
        delete(A)
        .where(
            A.c.tenant_id == run.tenant_id,
            A.c.tree_id == tree.tree_id,
            A.c.customer_id == eligible.c.customer_id,
            ~A.c.locked,
            RC.c.category_id == A.c.category_id,
            in_tree,
            eligible.c.seen.op("&")(eligible.c.category.op("#")(-1)).op("&")(bit) != 0,
        )
        .returning(A.c.customer_id, A.c.category_id)
        .cte("removed")
    )
    await session.execute(
        insert(applied).from_select(
            ["customer_id", "old_id", "rule"],
            select(removed.c.customer_id, removed.c.category_id, literal(0)),
        )
    )
    to_add = (
        select(
            literal(run.tenant_id),
            literal(tree.tree_id),
            eligible.c.customer_id,
            RC.c.category_id,
            literal(True),
            literal("run"),
            literal(False),
            literal(run.id),
            literal(run.created_by),
        )
        .select_from(eligible)
        .join(RC, in_tree)
        .join(
            Customer,
            and_(Customer.tenant_id == run.tenant_id, Customer.id == eligible.c.customer_id),
        )
        .where(eligible.c.category.op("&")(eligible.c.seen.op("#")(-1)).op("&")(bit) != 0)
        .order_by(eligible.c.customer_id, RC.c.category_id)
    )
    added = (
        pg_insert(A)
        .from_select(
            NEW_ASSIGNMENT_COLUMNS,
            to_add,
            include_defaults=False,
        )
        .on_conflict_do_nothing(
            index_elements=["tenant_id", "tree_id", "customer_id", "category_id"]
        )
        .returning(A.c.customer_id, A.c.category_id)
        .cte("added")
    )
    rule = _deciding_rule(tree, added.c.category_id, eligible.c.rules)
    await session.execute(
        insert(applied).from_select(
            ["customer_id", "new_id", "rule"],
            select(added.c.customer_id, added.c.category_id, rule).join(
                eligible, eligible.c.customer_id == added.c.customer_id
            ),
        )
    )
    await history_and_outbox(session, plan, tree, applied, actor)
    superseded = await _mark_superseded(session, plan, tree, eligible)
    count = await session.scalar(
        select(func.count(func.distinct(applied.c.customer_id))).select_from(applied)
    )
    return TreeApplied(int(count or 0), 0, superseded)


async def _eligible(session: AsyncSession, plan: RunPlan, tree: TreePlan) -> Table:
    """The results marked changed whose customer still holds what the run saw, locked."""
    run = plan.run
    outcome = R.c.outcome
    changed = (
        select(
            R.c.customer_id,
            outcome[category_index(tree.position)].label("category"),
            outcome[previous_index(tree.position)].label("seen"),
            outcome[rule_index(tree.position)].label("rules"),
        )
        .where(
            R.c.tenant_id == run.tenant_id,
            R.c.run_id == run.id,
            R.c.attention != 0,
            outcome[flags_index(tree.position)].op("&")(CHANGED) != 0,
        )
        .cte("changed")
    )
    await session.execute(
        select(A.c.id)
        .join(changed, changed.c.customer_id == A.c.customer_id)
        .where(A.c.tenant_id == run.tenant_id, A.c.tree_id == tree.tree_id)
        .order_by(A.c.customer_id, A.c.category_id)
        .with_for_update(of=A)
    )
    slot = RC.alias("held_slot")
    # What each customer holds now, under the locks; a category the run has no bit for
    # (made after it started) counts as a difference.
    held = (
        select(
            A.c.customer_id,
            func.bit_or(literal(1).op("<<")(slot.c.slot - tree.first_slot)).label("mask"),
            func.bool_and(slot.c.slot.is_not(None)).label("known"),
        )
        .select_from(
            A.outerjoin(
                slot,
                and_(
                    slot.c.tenant_id == run.tenant_id,
                    slot.c.run_id == run.id,
                    slot.c.category_id == A.c.category_id,
                ),
            )
        )
        .where(
            A.c.tenant_id == run.tenant_id,
            A.c.tree_id == tree.tree_id,
            A.c.customer_id.in_(select(changed.c.customer_id)),
        )
        .group_by(A.c.customer_id)
        .subquery("held")
    )
    table = Table(
        f"run_eligible_{tree.position}_{run.id.hex[:8]}",
        MetaData(),
        Column("customer_id", Uuid(), nullable=False),
        Column("category", Integer(), nullable=False),
        Column("seen", Integer(), nullable=False),
        Column("rules", Integer(), nullable=False),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    await (await session.connection()).run_sync(table.create)
    await session.execute(
        insert(table).from_select(
            ["customer_id", "category", "seen", "rules"],
            select(changed.c.customer_id, changed.c.category, changed.c.seen, changed.c.rules)
            .select_from(changed.outerjoin(held, held.c.customer_id == changed.c.customer_id))
            .where(
                func.coalesce(held.c.mask, 0) == changed.c.seen,
                func.coalesce(held.c.known, True),
            ),
        )
    )
    return table


def _deciding_rule(tree: TreePlan, category_id: Any, rules: Any) -> Any:
    """The number (index + 1) of the first matching rule that assigns `category_id`
    (0: the default category, which no rule assigns)."""
    whens = []
    for category in tree.categories.values():
        numbers = [i for i, rule in enumerate(tree.rules.rules) if rule.category == category.code]
        for i in numbers:
            whens.append(
                (and_(category_id == category.category_id, rules.op("&")(1 << i) != 0), i + 1)
            )
    return case(*whens, else_=0) if whens else literal(0)


async def _mark_superseded(
    session: AsyncSession, plan: RunPlan, tree: TreePlan, eligible: Table
) -> int:
    """Results marked changed that were not applied (the customer's categories changed
    meanwhile) say so: not changed by the run."""
    run = plan.run
    flags = R.c.outcome[flags_index(tree.position)]
    return await rows_written(
        session,
        update(R)
        .where(
            R.c.tenant_id == run.tenant_id,
            R.c.run_id == run.id,
            R.c.attention != 0,
            flags.op("&")(CHANGED) != 0,
            ~exists().where(eligible.c.customer_id == R.c.customer_id),
        )
        .values({flags: flags.op("&")(~CHANGED)}),
    )
