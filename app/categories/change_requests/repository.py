"""Queries over change requests (always within one tenant)."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.categories.change_requests.schemas import ChangeRequestFilter
from app.core.pagination import PageParams, keyset_page
from app.models import ChangeRequest


async def change_request(
    session: AsyncSession, tenant_id: uuid.UUID, request_id: uuid.UUID, *, lock: bool = False
) -> ChangeRequest | None:
    """One request; with `lock`, FOR UPDATE so two decisions on it run one at a time."""
    statement = select(ChangeRequest).where(
        ChangeRequest.tenant_id == tenant_id, ChangeRequest.id == request_id
    )
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement.execution_options(populate_existing=True))


async def page_of_change_requests(
    session: AsyncSession, tenant_id: uuid.UUID, where: ChangeRequestFilter, page: PageParams
) -> tuple[list[ChangeRequest], str | None]:
    """Newest first."""
    statement = select(ChangeRequest).where(ChangeRequest.tenant_id == tenant_id)
    if where.status is not None:
        statement = statement.where(ChangeRequest.status == where.status)
    if where.tree_id is not None:
        statement = statement.where(ChangeRequest.tree_id == where.tree_id)
    if where.submitted_by is not None:
        statement = statement.where(ChangeRequest.submitted_by == where.submitted_by)
    if where.kind is not None:
        statement = statement.where(ChangeRequest.kind == where.kind)
    return await keyset_page(
        session, statement, [ChangeRequest.created_at, ChangeRequest.id], page, descending=True
    )
