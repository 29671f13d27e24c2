"""Audit events as the API shows them."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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
    before: dict[str, Any] | None
    after: dict[str, Any] | None
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
