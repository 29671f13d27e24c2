"""Tenants and API keys: creation, settings, revocation."""

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited
from app.core.auth import KEY_PREFIX, Principal, hash_key
from app.core.errors import Conflict, NotFound
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.core.pagination import PageParams
from app.industries.service import seed_standard_industries
from app.models import ApiKey, Role, Tenant
from app.tenants import repository
from app.tenants.schemas import TenantUpdate

_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
TENANT_AUDIT = Audited("tenant", ("slug", "name", "time_zone", "locale"))
KEY_AUDIT = Audited("api_key", ("name", "prefix", "role", "delegating", "revoked_at"))


class TenantExists(Conflict):
    default_detail = Text("租户标识已存在", "A tenant with this slug already exists")


class ApiKeyNotFound(NotFound):
    default_detail = Text("找不到该 API 密钥", "No such API key")


async def get_tenant(session: AsyncSession, principal: Principal) -> Tenant:
    """The caller's tenant."""
    return await repository.tenant(session, principal.tenant_id)


async def list_api_keys(
    session: AsyncSession, principal: Principal, page: PageParams, *, include_revoked: bool
) -> tuple[list[ApiKey], str | None]:
    """One page of the tenant's keys, oldest first (revoked ones only if asked)."""
    return await repository.list_api_keys(
        session, principal.tenant_id, page, include_revoked=include_revoked
    )


async def create_tenant(
    session: AsyncSession,
    slug: str,
    name: str,
    *,
    time_zone: str = "Asia/Shanghai",
    locale: str = "zh-CN",
) -> Tenant:
    """A new tenant; 409 if the slug is taken."""
    if await repository.tenant_by_slug(session, slug) is not None:
        raise TenantExists
    tenant = Tenant(slug=slug, name=name, time_zone=time_zone, locale=locale)
    session.add(tenant)
    await session.flush()
    await session.refresh(tenant)
    await seed_standard_industries(session, tenant.id)
    return tenant


def new_key_material() -> tuple[str, str]:
    """A fresh (prefix, full key): 12 visible characters, 256 random bits of secret."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(12))
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


async def create_api_key(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    role: Role,
    delegating: bool,
    created_by: str,
) -> tuple[ApiKey, str]:
    """Create a key; returns it and its secret, which is not stored anywhere."""
    prefix, secret = new_key_material()
    key = ApiKey(
        tenant_id=tenant_id,
        name=name,
        prefix=prefix,
        secret_hash=hash_key(secret),
        role=role.value,
        delegating=delegating,
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return key, secret


async def issue_api_key(
    session: AsyncSession, principal: Principal, *, name: str, role: Role, delegating: bool
) -> tuple[ApiKey, str]:
    """An admin's request for a new key of their tenant, audited."""
    key, secret = await create_api_key(
        session,
        principal.tenant_id,
        name=name,
        role=role,
        delegating=delegating,
        created_by=principal.actor,
    )
    KEY_AUDIT.record(session, principal, key.id, "create", None, KEY_AUDIT.snapshot(key))
    return key, secret


async def revoke_api_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> None:
    """Revoke a key of the caller's tenant (idempotent; audited once)."""
    key = await repository.api_key(session, principal.tenant_id, key_id, for_update=True)
    if key is None:
        raise ApiKeyNotFound
    if key.revoked_at is not None:
        return
    before = KEY_AUDIT.snapshot(key)
    key.revoked_at = datetime.now(UTC)
    key.revoked_by = principal.actor
    await KEY_AUDIT.write(session, principal, key, "revoke", before=before)


async def update_tenant(
    session: AsyncSession, principal: Principal, changes: TenantUpdate, if_match: str | None
) -> Tenant:
    """Change the tenant's settings under If-Match; audited."""
    tenant = await repository.tenant(session, principal.tenant_id, for_update=True)
    check_if_match(if_match, tenant.version)
    values = changes.model_dump(exclude_unset=True, exclude_none=True)
    await TENANT_AUDIT.update(session, principal, tenant, values)
    return tenant
