"""Set-based writes and reads of assignments and their history.

Every write here is one statement per table whatever the number of customers, and
every change of category writes its history row in the same transaction.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    Uuid,
    and_,
    any_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.pagination import PageParams, keyset_page
from app.core.sql import rows_written, uuid_array
from app.models import Assignment, AssignmentHistory, Category, CategoryTree, table_of

A = table_of(Assignment)
H = table_of(AssignmentHistory)
C = table_of(Category)


async def reassign_all(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    source: Category,
    target: Category,
    reason: str,
) -> int:
    """Move every assignment of `source` to `target` and write a history row per
    customer (source `reassign`), in ONE statement: an UPDATE … RETURNING feeding an
    INSERT … SELECT. In a multi-assign tree a customer already holding `target` just
    loses `source` (DELETE … RETURNING in the same statement). Returns customers moved.
    """
    tenant = principal.tenant_id
    held = A.alias("held")
    holds_target = exists().where(
        held.c.tenant_id == tenant,
        held.c.tree_id == tree.id,
        held.c.customer_id == A.c.customer_id,
        held.c.category_id == target.id,
    )
    own = and_(A.c.tenant_id == tenant, A.c.category_id == source.id)
    moving = update(A).where(own)
    if tree.multi_assign:
        moving = moving.where(~holds_target)
    moved = (
        moving.values(
            category_id=target.id,
            source="reassign",
            reason=reason,
            run_id=None,
            assigned_by=principal.actor,
            assigned_at=func.now(),
            version=A.c.version + 1,
        )
        .returning(A.c.customer_id)
        .cte("moved")
    )
    customers: Select[Any] | CompoundSelect[Any] = select(moved.c.customer_id)
    if tree.multi_assign:
        dropped = delete(A).where(own, holds_target).returning(A.c.customer_id).cte("dropped")
        customers = select(moved.c.customer_id).union_all(select(dropped.c.customer_id))
    everyone = customers.subquery("everyone")
    rows = select(
        literal(tenant),
        literal(tree.id),
        everyone.c.customer_id,
        literal(source.id),
        literal(source.code),
        literal(source.name),
        literal(target.id),
        literal(target.code),
        literal(target.name),
        literal("reassign"),
        literal(None, Uuid()),
        literal(None, String()),
        literal(principal.actor),
        literal(reason),
    )
    return await insert_history(session, rows)


async def current(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID,
    customer_id: uuid.UUID,
    *,
    lock: bool = False,
) -> list[Assignment]:
    """The customer's assignments in a tree (FOR UPDATE with `lock`)."""
    statement = select(Assignment).where(
        Assignment.tenant_id == tenant_id,
        Assignment.tree_id == tree_id,
        Assignment.customer_id == customer_id,
    )
    if lock:
        statement = statement.with_for_update()
    rows = await session.scalars(
        statement.order_by(Assignment.assigned_at, Assignment.id).execution_options(
            populate_existing=True
        )
    )
    return list(rows.all())


async def lock_existing(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID,
    customer_ids: Sequence[uuid.UUID],
) -> None:
    """Lock the customers' assignments in the tree, in one order (no deadlock between two
    bulk requests over the same customers), so the upsert that follows reads the
    categories it replaces as they are once the locks are held."""
    await session.execute(
        select(A.c.id)
        .where(
            A.c.tenant_id == tenant_id,
            A.c.tree_id == tree_id,
            A.c.customer_id == any_(uuid_array(customer_ids)),
        )
        .order_by(A.c.customer_id, A.c.id)
        .with_for_update()
    )


@dataclass(frozen=True)
class Upserted:
    customer_id: uuid.UUID
    created: bool
    previous: uuid.UUID | None  # the category before (single-assign trees), if any


