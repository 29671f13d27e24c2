"""Queries for rulesets, their versions, and the trees they belong to."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, keyset_page
from app.models import Category
from app.models.rules import Ruleset, RulesetVersion


async def category_codes(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID
) -> set[str]:
    rows = await session.scalars(
        select(Category.code).where(Category.tenant_id == tenant_id, Category.tree_id == tree_id)
    )
    return set(rows)


async def ruleset(
    session: AsyncSession, tenant_id: uuid.UUID, ruleset_id: uuid.UUID, *, for_update: bool = False
) -> Ruleset | None:
    statement = select(Ruleset).where(Ruleset.tenant_id == tenant_id, Ruleset.id == ruleset_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def ruleset_for_tree(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID
) -> Ruleset | None:
    return await session.scalar(
        select(Ruleset).where(Ruleset.tenant_id == tenant_id, Ruleset.tree_id == tree_id)
    )


async def page_of_rulesets(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID | None, page: PageParams
) -> tuple[list[Ruleset], str | None]:
    statement = select(Ruleset).where(Ruleset.tenant_id == tenant_id)
    if tree_id is not None:
        statement = statement.where(Ruleset.tree_id == tree_id)
    return await keyset_page(session, statement, [Ruleset.created_at, Ruleset.id], page)


async def version(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ruleset_id: uuid.UUID,
    number: int,
    *,
    for_update: bool = False,
) -> RulesetVersion | None:
    statement = select(RulesetVersion).where(
        RulesetVersion.tenant_id == tenant_id,
        RulesetVersion.ruleset_id == ruleset_id,
        RulesetVersion.number == number,
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def versions(
    session: AsyncSession, tenant_id: uuid.UUID, ruleset_id: uuid.UUID
) -> list[RulesetVersion]:
    rows = await session.scalars(
        select(RulesetVersion)
        .where(RulesetVersion.tenant_id == tenant_id, RulesetVersion.ruleset_id == ruleset_id)
        .order_by(RulesetVersion.number)
    )
    return list(rows)


async def version_numbers(
    session: AsyncSession, tenant_id: uuid.UUID, ruleset_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int | None, int | None]]:
    """(published number, latest number) per ruleset, in one query."""
    published = func.max(RulesetVersion.number).filter(RulesetVersion.status == "published")
    rows = await session.execute(
        select(RulesetVersion.ruleset_id, published, func.max(RulesetVersion.number))
        .where(
            RulesetVersion.tenant_id == tenant_id,
            RulesetVersion.ruleset_id.in_(ruleset_ids),
        )
        .group_by(RulesetVersion.ruleset_id)
    )
    return {ruleset_id: (pub, latest) for ruleset_id, pub, latest in rows.all()}


async def published_versions(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID | None = None
) -> list[tuple[Ruleset, RulesetVersion]]:
    """Every published version of the tenant (or of one tree), with its ruleset."""
    statement = (
        select(Ruleset, RulesetVersion)
        .join(
            RulesetVersion,
            (RulesetVersion.tenant_id == Ruleset.tenant_id)
            & (RulesetVersion.ruleset_id == Ruleset.id),
        )
        .where(Ruleset.tenant_id == tenant_id, RulesetVersion.status == "published")
    )
    if tree_id is not None:
        statement = statement.where(Ruleset.tree_id == tree_id)
    return [(r, v) for r, v in (await session.execute(statement)).all()]
