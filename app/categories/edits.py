"""Category edits: create and update, and the steps every category edit shares
(moves are in `moves`, deletes in `deletion`).

Each edit has the same three steps, shared by the direct path and by approval:
lock (the tree row first — every structural change of a tree is serialised by it — then
the category), check against the current state (the invariants of the module docstring
of `app.models.categories`, each a clear 409/422), then apply. On a tree that
`requires_approval` the direct path stops after the check and files a change request
(202) whose diff shows what approving would do; approving locks, checks and applies
again through the same functions, 409 if the target changed since.
"""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited, snapshot
from app.categories import repository
from app.categories import service as trees
from app.categories.change_requests import service as change_requests
from app.categories.change_requests.registry import (
    ApprovalResult,
    ensure_unchanged,
    register_change_kind,
)
from app.categories.change_requests.service import Applied, Filed
from app.categories.exceptions import (
    CategoryNotFound,
    CodeTaken,
    DefaultCannotHaveChildren,
    DefaultCategoryIsFixed,
    DepthExceeded,
    NameTakenAmongSiblings,
    ParentNotInTree,
    TooManyCategories,
)
from app.categories.rule_references import rules_referencing_category
from app.categories.schemas import CategoryCreate, CategoryUpdate
from app.categories.stages import (
    check_applies_to_fits_ancestors,
    check_customers_fit,
    check_subtree_fits_under,
)
from app.core.auth import Principal
from app.core.etag import check_if_match
from app.models import Category, CategoryTree, ChangeRequest

MAX_CATEGORIES_PER_TREE = 2_000
AUDIT_FIELDS = (
    "tree_id",
    "parent_id",
    "code",
    "name",
    "name_en",
    "level",
    "applies_to",
    "description",
    "sort_order",
    "is_default",
    "next_action",
    "owner_role",
    "sla_days",
)
AUDITED = Audited("category", AUDIT_FIELDS)
PLAYBOOK_COLUMNS = ("next_action", "owner_role", "sla_days")
REVIEW_FIELDS = (
    "code",
    "name",
    "name_en",
    "parent_id",
    "level",
    "applies_to",
    "description",
    "sort_order",
    *PLAYBOOK_COLUMNS,
)


async def lock_category(
    session: AsyncSession, principal: Principal, category_id: uuid.UUID
) -> tuple[CategoryTree, Category]:
    """The category's tree (locked first) and the category (FOR UPDATE), else 404."""
    found = await repository.category(session, principal.tenant_id, category_id)
    if found is None:
        raise CategoryNotFound
    tree = await trees.lock_tree(session, principal, found.tree_id)
    category = await repository.category(session, principal.tenant_id, category_id, lock="update")
    if category is None:  # deleted while we waited for the tree
        raise CategoryNotFound
    return tree, category


def view_of(category: Category) -> dict[str, Any]:
    """What a reviewer reads about a category."""
    return snapshot(category, REVIEW_FIELDS)


def ref(category: Category | None) -> dict[str, str] | None:
    if category is None:
        return None
    return {"id": str(category.id), "code": category.code, "name": category.name}


def diff_of(
    target: Category | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    **effects: Any,
) -> dict[str, Any]:
    return {"target": ref(target), "before": before, "after": after, "effects": effects}


async def file_change_request(
    session: AsyncSession,
    principal: Principal,
    kind: str,
    tree: CategoryTree,
    target: Category | None,
    payload: dict[str, Any],
    diff: dict[str, Any],
    note: str | None,
) -> Filed:
    """File an edit (checked against the current state) for approval."""
    request = await change_requests.submit(
        session,
        principal,
        kind=kind,
        tree_id=tree.id,
        target_id=target.id if target else None,
        target_version=target.version if target else None,
        payload=payload,
        diff=diff,
        note=note,
    )
    return Filed(request)


def filed_as(request: ChangeRequest | None) -> dict[str, Any]:
    """What the audit event of an edit applied by approving `request` adds to `after`."""
    if request is None:
        return {}
    return {"change_request_id": str(request.id), "submitted_by": request.submitted_by}


async def load_parent(
    session: AsyncSession, tree: CategoryTree, parent_id: uuid.UUID | None
) -> Category | None:
    """The would-be parent: in this tree (else 422) and not the default category."""
    if parent_id is None:
        return None
    parent = await repository.category(session, tree.tenant_id, parent_id)
    if parent is None or parent.tree_id != tree.id:
        raise ParentNotInTree
    if parent.is_default:
        raise DefaultCannotHaveChildren
    return parent


async def check_sibling_name(
    session: AsyncSession,
    tree: CategoryTree,
    parent_id: uuid.UUID | None,
    name: str,
    other_than: uuid.UUID | None = None,
) -> None:
    if await repository.sibling_with_name(
        session, tree.tenant_id, tree.id, parent_id, name, other_than=other_than
    ):
        raise NameTakenAmongSiblings


def _playbook_values(playbook: Any) -> dict[str, Any]:
    if playbook is None:
        return dict.fromkeys(PLAYBOOK_COLUMNS)
    return {name: getattr(playbook, name) for name in PLAYBOOK_COLUMNS}


# --- create -----------------------------------------------------------------------------


async def validated_new_category(
    session: AsyncSession, tree: CategoryTree, body: CategoryCreate
) -> Category | None:
    """Check a new category against the (locked) tree; returns its parent."""
    if (
        await repository.count_categories(session, tree.tenant_id, tree.id)
        >= MAX_CATEGORIES_PER_TREE
    ):
        raise TooManyCategories(MAX_CATEGORIES_PER_TREE)
    parent = await load_parent(session, tree, body.parent_id)
    level = parent.level + 1 if parent else 1
    if level > tree.max_depth:
        raise DepthExceeded(level, tree.max_depth, ["body", "parent_id"])
    if parent is not None:
        await check_applies_to_fits_ancestors(
            session, parent, body.applies_to, ["body", "applies_to"]
        )
    if await repository.code_taken(session, tree.tenant_id, tree.id, body.code):
        raise CodeTaken
    await check_sibling_name(session, tree, body.parent_id, body.name)
    return parent