async def upsert(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    category: Category,
    customer_ids: Sequence[uuid.UUID],
    *,
    source: str,
    locked: bool,
    reason: str | None,
) -> list[Upserted]:
    """Put the customers in `category` (one INSERT … ON CONFLICT DO UPDATE): in a
    single-assign tree it replaces their category, in a multi-assign tree it adds it.
    Reports, per customer, whether the row is new and the category it replaced."""
    ids = uuid_array(customer_ids)
    tenant = principal.tenant_id
    replaced = select(A.c.customer_id, A.c.category_id).where(
        A.c.tenant_id == tenant, A.c.tree_id == tree.id, A.c.customer_id == any_(ids)
    )
    if tree.multi_assign:
        replaced = replaced.where(A.c.category_id == category.id)
    # The statement's snapshot: the categories before it (no FOR UPDATE here — rows the
    # upsert itself updates would then be skipped as modified by this very command).
    old = replaced.cte("old")
    given = select(func.unnest(ids).label("customer_id")).subquery("given")
    rows = select(
        literal(tenant),
        literal(tree.id),
        given.c.customer_id,
        literal(category.id),
        literal(tree.multi_assign),
        literal(source),
        literal(locked),
        literal(reason),
        literal(principal.actor),
    )
    inserting = pg_insert(A).from_select(
        [
            "tenant_id",
            "tree_id",
            "customer_id",
            "category_id",
            "multi",
            "source",
            "locked",
            "reason",
            "assigned_by",
        ],
        rows,
        include_defaults=False,  # else one uuid4() default would be shared by every row
    )
    excluded = inserting.excluded
    changed = A.c.category_id != excluded.category_id
    statement = inserting.on_conflict_do_update(
        index_elements=["tenant_id", "tree_id", "customer_id"]
        + (["category_id"] if tree.multi_assign else []),
        index_where=None if tree.multi_assign else ~A.c.multi,
        set_={
            "category_id": excluded.category_id,
            "source": excluded.source,
            "locked": excluded.locked,
            "reason": excluded.reason,
            "run_id": None,
            "assigned_by": excluded.assigned_by,
            "assigned_at": case((changed, func.now()), else_=A.c.assigned_at),
            "version": A.c.version + 1,
            "updated_at": func.now(),
        },
    ).returning(A.c.customer_id, literal_column("xmax = 0").label("created"))
    up = statement.cte("up")
    result = await session.execute(
        select(up.c.customer_id, up.c.created, old.c.category_id).select_from(
            up.outerjoin(old, old.c.customer_id == up.c.customer_id)
        )
    )
    return [Upserted(row[0], row[1], row[2]) for row in result.all()]


async def remove(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID,
    customer_id: uuid.UUID,
    only: uuid.UUID | None,
) -> list[uuid.UUID]:
    """Delete the customer's assignments in the tree (or only the one to `only`);
    returns the categories removed."""
    statement = delete(A).where(
        A.c.tenant_id == tenant_id, A.c.tree_id == tree_id, A.c.customer_id == customer_id
    )
    if only is not None:
        statement = statement.where(A.c.category_id == only)
    result = await session.execute(statement.returning(A.c.category_id))
    return list(result.scalars().all())


async def write_history(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    moves: Sequence[tuple[uuid.UUID, uuid.UUID | None]],
    to: Category | None,
    *,
    source: str,
    reason: str | None,
    run_id: uuid.UUID | None = None,
) -> int:
    """One history row per (customer, previous category) → `to`, in one INSERT … SELECT
    (previous categories' codes and names joined in)."""
    if not moves:
        return 0
    given = select(
        func.unnest(uuid_array([m[0] for m in moves])).label("customer_id"),
        func.unnest(uuid_array([m[1] for m in moves])).label("from_id"),
    ).subquery("given")
    previous = C.alias("previous")
    rows = select(
        literal(principal.tenant_id),
        literal(tree.id),
        given.c.customer_id,
        given.c.from_id,
        previous.c.code,
        previous.c.name,
        literal(to.id if to else None, Uuid()),
        literal(to.code if to else None),
        literal(to.name if to else None),
        literal(source),
        literal(run_id, Uuid()),
        literal(None, String()),
        literal(principal.actor),
        literal(reason),
    ).select_from(given.outerjoin(previous, previous.c.id == given.c.from_id))
    return await insert_history(session, rows)


# The columns of a history row, in the order `insert_history`'s rows give them.
HISTORY_COLUMNS = (
    "tenant_id",
    "tree_id",
    "customer_id",
    "from_category_id",
    "from_code",
    "from_name",
    "to_category_id",
    "to_code",
    "to_name",
    "source",
    "run_id",
    "rule_key",
    "actor",
    "reason",
)


async def insert_history(session: AsyncSession, rows: Select[Any]) -> int:
    """Insert the history rows a SELECT gives (in `HISTORY_COLUMNS` order); returns how
    many. Every change of category writes them: manual, reassigned, run."""
    statement = insert(H).from_select(
        HISTORY_COLUMNS,
        rows,
        include_defaults=False,  # else one uuid4() default would be shared by every row
    )
    return await rows_written(session, statement)


async def page_of_history(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_id: uuid.UUID,
    tree_id: uuid.UUID | None,
    page: PageParams,
) -> tuple[list[AssignmentHistory], str | None]:
    """A customer's timeline, newest first."""
    statement = select(AssignmentHistory).where(
        AssignmentHistory.tenant_id == tenant_id, AssignmentHistory.customer_id == customer_id
    )
    if tree_id is not None:
        statement = statement.where(AssignmentHistory.tree_id == tree_id)
    return await keyset_page(
        session, statement, [AssignmentHistory.at, AssignmentHistory.id], page, descending=True
    )


async def trees_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CategoryTree]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(CategoryTree).where(
            CategoryTree.tenant_id == tenant_id, CategoryTree.id == any_(uuid_array(ids))
        )
    )
    return {t.id: t for t in rows.all()}
