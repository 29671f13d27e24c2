"""Queries over the audit log."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.schemas import AuditFilter
from app.core.pagination import PageParams, keyset_page
from app.models import AuditEvent, table_of


async def list_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    where: AuditFilter,
    page: PageParams,
    *,
    hidden_entity_types: Sequence[str] = (),
) -> tuple[list[AuditEvent], str | None]:
    """One page of a tenant's events, newest first, leaving out the entity types given."""
    statement = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if hidden_entity_types:
        statement = statement.where(AuditEvent.entity_type.not_in(hidden_entity_types))
    if where.entity_type is not None:
        statement = statement.where(AuditEvent.entity_type == where.entity_type)
    if where.entity_id is not None:
        statement = statement.where(AuditEvent.entity_id == where.entity_id)
    if where.actor is not None:
        statement = statement.where(AuditEvent.actor == where.actor)
    if where.since is not None:
        statement = statement.where(AuditEvent.occurred_at >= where.since)
    if where.until is not None:
        statement = statement.where(AuditEvent.occurred_at < where.until)
    return await keyset_page(
        session, statement, [AuditEvent.occurred_at, AuditEvent.id], page, descending=True
    )


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert audit event rows (column values by name) in one executemany."""
    if rows:
        await session.execute(insert(table_of(AuditEvent)), rows)
