"""The tenant's settings and its API keys (admin)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.auth import AdminKey, ViewerKey
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.tenants import service
from app.tenants.schemas import (
    API_KEY_EXAMPLE,
    TENANT_EXAMPLE,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    TenantOut,
    TenantUpdate,
)

router = APIRouter(prefix="/api/v1", route_class=ApiRoute)


@router.get(
    "/tenant",
    tags=["tenant"],
    response_model=TenantOut,
    **documented("getTenant", "Get the tenant's settings", example=TENANT_EXAMPLE, etag=True),
)
async def get_tenant(principal: ViewerKey, session: Session, response: Response) -> TenantOut:
    """The tenant the calling key belongs to, with its time zone (used for `as_of`
    defaults and schedules) and default locale. The `ETag` header guards updates."""
    tenant = await service.get_tenant(session, principal)
    set_etag(response, tenant.version)
    return TenantOut.model_validate(tenant)


@router.patch(
    "/tenant",
    tags=["tenant"],
    response_model=TenantOut,
    **documented(
        "updateTenant",
        "Update the tenant's settings",
        example=TENANT_EXAMPLE,
        request_example={"name": "华信科技集团", "time_zone": "Asia/Shanghai"},
        errors=[412],
        etag=True,
    ),
)
async def update_tenant(
    principal: AdminKey,
    session: Session,
    changes: TenantUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> TenantOut:
    """Change the name, time zone or default locale. Send the `ETag` you read as
    `If-Match`: if someone changed the settings since, the answer is 412 and nothing
    changes."""
    tenant = await service.update_tenant(session, principal, changes, if_match)
    set_etag(response, tenant.version)
    return TenantOut.model_validate(tenant)


@router.get(
    "/api-keys",
    tags=["api-keys"],
    response_model=Page[ApiKeyOut],
    **documented(
        "listApiKeys",
        "List API keys",
        example={"items": [API_KEY_EXAMPLE], "next_cursor": None},
    ),
)
async def list_api_keys(
    principal: AdminKey,
    session: Session,
    page: PageQuery,
    include_revoked: Annotated[bool, Query(description="Also list revoked keys")] = False,
) -> Page[ApiKeyOut]:
    """The tenant's keys, oldest first, without secrets."""
    rows, next_cursor = await service.list_api_keys(
        session, principal, page, include_revoked=include_revoked
    )
    return Page(items=[ApiKeyOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/api-keys",
    tags=["api-keys"],
    response_model=ApiKeyCreated,
    **documented(
        "createApiKey",
        "Create an API key",
        status_code=201,
        example={**API_KEY_EXAMPLE, "secret": "crmc_k3v9q2m8x1ab_" + "x" * 43},
        request_example={"name": "ERP 同步", "role": "editor", "delegating": False},
    ),
)
async def create_api_key(
    principal: AdminKey, session: Session, body: ApiKeyCreate
) -> ApiKeyCreated:
    """Create a key for this tenant. The `secret` in the answer is shown only this once;
    only its hash is stored. A `delegating` key (for a frontend or CRM acting for its
    users) may name the end user in `X-Actor`."""
    key, secret = await service.issue_api_key(
        session, principal, name=body.name, role=body.role, delegating=body.delegating
    )
    return ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(key).model_dump(), "secret": secret}
    )


@router.delete(
    "/api-keys/{key_id}",
    tags=["api-keys"],
    **documented("revokeApiKey", "Revoke an API key", status_code=204, errors=[404]),
)
async def revoke_api_key(principal: AdminKey, session: Session, key_id: uuid.UUID) -> Response:
    """Revoke a key: it stops working at once. Revoking a revoked key changes nothing."""
    await service.revoke_api_key(session, principal, key_id)
    return Response(status_code=204)
