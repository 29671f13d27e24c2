"""Assignments: a customer's category per tree (manual, bulk) and the timeline."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.categories.assignments import service
from app.categories.assignments.schemas import (
    ASSIGNMENT_EXAMPLE,
    ASSIGNMENT_SET_EXAMPLE,
    BULK_ASSIGN_EXAMPLE,
    BULK_RESULT_EXAMPLE,
    HISTORY_EXAMPLE,
    TREE_ASSIGNMENTS_EXAMPLE,
    AssignmentSet,
    BulkAssign,
    BulkAssignResult,
    HistoryItem,
    Reason,
    TreeAssignments,
)
from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute

router = APIRouter(prefix="/api/v1", tags=["assignments"], route_class=ApiRoute)

ASSIGNMENT_PATH = "/customers/{customer_id}/assignments/{tree_id}"


async def _answer(
    session: Session, response: Response, customer_id: uuid.UUID, found: tuple
) -> TreeAssignments:
    tree, rows = found
    version = service.etag_version(tree, rows)
    if version is not None:
        set_etag(response, version)
    return await service.tree_assignments(session, tree, customer_id, rows)


@router.get(
    ASSIGNMENT_PATH,
    response_model=TreeAssignments,
    **documented(
        "getAssignment",
        "Get a customer's category in a tree",
        example=TREE_ASSIGNMENTS_EXAMPLE,
        errors=[404],
        etag=True,
    ),
)
async def get_assignment(
    principal: ViewerKey,
    session: Session,
    customer_id: uuid.UUID,
    tree_id: uuid.UUID,
    response: Response,
) -> TreeAssignments:
    """The customer's category (several in a multi-assign tree) with source, lock and
    reason. In a single-assign tree the `ETag` guards `PUT`/`DELETE`."""
    found = await service.get_assignments(session, principal, customer_id, tree_id)
    return await _answer(session, response, customer_id, found)


@router.put(
    ASSIGNMENT_PATH,
    response_model=TreeAssignments,
    **documented(
        "setAssignment",
        "Assign a customer to a category",
        example=TREE_ASSIGNMENTS_EXAMPLE,
        request_example=ASSIGNMENT_SET_EXAMPLE,
        errors=[404, 409, 412],
        etag=True,
    ),
)
async def set_assignment(
    principal: EditorKey,
    session: Session,
    customer_id: uuid.UUID,
    tree_id: uuid.UUID,
    body: AssignmentSet,
    response: Response,
    if_match: IfMatch = None,
) -> TreeAssignments:
    """Manual assignment (source `manual`): in a single-assign tree it replaces the
    customer's category, in a multi-assign tree it adds one. `locked` keeps runs from
    overwriting it. 422 when the category is not in the tree or its `applies_to` does
    not take the customer's stage. A change of category writes a history row."""
    found = await service.set_assignment(session, principal, customer_id, tree_id, body, if_match)
    return await _answer(session, response, customer_id, found)


@router.delete(
    ASSIGNMENT_PATH,
    response_model=TreeAssignments,
    **documented(
        "removeAssignment",
        "Put a customer back in the default category",
        example={
            **TREE_ASSIGNMENTS_EXAMPLE,
            "items": [
                {
                    **ASSIGNMENT_EXAMPLE,
                    "category": {
                        "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                        "code": "DEFAULT",
                        "name": "默认分类",
                    },
                    "locked": False,
                    "reason": "客户需求变化,重新评估",
                }
            ],
        },
        errors=[404, 412],
        etag=True,
    ),
)
async def remove_assignment(
    principal: EditorKey,
    session: Session,
    customer_id: uuid.UUID,
    tree_id: uuid.UUID,
    response: Response,
    category_id: Annotated[
        uuid.UUID | None,
        Query(description="Multi-assign trees: remove only this category"),
    ] = None,
    reason: Annotated[Reason | None, Query(description="Recorded in the history")] = None,
    if_match: IfMatch = None,
) -> TreeAssignments:
    """Undo the manual decision: the customer leaves its category (in a multi-assign
    tree: `category_id`, or all) and, holding none, goes back to the tree's default
    category, unlocked. Writes history; answers the customer's categories now."""
    found = await service.remove_assignment(
        session, principal, customer_id, tree_id, category_id, reason, if_match
    )
    return await _answer(session, response, customer_id, found)


@router.post(
    "/category-trees/{tree_id}/assignments/bulk",
    response_model=BulkAssignResult,
    **documented(
        "bulkAssign",
        "Assign many customers to a category",
        example=BULK_RESULT_EXAMPLE,
        request_example=BULK_ASSIGN_EXAMPLE,
        errors=[404],
    ),
)
async def bulk_assign(
    principal: EditorKey, session: Session, tree_id: uuid.UUID, body: BulkAssign
) -> BulkAssignResult:
    """Up to 10,000 customers into one category (source `manual`) with one set-based
    upsert and one history insert. Unknown or repeated customers and customers the
    category's `applies_to` does not take fail by index; the others are assigned; 422
    when none could be."""
    return await service.bulk_assign(session, principal, tree_id, body)


@router.get(
    "/customers/{customer_id}/history",
    response_model=Page[HistoryItem],
    **documented(
        "getCustomerHistory",
        "Get a customer's classification history",
        example={"items": [HISTORY_EXAMPLE], "next_cursor": None},
        errors=[404],
    ),
)
async def get_customer_history(
    principal: ViewerKey,
    session: Session,
    customer_id: uuid.UUID,
    page: PageQuery,
    tree_id: Annotated[uuid.UUID | None, Query(description="Only this tree")] = None,
) -> Page[HistoryItem]:
    """The timeline, newest first: tree, from → to (as the categories were named then),
    source (manual, rule, import, reassign), run, actor, reason, time."""
    return await service.customer_history(session, principal, customer_id, tree_id, page)
