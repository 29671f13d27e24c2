"""Customers, the codes merged into them, and the tenant's industry list."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey, Versioned

SIZES = ("small", "medium", "large")
STAGES = ("potential", "signed")


class Customer(UUIDPrimaryKey, TenantScoped, Timestamps, Versioned, Base):
    """客户: a company the tenant sells to."""

    __tablename__ = "customers"

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    employees: Mapped[int | None]
    size: Mapped[str | None] = mapped_column(String(8))
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    region: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(16), server_default="potential")
    uscc: Mapped[str | None] = mapped_column(String(18))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_title: Mapped[str | None] = mapped_column(String(100))
    # 合作开始日期; when absent, cooperation is counted from the first order.
    cooperation_since: Mapped[date | None]
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default="{}")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")

    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        # The target of activity's (tenant_id, customer_id) foreign keys; carrying
        # cooperation_since lets metrics over every customer read the customers in id
        # order from the index alone.
        UniqueConstraint("tenant_id", "id", postgresql_include=["cooperation_since"]),
        CheckConstraint("size IN ('small', 'medium', 'large')", name="size_known"),
        CheckConstraint("stage IN ('potential', 'signed')", name="stage_known"),
        CheckConstraint("employees >= 0", name="employees_not_negative"),
        Index("ix_customers_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        Index(
            "ix_customers_tenant_id_industry",
            "tenant_id",
            "industry",
            postgresql_ops={"industry": "text_pattern_ops"},
        ),
        Index("ix_customers_tenant_id_uscc", "tenant_id", "uscc"),
        Index("ix_customers_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_customers_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )


def _tenant_key() -> Mapped[uuid.UUID]:
    # tenant_id leads composite primary keys (the distribution column for Citus later).
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)


class CustomerAlias(Base):
    """A code that now means another customer (kept when duplicates are merged)."""

    __tablename__ = "customer_aliases"

    tenant_id: Mapped[uuid.UUID] = _tenant_key()
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )


class Industry(Base):
    """An entry of the tenant's industry list (hierarchical code: 制造业-电子)."""

    __tablename__ = "industries"

    tenant_id: Mapped[uuid.UUID] = _tenant_key()
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    label_en: Mapped[str | None] = mapped_column(String(200))
