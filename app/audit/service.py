"""Recording audit events in the same transaction as the change they describe."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi.encoders import jsonable_encoder
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository
from app.audit.schemas import AuditFilter
from app.core.auth import Principal
from app.core.errors import Forbidden
from app.core.i18n import Text
from app.core.pagination import PageParams
from app.core.request_context import current_request_id
from app.models import AuditEvent, Role

# Events are read with the permission of the entity they describe: the key inventory
# (names, prefixes, roles, delegation), the tenant's settings and its outbound webhook
# endpoints (where its data goes) are the admin's, so a
# viewer must not read them back through the audit log. Entities not named here are
# readable by every role, as their own endpoints are.
READ_ROLE: Final[dict[str, Role]] = {
    "api_key": Role.ADMIN,
    "tenant": Role.ADMIN,
    "webhook_endpoint": Role.ADMIN,
}

AuditState = dict[str, Any]
"""An audit event's `before` or `after`: the entity's audited fields, or what the action
did, as JSON (each kind of entity and action says what matters; the spec documents the
values as `AuditValue`)."""


def snapshot(entity: Any, fields: tuple[str, ...]) -> AuditState:
    """A JSON-ready copy of `fields` of an entity, for `before`/`after`."""
    return jsonable_encoder({name: getattr(entity, name) for name in fields})


@dataclass(frozen=True)
class Audited:
    """How one kind of entity appears in the audit log: its `entity_type`, the fields its
    `before` and `after` show (`omit_null`: only those with a value), and the attribute
    that identifies it."""

    entity_type: str
    fields: tuple[str, ...]
    omit_null: bool = False
    id_attribute: str = "id"

    def snapshot(self, entity: Any) -> AuditState:
        """The entity's audited fields as they are now, JSON-ready."""
        state = snapshot(entity, self.fields)
        if self.omit_null:
            return {name: value for name, value in state.items() if value is not None}
        return state

    async def write(
        self,
        session: AsyncSession,
        principal: Principal,
        entity: Any,
        action: str,
        *,
        before: AuditState | None = None,
        extra: AuditState | None = None,
    ) -> None:
        """Write a new or changed entity and its audit event in the same transaction.

        The change is flushed and the entity read back, so `after` (its audited fields,
        plus `extra`) shows what the database holds: defaults, versions, timestamps.
        """
        session.add(entity)
        await session.flush()
        await session.refresh(entity)
        after = {**self.snapshot(entity), **(extra or {})}
        self.record(session, principal, getattr(entity, self.id_attribute), action, before, after)

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        entity: Any,
        values: Mapping[str, Any],
        *,
        extra: AuditState | None = None,
    ) -> None:
        """Set `values` on the entity, count up its `version` (its ETag), and write it
        with its `update` event (`before` the values, `after` as stored)."""
        before = self.snapshot(entity)
        for name, value in values.items():
            setattr(entity, name, value)
        entity.version += 1
        await self.write(session, principal, entity, "update", before=before, extra=extra)

    async def delete(
        self,
        session: AsyncSession,
        principal: Principal,
        entity: Any,
        *,
        after: AuditState | None = None,
    ) -> None:
        """Delete the entity and record its last state in the same transaction."""
        before = self.snapshot(entity)
        entity_id = getattr(entity, self.id_attribute)
        await session.delete(entity)
        await session.flush()
        self.record(session, principal, entity_id, "delete", before, after)

    def record(
        self,
        session: AsyncSession,
        principal: Principal,
        entity_id: uuid.UUID | str,
        action: str,
        before: AuditState | None,
        after: AuditState | None,
    ) -> None:
        """An event about an entity of this kind changed by other means (set-based SQL)."""
        record_event(
            session,
            principal,
            entity_type=self.entity_type,
            entity_id=entity_id,
            action=action,
            before=before,
            after=after,
        )


def record_event(
    session: AsyncSession,
    principal: Principal,
    *,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    before: AuditState | None = None,
    after: AuditState | None = None,
) -> AuditEvent:
    """Add an audit event for a mutation by `principal`; written with the change when the
    session flushes (the events of one unit of work go in one INSERT)."""
    event = AuditEvent(
        **audit_row(
            principal,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            before=before,
            after=after,
        )
    )
    session.add(event)
    return event


def audit_row(
    principal: Principal,
    *,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    before: AuditState | None = None,
    after: AuditState | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The row `record_event` would add, for `record_events` (the correlation id is the
    request's unless given)."""
    return {
        "tenant_id": principal.tenant_id,
        "actor": principal.actor,
        "api_key_id": principal.api_key_id,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "action": action,
        "before": before,
        "after": after,
        "request_id": request_id if request_id is not None else current_request_id.get(),
    }


async def record_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write many audit events (`audit_row`s) at once, now: for set-based work whose
    events would cost an ORM object each."""
    await repository.insert_events(session, rows)


async def list_events(
    session: AsyncSession, principal: Principal, where: AuditFilter, page: PageParams
) -> tuple[list[AuditEvent], str | None]:
    """One page of the tenant's events, newest first, without the events of entities the
    caller's role may not read; 403 when the filter asks for only such events."""
    hidden = [kind for kind, role in READ_ROLE.items() if not principal.role.allows(role)]
    if where.entity_type in hidden:
        kind, needed, held = (
            where.entity_type,
            READ_ROLE[where.entity_type].value,
            principal.role.value,
        )
        raise Forbidden(
            Text(
                f"{kind} 的审计事件需要 {needed} 角色,当前密钥为 {held}",
                f"Audit events of {kind} need role {needed}; this key is {held}",
            )
        )
    return await repository.list_events(
        session, principal.tenant_id, where, page, hidden_entity_types=hidden
    )
