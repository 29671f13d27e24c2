"""Queries for category trees and categories (always within one tenant).

Structural changes lock the tree row first (`lock_tree`), which serialises every
change to one tree's shape: two moves that together would form a cycle run one after
the other, and the second sees the first's result.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, any_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.core.pagination import PageParams, keyset_page
from app.core.sql import rows_written, uuid_array
from app.models import Assignment, Category, CategoryTree, Customer

# --- trees ------------------------------------------------------------------------------


async def tree(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID, *, lock: bool = False
) -> CategoryTree | None:
    """A tree; with `lock`, FOR NO KEY UPDATE (serialises structural changes without
    blocking inserts of assignments, whose foreign key takes only KEY SHARE)."""
    statement = select(CategoryTree).where(
        CategoryTree.tenant_id == tenant_id, CategoryTree.id == tree_id
    )
    if lock:
        statement = statement.with_for_update(key_share=True)
    return await session.scalar(statement.execution_options(populate_existing=True))


async def tree_by_key(session: AsyncSession, tenant_id: uuid.UUID, key: str) -> CategoryTree | None:
    return await session.scalar(
        select(CategoryTree).where(CategoryTree.tenant_id == tenant_id, CategoryTree.key == key)
    )


async def page_of_trees(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams
) -> tuple[list[CategoryTree], str | None]:
    statement = select(CategoryTree).where(CategoryTree.tenant_id == tenant_id)
    return await keyset_page(session, statement, [CategoryTree.created_at, CategoryTree.id], page)


async def tree_height(session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID) -> int:
    """The deepest level in use."""
    return (
        await session.execute(
            select(func.coalesce(func.max(Category.level), 0)).where(
                Category.tenant_id == tenant_id, Category.tree_id == tree_id
            )
        )
    ).scalar_one()


async def customers_with_several_categories(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID
) -> int:
    """Customers holding more than one category of the tree."""
    several = (
        select(Assignment.customer_id)
        .where(Assignment.tenant_id == tenant_id, Assignment.tree_id == tree_id)
        .group_by(Assignment.customer_id)
        .having(func.count() > 1)
        .subquery()
    )
    return (await session.execute(select(func.count()).select_from(several))).scalar_one()


async def assignments_in_tree(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID
) -> int:
    return (
        await session.execute(
            select(func.count()).where(
                Assignment.tenant_id == tenant_id, Assignment.tree_id == tree_id
            )
        )
    ).scalar_one()


async def delete_tree(session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID) -> None:
    """Delete the tree; categories, assignments, history and change requests cascade."""
    await session.execute(
        delete(CategoryTree).where(CategoryTree.tenant_id == tenant_id, CategoryTree.id == tree_id),
        execution_options={"synchronize_session": False},
    )


# --- categories -------------------------------------------------------------------------


def tree_order() -> list[InstrumentedAttribute[Any]]:
    """Siblings' display order: the default category last, then sort_order, code."""
    return [Category.is_default, Category.sort_order, Category.code]


async def categories_of_tree(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID
) -> list[Category]:
    rows = await session.scalars(
        select(Category)
        .where(Category.tenant_id == tenant_id, Category.tree_id == tree_id)
        .order_by(Category.level, *tree_order())
    )
    return list(rows.all())


async def count_categories(session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID) -> int:
    return (
        await session.execute(
            select(func.count()).where(Category.tenant_id == tenant_id, Category.tree_id == tree_id)
        )
    ).scalar_one()


async def category(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    category_id: uuid.UUID,
    *,
    lock: str | None = None,
) -> Category | None:
    """A category; `lock` is "update" (edits, deletes) or "key share" (assigning to it:
    a concurrent delete waits for the assignment, or the assignment finds it gone)."""
    statement = select(Category).where(Category.tenant_id == tenant_id, Category.id == category_id)
    if lock == "update":
        statement = statement.with_for_update()
    elif lock == "key share":
        statement = statement.with_for_update(read=True, key_share=True)
    return await session.scalar(statement.execution_options(populate_existing=True))


async def default_category(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID
) -> Category:
    return (
        await session.scalars(
            select(Category).where(
                Category.tenant_id == tenant_id, Category.tree_id == tree_id, Category.is_default
            )
        )
    ).one()


async def codes_of(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Codes of categories by id (for paths)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Category.id, Category.code).where(
            Category.tenant_id == tenant_id, Category.id == any_(uuid_array(ids))
        )
    )
    return {id_: code for id_, code in rows.all()}


async def sibling_with_name(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    name: str,
    *,
    other_than: uuid.UUID | None = None,
) -> bool:
    """Whether a category under `parent_id` (None: top level) already has `name`."""
    statement = select(Category.id).where(
        Category.tenant_id == tenant_id,
        Category.tree_id == tree_id,
        Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id,
        Category.name == name,
    )
    if other_than is not None:
        statement = statement.where(Category.id != other_than)
    return await session.scalar(statement.limit(1)) is not None


