"""Activity of customers: orders, interactions, complaints (idempotent by external_id).

Each keeps the instant it happened (`*_at`) and the tenant-local calendar day (`*_on`),
computed when written: metric windows count days, and a tenant in Asia/Shanghai means
its own midnight, not UTC's.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey

ORDER_STATUSES = ("pending", "paid", "completed", "cancelled", "refunded")
# Orders in these states are not revenue and do not count in any metric.
VOID_ORDER_STATUSES = ("cancelled", "refunded")
CHANNELS = ("phone", "visit", "email", "wechat", "meeting", "online", "other")
DIRECTIONS = ("inbound", "outbound")
SEVERITIES = ("minor", "major")


class _OfACustomer:
    """A row of one customer of the tenant.

    One foreign key (tenant_id, customer_id) → customers (tenant_id, id) says both that the
    customer exists and that it is the same tenant's, and the tenant's existence follows
    from the customer's; it costs bulk writes one index probe a row where separate keys to
    tenants and customers cost two. Deleting the customer (or its tenant, through the
    customer) deletes the row.
    """

    tenant_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]


def _customer_key() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="CASCADE"
    )


class Order(UUIDPrimaryKey, _OfACustomer, Timestamps, Base):
    __tablename__ = "orders"

    external_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    ordered_at: Mapped[datetime]
    ordered_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), server_default="completed")

    __table_args__ = (
        _customer_key(),
        UniqueConstraint("tenant_id", "external_id"),
        CheckConstraint(
            "status IN ('pending', 'paid', 'completed', 'cancelled', 'refunded')",
            name="status_known",
        ),
        # The metrics scan: one customer's orders by day, amount and status in the index.
        Index(
            "ix_orders_tenant_id_customer_id_ordered_on",
            "tenant_id",
            "customer_id",
            "ordered_on",
            postgresql_include=["amount", "status"],
        ),
    )


class Interaction(UUIDPrimaryKey, _OfACustomer, Timestamps, Base):
    __tablename__ = "interactions"

    external_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    occurred_on: Mapped[date]
    channel: Mapped[str] = mapped_column(String(16), server_default="other")
    direction: Mapped[str] = mapped_column(String(8), server_default="outbound")
    replied: Mapped[bool | None]
    is_inquiry: Mapped[bool] = mapped_column(server_default="false")
    summary: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        _customer_key(),
        UniqueConstraint("tenant_id", "external_id"),
        CheckConstraint(
            "channel IN ('phone', 'visit', 'email', 'wechat', 'meeting', 'online', 'other')",
            name="channel_known",
        ),
        CheckConstraint("direction IN ('inbound', 'outbound')", name="direction_known"),
        Index(
            "ix_interactions_tenant_id_customer_id_occurred_on",
            "tenant_id",
            "customer_id",
            "occurred_on",
            postgresql_include=["direction", "replied", "is_inquiry"],
        ),
    )


class Complaint(UUIDPrimaryKey, _OfACustomer, Timestamps, Base):
    __tablename__ = "complaints"

    external_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    occurred_on: Mapped[date]
    severity: Mapped[str] = mapped_column(String(8), server_default="minor")
    summary: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        _customer_key(),
        UniqueConstraint("tenant_id", "external_id"),
        CheckConstraint("severity IN ('minor', 'major')", name="severity_known"),
        Index(
            "ix_complaints_tenant_id_customer_id_occurred_on",
            "tenant_id",
            "customer_id",
            "occurred_on",
            postgresql_include=["severity"],
        ),
    )


class FactChange(Base):
    """When a tenant's activity or customer profiles last changed, per writing session.

    Statement triggers on `customers`, `orders`, `interactions` and `complaints` (see the
    migration `fact_changes`) stamp the row of the tenant and the writing backend, so
    every writer, present or future, tells previews that a snapshot of values has aged
    without knowing about it. One row per backend rather than per tenant: concurrent
    writers of one tenant never wait on each other's row lock. A preview reads the newest
    `changed_at` of the tenant.
    """

    __tablename__ = "fact_changes"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    writer: Mapped[int] = mapped_column(Integer, primary_key=True)  # the backend's pid
    changed_at: Mapped[datetime]
    # The writing transaction (`pg_current_xact_id()`): a write stamped before a run
    # started may commit after the run read the values; the run's snapshot says whether
    # it saw it. 0: written before transactions were recorded.
    txid: Mapped[int] = mapped_column(BigInteger, server_default="0")
