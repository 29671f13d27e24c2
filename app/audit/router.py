"""GET /api/v1/audit-events."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit.schemas import AUDIT_EVENT_EXAMPLE, AuditEventOut, AuditFilter
from app.audit.service import list_events
from app.core.auth import ViewerKey
from app.core.deps import Session
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.core.schemas import IsoDateTime

router = APIRouter(prefix="/api/v1/audit-events", tags=["audit"], route_class=ApiRoute)


@router.get(
    "",
    response_model=Page[AuditEventOut],
    **documented(
        "listAuditEvents",
        "List audit events",
        example={"items": [AUDIT_EVENT_EXAMPLE], "next_cursor": None},
    ),
)
async def list_audit_events(
    principal: ViewerKey,
    session: Session,
    page: PageQuery,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=255)] = None,
    actor: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[IsoDateTime | None, Query(description="occurred_at ≥ since")] = None,
    until: Annotated[IsoDateTime | None, Query(description="occurred_at < until")] = None,
) -> Page[AuditEventOut]:
    """Every recorded mutation of the tenant, newest first, filterable by entity, actor and
    time range (`since` inclusive, `until` exclusive)."""
    rows, next_cursor = await list_events(
        session,
        principal,
        AuditFilter(entity_type, entity_id, actor, since, until),
        page,
    )
    return Page(items=[AuditEventOut.model_validate(r) for r in rows], next_cursor=next_cursor)