async def code_taken(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID, code: str
) -> bool:
    return (
        await session.scalar(
            select(Category.id).where(
                Category.tenant_id == tenant_id, Category.tree_id == tree_id, Category.code == code
            )
        )
    ) is not None


def in_subtree(root: Category) -> ColumnElement[bool]:
    """Categories in `root`'s subtree, root included (their path contains it)."""
    return and_(
        Category.tenant_id == root.tenant_id,
        Category.tree_id == root.tree_id,
        Category.path.contains(uuid_array([root.id])),
    )


@dataclass(frozen=True)
class SubtreeShape:
    size: int  # categories, root included
    height: int  # levels, root included
    children: int


async def subtree_shape(session: AsyncSession, root: Category) -> SubtreeShape:
    row = (
        await session.execute(
            select(
                func.count(),
                func.max(Category.level),
                func.count().filter(Category.parent_id == root.id),
            ).where(in_subtree(root))
        )
    ).one()
    return SubtreeShape(size=row[0], height=row[1] - root.level + 1, children=row[2])


async def move_subtree(
    session: AsyncSession, node: Category, new_parent: Category | None, sort_order: int | None
) -> int:
    """Re-root `node`'s subtree under `new_parent` in one UPDATE: every path gets the new
    prefix, every level shifts by the same amount; returns the categories touched."""
    prefix = list(new_parent.path) if new_parent is not None else []
    shift = len(prefix) + 1 - node.level
    # path[node.level:] is the part from `node` down; it keeps its ids.
    tail = Category.path[node.level : func.cardinality(Category.path)]
    is_node = Category.id == node.id
    values: dict[str, Any] = {
        "path": func.array_cat(uuid_array(prefix), tail),
        "level": Category.level + shift,
        "parent_id": case(
            (is_node, new_parent.id if new_parent else None), else_=Category.parent_id
        ),
        "version": Category.version + 1,
        "updated_at": func.now(),
    }
    if sort_order is not None:
        values["sort_order"] = case((is_node, sort_order), else_=Category.sort_order)
    return await rows_written(
        session,
        update(Category).where(in_subtree(node)).values(**values),
        execution_options={"synchronize_session": False},
    )


async def delete_category(session: AsyncSession, category: Category) -> None:
    await session.execute(
        delete(Category).where(
            Category.tenant_id == category.tenant_id, Category.id == category.id
        ),
        execution_options={"synchronize_session": False},
    )


# --- what a category holds --------------------------------------------------------------


@dataclass(frozen=True)
class Holdings:
    customers_direct: int
    customers_in_descendants: int
    children: int
    descendants: int


async def holdings(session: AsyncSession, category: Category) -> Holdings:
    """Customers in the category and below it, and its children and descendants."""
    below = select(Category.id).where(in_subtree(category), Category.id != category.id)
    shape = await subtree_shape(session, category)
    counts = (
        await session.execute(
            select(
                func.count().filter(Assignment.category_id == category.id),
                func.count(func.distinct(Assignment.customer_id)).filter(
                    Assignment.category_id != category.id
                ),
            ).where(
                Assignment.tenant_id == category.tenant_id,
                or_(Assignment.category_id == category.id, Assignment.category_id.in_(below)),
            )
        )
    ).one()
    return Holdings(
        customers_direct=counts[0],
        customers_in_descendants=counts[1],
        children=shape.children,
        descendants=shape.size - 1,
    )


async def customers_not_fitting(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    category_ids: Select[Any] | list[uuid.UUID],
    allowed_stages: set[str],
) -> int:
    """Customers assigned to any of `category_ids` whose stage is not allowed."""
    return (
        await session.execute(
            select(func.count(func.distinct(Assignment.customer_id)))
            .join(Customer, Customer.id == Assignment.customer_id)
            .where(
                Assignment.tenant_id == tenant_id,
                Assignment.category_id.in_(category_ids),
                Customer.stage.not_in(allowed_stages),
            )
        )
    ).scalar_one()


async def page_of_members(
    session: AsyncSession, category: Category, include_descendants: bool, page: PageParams
) -> tuple[list[Assignment], str | None]:
    """Assignments to the category (or its subtree), by customer id."""
    statement = select(Assignment).where(Assignment.tenant_id == category.tenant_id)
    if include_descendants:
        statement = statement.where(
            Assignment.category_id.in_(select(Category.id).where(in_subtree(category)))
        )
    else:
        statement = statement.where(Assignment.category_id == category.id)
    return await keyset_page(session, statement, [Assignment.customer_id, Assignment.id], page)


async def categories_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Category]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Category).where(
            Category.tenant_id == tenant_id, Category.id == any_(uuid_array(ids))
        )
    )
    return {c.id: c for c in rows.all()}
