"""Deleting a category: its customers move to `reassign_to` or the default category.

One transaction, set-based whatever the count (see `reassign_all`); on a tree that
requires approval, the delete is filed as a change request instead.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.categories import repository
from app.categories.assignments.repository import reassign_all
from app.categories.change_requests.registry import ApprovalResult, register_change_kind
from app.categories.change_requests.service import Applied, Filed
from app.categories.edits import (
    AUDITED,
    diff_of,
    file_change_request,
    filed_as,
    lock_category,
    locked_target,
    ref,
    view_of,
)
from app.categories.exceptions import (
    CategoryHasChildren,
    CategoryUsedByRules,
    DefaultCategoryIsFixed,
    ReassignTargetInvalid,
)
from app.categories.rule_references import rules_referencing_category
from app.categories.stages import check_reassign_target_fits
from app.core.auth import Principal
from app.core.etag import check_if_match
from app.models import Category, CategoryTree, ChangeRequest


@dataclass(frozen=True)
class Deletion:
    target: Category  # where the customers go
    would_move: int


@dataclass(frozen=True)
class Deleted:
    """A category deleted: where its customers went, and how many."""

    category_id: uuid.UUID
    target: Category
    moved: int


async def reassign_target(
    session: AsyncSession, category: Category, reassign_to: uuid.UUID | None
) -> Category:
    """Where a delete moves the customers: `reassign_to` (same tree, not the category
    itself; else 422) or the tree's default category."""
    if reassign_to is None:
        return await repository.default_category(session, category.tenant_id, category.tree_id)
    target = await repository.category(session, category.tenant_id, reassign_to)
    if target is None or target.tree_id != category.tree_id or target.id == category.id:
        raise ReassignTargetInvalid
    return target


async def _check_delete(
    session: AsyncSession, category: Category, reassign_to: uuid.UUID | None
) -> Deletion:
    if category.is_default:
        raise DefaultCategoryIsFixed
    holdings = await repository.holdings(session, category)
    if holdings.children:
        raise CategoryHasChildren(holdings.children)
    rules = await rules_referencing_category(session, category, published_only=True)
    if rules:
        raise CategoryUsedByRules(rules)
    target = await reassign_target(session, category, reassign_to)
    await check_reassign_target_fits(session, category, target)
    return Deletion(target=target, would_move=holdings.customers_direct)


async def _apply_delete(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    category: Category,
    target: Category,
    request: ChangeRequest | None = None,
) -> int:
    """Move every assignment to `target` (with history), then delete: set-based."""
    before = AUDITED.snapshot(category)
    reason = f"分类“{category.name}”({category.code})已删除 / category {category.code} deleted"
    moved = await reassign_all(session, principal, tree, category, target, reason)
    session.expunge(category)
    await repository.delete_category(session, category)
    after = {"reassigned_to": ref(target), "moved": moved, **filed_as(request)}
    AUDITED.record(session, principal, category.id, "delete", before, after)
    return moved


async def delete_category(
    session: AsyncSession,
    principal: Principal,
    category_id: uuid.UUID,
    reassign_to: uuid.UUID | None,
    if_match: str | None,
    note: str | None,
) -> Applied[Deleted] | Filed:
    """Delete a category (no children), moving its customers to `reassign_to` or the
    default category in the same transaction; or file the delete for approval."""
    tree, category = await lock_category(session, principal, category_id)
    check_if_match(if_match, category.version)
    deletion = await _check_delete(session, category, reassign_to)
    await repository.category(session, tree.tenant_id, deletion.target.id, lock="key share")
    if tree.requires_approval:
        diff = diff_of(
            category,
            view_of(category),
            None,
            reassign_to=ref(deletion.target),
            customers_moved=deletion.would_move,
        )
        payload = {"reassign_to": str(reassign_to) if reassign_to else None}
        return await file_change_request(
            session, principal, "category.delete", tree, category, payload, diff, note
        )
    moved = await _apply_delete(session, principal, tree, category, deletion.target)
    return Applied(Deleted(category.id, deletion.target, moved))


async def _approve_delete(
    session: AsyncSession, principal: Principal, request: ChangeRequest
) -> ApprovalResult:
    tree, category = await locked_target(session, principal, request)
    reassign_to = request.payload.get("reassign_to")
    deletion = await _check_delete(
        session, category, uuid.UUID(reassign_to) if reassign_to else None
    )
    moved = await _apply_delete(session, principal, tree, category, deletion.target, request)
    return {
        "category_id": str(category.id),
        "reassigned_to": str(deletion.target.id),
        "moved": moved,
    }


register_change_kind("category.delete", _approve_delete)
