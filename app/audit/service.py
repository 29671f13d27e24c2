"""Recording audit events in the same transaction as the change they describe."""

import uuid
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository
from app.audit.schemas import AuditFilter
from app.core.auth import Principal
from app.core.pagination import PageParams
from app.core.request_context import current_request_id
from app.models import AuditEvent


def snapshot(entity: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """A JSON-ready copy of `fields` of an entity, for `before`/`after`."""
    return jsonable_encoder({name: getattr(entity, name) for name in fields})


def record_event(
    session: AsyncSession,
    principal: Principal,
    *,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event for a mutation by `principal`; written with the change when the
    session flushes (the events of one unit of work go in one INSERT)."""
    event = AuditEvent(
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        api_key_id=principal.api_key_id,
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
        request_id=current_request_id.get(),
    )
    session.add(event)
    return event


async def list_events(
    session: AsyncSession, principal: Principal, where: AuditFilter, page: PageParams
) -> tuple[list[AuditEvent], str | None]:
    """One page of the tenant's events, newest first."""
    return await repository.list_events(session, principal.tenant_id, where, page)
