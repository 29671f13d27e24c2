"""Queries for tenants and API keys (keys always through their tenant)."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, keyset_page
from app.models import ApiKey, Tenant


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug))


async def tenant(
    session: AsyncSession, tenant_id: uuid.UUID, *, for_update: bool = False
) -> Tenant:
    """The tenant row; `for_update` locks it until the transaction ends (If-Match updates)."""
    statement = select(Tenant).where(Tenant.id == tenant_id)
    if for_update:
        statement = statement.with_for_update()
    tenant = await session.scalar(statement)
    assert tenant is not None  # the principal was resolved from it in this request
    return tenant


async def api_key(
    session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID, *, for_update: bool = False
) -> ApiKey | None:
    statement = select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def list_api_keys(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams, *, include_revoked: bool
) -> tuple[list[ApiKey], str | None]:
    statement = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
    if not include_revoked:
        statement = statement.where(ApiKey.revoked_at.is_(None))
    return await keyset_page(session, statement, [ApiKey.created_at, ApiKey.id], page)