async def insert_category(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    body: CategoryCreate,
    parent: Category | None,
    request: ChangeRequest | None = None,
) -> Category:
    """Insert a checked category; audited."""
    category_id = uuid.uuid4()
    fields = body.model_dump(exclude={"parent_id", "playbook"})
    category = Category(
        id=category_id,
        tenant_id=tree.tenant_id,
        tree_id=tree.id,
        parent_id=parent.id if parent else None,
        level=parent.level + 1 if parent else 1,
        path=[*(parent.path if parent else []), category_id],
        **fields,
        **_playbook_values(body.playbook),
    )
    await AUDITED.write(session, principal, category, "create", extra=filed_as(request))
    return category


async def create_category(
    session: AsyncSession,
    principal: Principal,
    tree_id: uuid.UUID,
    body: CategoryCreate,
    note: str | None,
) -> Applied[Category] | Filed:
    """Create a category in a tree, or file the creation for approval."""
    tree = await trees.lock_tree(session, principal, tree_id)
    parent = await validated_new_category(session, tree, body)
    if tree.requires_approval:
        after = {
            **body.model_dump(mode="json", exclude={"parent_id", "playbook"}),
            **_playbook_values(body.playbook),
            "parent": ref(parent),
            "level": parent.level + 1 if parent else 1,
        }
        payload = body.model_dump(mode="json", exclude_unset=True)
        return await file_change_request(
            session,
            principal,
            "category.create",
            tree,
            None,
            payload,
            diff_of(None, None, after),
            note,
        )
    return Applied(await insert_category(session, principal, tree, body, parent))


async def _approve_create(
    session: AsyncSession, principal: Principal, request: ChangeRequest
) -> ApprovalResult:
    assert request.tree_id is not None
    tree = await trees.lock_tree(session, principal, request.tree_id)
    body = CategoryCreate.model_validate(request.payload)
    parent = await validated_new_category(session, tree, body)
    category = await insert_category(session, principal, tree, body, parent, request)
    return {"category_id": str(category.id)}


# --- update -----------------------------------------------------------------------------


def _changed_values(category: Category, changes: CategoryUpdate) -> dict[str, Any]:
    """Column values that differ from the category's (omitted fields keep theirs)."""
    given = changes.model_dump(exclude_unset=True, exclude={"playbook"})
    values = {k: v for k, v in given.items() if v is not None or k in ("name_en", "description")}
    if "playbook" in changes.model_fields_set:
        values.update(_playbook_values(changes.playbook))
    return {k: v for k, v in values.items() if getattr(category, k) != v}


async def _check_update(
    session: AsyncSession, tree: CategoryTree, category: Category, values: dict[str, Any]
) -> None:
    if category.is_default and ("code" in values or values.get("applies_to", "all") != "all"):
        raise DefaultCategoryIsFixed
    if "code" in values and await repository.code_taken(
        session, tree.tenant_id, tree.id, values["code"]
    ):
        raise CodeTaken
    if "name" in values:
        await check_sibling_name(session, tree, category.parent_id, values["name"], category.id)
    if "applies_to" in values:
        await check_subtree_fits_under(
            session, category, values["applies_to"], ["body", "applies_to"]
        )
        await check_customers_fit(session, category, values["applies_to"])


async def _apply_update(
    session: AsyncSession,
    principal: Principal,
    category: Category,
    values: dict[str, Any],
    request: ChangeRequest | None = None,
) -> Category:
    if not values:
        return category
    await AUDITED.update(session, principal, category, values, extra=filed_as(request))
    return category


async def update_category(
    session: AsyncSession,
    principal: Principal,
    category_id: uuid.UUID,
    changes: CategoryUpdate,
    if_match: str | None,
    note: str | None,
) -> Applied[Category] | Filed:
    """Edit a category's fields (If-Match), or file the edit for approval."""
    tree, category = await lock_category(session, principal, category_id)
    check_if_match(if_match, category.version)
    values = _changed_values(category, changes)
    await _check_update(session, tree, category, values)
    if tree.requires_approval and values:
        rules = await rules_referencing_category(session, category)
        before = {k: getattr(category, k) for k in values}
        diff = diff_of(category, before, values, rules=[r.to_json() for r in rules])
        payload = changes.model_dump(mode="json", exclude_unset=True)
        return await file_change_request(
            session, principal, "category.update", tree, category, payload, diff, note
        )
    return Applied(await _apply_update(session, principal, category, values))


async def locked_target(
    session: AsyncSession, principal: Principal, request: ChangeRequest
) -> tuple[CategoryTree, Category]:
    assert request.tree_id is not None
    assert request.target_id is not None
    tree = await trees.lock_tree(session, principal, request.tree_id)
    category = await repository.category(
        session, principal.tenant_id, request.target_id, lock="update"
    )
    ensure_unchanged(request, category.version if category else None)
    assert category is not None
    return tree, category


async def _approve_update(
    session: AsyncSession, principal: Principal, request: ChangeRequest
) -> ApprovalResult:
    tree, category = await locked_target(session, principal, request)
    values = _changed_values(category, CategoryUpdate.model_validate(request.payload))
    await _check_update(session, tree, category, values)
    await _apply_update(session, principal, category, values, request)
    return {"category_id": str(category.id), "version": category.version}


register_change_kind("category.create", _approve_create)
register_change_kind("category.update", _approve_update)
