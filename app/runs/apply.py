"""Applying a finished run to one tree, set-based, in the caller's transaction.

A result is applied only if the assignment is still what the run saw when it classified
the customer (same category, not locked): a manual decision or a reclassification made
meanwhile is never overwritten by an older computation. Rows are locked in customer order
(like bulk assignments), so two writers over the same customers cannot deadlock. Every
change gets a history row (source `run`, the run, the rule) and an outbox event. A result
whose assignment was locked meanwhile is marked a locked conflict; one changed meanwhile
is marked unchanged (the run did not change it).
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Uuid,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.categories.assignments.repository import insert_history
from app.core.i18n import Text
from app.models import (
    Assignment,
    Category,
    Customer,
    OutboxEvent,
    RunResult,
    table_of,
)
from app.models.runs import CHANGED, LOCKED_CONFLICT
from app.runs.layout import category_index, flags_index, previous_index, rule_index
from app.runs.plan import RunCannotProceed, RunPlan, TreePlan

A = table_of(Assignment)
R = table_of(RunResult)

# The columns a run's new assignments are inserted with (single- and multi-assign trees).
NEW_ASSIGNMENT_COLUMNS = [
    "tenant_id",
    "tree_id",
    "customer_id",
    "category_id",
    "multi",
    "source",
    "locked",
    "run_id",
    "assigned_by",
]


@dataclass(frozen=True)
class TreeApplied:
    """What applying one tree did."""

    changed: int
    locked_conflicts: int
    superseded: int


async def apply_tree(
    session: AsyncSession, plan: RunPlan, tree: TreePlan, actor: str
) -> TreeApplied:
    """Apply the run's results for a single-assign `tree` (see the module docstring)."""
    await lock_targets(session, plan, tree)
    applied = await applied_table(session)
    changed = await changed_table(session, plan, tree)
    await _update_existing(session, plan, tree, changed, applied)
    await _insert_new(session, plan, tree, changed, applied)
    await history_and_outbox(session, plan, tree, applied, actor)
    conflicts, superseded = await _mark_unapplied(session, plan, tree, changed, applied)
    count = await session.scalar(select(func.count()).select_from(applied))
    return TreeApplied(int(count or 0), conflicts, superseded)


