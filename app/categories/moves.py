"""Moving a category with its whole subtree under another parent of the same tree.

The tree row is locked first (`lock_category`), so concurrent moves of one tree run one
after the other: two moves that together would form a cycle cannot both pass the
cycle check. The subtree is re-rooted by one UPDATE (`repository.move_subtree`).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.categories import repository
from app.categories.change_requests.registry import ApprovalResult, register_change_kind
from app.categories.change_requests.service import Applied, Filed
from app.categories.edits import (
    AUDITED,
    check_sibling_name,
    diff_of,
    file_change_request,
    filed_as,
    load_parent,
    lock_category,
    locked_target,
    ref,
)
from app.categories.exceptions import DefaultCategoryIsFixed, DepthExceeded, WouldFormCycle
from app.categories.schemas import CategoryMove
from app.categories.stages import check_applies_to_fits_ancestors
from app.core.auth import Principal
from app.core.etag import check_if_match
from app.models import Category, CategoryTree, ChangeRequest


@dataclass(frozen=True)
class Move:
    parent: Category | None
    old_parent: Category | None
    new_level: int
    size: int


async def _check_move(
    session: AsyncSession, tree: CategoryTree, category: Category, body: CategoryMove
) -> Move:
    if category.is_default:
        raise DefaultCategoryIsFixed
    parent = await load_parent(session, tree, body.parent_id)
    if parent is not None and category.id in parent.path:
        raise WouldFormCycle
    shape = await repository.subtree_shape(session, category)
    new_level = parent.level + 1 if parent else 1
    depth = new_level + shape.height - 1
    if depth > tree.max_depth:
        raise DepthExceeded(depth, tree.max_depth, ["body", "parent_id"])
    if body.parent_id != category.parent_id:
        await check_sibling_name(session, tree, body.parent_id, category.name, category.id)
        if parent is not None:
            await check_applies_to_fits_ancestors(
                session, parent, None, ["body", "parent_id"], subtree=category
            )
    old_parent = (
        await repository.category(session, tree.tenant_id, category.parent_id)
        if category.parent_id
        else None
    )
    return Move(parent=parent, old_parent=old_parent, new_level=new_level, size=shape.size)


async def _apply_move(
    session: AsyncSession,
    principal: Principal,
    category: Category,
    body: CategoryMove,
    move: Move,
    request: ChangeRequest | None = None,
) -> Category:
    before = AUDITED.snapshot(category)
    await repository.move_subtree(session, category, move.parent, body.sort_order)
    extra = {"categories_moved": move.size, **filed_as(request)}
    await AUDITED.write(session, principal, category, "move", before=before, extra=extra)
    return category


async def move_category(
    session: AsyncSession,
    principal: Principal,
    category_id: uuid.UUID,
    body: CategoryMove,
    if_match: str | None,
    note: str | None,
) -> Applied[Category] | Filed:
    """Move a category (with its subtree) under another parent, or file the move."""
    tree, category = await lock_category(session, principal, category_id)
    check_if_match(if_match, category.version)
    move = await _check_move(session, tree, category, body)
    if tree.requires_approval:
        before = {
            "parent": ref(move.old_parent),
            "level": category.level,
            "sort_order": category.sort_order,
        }
        sort_order = category.sort_order if body.sort_order is None else body.sort_order
        after = {"parent": ref(move.parent), "level": move.new_level, "sort_order": sort_order}
        diff = diff_of(category, before, after, categories_moved=move.size)
        return await file_change_request(
            session,
            principal,
            "category.move",
            tree,
            category,
            body.model_dump(mode="json"),
            diff,
            note,
        )
    return Applied(await _apply_move(session, principal, category, body, move))


async def _approve_move(
    session: AsyncSession, principal: Principal, request: ChangeRequest
) -> ApprovalResult:
    tree, category = await locked_target(session, principal, request)
    body = CategoryMove.model_validate(request.payload)
    move = await _check_move(session, tree, category, body)
    await _apply_move(session, principal, category, body, move, request)
    return {"category_id": str(category.id), "categories_moved": move.size}


register_change_kind("category.move", _approve_move)
