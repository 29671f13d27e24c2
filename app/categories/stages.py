"""`applies_to`: which customers (by stage) a category may hold.

A category's restriction is the first non-`all` value on its path, so a child of a
`signed` category holds signed customers even when it says `all`; a path can never
carry two different restrictions (`potential` under `signed` is refused). Every check
here is one set-based query.
"""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.categories import repository
from app.categories.exceptions import (
    AppliesToContradictsParent,
    CustomersDoNotFit,
    field_error,
)
from app.core.errors import InvalidInput
from app.core.i18n import Text
from app.models import Category

STAGES = ("signed", "potential")
LABELS = {
    "all": Text("全类型客户", "all customers"),
    "signed": Text("已签约客户", "signed customers"),
    "potential": Text("潜在客户", "potential customers"),
}


def allowed_stages(restriction: str) -> set[str]:
    return set(STAGES) if restriction == "all" else {restriction}


async def restriction_of(session: AsyncSession, category: Category) -> str:
    """The effective restriction of a category: the first non-`all` on its path."""
    rows = await repository.categories_by_id(session, category.tenant_id, list(category.path))
    for category_id in category.path:
        applies_to = rows[category_id].applies_to if category_id in rows else "all"
        if applies_to != "all":
            return applies_to
    return "all"


async def _restrictions_in_subtree(session: AsyncSession, root: Category) -> set[str]:
    rows = await session.scalars(
        select(func.distinct(Category.applies_to)).where(repository.in_subtree(root))
    )
    return set(rows.all()) - {"all"}


async def check_applies_to_fits_ancestors(
    session: AsyncSession,
    parent: Category,
    applies_to: str | None,
    loc: list[str | int],
    *,
    subtree: Category | None = None,
) -> None:
    """Under `parent`: a new category's `applies_to`, or (with `subtree`) a moved
    subtree's restrictions and customers, must agree with the parent's restriction."""
    restriction = await restriction_of(session, parent)
    if restriction == "all":
        return
    if subtree is not None:
        own = await _restrictions_in_subtree(session, subtree)
    else:
        own = {applies_to} if applies_to is not None and applies_to != "all" else set()
    for value in own:
        if value != restriction:
            raise AppliesToContradictsParent(value, restriction, loc)
    if subtree is not None:
        await check_customers_fit(session, subtree, restriction)


async def check_subtree_fits_under(
    session: AsyncSession, category: Category, applies_to: str, loc: list[str | int]
) -> None:
    """Changing a category's `applies_to` must agree with its ancestors and descendants."""
    if category.parent_id is not None:
        parent = await repository.category(session, category.tenant_id, category.parent_id)
        assert parent is not None
        inherited = await restriction_of(session, parent)
        if inherited != "all" and applies_to not in ("all", inherited):
            raise AppliesToContradictsParent(applies_to, inherited, loc)
    if applies_to != "all":
        below = await _restrictions_in_subtree(session, category)
        below.discard(category.applies_to)  # its own current value is being replaced
        for value in below:
            if value != applies_to:
                raise AppliesToContradictsParent(value, applies_to, loc)


async def check_customers_fit(session: AsyncSession, root: Category, restriction: str) -> None:
    """409 when customers assigned in `root`'s subtree do not fit `restriction`."""
    if restriction == "all":
        return
    subtree = select(Category.id).where(repository.in_subtree(root))
    count = await repository.customers_not_fitting(
        session, root.tenant_id, subtree, allowed_stages(restriction)
    )
    if count:
        raise CustomersDoNotFit(count, restriction)


async def check_reassign_target_fits(
    session: AsyncSession, category: Category, target: Category
) -> None:
    """422 when some customers of `category` may not sit in the reassignment target."""
    restriction = await restriction_of(session, target)
    if restriction == "all":
        return
    count = await repository.customers_not_fitting(
        session, category.tenant_id, [category.id], allowed_stages(restriction)
    )
    if count:
        message = Text(
            f"目标分类仅适用于{LABELS[restriction].zh},而本分类有 {count} 个客户不符合",
            f"The target holds only {LABELS[restriction].en}; {count} customer(s) here do not fit",
        )
        raise InvalidInput(
            message, errors=field_error(["query", "reassign_to"], message, "applies_to")
        )


def stage_error(stage: str, restriction: str, loc: list[Any]) -> InvalidInput:
    """422 for assigning a customer whose stage the category does not take."""
    message = Text(
        f"该分类仅适用于{LABELS[restriction].zh},客户阶段为 {stage}",
        f"The category holds only {LABELS[restriction].en}; the customer is {stage}",
    )
    return InvalidInput(message, errors=field_error(loc, message, "applies_to"))
