"""Category trees: create (with the default category), edit, delete; reading categories.

Edits of categories (create, update, move, delete with reassignment), which may need
approval, are in `app.categories.edits`.
"""

import uuid
from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited
from app.categories import repository
from app.categories.exceptions import (
    CategoryNotFound,
    CustomersHoldSeveral,
    TreeHasAssignments,
    TreeKeyTaken,
    TreeNotFound,
    TreeTooDeepForMaxDepth,
)
from app.categories.schemas import (
    CategoryMember,
    CategoryNode,
    CategoryOut,
    CategoryRef,
    CustomerSummary,
    PlaybookOut,
    TreeCreate,
    TreeOut,
    TreeUpdate,
)
from app.core.auth import Principal
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.core.pagination import Page, PageParams
from app.customers.repository import customers_by_id
from app.models import Category, CategoryTree

TREE_AUDIT_FIELDS = (
    "key",
    "name",
    "name_en",
    "description",
    "max_depth",
    "requires_approval",
    "multi_assign",
    "drift_threshold_pp",
)
TREE_AUDIT = Audited("category_tree", TREE_AUDIT_FIELDS)
DEFAULT_CODE = "DEFAULT"
DEFAULT_NAME, DEFAULT_NAME_EN = "默认分类", "Default"


# --- trees ------------------------------------------------------------------------------


async def list_trees(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[CategoryTree], str | None]:
    """One page of the tenant's category trees, oldest first."""
    return await repository.page_of_trees(session, principal.tenant_id, page)


async def get_tree(session: AsyncSession, principal: Principal, tree_id: uuid.UUID) -> CategoryTree:
    """A tree of the caller's tenant, else 404."""
    tree = await repository.tree(session, principal.tenant_id, tree_id)
    if tree is None:
        raise TreeNotFound
    return tree


async def lock_tree(
    session: AsyncSession, principal: Principal, tree_id: uuid.UUID
) -> CategoryTree:
    """The tree, locked against other structural changes until the transaction ends."""
    tree = await repository.tree(session, principal.tenant_id, tree_id, lock=True)
    if tree is None:
        raise TreeNotFound
    return tree


async def create_tree(
    session: AsyncSession, principal: Principal, body: TreeCreate
) -> CategoryTree:
    """A new tree and its default category (DEFAULT, 默认分类), in one transaction."""
    if await repository.tree_by_key(session, principal.tenant_id, body.key) is not None:
        raise TreeKeyTaken
    tree = CategoryTree(tenant_id=principal.tenant_id, **body.model_dump())
    session.add(tree)
    await session.flush()
    default_id = uuid.uuid4()
    session.add(
        Category(
            id=default_id,
            tenant_id=principal.tenant_id,
            tree_id=tree.id,
            code=DEFAULT_CODE,
            name=DEFAULT_NAME,
            name_en=DEFAULT_NAME_EN,
            level=1,
            path=[default_id],
            applies_to="all",
            sort_order=0,
            is_default=True,
        )
    )
    await TREE_AUDIT.write(
        session, principal, tree, "create", extra={"default_category_id": str(default_id)}
    )
    return tree


async def update_tree(
    session: AsyncSession,
    principal: Principal,
    tree_id: uuid.UUID,
    changes: TreeUpdate,
    if_match: str | None,
) -> CategoryTree:
    """Change a tree's settings under If-Match. Lowering `max_depth` below the deepest
    category, or turning `multi_assign` off while a customer holds several categories,
    is 409."""
    tree = await lock_tree(session, principal, tree_id)
    check_if_match(if_match, tree.version)
    values = {
        name: value
        for name, value in changes.model_dump(exclude_unset=True).items()
        if value is not None and value != getattr(tree, name)
    }
    if "key" in values and await repository.tree_by_key(
        session, principal.tenant_id, values["key"]
    ):
        raise TreeKeyTaken
    if "max_depth" in values:
        height = await repository.tree_height(session, principal.tenant_id, tree.id)
        if values["max_depth"] < height:
            raise TreeTooDeepForMaxDepth(height)
    if values.get("multi_assign") is False:
        several = await repository.customers_with_several_categories(
            session, principal.tenant_id, tree.id
        )
        if several:
            raise CustomersHoldSeveral(several)
    if "description" in changes.model_fields_set and changes.description is None:
        values["description"] = None
    if "name_en" in changes.model_fields_set and changes.name_en is None:
        values["name_en"] = None
    if not values:
        return tree
    # Turning multi_assign on or off cascades to the tree's assignments (`multi`).
    await TREE_AUDIT.update(session, principal, tree, values)
    return tree


