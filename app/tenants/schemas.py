"""Tenants and API keys as the API shows them."""

import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)
from typing_extensions import TypeAliasType

from app.core.schemas import RequestBody
from app.models import Role

Locale = TypeAliasType("Locale", Literal["zh-CN", "en"])
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class TenantOut(BaseModel):
    """The calling key's tenant and its settings."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    time_zone: str
    locale: Locale
    created_at: datetime
    updated_at: datetime


class TenantUpdate(RequestBody):
    """Settings an admin may change; omitted fields stay as they are."""

    name: Name | None = None
    time_zone: str | None = Field(default=None, max_length=64, examples=["Asia/Shanghai"])
    locale: Locale | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value


class ApiKeyCreate(RequestBody):
    """A new key: its name, role, and whether it may act for end users (X-Actor)."""

    name: Name
    role: Role
    delegating: StrictBool = False


class ApiKeyOut(BaseModel):
    """A key without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="Visible part of the key, to recognise it in lists")
    role: Role
    delegating: bool
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    """A key just created: `secret` is shown this once and never again."""

    secret: str


TENANT_EXAMPLE = {
    "id": "1d6f0c2a-8b3e-4f5a-9c7d-2e1f0a3b4c5d",
    "slug": "huaxin",
    "name": "华信科技",
    "time_zone": "Asia/Shanghai",
    "locale": "zh-CN",
    "created_at": "2026-11-25T09:00:00+08:00",
    "updated_at": "2026-11-25T09:00:00+08:00",
}

API_KEY_EXAMPLE = {
    "id": "9c0f3c55-2f0e-4d62-8a1b-5c3e7d9e1a22",
    "name": "ERP 同步",
    "prefix": "k3v9q2m8x1ab",
    "role": "editor",
    "delegating": False,
    "created_at": "2026-11-25T10:15:00+08:00",
    "created_by": "key:p0a8x7c6v5b4",
    "last_used_at": None,
    "revoked_at": None,
}
