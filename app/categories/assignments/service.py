"""Manual assignments: set one, remove one (back to the default), bulk; the timeline.

The category is read FOR KEY SHARE before assigning to it: a concurrent delete of the
category (which takes it FOR UPDATE) either waits for this assignment and then moves it
along, or has already deleted the category and this request answers 422. The foreign
key (no action) guarantees no assignment can ever point at a deleted category.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import AuditState, record_event
from app.categories import repository as categories
from app.categories.assignments import repository
from app.categories.assignments.schemas import (
    MAX_CUSTOMERS,
    AssignmentOut,
    AssignmentSet,
    BulkAssign,
    BulkAssignResult,
    HistoryCategory,
    HistoryItem,
    TreeAssignments,
    TreeRef,
)
from app.categories.exceptions import field_error
from app.categories.service import category_ref, get_tree
from app.categories.stages import allowed_stages, restriction_of, stage_error
from app.core.auth import Principal
from app.core.bulk import ItemError
from app.core.errors import InvalidInput, PreconditionFailed, ValidationIssue
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.core.pagination import Page, PageParams
from app.customers.repository import customers_by_id
from app.customers.service import CustomerNotFound, customers_matching
from app.models import Assignment, Category, CategoryTree

MANUAL = "manual"


class CategoryNotInTree(InvalidInput):
    def __init__(self, loc: list[str | int]) -> None:
        message = Text(
            "该分类不存在或不属于此分类维度", "The category is not a category of this tree"
        )
        super().__init__(message, errors=field_error(loc, message, "category_not_in_tree"))


async def _category_to_assign(
    session: AsyncSession, tree: CategoryTree, category_id: uuid.UUID, loc: list[str | int]
) -> Category:
    # KEY SHARE: see the module docstring.
    category = await categories.category(session, tree.tenant_id, category_id, lock="key share")
    if category is None or category.tree_id != tree.id:
        raise CategoryNotInTree(loc)
    return category


async def _stages(
    session: AsyncSession, principal: Principal, customer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Stages of the tenant's customers among `customer_ids` (unknown ids are absent)."""
    customers = await customers_by_id(session, principal.tenant_id, customer_ids)
    return {customer.id: customer.stage for customer in customers.values()}