async def delete_tree(
    session: AsyncSession,
    principal: Principal,
    tree_id: uuid.UUID,
    *,
    force: bool,
    if_match: str | None,
) -> None:
    """Delete a tree with its categories, assignments, history and change requests.
    A tree that still holds assignments needs `force` (409 otherwise)."""
    tree = await repository.tree(session, principal.tenant_id, tree_id, lock=True)
    if tree is None:
        raise TreeNotFound
    check_if_match(if_match, tree.version)
    assignments = await repository.assignments_in_tree(session, principal.tenant_id, tree.id)
    if assignments and not force:
        raise TreeHasAssignments(assignments)
    categories = await repository.count_categories(session, principal.tenant_id, tree.id)
    before = TREE_AUDIT.snapshot(tree)
    session.expunge(tree)
    await repository.delete_tree(session, principal.tenant_id, tree.id)
    after = {"forced": force, "assignments_deleted": assignments, "categories_deleted": categories}
    TREE_AUDIT.record(session, principal, tree_id, "delete", before, after)


# --- reading categories -----------------------------------------------------------------


async def get_category(
    session: AsyncSession, principal: Principal, category_id: uuid.UUID
) -> Category:
    category = await repository.category(session, principal.tenant_id, category_id)
    if category is None:
        raise CategoryNotFound
    return category


def localised(name: str, name_en: str | None) -> str:
    """The label in the request's language: `name_en` for English when there is one."""
    return Text(name, name_en or name).get()


def tree_out(tree: CategoryTree) -> TreeOut:
    """The API view of a tree."""
    fields = {name: getattr(tree, name) for name in TreeOut.model_fields if name != "label"}
    return TreeOut(**fields, label=localised(tree.name, tree.name_en))


def category_ref(category: Category) -> CategoryRef:
    return CategoryRef(id=category.id, code=category.code, name=category.name)


def category_out(category: Category, codes: Mapping[uuid.UUID, str]) -> CategoryOut:
    """The API view of a category; `codes` maps the ids of its path to their codes."""
    playbook = None
    if category.next_action or category.owner_role or category.sla_days is not None:
        playbook = PlaybookOut(
            next_action=category.next_action,
            owner_role=category.owner_role,
            sla_days=category.sla_days,
        )
    return CategoryOut(
        label=localised(category.name, category.name_en),
        id=category.id,
        tree_id=category.tree_id,
        parent_id=category.parent_id,
        code=category.code,
        name=category.name,
        name_en=category.name_en,
        level=category.level,
        path=[codes[i] for i in category.path],
        path_ids=list(category.path),
        applies_to=category.applies_to,
        description=category.description,
        sort_order=category.sort_order,
        is_default=category.is_default,
        playbook=playbook,
        created_at=category.created_at,
        updated_at=category.updated_at,
    )


async def category_view(session: AsyncSession, category: Category) -> CategoryOut:
    """One category as the API shows it (its path's codes read in one query)."""
    codes = await repository.codes_of(session, category.tenant_id, list(category.path))
    return category_out(category, codes)


async def tree_categories(session: AsyncSession, tree: CategoryTree) -> list[Category]:
    """Every category of a tree, depth first; siblings by sort order then code, the
    default category after the other top-level ones."""
    rows = await repository.categories_of_tree(session, tree.tenant_id, tree.id)
    children: dict[uuid.UUID | None, list[Category]] = defaultdict(list)
    for row in rows:  # already in sibling order
        children[row.parent_id].append(row)
    ordered: list[Category] = []
    stack = list(reversed(children[None]))
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(children[node.id]))
    return ordered


def flat_view(categories: list[Category]) -> list[CategoryOut]:
    codes = {c.id: c.code for c in categories}
    return [category_out(c, codes) for c in categories]


def nested_view(categories: list[Category]) -> list[CategoryNode]:
    """Top-level categories with their descendants nested, in the same order."""
    nodes: dict[uuid.UUID, CategoryNode] = {}
    roots: list[CategoryNode] = []
    for out in flat_view(categories):  # parents come before their children
        node = CategoryNode(**out.model_dump(), children=[])
        nodes[out.id] = node
        (nodes[out.parent_id].children if out.parent_id else roots).append(node)
    return roots


async def category_members(
    session: AsyncSession, category: Category, include_descendants: bool, page: PageParams
) -> Page[CategoryMember]:
    """Customers assigned to the category (or below it), in a stable order."""
    rows, next_cursor = await repository.page_of_members(
        session, category, include_descendants, page
    )
    customers = await customers_by_id(session, category.tenant_id, [r.customer_id for r in rows])
    named = await repository.categories_by_id(
        session, category.tenant_id, list({r.category_id for r in rows})
    )
    items = [
        CategoryMember(
            customer=CustomerSummary.model_validate(customers[r.customer_id], from_attributes=True),
            category=category_ref(named[r.category_id]),
            source=r.source,
            locked=r.locked,
            reason=r.reason,
            assigned_by=r.assigned_by,
            assigned_at=r.assigned_at,
        )
        for r in rows
    ]
    return Page(items=items, next_cursor=next_cursor)
