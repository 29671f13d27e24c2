"""Inbound webhooks: the tenant's signing secret, the events received, and which customers
each event still has to reclassify."""

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, UUIDPrimaryKey

WEBHOOK_EVENT_STATUSES = ("accepted", "processed", "failed")


class InboundSecret(Base):
    """A tenant's inbound signing secret, and during a rotation the one before it.

    Stored as the raw key: verifying an HMAC needs the key itself (a hash would not
    do), so the database holds it as it holds the data the webhooks write. The API
    shows a secret once, when it is made.
    """

    __tablename__ = "inbound_webhook_secrets"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[bytes] = mapped_column(LargeBinary(64))
    previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    previous_valid_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # The admin key that made the current secret: events signed with it act on its
    # authority (audit events name it).
    created_by_key_id: Mapped[uuid.UUID]
    created_by: Mapped[str] = mapped_column(String(255))


class WebhookEvent(UUIDPrimaryKey, TenantScoped, Base):
    """One accepted inbound event, stored once per `webhook-id`."""

    __tablename__ = "webhook_events"

    webhook_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(32))
    items: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="accepted")
    # Customers of the event not yet reclassified; 0 once every one is.
    customers_pending: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("tenant_id", "webhook_id"),
        CheckConstraint(
            "status IN ('accepted', 'processed', 'failed')",
            name="status_known",
        ),
        Index("ix_webhook_events_tenant_id_received_at_id", "tenant_id", "received_at", "id"),
    )


class WebhookEventCustomer(Base):
    """A customer an event touched, until its reclassification has taken the event in.

    No foreign key to the customer: when one is deleted before its job runs, the job
    still finds the event and fails it ("the customer no longer exists") instead of the
    event waiting for ever.
    """

    __tablename__ = "webhook_event_customers"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        # What a reclassification job takes: the customer's events not yet taken in.
        Index(
            "ix_webhook_event_customers_pending",
            "tenant_id",
            "customer_id",
            postgresql_where=text("processed_at IS NULL"),
        ),
    )
