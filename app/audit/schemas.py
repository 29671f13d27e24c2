"""Audit events as the API shows them."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from typing_extensions import TypeAliasType

from app.core.openapi import component_schema

AuditScalar = StrictBool | int | float | str | None
AuditValue = TypeAliasType(
    "AuditValue",
    Annotated[
        "AuditScalar | list[AuditScalar | AuditObject] | AuditObject",
        Field(
            description="A value in an audit event's `before` or `after`, as JSON: text (ids, "
            "dates and times as UUIDs and ISO 8601), a number, a boolean, null, a list, or an "
            "object the entity holds (a ruleset body, a category reference)"
        ),
    ],
)
AuditObject = TypeAliasType(
    "AuditObject",
    Annotated["dict[str, AuditValue]", Field(description="An audited entity's fields by name")],
)
# (A list of lists is not among them: generated TypeScript cannot name a type that holds
# arrays of itself, so the recursion goes through objects.)
AuditState = Annotated[dict[str, Any], component_schema(AuditValue, "AuditObject")]
"""`before` or `after`: the entity's audited fields (or what the action did) by name."""


class AuditEventOut(BaseModel):
    """One mutation: who, when, what, and the entity before and after."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    actor: str
    api_key_id: uuid.UUID | None
    entity_type: str
    entity_id: str
    action: str
    before: AuditState | None = Field(
        description="The entity's audited fields before the action (null when it created "
        "the entity): a map from field name to its JSON value"
    )
    after: AuditState | None = Field(
        description="Its audited fields after the action, and what the action did (null "
        "when it deleted the entity)"
    )
    request_id: str | None


AUDIT_EVENT_EXAMPLE = {
    "id": "0b8e8f4e-5b8e-4c1e-9a55-6f1f0d2b7a10",
    "occurred_at": "2026-11-25T10:15:00+08:00",
    "actor": "user:张伟",
    "api_key_id": "6a1e2b6c-3f5d-4e2a-9c11-2d7c0e8b9f01",
    "entity_type": "api_key",
    "entity_id": "9c0f3c55-2f0e-4d62-8a1b-5c3e7d9e1a22",
    "action": "create",
    "before": None,
    "after": {"name": "ERP 同步", "role": "editor", "delegating": False},
    "request_id": "3f9a1c0d2e4b4f6a8b7c6d5e4f3a2b1c",
}


@dataclass(frozen=True)
class AuditFilter:
    """Which events to list (every filter optional)."""

    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
