"""What deleting or recoding a category touches, answered before doing it."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.categories import repository
from app.categories.deletion import reassign_target
from app.categories.rule_references import rules_referencing_category
from app.categories.schemas import CategoryImpact, RuleInVersion
from app.categories.service import category_ref, get_category
from app.core.auth import Principal


async def category_impact(
    session: AsyncSession,
    principal: Principal,
    category_id: uuid.UUID,
    reassign_to: uuid.UUID | None,
) -> CategoryImpact:
    """The numbers a delete would answer (customers directly and below, children,
    descendants, where customers would go) and the rules that reference it."""
    category = await get_category(session, principal, category_id)
    holdings = await repository.holdings(session, category)
    deletable = not category.is_default and holdings.children == 0
    target = None if category.is_default else await reassign_target(session, category, reassign_to)
    return CategoryImpact(
        category_id=category.id,
        customers_direct=holdings.customers_direct,
        customers_in_descendants=holdings.customers_in_descendants,
        children=holdings.children,
        descendants=holdings.descendants,
        deletable=deletable,
        reassign_to=category_ref(target) if target is not None else None,
        would_move=holdings.customers_direct if deletable else 0,
        rules=[
            RuleInVersion.model_validate(r, from_attributes=True)
            for r in await rules_referencing_category(session, category)
        ],
    )