async def applied_table(session: AsyncSession) -> Table:
    """A temporary table (dropped at commit) of the changes made: a customer's category
    `old_id` → `new_id` (either NULL: added to or removed from a multi-assign tree) and
    the rule that made it (its index + 1; 0 or NULL: none)."""
    applied = Table(
        f"run_applied_{uuid.uuid4().hex[:12]}",
        MetaData(),
        Column("customer_id", Uuid(), nullable=False),
        Column("old_id", Uuid()),
        Column("new_id", Uuid()),
        Column("rule", SmallInteger()),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    await (await session.connection()).run_sync(applied.create)
    return applied


async def lock_targets(session: AsyncSession, plan: RunPlan, tree: TreePlan) -> None:
    """Hold the categories the rules assign (KEY SHARE: they cannot be deleted until we
    commit); a category deleted since the run started stops the apply with a clear error."""
    wanted = {
        tree.categories[slot].category_id: tree.categories[slot] for slot in tree.target_slots()
    }
    found = set(
        await session.scalars(
            select(Category.id)
            .where(Category.tenant_id == plan.run.tenant_id, Category.id.in_(list(wanted)))
            .with_for_update(key_share=True, read=True)
        )
    )
    gone = [category.code for category_id, category in wanted.items() if category_id not in found]
    if gone:
        names = ", ".join(sorted(gone))
        raise RunCannotProceed(
            Text(
                f"运行开始后分类 {names} 已被删除,未应用该分类维度的结果",
                f"Categories {names} were deleted after the run started; the tree's results "
                "were not applied",
            )
        )


async def changed_table(session: AsyncSession, plan: RunPlan, tree: TreePlan) -> Table:
    """The tree's results the run marked changed, with the category ids they move from
    (`seen_id`, NULL: no assignment then) and to, in a temporary table (dropped at
    commit) with fresh statistics.

    Read three times and joined to an INSERT's RETURNING; as a CTE over a run just
    written (no statistics, estimated at one row) the planner joined it to itself by
    nested loops, quadratic in the customers changed. Slots become category ids by a
    CASE over the run's few categories, not by joins."""
    run = plan.run
    table = Table(
        f"run_changed_{uuid.uuid4().hex[:12]}",
        MetaData(),
        Column("customer_id", Uuid(), primary_key=True),
        Column("new_id", Uuid(), nullable=False),
        Column("seen_id", Uuid()),
        Column("rule", SmallInteger(), nullable=False),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    connection = await session.connection()
    await connection.run_sync(table.create)
    outcome = R.c.outcome
    await session.execute(
        insert(table).from_select(
            ["customer_id", "new_id", "seen_id", "rule"],
            select(
                R.c.customer_id,
                _category_id(tree, outcome[category_index(tree.position)]),
                _category_id(tree, outcome[previous_index(tree.position)]),
                outcome[rule_index(tree.position)],
            ).where(
                R.c.tenant_id == run.tenant_id,
                R.c.run_id == run.id,
                R.c.attention != 0,
                outcome[flags_index(tree.position)].op("&")(CHANGED) != 0,
            ),
        )
    )
    await connection.execute(text(f"ANALYZE {table.name}"))
    return table


def _category_id(tree: TreePlan, slot: ColumnElement[int]) -> ColumnElement[Any]:
    """The category id of a slot of the tree (NULL for 0 or a slot it does not have)."""
    return case(
        {number: literal(c.category_id, Uuid()) for number, c in tree.categories.items()},
        value=slot,
        else_=null(),
    )


async def _update_existing(
    session: AsyncSession, plan: RunPlan, tree: TreePlan, changed: Any, applied: Table
) -> None:
    run = plan.run
    # Lock, in customer order, the assignments still as the run saw them; a row changed
    # concurrently is re-read once its lock is free and kept only if it still matches.
    still = (
        select(A.c.customer_id, A.c.category_id, changed.c.new_id, changed.c.rule)
        .join(changed, changed.c.customer_id == A.c.customer_id)
        .where(
            A.c.tenant_id == run.tenant_id,
            A.c.tree_id == tree.tree_id,
            A.c.category_id == changed.c.seen_id,
            ~A.c.locked,
        )
        .order_by(A.c.customer_id)
        .with_for_update(of=A)
    )
    await session.execute(
        insert(applied).from_select(["customer_id", "old_id", "new_id", "rule"], still)
    )
    await session.execute(
        update(A)
        .where(
            A.c.tenant_id == run.tenant_id,
            A.c.tree_id == tree.tree_id,
            A.c.customer_id == applied.c.customer_id,
        )
        .values(
            category_id=applied.c.new_id,
            source="run",
            run_id=run.id,
            reason=None,
            assigned_by=run.created_by,
            assigned_at=func.now(),
            updated_at=func.now(),
            version=A.c.version + 1,
        )
    )


async def _insert_new(
    session: AsyncSession, plan: RunPlan, tree: TreePlan, changed: Any, applied: Table
) -> None:
    run = plan.run
    rows = (
        select(
            literal(run.tenant_id),
            literal(tree.tree_id),
            changed.c.customer_id,
            changed.c.new_id,
            literal(False),
            literal("run"),
            literal(False),
            literal(run.id),
            literal(run.created_by),
        )
        .join(
            Customer,
            and_(Customer.tenant_id == run.tenant_id, Customer.id == changed.c.customer_id),
        )
        .where(
            changed.c.seen_id.is_(None),
            ~exists().where(
                A.c.tenant_id == run.tenant_id,
                A.c.tree_id == tree.tree_id,
                A.c.customer_id == changed.c.customer_id,
            ),
        )
        .order_by(changed.c.customer_id)
    )
    added = (
        pg_insert(A)
        .from_select(
            NEW_ASSIGNMENT_COLUMNS,
            rows,
            include_defaults=False,
        )
        .on_conflict_do_nothing(
            index_elements=["tenant_id", "tree_id", "customer_id"], index_where=~A.c.multi
        )
        .returning(A.c.customer_id, A.c.category_id)
        .cte("added")
    )
    await session.execute(
        insert(applied).from_select(
            ["customer_id", "old_id", "new_id", "rule"],
            select(added.c.customer_id, null(), added.c.category_id, changed.c.rule).join(
                changed, changed.c.customer_id == added.c.customer_id
            ),
        )
    )


async def history_and_outbox(
    session: AsyncSession, plan: RunPlan, tree: TreePlan, applied: Table, actor: str
) -> None:
    run = plan.run
    rules = tree.rules.rules
    whens = [(applied.c.rule == number, rule.key) for number, rule in enumerate(rules, 1)]
    rule_key = case(*whens, else_=None) if whens else null()
    old = Category.__table__.alias("old")
    new = Category.__table__.alias("new")
    moves = applied.outerjoin(
        old, and_(old.c.tenant_id == run.tenant_id, old.c.id == applied.c.old_id)
    ).outerjoin(new, and_(new.c.tenant_id == run.tenant_id, new.c.id == applied.c.new_id))
    await insert_history(
        session,
        select(
            literal(run.tenant_id),
            literal(tree.tree_id),
            applied.c.customer_id,
            applied.c.old_id,
            old.c.code,
            old.c.name,
            applied.c.new_id,
            new.c.code,
            new.c.name,
            literal("run"),
            literal(run.id),
            rule_key,
            literal(actor),
            literal(None, String()),
        ).select_from(moves),
    )
    payload = func.jsonb_build_object(
        "customer_id",
        applied.c.customer_id,
        "customer_code",
        Customer.code,
        "tree_id",
        literal(str(tree.tree_id)),
        "from",
        _category_json(old),
        "to",
        _category_json(new),
        "rule_key",
        rule_key,
        "run_id",
        literal(str(run.id)),
        "as_of",
        literal(run.as_of.isoformat()),
        "source",
        literal("run"),
    )
    await session.execute(
        insert(OutboxEvent).from_select(
            ["tenant_id", "event_type", "payload"],
            select(literal(run.tenant_id), literal("customer.classification_changed"), payload)
            .select_from(
                moves.join(
                    Customer,
                    and_(Customer.tenant_id == run.tenant_id, Customer.id == applied.c.customer_id),
                )
            )
            .order_by(applied.c.customer_id),
        )
    )


def _category_json(category: Any) -> ColumnElement[Any]:
    # NULL, not an object of NULLs, for the side of an add or a removal that has none.
    described = func.jsonb_build_object(
        "id", category.c.id, "code", category.c.code, "name", category.c.name
    )
    return case((category.c.id.is_(None), null()), else_=described)


async def _mark_unapplied(
    session: AsyncSession, plan: RunPlan, tree: TreePlan, changed: Any, applied: Table
) -> tuple[int, int]:
    """Results marked changed that were not applied: a locked assignment now (a locked
    conflict), or one changed by someone else meanwhile (not changed by the run)."""
    run = plan.run
    flags = R.c.outcome[flags_index(tree.position)]
    current = A.alias("now")
    missed = (
        select(
            changed.c.customer_id,
            func.coalesce(func.bool_or(current.c.locked), False).label("locked"),
        )
        .select_from(
            changed.outerjoin(
                current,
                and_(
                    current.c.tenant_id == run.tenant_id,
                    current.c.tree_id == tree.tree_id,
                    current.c.customer_id == changed.c.customer_id,
                ),
            )
        )
        .where(~exists().where(applied.c.customer_id == changed.c.customer_id))
        .group_by(changed.c.customer_id)
        .cte("missed")
    )
    new_flags = flags.op("&")(~CHANGED & 0x7FFF).op("|")(
        case((missed.c.locked, LOCKED_CONFLICT), else_=0)
    )
    result = await session.execute(
        update(R)
        .where(
            R.c.tenant_id == run.tenant_id,
            R.c.run_id == run.id,
            R.c.customer_id == missed.c.customer_id,
        )
        .values({R.c.outcome[flags_index(tree.position)]: cast(new_flags, Integer)})
        .returning(missed.c.locked)
    )
    outcomes = [bool(locked) for (locked,) in result.all()]
    return sum(outcomes), len(outcomes) - sum(outcomes)