async def _stage(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> str:
    stages = await _stages(session, principal, [customer_id])
    if customer_id not in stages:
        raise CustomerNotFound
    return stages[customer_id]


async def tree_assignments(
    session: AsyncSession, tree: CategoryTree, customer_id: uuid.UUID, rows: list[Assignment]
) -> TreeAssignments:
    """The API view of a customer's assignments in a tree."""
    named = await categories.categories_by_id(
        session, tree.tenant_id, [row.category_id for row in rows]
    )
    return TreeAssignments(
        customer_id=customer_id,
        tree_id=tree.id,
        multi_assign=tree.multi_assign,
        items=[
            AssignmentOut(
                id=row.id,
                category=category_ref(named[row.category_id]),
                source=row.source,
                locked=row.locked,
                reason=row.reason,
                run_id=row.run_id,
                assigned_by=row.assigned_by,
                assigned_at=row.assigned_at,
            )
            for row in rows
        ],
    )


def etag_version(tree: CategoryTree, rows: list[Assignment]) -> int | None:
    """The ETag of a customer's assignment in a single-assign tree (its version)."""
    return rows[0].version if not tree.multi_assign and len(rows) == 1 else None


def _check_if_match(if_match: str | None, row: Assignment | None) -> None:
    if if_match is None:
        return
    if row is None:  # nothing to match: the precondition cannot hold
        if if_match.strip() != "*":
            raise PreconditionFailed
        return
    check_if_match(if_match, row.version)


async def get_assignments(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, tree_id: uuid.UUID
) -> tuple[CategoryTree, list[Assignment]]:
    tree = await get_tree(session, principal, tree_id)
    await _stage(session, principal, customer_id)
    return tree, await repository.current(session, principal.tenant_id, tree.id, customer_id)


def _audit_state(rows: list[Assignment]) -> AuditState:
    return {"categories": [str(r.category_id) for r in rows], "locked": [r.locked for r in rows]}


async def _audited(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    customer_id: uuid.UUID,
    action: str,
    before: list[Assignment],
    reason: str | None,
) -> list[Assignment]:
    """The customer's assignments in the tree after a change, recorded with the change's
    audit event (before and after) in the same transaction."""
    after = await repository.current(session, principal.tenant_id, tree.id, customer_id)
    record_event(
        session,
        principal,
        entity_type="assignment",
        entity_id=customer_id,
        action=action,
        before={"tree_id": str(tree.id), **_audit_state(before)},
        after={"tree_id": str(tree.id), **_audit_state(after), "reason": reason},
    )
    return after


async def set_assignment(
    session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    tree_id: uuid.UUID,
    body: AssignmentSet,
    if_match: str | None,
) -> tuple[CategoryTree, list[Assignment]]:
    """Put the customer in a category (single-assign: instead of its current one;
    multi-assign: in addition). 422 when the category is not in the tree or does not
    take the customer's stage; history row when the category changes; audited."""
    tree = await get_tree(session, principal, tree_id)
    stage = await _stage(session, principal, customer_id)
    category = await _category_to_assign(session, tree, body.category_id, ["body", "category_id"])
    restriction = await restriction_of(session, category)
    if stage not in allowed_stages(restriction):
        raise stage_error(stage, restriction, ["body", "category_id"])
    before = await repository.current(session, principal.tenant_id, tree.id, customer_id, lock=True)
    changing = [r for r in before if r.category_id == category.id] if tree.multi_assign else before
    _check_if_match(if_match, changing[0] if changing else None)
    [done] = await repository.upsert(
        session,
        principal,
        tree,
        category,
        [customer_id],
        source=MANUAL,
        locked=body.locked,
        reason=body.reason,
    )
    if done.previous != category.id:
        await repository.write_history(
            session,
            principal,
            tree,
            [(customer_id, done.previous)],
            category,
            source=MANUAL,
            reason=body.reason,
        )
    return tree, await _audited(session, principal, tree, customer_id, "set", before, body.reason)


async def remove_assignment(
    session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    tree_id: uuid.UUID,
    only: uuid.UUID | None,
    reason: str | None,
    if_match: str | None,
) -> tuple[CategoryTree, list[Assignment]]:
    """Take the customer out of its category (in a multi-assign tree: out of `only`, or
    of all); a customer left with none goes back to the default category, unlocked."""
    tree = await get_tree(session, principal, tree_id)
    await _stage(session, principal, customer_id)
    before = await repository.current(session, principal.tenant_id, tree.id, customer_id, lock=True)
    matching = [r for r in before if only is None or r.category_id == only]
    _check_if_match(if_match, matching[0] if len(matching) == 1 else None)
    default = await categories.default_category(session, principal.tenant_id, tree.id)
    await categories.category(session, tree.tenant_id, default.id, lock="key share")
    removed = await repository.remove(session, principal.tenant_id, tree.id, customer_id, only)
    if before and not removed:  # not in that category: nothing changes
        return tree, before
    to = None
    if len(removed) == len(before):
        to = default
        await repository.upsert(
            session,
            principal,
            tree,
            default,
            [customer_id],
            source=MANUAL,
            locked=False,
            reason=reason,
        )
    moves = [(customer_id, r) for r in removed if r != (to.id if to else None)]
    await repository.write_history(
        session, principal, tree, moves, to, source=MANUAL, reason=reason
    )
    return tree, await _audited(session, principal, tree, customer_id, "remove", before, reason)


async def bulk_assign(
    session: AsyncSession, principal: Principal, tree_id: uuid.UUID, body: BulkAssign
) -> BulkAssignResult:
    """Put many customers in one category: one upsert and one history insert for all.
    Unknown customers, repeated ids and customers whose stage the category does not
    take fail by index; the rest are assigned. 422 when none could be."""
    tree = await get_tree(session, principal, tree_id)
    category = await _category_to_assign(session, tree, body.category_id, ["body", "category_id"])
    if body.filter is not None:
        body = body.model_copy(update={"customer_ids": await _matching(session, principal, body)})
    assert body.customer_ids is not None
    allowed = allowed_stages(await restriction_of(session, category))
    stages = await _stages(session, principal, body.customer_ids)
    errors: list[ItemError] = []
    good: list[uuid.UUID] = []
    seen: set[uuid.UUID] = set()
    for index, customer_id in enumerate(body.customer_ids):
        problem = _bulk_problem(customer_id, stages, allowed, seen)
        if problem is not None:
            message, kind = problem
            issue = ValidationIssue(loc=["customer_ids", index], msg=message.get(), type=kind)
            errors.append(ItemError(index=index, errors=[issue]))
            continue
        seen.add(customer_id)
        good.append(customer_id)
    if not good:
        raise InvalidInput(
            Text(
                f"全部 {len(body.customer_ids)} 个客户均无法分配",
                f"None of the {len(body.customer_ids)} customers can be assigned",
            ),
            errors=[issue.under("body") for error in errors for issue in error.errors],
        )
    await repository.lock_existing(session, principal.tenant_id, tree.id, good)
    done = await repository.upsert(
        session,
        principal,
        tree,
        category,
        good,
        source=MANUAL,
        locked=body.locked,
        reason=body.reason,
    )
    moves = [(d.customer_id, d.previous) for d in done if d.previous != category.id]
    await repository.write_history(
        session, principal, tree, moves, category, source=MANUAL, reason=body.reason
    )
    created = sum(1 for d in done if d.created)
    changed = sum(1 for d in done if not d.created and d.previous not in (None, category.id))
    result = BulkAssignResult(
        received=len(body.customer_ids),
        created=created,
        changed=changed,
        unchanged=len(done) - created - changed,
        failed=len(errors),
        errors=errors,
    )
    record_event(
        session,
        principal,
        entity_type="assignment",
        entity_id=tree.id,
        action="bulk_assign",
        after={
            "category_id": str(category.id),
            "received": result.received,
            "created": created,
            "changed": changed,
            "failed": result.failed,
        },
    )
    return result


def _bulk_problem(
    customer_id: uuid.UUID, stages: dict[uuid.UUID, str], allowed: set[str], seen: set[uuid.UUID]
) -> tuple[Text, str] | None:
    if customer_id in seen:
        return Text("本次请求中客户重复", "Repeated customer in this request"), "duplicate"
    if customer_id not in stages:
        return Text("找不到该客户", "No such customer"), "customer_not_found"
    if stages[customer_id] not in allowed:
        stage = stages[customer_id]
        return (
            Text(
                f"该分类不适用于阶段为 {stage} 的客户",
                f"The category does not take {stage} customers",
            ),
            "applies_to",
        )
    return None


async def customer_history(
    session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    tree_id: uuid.UUID | None,
    page: PageParams,
) -> Page[HistoryItem]:
    """The customer's classification timeline, newest first."""
    await _stage(session, principal, customer_id)
    rows, next_cursor = await repository.page_of_history(
        session, principal.tenant_id, customer_id, tree_id, page
    )
    trees = await repository.trees_by_id(
        session, principal.tenant_id, list({r.tree_id for r in rows})
    )

    def named(id_: uuid.UUID | None, code: str | None, name: str | None) -> HistoryCategory | None:
        return HistoryCategory(id=id_, code=code, name=name) if id_ is not None else None

    return Page(
        items=[
            HistoryItem(
                id=r.id,
                tree=TreeRef(id=r.tree_id, key=trees[r.tree_id].key, name=trees[r.tree_id].name),
                from_category=named(r.from_category_id, r.from_code, r.from_name),
                to_category=named(r.to_category_id, r.to_code, r.to_name),
                source=r.source,
                run_id=r.run_id,
                rule_key=r.rule_key,
                actor=r.actor,
                reason=r.reason,
                at=r.at,
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )


async def _matching(
    session: AsyncSession, principal: Principal, body: BulkAssign
) -> list[uuid.UUID]:
    """Ids of the customers a bulk `filter` selects (422 beyond the bulk limit)."""
    ids = await customers_matching(
        session, principal, body.filter, body.as_of, loc=("body", "filter"), limit=MAX_CUSTOMERS + 1
    )
    if not ids or len(ids) > MAX_CUSTOMERS:
        found = "no" if not ids else f"more than {MAX_CUSTOMERS}"
        raise InvalidInput(
            Text(
                f"筛选条件匹配到{'0' if not ids else f'超过 {MAX_CUSTOMERS}'} 个客户",
                f"The filter matches {found} customers",
            ),
            errors=[
                {
                    "loc": ["body", "filter"],
                    "msg": f"matches {found} customers",
                    "type": "filter_size",
                }
            ],
        )
    return ids
