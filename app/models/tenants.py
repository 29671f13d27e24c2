"""Tenants and their API keys."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey, Versioned


class Role(enum.StrEnum):
    """What a key may do; each role includes the ones before it."""

    VIEWER = "viewer"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, required: "Role") -> bool:
        return self.rank >= required.rank


class Tenant(UUIDPrimaryKey, Timestamps, Versioned, Base):
    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), server_default="Asia/Shanghai")
    locale: Mapped[str] = mapped_column(String(8), server_default="zh-CN")

    __table_args__ = (
        CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'", name="slug_format"),
        CheckConstraint("locale IN ('zh-CN', 'en')", name="locale_supported"),
    )


class ApiKey(UUIDPrimaryKey, Base):
    __tablename__ = "api_keys"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # The visible part of the key, unique so a presented key is found by one index probe.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    # SHA-256 of the whole key: keys are 256-bit random, so a slow hash adds nothing.
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    role: Mapped[str] = mapped_column(String(16))
    delegating: Mapped[bool] = mapped_column(server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(255))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'editor', 'approver', 'admin')", name="role_known"),
        Index("ix_api_keys_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )
