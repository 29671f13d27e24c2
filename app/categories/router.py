"""Category trees (分类维度) and their categories: read, create, edit, move, delete."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from app.categories import deletion, edits, moves, service
from app.categories.change_requests.schemas import ChangeRequestOut, accepted_example
from app.categories.change_requests.service import Applied, Filed
from app.categories.dependencies import CategoryFromPath, TreeFromPath
from app.categories.impact import category_impact
from app.categories.schemas import (
    CATEGORY_CREATE_EXAMPLE,
    CATEGORY_EXAMPLE,
    DEFAULT_EXAMPLE,
    DELETED_EXAMPLE,
    IMPACT_EXAMPLE,
    MEMBER_EXAMPLE,
    STRAT_EXAMPLE,
    TREE_CREATE_EXAMPLE,
    TREE_EXAMPLE,
    CategoryCreate,
    CategoryDeleted,
    CategoryForest,
    CategoryImpact,
    CategoryList,
    CategoryMember,
    CategoryMove,
    CategoryOut,
    CategoryUpdate,
    TreeCreate,
    TreeOut,
    TreeUpdate,
)
from app.core.auth import AdminKey, EditorKey, ViewerKey
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute

router = APIRouter(prefix="/api/v1", tags=["categories"], route_class=ApiRoute)

Note = Annotated[
    str | None,
    Query(max_length=1000, description="For reviewers when the tree requires approval (审核意见)"),
]


def accepted(kind: str) -> dict[int | str, dict[str, Any]]:
    """The 202 response of an edit on a tree that requires approval."""
    return {
        202: {
            "model": ChangeRequestOut,
            "description": "The tree requires approval: a change request was filed instead",
            "content": {"application/json": {"example": accepted_example(kind)}},
        }
    }


def _accepted(filed: Filed) -> JSONResponse:
    body = ChangeRequestOut.model_validate(filed.request).model_dump(mode="json")
    return JSONResponse(body, status_code=202)


# --- trees ------------------------------------------------------------------------------


@router.get(
    "/category-trees",
    response_model=Page[TreeOut],
    **documented(
        "listCategoryTrees",
        "List category trees",
        example={"items": [TREE_EXAMPLE], "next_cursor": None},
    ),
)
async def list_category_trees(
    principal: ViewerKey, session: Session, page: PageQuery
) -> Page[TreeOut]:
    """The tenant's category trees (分类维度), oldest first."""
    rows, next_cursor = await service.list_trees(session, principal, page)
    return Page(items=[service.tree_out(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/category-trees",
    response_model=TreeOut,
    **documented(
        "createCategoryTree",
        "Create a category tree",
        status_code=201,
        example=TREE_EXAMPLE,
        request_example=TREE_CREATE_EXAMPLE,
        errors=[409],
        etag=True,
    ),
)
async def create_category_tree(
    principal: AdminKey, session: Session, body: TreeCreate, response: Response
) -> TreeOut:
    """Create a tree (admin); its default category (code `DEFAULT`, 默认分类) is created
    with it and can be neither deleted nor moved. 409 when the key is taken."""
    tree = await service.create_tree(session, principal, body)
    set_etag(response, tree.version)
    return service.tree_out(tree)


@router.get(
    "/category-trees/{tree_id}",
    response_model=TreeOut,
    **documented(
        "getCategoryTree", "Get a category tree", example=TREE_EXAMPLE, errors=[404], etag=True
    ),
)
async def get_category_tree(tree: TreeFromPath, response: Response) -> TreeOut:
    """One tree with its `ETag`."""
    set_etag(response, tree.version)
    return service.tree_out(tree)


@router.patch(
    "/category-trees/{tree_id}",
    response_model=TreeOut,
    **documented(
        "updateCategoryTree",
        "Update a category tree",
        example=TREE_EXAMPLE,
        request_example={"name": "客户价值", "max_depth": 4, "requires_approval": True},
        errors=[404, 409, 412],
        etag=True,
    ),
)
async def update_category_tree(
    principal: AdminKey,
    session: Session,
    tree_id: uuid.UUID,
    changes: TreeUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> TreeOut:
    """Change a tree's settings (admin) under `If-Match`. 409 when `max_depth` would be
    below the deepest category or `multi_assign` is turned off while a customer holds
    several categories."""
    tree = await service.update_tree(session, principal, tree_id, changes, if_match)
    set_etag(response, tree.version)
    return service.tree_out(tree)


@router.delete(
    "/category-trees/{tree_id}",
    **documented(
        "deleteCategoryTree", "Delete a category tree", status_code=204, errors=[404, 409, 412]
    ),
)
async def delete_category_tree(
    principal: AdminKey,
    session: Session,
    tree_id: uuid.UUID,
    force: Annotated[
        bool, Query(description="Required when the tree still holds assignments")
    ] = False,
    if_match: IfMatch = None,
) -> Response:
    """Delete a tree (admin) with its categories, assignments, their history and its
    change requests. A tree that still holds assignments needs `?force=true` (409
    otherwise, naming how many). Audited."""
    await service.delete_tree(session, principal, tree_id, force=force, if_match=if_match)
    return Response(status_code=204)


# --- categories -------------------------------------------------------------------------


@router.get(
    "/category-trees/{tree_id}/categories",
    response_model=CategoryList | CategoryForest,
    **documented(
        "listCategories",
        "List a tree's categories",
        example={"items": [STRAT_EXAMPLE, CATEGORY_EXAMPLE, DEFAULT_EXAMPLE]},
        errors=[404],
    ),
)
async def list_categories(
    session: Session,
    tree: TreeFromPath,
    view: Annotated[
        Literal["flat", "nested"],
        Query(description="`flat`: depth first with level and path; `nested`: children inside"),
    ] = "flat",
) -> CategoryList | CategoryForest:
    """Every category of the tree, depth first (siblings by `sort_order`, then code; the
    default category after the other top-level ones), with `level` and `path`; or, with
    `?view=nested`, the top-level categories with their descendants in `children`."""
    categories = await service.tree_categories(session, tree)
    if view == "nested":
        return CategoryForest(items=service.nested_view(categories))
    return CategoryList(items=service.flat_view(categories))


@router.post(
    "/category-trees/{tree_id}/categories",
    response_model=CategoryOut,
    **documented(
        "createCategory",
        "Create a category",
        status_code=201,
        example=CATEGORY_EXAMPLE,
        request_example=CATEGORY_CREATE_EXAMPLE,
        errors=[404, 409],
        responses=accepted("category.create"),
        etag=True,
    ),
)
async def create_category(
    principal: EditorKey,
    session: Session,
    tree_id: uuid.UUID,
    body: CategoryCreate,
    response: Response,
    note: Note = None,
) -> CategoryOut | JSONResponse:
    """新增分类. `code` unique in the tree (409), `name` unique among siblings (409), the
    parent in the same tree and not the default category (422), depth ≤ the tree's
    `max_depth` (422), `applies_to` agreeing with the parent's (422). On a tree that
    requires approval the answer is 202 with the change request."""
    match await edits.create_category(session, principal, tree_id, body, note):
        case Filed() as filed:
            return _accepted(filed)
        case Applied(done=category):
            set_etag(response, category.version)
            return await service.category_view(session, category)


@router.get(
    "/categories/{category_id}",
    response_model=CategoryOut,
    **documented(
        "getCategory", "Get a category", example=CATEGORY_EXAMPLE, errors=[404], etag=True
    ),
)
async def get_category(
    session: Session, category: CategoryFromPath, response: Response
) -> CategoryOut:
    """One category with its `ETag`."""
    set_etag(response, category.version)
    return await service.category_view(session, category)


@router.patch(
    "/categories/{category_id}",
    response_model=CategoryOut,
    **documented(
        "updateCategory",
        "Update a category",
        example=CATEGORY_EXAMPLE,
        request_example={"name": "战略客户-高端制造", "playbook": {"sla_days": 5}},
        errors=[404, 409, 412],
        responses=accepted("category.update"),
        etag=True,
    ),
)
async def update_category(
    principal: EditorKey,
    session: Session,
    category_id: uuid.UUID,
    changes: CategoryUpdate,
    response: Response,
    if_match: IfMatch = None,
    note: Note = None,
) -> CategoryOut | JSONResponse:
    """修改分类: omitted fields keep their value, `playbook` is replaced whole. Same
    checks as creating; the default category keeps its code and applies to everyone;
    restricting `applies_to` while customers of the other stage are assigned below it
    is 409. `If-Match` → 412 when stale. Approval trees: 202 with the change request
    (its diff lists rules referencing the category, see `…/impact`)."""
    match await edits.update_category(session, principal, category_id, changes, if_match, note):
        case Filed() as filed:
            return _accepted(filed)
        case Applied(done=category):
            set_etag(response, category.version)
            return await service.category_view(session, category)


@router.post(
    "/categories/{category_id}/move",
    response_model=CategoryOut,
    **documented(
        "moveCategory",
        "Move a category",
        example=CATEGORY_EXAMPLE,
        request_example={"parent_id": "1f2e3d4c-5b6a-4978-8a1b-2c3d4e5f6a7b"},
        errors=[404, 409, 412],
        responses=accepted("category.move"),
        etag=True,
    ),
)
async def move_category(
    principal: EditorKey,
    session: Session,
    category_id: uuid.UUID,
    body: CategoryMove,
    response: Response,
    if_match: IfMatch = None,
    note: Note = None,
) -> CategoryOut | JSONResponse:
    """Move a category with its whole subtree under another parent of the same tree
    (`null`: top level). 422 for a cycle (under itself or a descendant) and when the
    moved subtree would exceed `max_depth`; 409 for a sibling name clash; the default
    category cannot move. Concurrent moves of one tree run one after the other."""
    match await moves.move_category(session, principal, category_id, body, if_match, note):
        case Filed() as filed:
            return _accepted(filed)
        case Applied(done=category):
            set_etag(response, category.version)
            return await service.category_view(session, category)


@router.delete(
    "/categories/{category_id}",
    response_model=CategoryDeleted,
    **documented(
        "deleteCategory",
        "Delete a category, moving its customers",
        example=DELETED_EXAMPLE,
        errors=[404, 409, 412],
        responses=accepted("category.delete"),
    ),
)
async def delete_category(
    principal: EditorKey,
    session: Session,
    category_id: uuid.UUID,
    reassign_to: Annotated[
        uuid.UUID | None,
        Query(description="Category of the same tree for the customers (default: 默认分类)"),
    ] = None,
    if_match: IfMatch = None,
    note: Note = None,
) -> CategoryDeleted | JSONResponse:
    """删除分类: every customer in it moves to `reassign_to` (same tree, else 422) or the
    default category, each with a history row (source `reassign`), and the category is
    deleted — one transaction, set-based whatever the count; the answer says how many
    moved (`GET …/impact` tells beforehand). A category with children is 409 naming
    how many; the default category cannot be deleted."""
    match await deletion.delete_category(
        session, principal, category_id, reassign_to, if_match, note
    ):
        case Filed() as filed:
            return _accepted(filed)
        case Applied(done=deleted):
            return CategoryDeleted(
                category_id=deleted.category_id,
                reassigned_to=service.category_ref(deleted.target),
                moved=deleted.moved,
            )


@router.get(
    "/categories/{category_id}/impact",
    response_model=CategoryImpact,
    **documented(
        "getCategoryImpact", "What an edit or delete affects", example=IMPACT_EXAMPLE, errors=[404]
    ),
)
async def get_category_impact(
    principal: ViewerKey,
    session: Session,
    category_id: uuid.UUID,
    reassign_to: Annotated[
        uuid.UUID | None, Query(description="As for the delete (default: 默认分类)")
    ] = None,
) -> CategoryImpact:
    """The numbers a delete would answer, counted now: customers in the category and
    below it, children and descendants, where the customers would go and how many;
    and the rules that reference the category (a code change breaks them)."""
    return await category_impact(session, principal, category_id, reassign_to)


@router.get(
    "/categories/{category_id}/customers",
    response_model=Page[CategoryMember],
    **documented(
        "listCategoryCustomers",
        "List a category's customers",
        example={"items": [MEMBER_EXAMPLE], "next_cursor": None},
        errors=[404],
    ),
)
async def list_category_customers(
    principal: ViewerKey,
    session: Session,
    page: PageQuery,  # before the category: a bad cursor is a 422 whatever the path says
    category: CategoryFromPath,
    include_descendants: Annotated[
        bool, Query(description="Also customers of the categories below it")
    ] = False,
) -> Page[CategoryMember]:
    """Customers assigned to the category (or anywhere below it), with the category
    they sit in, source, lock and reason; paginated in a stable order."""
    return await service.category_members(session, category, include_descendants, page)
