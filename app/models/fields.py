"""Tenant-defined custom fields (自定义字段), typed, usable in rules."""

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey, Versioned

CUSTOM_FIELD_TYPES = ("number", "integer", "date", "string", "enum", "boolean", "string_list")


class CustomField(UUIDPrimaryKey, TenantScoped, Timestamps, Versioned, Base):
    __tablename__ = "custom_fields"

    key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(16))
    enum_values: Mapped[list[str] | None] = mapped_column(ARRAY(String(100)))

    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        CheckConstraint(
            "type IN ('number', 'integer', 'date', 'string', 'enum', 'boolean', 'string_list')",
            name="type_known",
        ),
        CheckConstraint("key ~ '^[a-z][a-z0-9_]{0,63}$'", name="key_format"),
    )
